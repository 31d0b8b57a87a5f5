"""Losses: known values, agreement with naive float64 formulas, the gradients' closed forms,
stability at extreme logits, dtypes, every validation message, and how each loss reads the
network's output (``output``, ``predict``, ``accuracy``).

Finite-difference checks of ``backward`` live in tests/property/test_gradients.py.
"""

import math

import numpy as np
import pytest
from hypothesis import given

import neurolab as nl

from ..strategies import loss_cases

NAMES = ["mse", "cross_entropy", "binary_cross_entropy"]

# Under np.errstate(all="raise") every floating-point event is an error: overflow, 0/0, and
# also the underflow of exp(-1e4) to 0, which the library must absorb itself (it is the
# exact result of the stable formulas).
STRICT = dict(all="raise")


# ---------------------------------------------------------------- naive float64 references


def naive_softmax(z):
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def naive_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def as_matrix(name, target, k):
    """The (N, K) float target a loss uses: labels become one-hot rows, (N,) a column."""
    target = np.asarray(target)
    if target.ndim == 1 and (name == "cross_entropy" or k > 1):
        return np.eye(k)[target]
    return target.reshape(len(target), k).astype(np.float64)


def naive_loss(name, z, target):
    """The textbook formula, averaged over the batch, and its gradient (p - y) / N."""
    n, k = z.shape
    y = as_matrix(name, target, k)
    if name == "mse":
        return np.sum((z - y) ** 2) / (2 * n), (z - y) / n
    if name == "cross_entropy":
        p = naive_softmax(z)
        return -np.sum(y * np.log(p)) / n, (p - y) / n
    s = naive_sigmoid(z)
    return -np.sum(y * np.log(s) + (1 - y) * np.log(1 - s)) / n, (s - y) / n


def logits(n, k, seed=0, scale=3.0):
    return np.random.default_rng(seed).uniform(-scale, scale, (n, k))


# ---------------------------------------------------------------- exact known values


@pytest.mark.parametrize("k", [2, 3, 10])
def test_cross_entropy_of_equal_logits_is_log_k(k):
    loss = nl.losses.CrossEntropy()
    z = np.full((4, k), 2.5)
    labels = np.arange(4) % k
    assert loss(z, labels) == pytest.approx(math.log(k), rel=1e-14)
    expected = (np.full((4, k), 1 / k) - np.eye(k)[labels]) / 4
    np.testing.assert_allclose(loss.backward(), expected, rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("n, k", [(1, 1), (4, 1), (4, 3)])
def test_binary_cross_entropy_at_zero_is_log_2_per_output(n, k):
    loss = nl.losses.BinaryCrossEntropy()
    y = np.random.default_rng(1).uniform(0, 1, (n, k))
    # log 2 for each of the k outputs of each sample, averaged over the n samples
    assert loss(np.zeros((n, k)), y) == pytest.approx(k * math.log(2), rel=1e-14)
    np.testing.assert_allclose(loss.backward(), (0.5 - y) / n, rtol=1e-14)


def test_mse_is_the_sum_of_squares_over_2n():
    loss = nl.losses.MSE()
    prediction = np.array([[1.0, 2.0], [3.0, 4.0]])
    # (1 + 4 + 9 + 16) / (2 * 2)
    assert loss(prediction, np.zeros((2, 2))) == 7.5
    np.testing.assert_array_equal(loss.backward(), [[0.5, 1.0], [1.5, 2.0]])
    assert loss(prediction, prediction.copy()) == 0.0


def test_forward_returns_a_python_float():
    for name in NAMES:
        value = nl.losses.get(name)(np.zeros((2, 2), np.float32), np.array([0, 1]) if name == "cross_entropy" else np.zeros((2, 2)))
        assert type(value) is float


# ---------------------------------------------------------------- agreement with the naive formula


@pytest.mark.parametrize(
    "name, k, target",
    [
        ("cross_entropy", 4, np.array([0, 3, 1, 2, 3])),  # integer labels
        ("cross_entropy", 4, np.eye(4)[[0, 3, 1, 2, 3]]),  # one-hot rows
        ("cross_entropy", 4, naive_softmax(logits(5, 4, seed=7))),  # soft probabilities
        ("cross_entropy", 2, np.array([1, 0, 0, 1, 1], dtype=np.int32)),
        ("binary_cross_entropy", 3, np.random.default_rng(2).uniform(0, 1, (5, 3))),
        ("binary_cross_entropy", 1, np.array([0.0, 1.0, 1.0, 0.25, 0.0])),  # (N,) for one output
        ("binary_cross_entropy", 1, np.array([[0.0], [1.0], [1.0], [0.25], [0.0]])),
        ("mse", 3, logits(5, 3, seed=3)),
        ("mse", 1, np.array([0.5, -1.0, 2.0, 0.0, 1.5])),  # (N,) for one output
        ("mse", 3, np.array([2, 0, 1, 1, 0])),  # integer labels read as one-hot rows
    ],
)
def test_forward_and_backward_match_the_naive_formula(name, k, target):
    loss = nl.losses.get(name)
    z = logits(5, k)
    expected_loss, expected_grad = naive_loss(name, z, target)
    assert loss(z, target) == pytest.approx(expected_loss, rel=1e-12)
    grad = loss.backward()
    assert grad.shape == z.shape
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-12, atol=1e-15)


