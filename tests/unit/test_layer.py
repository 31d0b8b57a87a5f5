"""Layer (the subclassing contract) and Dense."""

import numpy as np
import pytest

import neurolab as nl


def test_dense_shapes_dtype_and_initial_values():
    layer = nl.Dense(5, 3, rng=0)
    assert layer.weight.value.shape == (3, 5)  # (out_features, in_features): row i is neuron i
    assert layer.bias.value.shape == (3,)
    assert layer.weight.value.dtype == layer.bias.value.dtype == np.float32
    np.testing.assert_array_equal(layer.bias.value, 0)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    assert layer.parameters() == [layer.weight, layer.bias]
    assert nl.Dense(5, 3, rng=0, dtype=np.float64).weight.value.dtype == np.float64


def test_dense_forward_backward_follow_the_equations():
    rng = np.random.default_rng(0)
    layer = nl.Dense(4, 3, "tanh", rng=1, dtype=np.float64)
    layer.bias.value[...] = rng.standard_normal(3)
    x = rng.standard_normal((5, 4))
    W, b = layer.weight.value, layer.bias.value
    a = layer.forward(x)
    z = x @ W.T + b
    np.testing.assert_allclose(layer.z, z, rtol=1e-14)
    np.testing.assert_allclose(a, np.tanh(z), rtol=1e-14)
    grad_a = rng.standard_normal((5, 3))
    grad_x = layer.backward(grad_a)
    grad_z = grad_a * (1 - np.tanh(z) ** 2)
    np.testing.assert_allclose(layer.grad_z, grad_z, rtol=1e-13)
    np.testing.assert_allclose(layer.weight.grad, grad_z.T @ x, rtol=1e-13)
    np.testing.assert_allclose(layer.bias.grad, grad_z.sum(axis=0), rtol=1e-13)
    np.testing.assert_allclose(grad_x, grad_z @ W, rtol=1e-13)


def test_backward_adds_into_gradients_and_zero_grad_clears_them():
    layer = nl.Dense(2, 2, "identity", rng=0, dtype=np.float64)
    x = np.array([[1.0, 2.0]])
    layer.forward(x)
    layer.backward(np.ones((1, 2)))
    once = layer.weight.grad.copy()
    layer.forward(x)
    layer.backward(np.ones((1, 2)))
    np.testing.assert_array_equal(layer.weight.grad, 2 * once)
    layer.zero_grad()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


def test_same_seed_same_weights_and_global_seed_is_irrelevant():
    np.random.seed(1)
    a = nl.Dense(4, 3, rng=7).weight.value
    np.random.seed(2)
    b = nl.Dense(4, 3, rng=7).weight.value
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, nl.Dense(4, 3, rng=8).weight.value)
    gen = np.random.default_rng(7)
    np.testing.assert_array_equal(nl.Dense(4, 3, rng=gen).weight.value, a)


def test_integer_input_is_converted_without_rescaling_and_not_mutated():
    layer = nl.Dense(2, 1, "identity", rng=0)
    layer.weight.value[...] = [[1.0, 1.0]]
    x = np.array([[200, 55]], dtype=np.uint8)
    out = layer.forward(x)
    assert out.dtype == np.float32 and out[0, 0] == 255.0
    np.testing.assert_array_equal(x, [[200, 55]])


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"in_features": 0, "out_features": 3}, ValueError, r"Dense: expected in_features to be a positive int, got 0"),
        ({"in_features": 3, "out_features": -1}, ValueError, r"expected out_features to be a positive int, got -1"),
        ({"in_features": 2.5, "out_features": 3}, TypeError, r"expected in_features to be a positive int, got 2.5"),
        ({"in_features": 2, "out_features": 3, "activation": "swish"}, ValueError, r"activation: expected one of \['identity', 'leaky_relu', 'relu', 'sigmoid', 'softmax', 'tanh'\], got 'swish'"),
        ({"in_features": 2, "out_features": 3, "dtype": np.int32}, TypeError, r"Dense: expected dtype float32 or float64, got int32"),
        ({"in_features": 2, "out_features": 3, "rng": np.random.RandomState(0)}, TypeError, r"Dense: expected rng to be None, an int seed or a numpy.random.Generator, got RandomState"),
        ({"in_features": 2, "out_features": 3, "init": "glorot"}, ValueError, r"init: expected one of .*xavier_uniform.*, got 'glorot'"),
    ],
)
def test_dense_construction_errors(kwargs, error, message):
    with pytest.raises(error, match=message):
        nl.Dense(**kwargs)


