"""The gradient checker itself: it accepts correct layers and rejects each classic backprop bug,
with a report that points at the wrong array."""

import numpy as np
import pytest

import neurolab as nl
from neurolab.gradcheck import (
    GradientCheckError,
    check_activation,
    check_layer,
    check_loss,
    check_network,
    numerical_gradient,
)
from neurolab.testing import assert_image_layer_gradients, assert_layer_gradients


def make_x(n=4, features=3, seed=1):
    return np.random.default_rng(seed).uniform(-2, 2, (n, features))


class Buggy(nl.Dense):
    """Dense with one deliberate bug in backward, chosen by ``bug``."""

    def __init__(self, in_features, out_features, bug, activation="sigmoid"):
        super().__init__(in_features, out_features, activation, rng=0, dtype=np.float64)
        self.bias.value[...] = np.linspace(-0.5, 0.5, out_features)
        self.bug = bug

    def backward(self, grad_out):
        x, w, n = self.x, self.weight, self.x.shape[0]
        if self.bug == "missing_activation_derivative":
            grad_z = grad_out
        else:
            grad_z = self.activation.backward(self.z, self.a, grad_out)
        grad_w = {
            "sign": -(grad_z.T @ x),
            "transposed_weight_grad": (x.T @ grad_z),
            "mean_not_sum": grad_z.T @ x / n,
        }.get(self.bug, grad_z.T @ x)
        if self.bug == "overwrite":
            w.grad[...] = grad_w
        elif self.bug == "replaced_by_transpose":  # rebinding .grad sidesteps numpy's shape check
            w.grad = x.T @ grad_z
        else:
            w.grad += grad_w
        self.bias.grad += grad_z[0] if self.bug == "bias_not_summed" else grad_z.sum(axis=0)
        if self.bug == "updated_weights":  # the tutorial bug: step inside backward, then use W
            w.value -= 0.1 * grad_w
        return grad_z @ w.value


def test_correct_dense_passes():
    check_layer(nl.Dense(3, 3, "sigmoid", rng=0), make_x())
    check_layer(Buggy(3, 3, bug=None), make_x())


@pytest.mark.parametrize(
    "bug, array",
    [
        ("sign", "weight"),
        ("transposed_weight_grad", "weight"),
        ("missing_activation_derivative", "input"),
        ("mean_not_sum", "weight"),
        ("bias_not_summed", "bias"),
    ],
)
def test_rejects_wrong_gradient_and_names_the_array(bug, array):
    with pytest.raises(GradientCheckError, match=rf"check_layer\(Buggy\): gradient of {array}(\[| )"):
        check_layer(Buggy(3, 3, bug), make_x())


def test_rejects_missing_activation_derivative_in_parameters_too():
    layer = Buggy(3, 3, "missing_activation_derivative")
    with pytest.raises(GradientCheckError, match="analytical .* numerical"):
        check_layer(layer, make_x())


def test_transposed_weight_gradient_of_a_non_square_layer_is_refused_by_the_parameter():
    with pytest.raises(ValueError, match=r"Parameter.grad: expected an array of shape \(2, 3\), got shape \(3, 2\)"):
        check_layer(Buggy(3, 2, "replaced_by_transpose"), make_x())


def test_rejects_input_gradient_with_updated_weights():
    with pytest.raises(GradientCheckError, match="parameter 'weight' .*must not update weights"):
        check_layer(Buggy(3, 3, "updated_weights"), make_x())


def test_rejects_overwrite_and_says_so():
    with pytest.raises(GradientCheckError, match=r"gradient of weight\[.*overwrote weight.grad instead of adding"):
        check_layer(Buggy(3, 3, "overwrite"), make_x())


def test_report_gives_index_and_both_values():
    with pytest.raises(GradientCheckError) as info:
        check_layer(Buggy(3, 2, "sign"), make_x())
    message = str(info.value)
    assert "weight[" in message and "analytical" in message and "numerical" in message
    assert "entries differ" in message


def test_sum_vs_mean_slip_needs_more_than_one_sample_to_show():
    check_layer(Buggy(3, 3, "mean_not_sum"), make_x(n=1))  # identical when N = 1
    with pytest.raises(GradientCheckError):
        check_layer(Buggy(3, 3, "mean_not_sum"), make_x(n=2))