def test_mse_integer_labels_equal_one_hot_targets():
    loss = nl.losses.MSE()
    z = logits(4, 3)
    labels = np.array([2, 0, 1, 2])
    assert loss(z, labels) == loss(z, np.eye(3)[labels])


def test_cross_entropy_labels_and_one_hot_rows_agree():
    loss = nl.losses.CrossEntropy()
    z = logits(6, 5)
    labels = np.array([4, 0, 1, 1, 3, 2])
    from_labels, grad_labels = loss(z, labels), loss.backward()
    from_rows, grad_rows = loss(z, np.eye(5)[labels]), loss.backward()
    assert from_labels == pytest.approx(from_rows, rel=1e-14)
    np.testing.assert_allclose(grad_labels, grad_rows, rtol=1e-14, atol=1e-17)


@given(loss_cases())
def test_every_target_form_matches_the_naive_formula(case):
    loss, z, target = case
    expected_loss, expected_grad = naive_loss(loss.name, z, target)
    assert loss(z, target) == pytest.approx(expected_loss, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(loss.backward(), expected_grad, rtol=1e-10, atol=1e-13)


# ---------------------------------------------------------------- closed-form gradients, by hand


def test_cross_entropy_gradient_is_p_minus_y_over_n():
    loss = nl.losses.CrossEntropy()
    z = np.array([[0.0, math.log(3.0)], [math.log(2.0), math.log(2.0)]])
    # softmax rows: [1/4, 3/4] and [1/2, 1/2]; labels 1 and 0
    assert loss(z, np.array([1, 0])) == pytest.approx((math.log(4 / 3) + math.log(2)) / 2, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[0.125, -0.125], [-0.25, 0.25]], rtol=1e-14)


def test_binary_cross_entropy_gradient_is_sigmoid_minus_y_over_n():
    loss = nl.losses.BinaryCrossEntropy()
    z = np.array([[math.log(3.0)], [0.0], [-math.log(3.0)]])  # sigmoid: 3/4, 1/2, 1/4
    y = np.array([1.0, 0.0, 0.5])
    expected = (-math.log(0.75) - math.log(0.5) - 0.5 * math.log(0.25) - 0.5 * math.log(0.75)) / 3
    assert loss(z, y) == pytest.approx(expected, rel=1e-14)
    np.testing.assert_allclose(loss.backward(), [[-0.25 / 3], [0.5 / 3], [-0.25 / 3]], rtol=1e-14)


def test_backward_can_be_repeated_and_does_not_touch_the_inputs():
    for name, target in [("mse", np.array([[1.0, 2.0]])), ("cross_entropy", np.array([1])), ("binary_cross_entropy", np.array([[1.0, 0.0]]))]:
        loss = nl.losses.get(name)
        z = np.array([[0.5, -0.5]])
        z_before, target_before = z.copy(), target.copy()
        loss(z, target)
        first = loss.backward()
        first_copy = first.copy()
        second = loss.backward()
        np.testing.assert_array_equal(second, first_copy)
        np.testing.assert_array_equal(z, z_before)
        np.testing.assert_array_equal(target, target_before)


