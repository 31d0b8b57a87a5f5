"""Initialisers: shapes and dtypes, the documented distributions on a large draw, fans,
reproducibility from the Generator alone, the name table, and Dense's defaults."""

import math
import re

import numpy as np
import pytest

import neurolab as nl

NAMES = sorted(nl.init.INITIALIZERS)
RANDOM_NAMES = [n for n in NAMES if n != "zeros"]

# name -> (distribution, parameter(fan_in, fan_out)): the uniform limit l or the normal std s
DOCUMENTED = {
    "xavier_uniform": ("uniform", lambda fan_in, fan_out: math.sqrt(6 / (fan_in + fan_out))),
    "xavier_normal": ("normal", lambda fan_in, fan_out: math.sqrt(2 / (fan_in + fan_out))),
    "he_uniform": ("uniform", lambda fan_in, fan_out: math.sqrt(6 / fan_in)),
    "he_normal": ("normal", lambda fan_in, fan_out: math.sqrt(2 / fan_in)),
    "lecun_normal": ("normal", lambda fan_in, fan_out: math.sqrt(1 / fan_in)),
    "zeros": ("zeros", lambda fan_in, fan_out: 0.0),
}


def rng(seed=0):
    return np.random.default_rng(seed)


def expected_std(name, fan_in, fan_out):
    kind, parameter = DOCUMENTED[name]
    value = parameter(fan_in, fan_out)
    return value / math.sqrt(3) if kind == "uniform" else value


def assert_distribution(w, name, fan_in, fan_out):
    """Mean ~ 0, std within 2% of the documented value, and the documented shape of the law."""
    kind, parameter = DOCUMENTED[name]
    std = expected_std(name, fan_in, fan_out)
    w = w.astype(np.float64)
    assert abs(w.mean()) < 0.01 * std, (name, w.mean(), std)
    assert w.std() == pytest.approx(std, rel=0.02), name
    within_one_std = np.mean(np.abs(w) < std)
    if kind == "uniform":
        limit = parameter(fan_in, fan_out)
        assert np.abs(w).max() <= limit * (1 + 1e-6)  # float32 rounding of the limit
        assert np.abs(w).max() > 0.99 * limit  # and the whole interval is used
        assert within_one_std == pytest.approx(1 / math.sqrt(3), abs=0.01)  # 0.577 for U(-l, l)
    else:
        assert within_one_std == pytest.approx(0.6827, abs=0.01)  # 68% within one std for N(0, s^2)
        assert np.abs(w).max() > 3.5 * std  # tails a uniform law does not have


def test_every_initializer_is_documented_here():
    assert set(DOCUMENTED) == set(nl.init.INITIALIZERS)


# ---------------------------------------------------------------- shapes and dtypes


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(3, 5), (7,), (1, 1)])
def test_shape_and_default_dtype(name, shape):
    w = nl.init.get(name)(shape, rng())
    assert isinstance(w, np.ndarray)
    assert w.shape == shape and w.dtype == np.float32


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float64, "float64", np.dtype("float64")])
def test_float64_when_asked(name, dtype):
    w = nl.init.get(name)((3, 5), rng(), dtype=dtype)
    assert w.dtype == np.float64 and w.shape == (3, 5)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype, shown", [(np.float16, "float16"), (np.int32, "int32"), (int, "int64"), ("nonsense", "'nonsense'")])
def test_other_dtypes_are_refused(name, dtype, shown):
    with pytest.raises(TypeError, match=rf"^init: expected dtype float32 or float64, got {shown}$"):
        nl.init.get(name)((3, 5), rng(), dtype=dtype)


# ---------------------------------------------------------------- the documented distributions


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_statistics_of_a_large_draw(name, dtype):
    w = nl.init.get(name)((400, 500), rng(), dtype=dtype)  # fan_in 500, fan_out 400
    assert_distribution(w, name, fan_in=500, fan_out=400)


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_a_one_dimensional_shape_has_fan_out_one(name):
    w = nl.init.get(name)((200_000,), rng(), dtype=np.float64)
    assert_distribution(w, name, fan_in=200_000, fan_out=1)


def test_zeros_are_zeros_and_ignore_the_rng():
    np.testing.assert_array_equal(nl.init.zeros((4, 3), rng()), np.zeros((4, 3), np.float32))
    np.testing.assert_array_equal(nl.init.zeros((4,), None, dtype=np.float64), np.zeros(4))


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_scale_depends_on_the_fans(name):
    """Doubling fan_in (and fan_out) shrinks the scale as the documented formula says."""
    small = nl.init.get(name)((200, 300), rng(), dtype=np.float64).std()
    large = nl.init.get(name)((400, 600), rng(), dtype=np.float64).std()
    assert small / large == pytest.approx(math.sqrt(2), rel=0.02)


# ---------------------------------------------------------------- fans


def test_fans():
    assert nl.init.fans((3, 5)) == (5, 3)  # (out, in) -> (fan_in, fan_out)
    assert nl.init.fans((7,)) == (7, 1)
    assert nl.init.fans((1, 1)) == (1, 1)
    assert nl.init.fans((8, 3, 5, 2)) == (3 * 5 * 2, 8 * 5 * 2)  # a conv weight (out, in, kh, kw), as torch's


