"""Neuron: standalone, and as a zero-copy view of a Dense layer's row."""

import copy
import math

import numpy as np
import pytest

import neurolab as nl


def trained_layer():
    layer = nl.Dense(3, 4, "sigmoid", rng=0)
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    layer.forward(x)
    layer.backward(np.ones((5, 4), dtype=np.float32))
    return layer, x


def test_view_shares_memory_with_the_layer():
    layer, _ = trained_layer()
    neuron = layer.neurons[2]
    assert np.shares_memory(neuron.weights, layer.weight.value)
    assert np.shares_memory(neuron.bias, layer.bias.value)
    assert np.shares_memory(neuron.grad_weights, layer.weight.grad)
    assert np.shares_memory(neuron.grad_bias, layer.bias.grad)
    np.testing.assert_array_equal(neuron.weights, layer.weight.value[2])
    assert neuron.bias.shape == () and neuron.bias == layer.bias.value[2]
    np.testing.assert_array_equal(neuron.grad_weights, layer.weight.grad[2])
    assert neuron.grad_bias == layer.bias.grad[2]


def test_view_sees_optimizer_updates_and_writes_through():
    layer, _ = trained_layer()
    neuron = layer.neurons[1]
    before = neuron.weights.copy()
    nl.optim.SGD(lr=0.1).step(layer.parameters())
    np.testing.assert_allclose(neuron.weights, before - 0.1 * layer.weight.grad[1])
    neuron.weights = [1.0, 2.0, 3.0]
    neuron.bias = -0.5
    np.testing.assert_array_equal(layer.weight.value[1], [1.0, 2.0, 3.0])
    assert layer.bias.value[1] == -0.5


def test_view_shows_its_column_of_the_last_pass_read_only():
    layer, x = trained_layer()
    neuron = layer.neurons[3]
    np.testing.assert_array_equal(neuron.z, layer.z[:, 3])
    np.testing.assert_array_equal(neuron.a, layer.a[:, 3])
    np.testing.assert_array_equal(neuron.delta, layer.grad_z[:, 3])
    assert neuron.x is layer.x
    with pytest.raises(ValueError, match="read-only"):
        neuron.z[0] = 1.0
    layer.forward(x)
    assert neuron.delta is None  # a new forward pass makes the old errors stale


def test_fresh_layer_has_no_last_pass():
    neuron = nl.Dense(2, 2, rng=0).neurons[0]
    assert neuron.x is None and neuron.z is None and neuron.a is None and neuron.delta is None


def test_standalone_neuron_equations():
    neuron = nl.Neuron(2, "sigmoid", rng=0, dtype=np.float64)
    neuron.weights = [0.5, -1.0]
    neuron.bias = 0.25
    x = np.array([[1.0, 2.0], [0.0, -1.0]])
    a = neuron.forward(x)
    z = np.array([0.5 - 2.0 + 0.25, 1.0 + 0.25])
    sig = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(neuron.z, z, rtol=1e-15)
    np.testing.assert_allclose(a, sig, rtol=1e-15)
    grad_a = np.array([1.0, -2.0])
    grad_x = neuron.backward(grad_a)
    delta = grad_a * sig * (1 - sig)
    np.testing.assert_allclose(neuron.delta, delta, rtol=1e-15)
    np.testing.assert_allclose(neuron.grad_weights, delta @ x, rtol=1e-15)
    assert math.isclose(float(neuron.grad_bias), delta.sum(), rel_tol=1e-15)
    np.testing.assert_allclose(grad_x, np.outer(delta, [0.5, -1.0]), rtol=1e-15)
    assert [name for name, _ in neuron.named_parameters()] == ["weights", "bias"]
    assert repr(neuron) == "Neuron(2, activation='sigmoid')"


