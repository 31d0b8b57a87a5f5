"""Activations: values and derivatives against naive formulas, the stable sigmoid and softmax at
extreme inputs, dtypes, the name table, and equality/hash/repr.

Finite-difference checks of ``backward`` live in tests/property/test_gradients.py.
"""

import math

import numpy as np
import pytest

import neurolab as nl
from neurolab.activations import log_softmax, sigmoid, softmax

NAMES = sorted(nl.activations.ACTIVATIONS)

# Under np.errstate(all="raise") every floating-point event is an error: overflow, 0/0, and
# also the underflow of exp(-1e4) to 0, which the library must absorb itself (it is the
# exact result of the stable formulas).
STRICT = dict(all="raise")


def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def naive_softmax_backward(z, grad_a):
    """dL/dz = J^T dL/da with the full Jacobian J_ij = a_i (delta_ij - a_j), row by row."""
    out = np.empty_like(z)
    for n, row in enumerate(naive_softmax(z)):
        jacobian = np.diag(row) - np.outer(row, row)
        out[n] = jacobian.T @ grad_a[n]
    return out


# name -> (f(z), f'(z)) written from the textbook definitions, independent of the library
NAIVE = {
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.where(z > 0, z, 0.0), lambda z: np.where(z > 0, 1.0, 0.0)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (
        lambda z: (np.exp(z) - np.exp(-z)) / (np.exp(z) + np.exp(-z)),
        lambda z: 4 / (np.exp(z) + np.exp(-z)) ** 2,  # sech^2
    ),
    "softmax": (naive_softmax, None),
}


def moderate_z(shape=(5, 4), dtype=np.float64, seed=0):
    z = np.random.default_rng(seed).uniform(-4, 4, shape)
    z[0, 0] = 0.0
    return z.astype(dtype)


def test_every_activation_has_a_naive_reference():
    assert set(NAIVE) == set(nl.activations.ACTIVATIONS)


@pytest.mark.parametrize("name", NAMES)
def test_forward_matches_the_naive_formula(name):
    activation = nl.activations.get(name)
    z = moderate_z()
    z_before = z.copy()
    a = activation.forward(z)
    assert a.shape == z.shape and a.dtype == np.float64
    np.testing.assert_allclose(a, NAIVE[name][0](z), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(activation(z), a, rtol=0, atol=0)  # __call__ is forward
    np.testing.assert_array_equal(z, z_before)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "softmax"])
def test_derivative_and_backward_match_the_naive_formula(name):
    activation = nl.activations.get(name)
    z = moderate_z()
    a = activation.forward(z)
    expected = NAIVE[name][1](z)
    np.testing.assert_allclose(activation.derivative(z, a), expected, rtol=1e-12, atol=1e-15)
    grad_a = np.random.default_rng(1).standard_normal(z.shape)
    np.testing.assert_allclose(activation.backward(z, a, grad_a), grad_a * expected, rtol=1e-12, atol=1e-15)
    assert activation.elementwise is True


def test_softmax_backward_is_the_jacobian_vector_product():
    activation = nl.activations.Softmax()
    z = moderate_z()
    grad_a = np.random.default_rng(1).standard_normal(z.shape)
    result = activation.backward(z, activation.forward(z), grad_a)
    np.testing.assert_allclose(result, naive_softmax_backward(z, grad_a), rtol=1e-12, atol=1e-15)
    assert activation.elementwise is False


# ---------------------------------------------------------------- the stable sigmoid


def test_sigmoid_at_1e4_in_float64():
    z = np.array([-1e4, -800.0, 0.0, 800.0, 1e4])
    with np.errstate(**STRICT):
        a = sigmoid(z)
        a_object = nl.activations.Sigmoid().forward(z)
    assert a.dtype == np.float64
    np.testing.assert_array_equal(a, [0.0, 0.0, 0.5, 1.0, 1.0])
    np.testing.assert_array_equal(a_object, a)


def test_sigmoid_at_80_in_float32():
    z = np.array([-80.0, 0.0, 80.0], dtype=np.float32)
    with np.errstate(all="raise"):  # exp(-80) is a normal float32: nothing underflows here
        a = sigmoid(z)
    assert a.dtype == np.float32
    assert a[2] == 1.0 and a[1] == 0.5
    assert 0 < a[0] < 1e-30  # tiny but positive, not 0 and not NaN
    assert a[0] == pytest.approx(math.exp(-80), rel=1e-5)