def test_rejects_wrong_input_gradient_shape():
    class WrongShape(nl.Dense):
        def backward(self, grad_out):
            return super().backward(grad_out)[:, :-1]

    with pytest.raises(GradientCheckError, match=r"dL/dx of the input's shape \(4, 3\), got \(4, 2\)"):
        check_layer(WrongShape(3, 2, rng=0), make_x())


def test_rejects_forward_that_mutates_its_input():
    class Mutates(nl.Layer):
        def forward(self, x):
            x *= 2
            return x

        def backward(self, grad_out):
            return grad_out * 2

    with pytest.raises(GradientCheckError, match="input x .*must not mutate"):
        check_layer(Mutates(), make_x())


def test_float32_layer_is_checked_in_float64_and_left_untouched():
    layer = nl.Dense(3, 2, "tanh", rng=0)
    before = layer.weight.value.copy()
    check_layer(layer, make_x())
    assert layer.weight.value.dtype == np.float32
    np.testing.assert_array_equal(layer.weight.value, before)
    assert layer.x is None  # the original never ran


class Scale(nl.Layer):
    """A user's layer: Y = X * s, one learned factor per feature."""

    def __init__(self, features, wrong=False):
        super().__init__()
        self.scale = self.add_parameter("scale", np.linspace(0.5, 1.5, features))
        self.wrong = wrong

    def forward(self, x):
        self.x = x
        return x * self.scale.value

    def backward(self, grad_out):
        self.scale.grad += (grad_out * self.x).sum(axis=0)
        return grad_out * (1.0 if self.wrong else self.scale.value)


def test_user_layer_right_and_wrong():
    check_layer(Scale(3), make_x())
    with pytest.raises(GradientCheckError, match=r"check_layer\(Scale\): gradient of input\["):
        check_layer(Scale(3, wrong=True), make_x())


def test_property_based_check_rejects_a_wrong_layer():
    with pytest.raises(GradientCheckError):
        assert_layer_gradients(lambda f, rng: Scale(f, wrong=True), max_in_features=3, max_batch_size=3, max_examples=10)
    assert_layer_gradients(lambda f, rng: Scale(f), max_examples=10)


class ChannelScale(nl.Layer):
    """``Y[n, c] = X[n, c] * s[c]``: a user's layer on images; ``wrong`` forgets the channel axis in dX."""

    def __init__(self, channels, wrong=False):
        super().__init__()
        self.scale = self.add_parameter("scale", np.linspace(0.5, 1.5, channels))
        self.wrong = wrong

    def forward(self, x):
        self.x = x
        return x * self.scale.value[:, None, None]

    def backward(self, grad_out):
        self.scale.grad += (grad_out * self.x).sum(axis=(0, 2, 3))
        return grad_out * (self.scale.value[0] if self.wrong else self.scale.value[:, None, None])


def test_property_based_image_check_rejects_a_wrong_layer():
    with pytest.raises(GradientCheckError, match=r"check_layer\(ChannelScale\): gradient of input\["):
        assert_image_layer_gradients(lambda c, rng: ChannelScale(c, wrong=True), max_examples=20)
    assert_image_layer_gradients(lambda c, rng: ChannelScale(c), max_examples=10)
    shapes = []
    assert_image_layer_gradients(lambda c, rng: ChannelScale(c), where=lambda layer, x: shapes.append(x.shape) or True, max_examples=30)
    assert all(len(shape) == 4 for shape in shapes) and max(shape[1] for shape in shapes) > 1  # images of several channels


class Stochastic(nl.Layer):
    """Multiplies by a fresh random mask each forward pass, drawn from its own Generator."""

    def __init__(self):
        super().__init__()
        self.rng = np.random.default_rng(0)

    def forward(self, x):
        self.mask = self.rng.uniform(0.5, 1.5, x.shape)
        return x * self.mask

    def backward(self, grad_out):
        return grad_out * self.mask


def test_layers_drawing_random_numbers_are_checked_from_the_same_state():
    check_layer(Stochastic(), make_x())


@pytest.mark.parametrize(
    "name, wrong_derivative",
    [
        ("sigmoid", lambda z, a: a),
        ("tanh", lambda z, a: 1 - z * z),
        ("relu", lambda z, a: np.ones_like(z)),
        ("leaky_relu", lambda z, a: np.where(z > 0, 1.0, 0.1)),
        ("identity", lambda z, a: 2 * np.ones_like(z)),
    ],
)
def test_check_activation_rejects_wrong_derivative(name, wrong_derivative, monkeypatch):
    activation = nl.activations.get(name)
    z = np.array([[-1.5, -0.5, 0.5, 1.5]])
    check_activation(activation, z)
    monkeypatch.setattr(activation, "derivative", wrong_derivative)
    monkeypatch.setattr(activation, "backward", lambda z, a, g: g * wrong_derivative(z, a))
    with pytest.raises(GradientCheckError, match=rf"check_activation\({type(activation).__name__}\): gradient of z\["):
        check_activation(activation, z)