# ---------------------------------------------------------------- dtypes


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "name, target",
    [
        ("mse", np.array([[0.5, 1.0, -1.0], [0.0, 2.0, 1.0]])),
        ("mse", np.array([2, 0])),
        ("cross_entropy", np.array([2, 0])),
        ("cross_entropy", np.array([[0.2, 0.3, 0.5], [1.0, 0.0, 0.0]])),
        ("binary_cross_entropy", np.array([[0.0, 1.0, 0.5], [1.0, 1.0, 0.0]])),
    ],
)
def test_gradient_keeps_the_prediction_dtype(name, target, dtype):
    loss = nl.losses.get(name)
    z = logits(2, 3).astype(dtype)
    value = loss(z, target)
    grad = loss.backward()
    assert grad.dtype == dtype
    expected_loss, expected_grad = naive_loss(name, z.astype(np.float64), target)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    assert value == pytest.approx(expected_loss, rel=rtol)
    np.testing.assert_allclose(grad, expected_grad, rtol=rtol, atol=rtol * 1e-3)


# ---------------------------------------------------------------- stability


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e4), (np.float32, 80.0)])
def test_cross_entropy_is_finite_and_right_at_extreme_logits(dtype, big):
    loss = nl.losses.CrossEntropy()
    z = np.array([[big, -big, 0.0], [-big, big, 0.0]], dtype=dtype)
    labels = np.array([0, 0])  # sample 0 confidently right, sample 1 confidently wrong
    with np.errstate(**STRICT):
        value = loss(z, labels)
        grad = loss.backward()
    # right: -log p = log(1 + e^-big + e^-2big) ~ 0; wrong: 2 big; mean over N = 2
    assert value == pytest.approx(big, rel=1e-6)
    assert grad.dtype == dtype and np.isfinite(grad).all()
    np.testing.assert_allclose(grad, [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], atol=1e-6)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e4), (np.float32, 80.0)])
def test_cross_entropy_of_a_confident_correct_logit_is_zero_and_a_wrong_one_big_over_n(dtype, big):
    loss = nl.losses.CrossEntropy()
    z = np.array([[big, 0.0], [0.0, 0.0]], dtype=dtype)
    with np.errstate(**STRICT):
        assert loss(z[:1], np.array([0])) == pytest.approx(0.0, abs=1e-30)
        # one wrong confident sample among N = 2: (big + log(1 + e^-big) + log 2) / 2
        assert loss(z, np.array([1, 0])) == pytest.approx((big + math.log(2)) / 2, rel=1e-6)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e4), (np.float32, 80.0)])
def test_cross_entropy_soft_targets_are_finite_at_extreme_logits(dtype, big):
    loss = nl.losses.CrossEntropy()
    z = np.array([[big, -big]], dtype=dtype)
    with np.errstate(**STRICT):
        value = loss(z, np.array([[0.5, 0.5]]))
        grad = loss.backward()
    assert value == pytest.approx(big, rel=1e-6)  # 0.5 * 0 + 0.5 * 2 big
    np.testing.assert_allclose(grad, [[0.5, -0.5]], atol=1e-6)


@pytest.mark.parametrize("dtype, big", [(np.float64, 1e4), (np.float32, 80.0)])
def test_binary_cross_entropy_is_finite_and_right_at_extreme_logits(dtype, big):
    loss = nl.losses.BinaryCrossEntropy()
    z = np.array([[big, -big], [-big, big]], dtype=dtype)
    y = np.array([[1.0, 0.0], [1.0, 0.0]])  # sample 0 right on both outputs, sample 1 wrong on both
    with np.errstate(**STRICT):
        value = loss(z, y)
        grad = loss.backward()
    assert value == pytest.approx(big, rel=1e-6)  # (0 + 0 + big + big) / 2
    assert grad.dtype == dtype and np.isfinite(grad).all()
    np.testing.assert_allclose(grad, [[0.0, 0.0], [-0.5, 0.5]], atol=1e-6)
    with np.errstate(**STRICT):
        assert loss(z[:1], y[:1]) == pytest.approx(0.0, abs=1e-30)


@pytest.mark.parametrize(
    "name, target",
    [("cross_entropy", np.array([0, 1])), ("binary_cross_entropy", np.array([[1.0, 0.0], [0.0, 0.0]])), ("mse", np.array([[0.0, 0.0], [0.0, 0.0]]))],
)
def test_underflow_is_quiet_and_the_callers_error_settings_survive(name, target):
    loss = nl.losses.get(name)
    z = np.array([[1e4, -1e4], [-1e-200, 1e-200]])  # exp(-2e4) and (1e-200)^2 underflow to 0
    with np.errstate(all="raise"):
        settings = np.geterr()
        value = loss(z, target)
        grad = loss.backward()
        assert np.geterr() == settings
    assert np.isfinite(value) and np.isfinite(grad).all()
    if name == "mse":
        assert value == pytest.approx(1e8 / 2, rel=1e-12)