@pytest.mark.parametrize("shape", [(), (2, 0), (0, 3, 3, 3)])
def test_fans_refuses_empty_shapes(shape):
    with pytest.raises(ValueError, match="^" + re.escape(f"init.fans: expected a shape (out, in), (in,) or (out, in, *kernel) of positive sizes, got {shape}") + "$"):
        nl.init.fans(shape)


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_initializers_scale_a_conv_weight_by_its_receptive_field(name):
    w = nl.init.get(name)((64, 32, 5, 5), rng())
    fan_in, fan_out = 32 * 25, 64 * 25
    expected = {"he_normal": np.sqrt(2 / fan_in), "he_uniform": np.sqrt(6 / fan_in) / np.sqrt(3),
                "lecun_normal": np.sqrt(1 / fan_in), "xavier_normal": np.sqrt(2 / (fan_in + fan_out)),
                "xavier_uniform": np.sqrt(6 / (fan_in + fan_out)) / np.sqrt(3)}[name]
    assert w.std() == pytest.approx(expected, rel=0.02)


# ---------------------------------------------------------------- randomness: the Generator only


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_same_seed_same_array_different_seed_different_array(name):
    init = nl.init.get(name)
    np.testing.assert_array_equal(init((30, 20), rng(3)), init((30, 20), rng(3)))
    assert not np.array_equal(init((30, 20), rng(3)), init((30, 20), rng(4)))
    generator = rng(3)
    first, second = init((30, 20), generator), init((30, 20), generator)
    assert not np.array_equal(first, second)  # the Generator advances


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_the_global_numpy_seed_changes_nothing(name):
    init = nl.init.get(name)
    saved = np.random.get_state()
    try:
        np.random.seed(0)
        first = init((30, 20), rng(7))
        np.random.seed(12345)
        state = np.random.get_state()
        second = init((30, 20), rng(7))
        after = np.random.get_state()
    finally:
        np.random.set_state(saved)
    np.testing.assert_array_equal(first, second)
    assert after[2] == state[2]  # the global state did not move
    np.testing.assert_array_equal(after[1], state[1])


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_draws_come_from_the_given_generator(name):
    generator = rng(9)
    before = generator.bit_generator.state
    nl.init.get(name)((4, 5), generator)
    assert generator.bit_generator.state != before


# ---------------------------------------------------------------- get and default_for


def test_get_by_name_and_callable():
    for name, function in nl.init.INITIALIZERS.items():
        assert nl.init.get(name) is function
        assert function.__name__ == name

    def custom(shape, rng, dtype=np.float32):
        return np.ones(shape, dtype)

    assert nl.init.get(custom) is custom


def test_get_unknown_name_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"^init: expected one of \['he_normal', 'he_uniform', 'lecun_normal', 'xavier_normal', 'xavier_uniform', 'zeros'\] or a callable, got 'glorot'$"):
        nl.init.get("glorot")


def test_default_for():
    for name in nl.activations.ACTIVATIONS:
        expected = "he_normal" if name in ("relu", "leaky_relu") else "xavier_uniform"
        assert nl.init.default_for(name) == expected, name
    assert nl.init.default_for("relu") == "he_normal"
    assert nl.init.default_for("tanh") == "xavier_uniform"


# ---------------------------------------------------------------- Dense uses them


@pytest.mark.parametrize("activation", sorted(nl.activations.ACTIVATIONS))
def test_dense_uses_the_default_initializer(activation):
    layer = nl.Dense(500, 400, activation, rng=0)
    name = nl.init.default_for(activation)
    assert layer.init == name
    assert layer.weight.value.dtype == np.float32
    assert_distribution(layer.weight.value, name, fan_in=500, fan_out=400)
    np.testing.assert_array_equal(layer.bias.value, np.zeros(400, np.float32))


def test_dense_relu_and_tanh_weights_have_different_scales():
    relu = nl.Dense(500, 400, "relu", rng=0).weight.value.std()
    tanh = nl.Dense(500, 400, "tanh", rng=0).weight.value.std()
    assert relu == pytest.approx(math.sqrt(2 / 500), rel=0.02)
    assert tanh == pytest.approx(math.sqrt(2 / 900), rel=0.02)


def test_dense_accepts_a_named_initializer_and_a_seed():
    layer = nl.Dense(500, 400, "relu", init="he_uniform", rng=1, dtype=np.float64)
    assert layer.init == "he_uniform" and layer.weight.value.dtype == np.float64
    assert_distribution(layer.weight.value, "he_uniform", fan_in=500, fan_out=400)
    np.testing.assert_array_equal(layer.weight.value, nl.init.he_uniform((400, 500), rng(1), dtype=np.float64))


def test_dense_accepts_a_custom_callable():
    calls = []

    def constant(shape, rng, dtype=np.float32):
        calls.append((shape, rng, dtype))
        return np.full(shape, 0.5, dtype=dtype)

    layer = nl.Dense(2, 3, "tanh", init=constant, rng=0, dtype=np.float64)
    np.testing.assert_array_equal(layer.weight.value, np.full((3, 2), 0.5))
    assert layer.weight.value.dtype == np.float64
    [(shape, generator, dtype)] = calls
    assert shape == (3, 2) and isinstance(generator, np.random.Generator) and dtype == np.float64


@pytest.mark.parametrize(
    "returned, shown",
    [
        (np.zeros((2, 3), np.float32), r"\(2, 3\) float32"),
        (np.zeros((3, 2), np.float64), r"\(3, 2\) float64"),
        ([[0.0, 0.0]] * 3, "list "),
    ],
)
def test_dense_rejects_an_init_returning_the_wrong_array(returned, shown):
    with pytest.raises(ValueError, match=rf"^Dense: expected init to return an array of shape \(3, 2\) and dtype float32, got {shown}$"):
        nl.Dense(2, 3, init=lambda shape, rng, dtype: returned, rng=0)