def test_neuron_by_neuron_fills_the_layer_cache_so_layer_backward_works():
    layer = nl.Dense(3, 2, "tanh", rng=0, dtype=np.float64)
    x = np.random.default_rng(0).standard_normal((4, 3))
    for neuron in layer.neurons:
        neuron.forward(x)
    expected = copy.deepcopy(layer)
    expected.forward(x)
    np.testing.assert_allclose(layer.a, expected.a, rtol=1e-14)
    grad = np.ones((4, 2))
    np.testing.assert_allclose(layer.backward(grad), expected.backward(grad), rtol=1e-14)


def test_softmax_neurons_can_be_read_but_not_run():
    layer = nl.Dense(3, 2, "softmax", rng=0)
    neuron = layer.neurons[0]
    assert neuron.weights.shape == (3,)
    with pytest.raises(TypeError, match="Neuron.forward: expected an elementwise activation, got 'softmax'"):
        neuron.forward(np.ones((1, 3)))
    with pytest.raises(ValueError, match="Neuron: expected an elementwise activation, got 'softmax'"):
        nl.Neuron(3, "softmax")


def test_neuron_errors():
    neuron = nl.Neuron(3, rng=0)
    with pytest.raises(RuntimeError, match="Neuron.backward: expected a forward pass first"):
        neuron.backward(np.ones(2))
    with pytest.raises(ValueError, match=r"^Neuron.forward: expected input of shape \(N, 3\), got \(2, 2\)"):
        neuron.forward(np.ones((2, 2)))
    view = nl.Dense(3, 2, rng=0).neurons[1]
    with pytest.raises(ValueError, match=r"Dense\(3, 2, activation='relu'\).neurons\[1\].forward: expected input of shape \(N, 3\), got \(2, 2\)"):
        view.forward(np.ones((2, 2)))
    neuron.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"Neuron.backward: expected grad_a of shape \(2,\) \(one value per sample\), got \(2, 1\)"):
        neuron.backward(np.ones((2, 1)))


def test_neuron_views_sequence():
    layer = nl.Dense(3, 4, rng=0)
    views = layer.neurons
    assert len(views) == 4
    assert [n.index for n in views] == [0, 1, 2, 3]
    assert views[-1].index == 3
    assert [n.index for n in views[1:3]] == [1, 2]
    with pytest.raises(IndexError, match=r"neurons: expected an index in \[-4, 4\), got 4"):
        views[4]
    with pytest.raises(TypeError, match="neurons: expected an int index or a slice, got str"):
        views["0"]


def test_deepcopy_and_astype_keep_the_view_consistent():
    neuron = nl.Neuron(3, rng=0)
    clone = copy.deepcopy(neuron)
    assert np.shares_memory(clone.weights, clone.layer.weight.value)
    assert not np.shares_memory(clone.weights, neuron.weights)
    neuron.astype(np.float64)
    assert neuron.weights.dtype == np.float64
    assert np.shares_memory(neuron.weights, neuron.layer.weight.value)


def test_backward_of_a_neuron_that_did_not_run_forward_is_refused():
    layer = nl.Dense(3, 2, "tanh", rng=0)
    layer.neurons[0].forward(np.ones((2, 3)))
    with pytest.raises(RuntimeError, match="expected neuron 1 to have run forward on this batch"):
        layer.neurons[1].backward(np.ones(2))


def test_rerunning_a_neurons_forward_makes_old_errors_stale():
    layer = nl.Dense(3, 2, "tanh", rng=0)
    x = np.ones((2, 3))
    for neuron in layer.neurons:
        neuron.forward(x)
        neuron.backward(np.ones(2))
    assert layer.neurons[0].delta is not None
    layer.neurons[0].forward(x)
    assert layer.grad_z is None and layer.neurons[1].delta is None


def test_neuron_views_are_made_once_and_copies_bind_their_own():
    import copy

    layer = nl.Dense(3, 4, rng=0)
    assert layer.neurons is layer.neurons and layer.neurons[2] is layer.neurons[2] is layer.neurons[-2]
    twin = copy.deepcopy(layer)
    assert twin.neurons[2].layer is twin and twin.neurons[2] is not layer.neurons[2]
    twin.neurons[2].weights = 0.0
    assert not np.all(layer.neurons[2].weights == 0)