def test_dense_input_shape_errors_name_the_layer():
    layer = nl.Dense(4, 2, rng=0)
    with pytest.raises(ValueError, match=r"Dense\(4, 2, activation='relu'\)\.forward: expected input of shape \(N, 4\), got \(3, 5\)"):
        layer.forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"got \(4,\); for a single sample use x.reshape\(1, -1\)"):
        layer.forward(np.zeros(4))


def test_dense_backward_errors():
    layer = nl.Dense(4, 2, rng=0)
    with pytest.raises(RuntimeError, match=r"backward: expected a forward pass first, got none"):
        layer.backward(np.zeros((3, 2)))
    layer.forward(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"backward: expected grad_a of shape \(3, 2\) \(the last output\), got \(3, 4\)"):
        layer.backward(np.zeros((3, 4)))


def test_repr():
    assert repr(nl.Dense(784, 256, rng=0)) == "Dense(784, 256, activation='relu')"
    leaky = nl.Dense(3, 2, nl.activations.LeakyReLU(0.2), rng=0)
    assert repr(leaky) == "Dense(3, 2, activation=LeakyReLU(negative_slope=0.2))"


def test_astype_converts_parameters_and_clears_the_cache():
    layer = nl.Dense(3, 2, rng=0)
    layer.forward(np.ones((1, 3)))
    assert layer.astype(np.float64) is layer
    assert layer.weight.value.dtype == layer.weight.grad.dtype == np.float64
    assert layer.z is None


class Scale(nl.Layer):
    def __init__(self, features):
        super().__init__()
        self.scale = self.add_parameter("scale", np.ones(features))

    def forward(self, x):
        self.x = x
        return x * self.scale.value

    def backward(self, grad_out):
        self.scale.grad += (grad_out * self.x).sum(axis=0)
        return grad_out * self.scale.value


def test_user_layer_gets_registry_call_and_repr():
    layer = Scale(3)
    assert layer.parameters() == [layer.scale]
    np.testing.assert_array_equal(layer(np.ones((2, 3))), np.ones((2, 3)))
    assert repr(layer) == "Scale()"


def test_forgetting_super_init_is_explained():
    class Forgot(nl.Layer):
        def __init__(self):
            self.w = self.add_parameter("w", np.ones(2))

    with pytest.raises(RuntimeError, match=r"Forgot.add_parameter: .*call super\(\).__init__\(\) first in Forgot.__init__"):
        Forgot()


@pytest.mark.parametrize(
    "name, value, error, message",
    [
        ("2w", np.ones(2), ValueError, r"expected the name to be a Python identifier, got '2w'"),
        ("scale", np.ones(2), ValueError, r"expected a new name, got 'scale', already registered"),
        ("w", [1.0, 2.0], TypeError, r"expected a numpy.ndarray for 'w', got list"),
        ("w", np.ones(2, dtype=int), TypeError, r"Parameter: expected a float32 or float64 value, got dtype int64"),
    ],
)
def test_add_parameter_errors(name, value, error, message):
    layer = Scale(2)
    with pytest.raises(error, match=message):
        layer.add_parameter(name, value)


def test_base_layer_methods_must_be_implemented():
    with pytest.raises(NotImplementedError, match="Layer.forward: subclasses of Layer implement forward"):
        nl.Layer().forward(np.ones((1, 1)))
    with pytest.raises(NotImplementedError, match="Layer.backward"):
        nl.Layer().backward(np.ones((1, 1)))


def test_input_grad_false_skips_the_input_gradient_but_adds_the_same_gradients():
    rng = np.random.default_rng(0)
    x, g = rng.standard_normal((4, 3)), rng.standard_normal((4, 2))
    full, short = nl.Dense(3, 2, "tanh", rng=0, dtype=np.float64), nl.Dense(3, 2, "tanh", rng=0, dtype=np.float64)
    full.forward(x)
    short.forward(x)
    assert full.backward(g).shape == (4, 3)
    assert short.backward(g, input_grad=False) is None
    np.testing.assert_array_equal(short.weight.grad, full.weight.grad)
    np.testing.assert_array_equal(short.bias.grad, full.bias.grad)
    np.testing.assert_array_equal(short.grad_z, full.grad_z)


def test_a_subclass_backward_without_input_grad_is_what_fit_runs_on_the_first_layer():
    calls = []

    class Traced(nl.Dense):
        def backward(self, grad_out):
            calls.append(grad_out.shape)
            return super().backward(grad_out)

    layer = Traced(3, 2, rng=0)
    net = nl.NeuralNetwork([layer, nl.Dense(2, 2, "identity", rng=1)], "cross_entropy")
    net.fit(np.ones((4, 3), dtype=np.float32), np.array([0, 1, 0, 1]), epochs=1, batch_size=4, verbose=0)
    assert calls == [(4, 2)]  # fit ran Traced.backward as written (without input_grad) on the first layer