def test_sigmoid_keeps_relative_precision_of_small_outputs():
    exact = math.exp(-30) / (1 + math.exp(-30))
    assert sigmoid(np.array(-30.0)) == pytest.approx(exact, rel=1e-14)
    assert sigmoid(np.array([-30.0]))[0] == pytest.approx(exact, rel=1e-14)
    assert sigmoid(np.array(-700.0)) == pytest.approx(math.exp(-700), rel=1e-12)


def test_sigmoid_is_symmetric():
    z = moderate_z()
    np.testing.assert_allclose(sigmoid(-z), 1 - sigmoid(z), rtol=1e-14, atol=1e-16)


# ---------------------------------------------------------------- softmax and log_softmax


def test_softmax_rows_sum_to_one_and_are_shift_invariant():
    z = moderate_z()
    a = softmax(z)
    np.testing.assert_allclose(a.sum(axis=1), 1.0, rtol=1e-15)
    assert (a > 0).all()
    shifts = np.array([[100.0], [-50.0], [0.0], [7.5], [1e3]])  # a different shift per row
    np.testing.assert_allclose(softmax(z + shifts), a, rtol=1e-12)


def test_softmax_works_over_the_last_axis():
    z = moderate_z((2, 3, 4))
    np.testing.assert_allclose(softmax(z), naive_softmax(z), rtol=1e-13)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e4), (np.float32, 80.0)])
def test_softmax_and_log_softmax_are_finite_at_extreme_logits(dtype, big):
    z = np.array([[big, -big, 0.0], [big, big, -big]], dtype=dtype)
    with np.errstate(**STRICT):
        a = softmax(z)
        log_a = log_softmax(z)
    assert a.dtype == dtype and log_a.dtype == dtype
    np.testing.assert_allclose(a, [[1.0, 0.0, 0.0], [0.5, 0.5, 0.0]], atol=1e-30)
    # log softmax stays finite where log(softmax) would be -inf
    np.testing.assert_allclose(log_a, [[0.0, -2 * big, -big], [-math.log(2), -math.log(2), -2 * big - math.log(2)]], rtol=1e-6)
    assert np.isfinite(log_a).all()


def test_log_softmax_is_log_of_softmax():
    z = moderate_z()
    np.testing.assert_allclose(log_softmax(z), np.log(naive_softmax(z)), rtol=1e-13, atol=1e-14)


def _backward(name):
    activation = nl.activations.get(name)
    return lambda z: activation.backward(z, activation.forward(z), np.full_like(z, 1e-300))


@pytest.mark.parametrize(
    "function",
    [sigmoid, softmax, log_softmax] + [_backward(name) for name in NAMES],
    ids=["sigmoid", "softmax", "log_softmax"] + [f"{name}.backward" for name in NAMES],
)
def test_underflow_is_quiet_and_the_callers_error_settings_survive(function):
    z = np.array([[1e4, -1e4, -745.0, 1e-200]])  # exp(-1e4) -> 0, exp(-745) subnormal, (1e-200)^2 -> 0
    with np.errstate(all="raise"):
        settings = np.geterr()
        result = function(z)
        assert np.geterr() == settings  # nothing leaks out of the library's own errstate
    assert np.isfinite(result).all()


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", NAMES)
def test_dtype_is_preserved(name, dtype):
    activation = nl.activations.get(name)
    z = moderate_z(dtype=dtype)
    a = activation.forward(z)
    assert a.dtype == dtype
    grad_a = np.ones_like(z)
    assert activation.backward(z, a, grad_a).dtype == dtype
    if activation.elementwise:
        assert activation.derivative(z, a).dtype == dtype
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    np.testing.assert_allclose(a, NAIVE[name][0](z.astype(np.float64)), rtol=rtol, atol=rtol * 1e-2)


# ---------------------------------------------------------------- ReLU and LeakyReLU at the kink