def test_check_activation_rejects_softmax_without_coupling():
    softmax = nl.activations.Softmax()
    softmax.backward = lambda z, a, g: g * a * (1 - a)  # the diagonal of the Jacobian only
    with pytest.raises(GradientCheckError):
        check_activation(softmax, np.array([[0.1, -1.0, 2.0]]))


@pytest.mark.parametrize(
    "name, target, wrong",
    [
        ("mse", np.array([[0.5, -1.0], [2.0, 0.0]]), lambda c: c * 2),  # per element, not per sample
        ("cross_entropy", np.array([1, 0]), lambda c: c * 2),  # sum instead of mean over N = 2
        ("binary_cross_entropy", np.array([[1.0, 0.0], [0.0, 1.0]]), lambda c: -c),
    ],
)
def test_check_loss_rejects_wrong_gradient(name, target, wrong, monkeypatch):
    loss = nl.losses.get(name)
    prediction = np.array([[0.3, -0.7], [1.2, 0.4]])
    check_loss(loss, prediction, target)
    original = type(loss).backward
    monkeypatch.setattr(type(loss), "backward", lambda self: wrong(original(self)))
    with pytest.raises(GradientCheckError, match=rf"check_loss\({type(loss).__name__}\): gradient of prediction\["):
        check_loss(loss, prediction, target)


def test_check_network_names_the_layer():
    good = nl.Dense(3, 3, "tanh", rng=0)
    bad = Buggy(3, 2, "sign", activation="identity")
    net = nl.NeuralNetwork([good, bad], loss="mse")
    with pytest.raises(GradientCheckError, match=r"gradient of layers\[1\] \(Buggy\)\.weight\["):
        check_network(net, make_x(), np.zeros((4, 2)))


def test_numerical_gradient_of_a_known_function_and_restores_the_array():
    x = np.array([1.0, -2.0, 0.5])
    grad = numerical_gradient(lambda: float(np.sum(x**3)), x)
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-9)
    np.testing.assert_array_equal(x, [1.0, -2.0, 0.5])


class NaNForward(nl.Layer):
    """forward returns NaN, backward returns constants: every finite-difference gradient is NaN."""

    def forward(self, x):
        self.x = x
        return np.full_like(x, np.nan)

    def backward(self, grad_out):
        return np.ones_like(grad_out)


class InfBackward(nl.Layer):
    """A correct identity forward whose backward returns inf where it should return grad_out."""

    def forward(self, x):
        return x.copy()

    def backward(self, grad_out):
        grad_x = grad_out.copy()
        grad_x[1, 2] = np.inf
        return grad_x


def test_a_nan_numerical_gradient_fails_and_says_forward_gave_a_non_finite_loss():
    with pytest.raises(
        GradientCheckError,
        match=r"check_layer\(NaNForward\): expected finite gradients, got a numerical gradient of input\[0, 0\] of nan "
        r"\(forward gave a non-finite loss when this entry was moved by \+-eps\); 12 of 12 entries are not finite",
    ):
        check_layer(NaNForward(), make_x())


def test_a_non_finite_analytical_gradient_fails_and_is_named():
    with pytest.raises(
        GradientCheckError,
        match=r"expected finite gradients, got an analytical gradient of input\[1, 2\] of inf \(backward returned it\); 1 of 12",
    ):
        check_layer(InfBackward(), make_x())


def test_check_loss_and_check_activation_refuse_non_finite_forwards():
    class NaNLoss(nl.losses.MSE):
        def forward(self, prediction, target):
            super().forward(prediction, target)
            return float("nan")

    with pytest.raises(GradientCheckError, match="numerical gradient of prediction"):
        check_loss(NaNLoss(), make_x(), np.zeros((4, 3)))

    class NaNActivation(nl.activations.Activation):
        name = "nan"

        def forward(self, z):
            return np.full_like(z, np.nan)

        def derivative(self, z, a):
            return np.ones_like(z)

    with pytest.raises(GradientCheckError, match="numerical gradient of z"):
        check_activation(NaNActivation(), make_x())
