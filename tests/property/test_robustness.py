"""Throw random shapes, dtypes and values at the public API: each call either gives a correct,
finite result or raises one of the documented errors (ValueError, TypeError), never another
exception and never NaN from finite input."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

import neurolab as nl

DOCUMENTED = (ValueError, TypeError)
DTYPES = [np.float32, np.float64, np.int64, np.uint8, np.bool_, np.complex128, np.str_, object]


def values_for(dtype):
    if dtype in (np.float32, np.float64):
        return st.floats(-1e3, 1e3, width=32) | st.sampled_from([np.nan, np.inf, -np.inf])
    if dtype is np.complex128:
        return st.complex_numbers(max_magnitude=10, allow_nan=False)
    if dtype is np.str_:
        return st.text(st.characters(exclude_characters="\x00"), max_size=3)  # numpy drops trailing NULs
    if dtype is object:
        return st.none() | st.integers(-3, 3)
    return None  # hypothesis' default elements for ints and bools


@st.composite
def any_arrays(draw, max_dims=3):
    dtype = draw(st.sampled_from(DTYPES))
    shape = draw(array_shapes(min_dims=0, max_dims=max_dims, min_side=0, max_side=5))
    return draw(arrays(dtype, shape, elements=values_for(dtype)))


def network(loss):
    outputs = 1 if loss == "binary_cross_entropy" else 3
    return nl.NeuralNetwork([nl.Dense(4, 5, "tanh", rng=0), nl.Dense(5, outputs, "identity", rng=1)], loss)


def is_good_input(X):
    return (
        isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[1] == 4
        and (np.issubdtype(X.dtype, np.integer) or X.dtype == bool or (np.issubdtype(X.dtype, np.floating) and np.isfinite(X).all()))
    )


@given(X=any_arrays(), loss=st.sampled_from(sorted(nl.losses.LOSSES)))
def test_predict_gives_a_finite_result_or_a_documented_error(X, loss):
    net = network(loss)
    before = X.copy()
    try:
        probabilities = net.predict_proba(X)
    except DOCUMENTED:
        assert not is_good_input(X)
        return
    assert is_good_input(X)
    assert probabilities.shape[0] == X.shape[0] and np.isfinite(probabilities).all()
    np.testing.assert_array_equal(X, before)  # never mutated


@given(
    X=any_arrays(max_dims=2) | arrays(np.float64, st.tuples(st.integers(0, 6), st.just(4)), elements=st.floats(-5, 5)),
    y=any_arrays(max_dims=2),
    loss=st.sampled_from(sorted(nl.losses.LOSSES)),
    batch_size=st.integers(-1, 4),
    lr=st.floats(allow_nan=True, allow_infinity=True) | st.just(0.1),
)
def test_fit_trains_or_raises_a_documented_error(X, y, loss, batch_size, lr):
    net = network(loss)
    X_before, y_before = X.copy(), y.copy()
    try:
        optimizer = nl.optim.SGD(lr=lr)
        history = net.fit(X, y, epochs=1, batch_size=batch_size, optimizer=optimizer, verbose=0, rng=0)
    except DOCUMENTED:
        return
    except FloatingPointError:  # documented too: the loss stopped being finite (a huge lr)
        assert lr > 1
        return
    assert is_good_input(X) and X.shape[0] >= 1 and batch_size >= 1 and np.isfinite(lr) and lr > 0
    assert np.isfinite(history["loss"][0])
    assert all(np.isfinite(p.value).all() for p in net.parameters())
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def is_real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value)


# Each constructor with the settings it accepts: a setting outside them must be refused.
CONSTRUCTORS = {
    "Dense(activation=name)": (lambda name, value: nl.Dense(4, 3, activation=name), lambda name, value: name.lower() in nl.activations.ACTIVATIONS),
    "NeuralNetwork(loss=name)": (lambda name, value: nl.NeuralNetwork([nl.Dense(4, 3)], loss=name), lambda name, value: name.lower() in nl.losses.LOSSES),
    "optim.get(name)": (lambda name, value: nl.optim.get(name), lambda name, value: name.lower() in nl.optim.OPTIMIZERS),
    "Dense(value, 3)": (lambda name, value: nl.Dense(value, 3), lambda name, value: isinstance(value, int) and not isinstance(value, bool) and value >= 1),
    "Dropout(value)": (lambda name, value: nl.Dropout(value), lambda name, value: is_real(value) and 0 <= value < 1),
    "LeakyReLU(value)": (lambda name, value: nl.activations.LeakyReLU(value), lambda name, value: is_real(value) and value >= 0),
    "Adam(lr=value)": (lambda name, value: nl.optim.Adam(lr=value), lambda name, value: is_real(value) and value > 0),
    "SGD(momentum=value)": (lambda name, value: nl.optim.SGD(lr=0.1, momentum=value), lambda name, value: is_real(value) and 0 <= value < 1),
}
NAMES = sorted(nl.activations.ACTIVATIONS) + sorted(nl.losses.LOSSES) + sorted(nl.optim.OPTIMIZERS)


@pytest.mark.parametrize("constructor", sorted(CONSTRUCTORS))
@given(
    name=st.text(max_size=12) | st.sampled_from(NAMES) | st.sampled_from(NAMES).map(str.upper),
    value=st.one_of(
        st.sampled_from([0, 1, -1, 0.0, 0.5, 1.0, -0.0]),  # the edges of every range, drawn often
        st.floats(allow_nan=True), st.integers(-3, 3), st.booleans(), st.none(), st.text(max_size=3),
    ),
)
def test_constructors_accept_good_settings_and_refuse_bad_ones_with_documented_errors(constructor, name, value):
    build, valid = CONSTRUCTORS[constructor]
    if valid(name, value):
        build(name, value)  # a good setting builds
        return
    try:
        build(name, value)
    except DOCUMENTED:
        return
    raise AssertionError(f"{constructor} accepted the bad setting name={name!r}, value={value!r}")