# ---------------------------------------------------------------- validation messages


def ce(z, target):
    return nl.losses.CrossEntropy()(z, target)


Z3 = np.zeros((3, 3))


@pytest.mark.parametrize(
    "call, error, message",
    [
        # labels out of range
        (lambda: ce(Z3, np.array([0, 3, 1])), ValueError, r"^CrossEntropy: expected class labels in \[0, 2\] for 3 outputs, got 3$"),
        (lambda: ce(Z3, np.array([0, -1, 1])), ValueError, r"^CrossEntropy: expected class labels in \[0, 2\] for 3 outputs, got -1$"),
        (lambda: nl.losses.MSE()(Z3, np.array([0, 5, 1])), ValueError, r"^MSE: expected class labels in \[0, 2\] for 3 outputs, got 5$"),
        # float labels where class indices are needed
        (lambda: ce(Z3, np.array([0.0, 2.0, 1.0])), TypeError, r"^CrossEntropy: expected integer class labels, got dtype float64; convert them with y\.astype\(int\)$"),
        (lambda: nl.losses.MSE()(Z3, np.array([0.0, 2.0, 1.0], np.float32)), TypeError, r"^MSE: expected integer class labels, got dtype float32; convert them with y\.astype\(int\)$"),
        (lambda: ce(Z3, np.array([0.5, 2.0, 1.0])), TypeError, r"^CrossEntropy: expected integer class labels, got dtype float64$"),
        # a column of labels
        (lambda: ce(Z3, np.array([[0], [2], [1]])), ValueError, r"^CrossEntropy: expected class labels of shape \(N,\) or one-hot targets of shape \(N, 3\), got \(3, 1\); flatten a column of labels with y\.ravel\(\)$"),
        # one-hot of the wrong width
        (lambda: ce(Z3, np.eye(4)[:3]), ValueError, r"^CrossEntropy: expected class labels of shape \(N,\) or one-hot targets of shape \(N, 3\), got \(3, 4\)$"),
        (lambda: nl.losses.MSE()(Z3, np.zeros((3, 2))), ValueError, r"^MSE: expected targets of shape \(N, 3\), got \(3, 2\)$"),
        (lambda: nl.losses.BinaryCrossEntropy()(Z3, np.zeros((3, 2))), ValueError, r"^BinaryCrossEntropy: expected targets of shape \(N, 3\), got \(3, 2\)$"),
        # probability rows that are not
        (lambda: ce(Z3, np.full((3, 3), 0.5)), ValueError, r"^CrossEntropy: expected \(N, K\) targets to be probabilities \(non-negative rows summing to 1\), got rows that are not$"),
        (lambda: ce(Z3, np.array([[1.5, -0.5, 0.0]] * 3)), ValueError, r"^CrossEntropy: expected \(N, K\) targets to be probabilities"),
        # BCE targets outside [0, 1], and labels given to BCE
        (lambda: nl.losses.BinaryCrossEntropy()(Z3, np.array([[0, 1, 1.5]] * 3)), ValueError, r"^BinaryCrossEntropy: expected targets in \[0, 1\], got 1\.5$"),
        (lambda: nl.losses.BinaryCrossEntropy()(Z3[:, :1], np.array([0.0, -0.25, 1.0])), ValueError, r"^BinaryCrossEntropy: expected targets in \[0, 1\], got -0\.25$"),
        (lambda: nl.losses.BinaryCrossEntropy()(Z3, np.array([0, 2, 1])), ValueError, r"^BinaryCrossEntropy: expected targets of shape \(N, 3\) for 3 outputs, got \(3,\); for class labels use loss='cross_entropy'$"),
        # cross_entropy with a single output
        (lambda: ce(np.zeros((3, 1)), np.array([0, 1, 1])), ValueError, r"^CrossEntropy: expected at least 2 outputs \(one logit per class\), got 1; for one output unit use loss='binary_cross_entropy'$"),
        # wrong number of targets
        (lambda: ce(Z3, np.array([0, 1])), ValueError, r"^CrossEntropy: expected 3 targets \(one per sample\), got shape \(2,\)$"),
        (lambda: ce(Z3, 1), ValueError, r"^CrossEntropy: expected 3 targets \(one per sample\), got shape \(\)$"),
        (lambda: nl.losses.MSE()(Z3, np.zeros((4, 3))), ValueError, r"^MSE: expected 3 targets \(one per sample\), got shape \(4, 3\)$"),
        (lambda: nl.losses.BinaryCrossEntropy()(Z3, np.zeros((2, 3))), ValueError, r"^BinaryCrossEntropy: expected 3 targets \(one per sample\), got shape \(2, 3\)$"),
        (lambda: nl.losses.MSE()(Z3, np.zeros((3, 3, 1))), ValueError, r"^MSE: expected targets of shape \(N,\) or \(N, 3\), got \(3, 3, 1\)$"),
        # NaN and inf targets
        (lambda: nl.losses.MSE()(Z3, np.array([[0, 0, 0], [0, np.nan, 0], [0, 0, 0]])), ValueError, r"^MSE: expected target to be finite, got nan at index \(1, 1\) \(1 non-finite value in all\)$"),
        (lambda: nl.losses.MSE()(Z3[:, :1], np.array([0.0, np.inf, -np.inf])), ValueError, r"^MSE: expected target to be finite, got inf at index \(1,\) \(2 non-finite values in all\)$"),
        (lambda: nl.losses.BinaryCrossEntropy()(Z3, np.full((3, 3), np.nan)), ValueError, r"^BinaryCrossEntropy: expected target to be finite, got nan at index \(0, 0\) \(9 non-finite values in all\)$"),
        (lambda: ce(Z3, np.array([0.0, np.nan, 1.0])), ValueError, r"^CrossEntropy: expected target to be finite, got nan at index \(1,\)"),
        # targets that are not numbers
        (lambda: ce(Z3, np.array(["a", "b", "c"])), TypeError, r"^CrossEntropy: expected target to hold real numbers, got dtype <U1$"),
        (lambda: nl.losses.MSE()(Z3, np.zeros((3, 3), complex)), TypeError, r"^MSE: expected target to hold real numbers, got dtype complex128$"),
        # the prediction
        (lambda: nl.losses.MSE()(np.zeros(3), np.zeros(3)), ValueError, r"^MSE\.forward: expected prediction of shape \(N, outputs\) and a float dtype, got shape \(3,\) and dtype float64$"),
        (lambda: ce(np.zeros(3), np.array([0, 1, 2])), ValueError, r"^CrossEntropy\.forward: expected prediction of shape \(N, outputs\) and a float dtype, got shape \(3,\)"),
        (lambda: nl.losses.BinaryCrossEntropy()(np.zeros((3, 2), int), np.zeros((3, 2))), ValueError, r"^BinaryCrossEntropy\.forward: expected prediction of shape \(N, outputs\) and a float dtype, got shape \(3, 2\) and dtype int64$"),
    ],
)
def test_validation_messages(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_non_integer_float_labels_get_no_astype_hint():
    with pytest.raises(TypeError) as info:
        ce(Z3, np.array([0.5, 1.0, 2.0]))
    assert "astype" not in str(info.value)


@pytest.mark.parametrize("cls", [nl.losses.MSE, nl.losses.CrossEntropy, nl.losses.BinaryCrossEntropy])
def test_backward_before_forward_is_a_runtime_error(cls):
    with pytest.raises(RuntimeError, match=rf"^{cls.__name__}\.backward: expected a forward pass first, got none$"):
        cls().backward()


def test_a_failed_forward_leaves_no_stale_cache_on_a_fresh_loss():
    loss = nl.losses.CrossEntropy()
    with pytest.raises(ValueError):
        loss(Z3, np.array([0, 1]))
    with pytest.raises(RuntimeError, match="expected a forward pass first"):
        loss.backward()


def test_boolean_labels_are_class_indices():
    loss = nl.losses.CrossEntropy()
    z = logits(3, 2)
    assert loss(z, np.array([True, False, True])) == loss(z, np.array([1, 0, 1]))


# ---------------------------------------------------------------- the name table


def test_get_by_name_class_and_instance():
    for name, cls in [("mse", nl.losses.MSE), ("cross_entropy", nl.losses.CrossEntropy), ("binary_cross_entropy", nl.losses.BinaryCrossEntropy)]:
        assert type(nl.losses.get(name)) is cls
        assert type(nl.losses.get(name.upper())) is cls
        assert type(nl.losses.get(cls)) is cls
        assert cls.name == name and nl.losses.LOSSES[name] is cls
        instance = cls()
        assert nl.losses.get(instance) is instance
        assert repr(instance) == f"{cls.__name__}()"
    assert nl.losses.get("mse") is not nl.losses.get("mse")  # a fresh loss each time
    assert sorted(nl.losses.LOSSES) == sorted(NAMES)


def test_get_errors_list_the_valid_names():
    with pytest.raises(ValueError, match=r"^loss: expected one of \['binary_cross_entropy', 'cross_entropy', 'mse'\], got 'hinge'$"):
        nl.losses.get("hinge")
    with pytest.raises(TypeError, match=r"^loss: expected a name or a neurolab\.losses\.Loss, got int$"):
        nl.losses.get(3)
    with pytest.raises(TypeError, match=r"got NoneType$"):
        nl.losses.get(None)


# ---------------------------------------------------------------- output, predict, accuracy

Z_CE = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [1.0, 0.0, 5.0], [4.0, 0.0, 0.0]])  # argmax 0, 1, 2, 0