def test_relu_derivative_at_exactly_zero_is_zero():
    relu = nl.activations.ReLU()
    z = np.array([-1.0, 0.0, -0.0, 1e-300, 2.0])
    np.testing.assert_array_equal(relu.forward(z), [0.0, 0.0, 0.0, 1e-300, 2.0])
    np.testing.assert_array_equal(relu.derivative(z, relu.forward(z)), [0.0, 0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(relu.backward(z, relu.forward(z), np.full(5, 3.0)), [0.0, 0.0, 0.0, 3.0, 3.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(), (7,), (3, 7), (2, 3, 7)])
def test_relu_forward_is_maximum_with_zero_bit_for_bit(dtype, shape):
    special = np.array([-0.0, 0.0, np.nan, -np.inf, np.inf, -1.5, 2.5], dtype)
    z = np.resize(special, shape) if shape else dtype(-0.0)
    got = nl.activations.ReLU().forward(z)
    expected = np.maximum(z, 0)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(np.atleast_1d(got).view(np.uint8), np.atleast_1d(expected).view(np.uint8))  # NaNs, signed zeros


def test_relu_of_integers_stays_integer():
    got = nl.activations.ReLU().forward(np.array([-2, 0, 3]))
    assert got.dtype.kind == "i" and got.tolist() == [0, 0, 3]


def test_leaky_relu_uses_its_negative_slope():
    leaky = nl.activations.LeakyReLU(0.2)
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_allclose(leaky.forward(z), [-0.4, 0.0, 3.0], rtol=1e-15)
    np.testing.assert_array_equal(leaky.derivative(z, leaky.forward(z)), [0.2, 0.2, 1.0])
    assert nl.activations.LeakyReLU().negative_slope == 0.01
    zero = nl.activations.LeakyReLU(0)  # a slope of 0 is ReLU
    np.testing.assert_array_equal(zero.forward(z), [0.0, 0.0, 3.0])


@pytest.mark.parametrize("slope, shown", [(-0.1, r"-0\.1"), (float("nan"), "nan"), (float("inf"), "inf")])
def test_leaky_relu_negative_slope_validation(slope, shown):
    with pytest.raises(ValueError, match=rf"^LeakyReLU: expected negative_slope .*, got {shown}$"):
        nl.activations.LeakyReLU(slope)


def test_softmax_has_no_elementwise_derivative():
    z = moderate_z()
    with pytest.raises(TypeError, match=r"^Softmax\.derivative: expected an elementwise activation, got softmax, .*; use Softmax\.backward\(z, a, grad_a\) for dL/dz$"):
        nl.activations.Softmax().derivative(z, softmax(z))


# ---------------------------------------------------------------- the name table


def test_get_by_name_is_case_insensitive():
    for name, cls in nl.activations.ACTIVATIONS.items():
        assert cls.name == name
        assert type(nl.activations.get(name)) is cls
        assert type(nl.activations.get(name.upper())) is cls
    assert type(nl.activations.get("ReLU")) is nl.activations.ReLU


def test_get_by_class_and_instance():
    assert type(nl.activations.get(nl.activations.Tanh)) is nl.activations.Tanh
    leaky = nl.activations.LeakyReLU(0.3)
    assert nl.activations.get(leaky) is leaky


def test_get_errors():
    with pytest.raises(ValueError, match=r"^activation: expected one of \['identity', 'leaky_relu', 'relu', 'sigmoid', 'softmax', 'tanh'\], got 'swish'$"):
        nl.activations.get("swish")
    with pytest.raises(TypeError, match=r"^activation: expected a name or a neurolab\.activations\.Activation, got int$"):
        nl.activations.get(3)
    with pytest.raises(TypeError, match=r"got NoneType$"):
        nl.activations.get(None)
    with pytest.raises(TypeError, match=r"got type$"):
        nl.activations.get(int)


# ---------------------------------------------------------------- equality, hash, repr


def test_equality_and_hash_follow_type_and_config():
    A = nl.activations
    assert A.ReLU() == A.ReLU() and hash(A.ReLU()) == hash(A.ReLU())
    assert A.ReLU() != A.Tanh()
    assert A.ReLU() != "relu"
    assert A.LeakyReLU(0.1) == A.LeakyReLU(0.1) and hash(A.LeakyReLU(0.1)) == hash(A.LeakyReLU(0.1))
    assert A.LeakyReLU(0.1) != A.LeakyReLU(0.2)
    assert A.LeakyReLU(0.01) == A.get("leaky_relu")
    assert A.LeakyReLU(0.0) != A.ReLU()  # same function, different type
    assert len({A.ReLU(), A.ReLU(), A.LeakyReLU(0.1), A.LeakyReLU(0.1), A.LeakyReLU(0.2)}) == 3


def test_repr_and_config_rebuild_the_activation():
    A = nl.activations
    assert repr(A.ReLU()) == "ReLU()"
    assert repr(A.Softmax()) == "Softmax()"
    assert repr(A.LeakyReLU(0.1)) == "LeakyReLU(negative_slope=0.1)"
    assert A.LeakyReLU(0.1).get_config() == {"negative_slope": 0.1}
    for name, cls in A.ACTIVATIONS.items():
        activation = cls()
        assert cls(**activation.get_config()) == activation