def test_cross_entropy_output_predict_accuracy():
    loss = nl.losses.CrossEntropy()
    p = loss.output(Z_CE)
    np.testing.assert_allclose(p, naive_softmax(Z_CE), rtol=1e-14)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    predicted = loss.predict(Z_CE)
    assert predicted.shape == (4,) and np.issubdtype(predicted.dtype, np.integer)
    np.testing.assert_array_equal(predicted, [0, 1, 2, 0])
    labels = np.array([0, 1, 0, 2])
    assert loss.accuracy(Z_CE, labels) == 0.5
    assert loss.accuracy(Z_CE, np.eye(3)[labels]) == 0.5
    assert loss.accuracy(Z_CE, np.array([0, 1, 2, 0])) == 1.0
    with pytest.raises(ValueError, match=r"class labels in \[0, 2\] for 3 outputs, got 3"):
        loss.accuracy(Z_CE, np.array([0, 1, 2, 3]))


def test_binary_cross_entropy_with_one_output_predicts_shape_n():
    loss = nl.losses.BinaryCrossEntropy()
    z = np.array([[2.0], [-1.0], [0.5], [-3.0], [0.0]])
    np.testing.assert_allclose(loss.output(z), naive_sigmoid(z), rtol=1e-15)
    assert loss.output(z).shape == (5, 1)
    predicted = loss.predict(z)
    assert predicted.shape == (5,) and np.issubdtype(predicted.dtype, np.integer)
    np.testing.assert_array_equal(predicted, [1, 0, 1, 0, 0])  # z = 0 decides 0
    assert loss.accuracy(z, np.array([1, 0, 0, 0, 1])) == 0.6
    assert loss.accuracy(z, np.array([[1.0], [0.0], [1.0], [0.0], [0.0]])) == 1.0


def test_binary_cross_entropy_with_several_outputs_scores_each_output():
    loss = nl.losses.BinaryCrossEntropy()
    z = np.array([[2.0, -1.0], [0.5, 3.0]])
    predicted = loss.predict(z)
    assert predicted.shape == (2, 2)
    np.testing.assert_array_equal(predicted, [[1, 0], [1, 1]])
    # soft targets are read as "> 0.5": [[1, 0], [0, 1]] -> 3 of 4 outputs right
    assert loss.accuracy(z, np.array([[0.9, 0.2], [0.4, 0.6]])) == 0.75


def test_mse_output_predict_accuracy():
    loss = nl.losses.MSE()
    np.testing.assert_array_equal(loss.output(Z_CE), Z_CE)
    np.testing.assert_array_equal(loss.predict(Z_CE), Z_CE)
    assert loss.accuracy(Z_CE, np.array([0, 1, 0, 2])) == 0.5  # labels compared with the argmax
    assert loss.accuracy(Z_CE, np.eye(3)[[0, 1, 2, 0]]) == 1.0
    single = np.array([[0.3], [0.9]])
    assert math.isnan(loss.accuracy(single, np.array([0.3, 0.9])))
