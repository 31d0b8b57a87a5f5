"""neurolab.analysis: activations over a dataset, top-activating samples, dead ReLUs, weight snapshots."""

import numpy as np
import pytest

import neurolab as nl
from neurolab.analysis import WeightHistory, activations, dead_units, top_activating
from neurolab.callbacks import Callback


def make_net(seed=0):
    rng = np.random.default_rng(seed)
    layers = [
        nl.Dense(4, 5, "tanh", rng=rng, dtype=np.float64),
        nl.Dropout(0.5, rng=rng),
        nl.Dense(5, 3, "relu", rng=rng, dtype=np.float64),
        nl.Dense(3, 2, "identity", rng=rng, dtype=np.float64),
    ]
    for layer in (layers[0], layers[2], layers[3]):
        layer.bias.value[...] = rng.uniform(-0.5, 0.5, layer.bias.value.shape)
    return nl.NeuralNetwork(layers, "cross_entropy")


def manual_forward(net, X):
    """Each Dense layer's (Z, A), computed from the weights by hand (Dropout is the identity in evaluation)."""
    d0, d2, d3 = net.layers[0], net.layers[2], net.layers[3]
    z0 = X @ d0.weight.value.T + d0.bias.value
    a0 = np.tanh(z0)
    z2 = a0 @ d2.weight.value.T + d2.bias.value
    a2 = np.maximum(z2, 0)
    z3 = a2 @ d3.weight.value.T + d3.bias.value
    return {0: (z0, a0), 1: (a0, a0), 2: (z2, a2), 3: (z3, z3)}


def data(n=10, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 4))


# -- activations ----------------------------------------------------------------------------
@pytest.mark.parametrize("layer", [0, 1, 2, 3, -1, -2])
@pytest.mark.parametrize("batch_size", [1, 3, 1024])
def test_activations_equal_a_manual_forward(layer, batch_size):
    net, X = make_net(), data()
    z, a = manual_forward(net, X)[layer % 4]
    np.testing.assert_allclose(activations(net, X, layer, batch_size=batch_size), a, rtol=1e-12, atol=1e-12)
    if layer % 4 != 1:
        np.testing.assert_allclose(activations(net, X, layer, batch_size=batch_size, pre_activation=True), z, rtol=1e-12, atol=1e-12)


def test_activations_take_the_layer_object():
    net, X = make_net(), data()
    np.testing.assert_array_equal(activations(net, X, net.layers[2]), activations(net, X, 2))


def test_activations_leave_the_network_untouched():
    net, X = make_net(), data()
    net.train()
    out = net.forward(X[:3])
    net.loss.forward(out, np.array([0, 1, 0]))
    net.backward(net.loss.backward())
    dense = [net.layers[i] for i in (0, 2, 3)]
    caches = [(layer.x, layer.z, layer.a, layer.grad_z) for layer in dense]
    rng_state = net.layers[1].rng.bit_generator.state
    mask = net.layers[1].mask

    activations(net, X, -1, batch_size=4)
    top_activating(net, X, 2, 0)
    dead_units(net, X)

    assert all(layer.training for layer in net.layers)
    for layer, cache in zip(dense, caches):
        assert all(now is before for now, before in zip((layer.x, layer.z, layer.a, layer.grad_z), cache))
    assert net.layers[1].mask is mask and net.layers[1].rng.bit_generator.state == rng_state
    net.backward(net.loss.backward())  # the network's last pass is still there to backpropagate


def test_activations_run_in_evaluation_mode():
    net, X = make_net(), data()
    net.train()
    first = activations(net, X, 2)
    np.testing.assert_array_equal(first, activations(net, X, 2))  # no dropout masks drawn
    np.testing.assert_allclose(first, manual_forward(net, X)[2][1], rtol=1e-12, atol=1e-12)


def test_activations_of_raw_pixels_through_rescale():
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(3, 2, "sigmoid", rng=0)], "mse")
    X = np.array([[0, 128, 255], [255, 0, 7]], dtype=np.uint8)
    a = activations(net, X, 1)
    assert a.dtype == np.float32 and a.shape == (2, 2)
    np.testing.assert_allclose(a, net.predict_proba(X), rtol=1e-6)


def test_activations_of_no_samples_have_the_layer_width():
    net = make_net()
    assert activations(net, np.zeros((0, 4)), 2).shape == (0, 3)


def test_activations_do_not_return_the_callers_array():
    net = nl.NeuralNetwork([nl.Dropout(0.5, rng=0), nl.Dense(4, 2, "identity", rng=0)], "mse")
    X = data()
    a = activations(net, X, 0)
    np.testing.assert_array_equal(a, X)
    assert not np.shares_memory(a, X)


# -- top_activating -------------------------------------------------------------------------
def linear_net(weights, activation="identity", dtype=np.float64):
    dense = nl.Dense(len(weights), 1, activation, dtype=dtype, rng=0)
    dense.weight.value[...] = weights
    return nl.NeuralNetwork([dense], "mse")


def test_top_activating_orders_largest_first():
    net = linear_net([1.0, 0.0])  # a = x0
    X = np.array([[0.5, 9], [3.0, -9], [-1.0, 0], [2.0, 0], [0.7, 0]])
    np.testing.assert_array_equal(top_activating(net, X, 0, 0, k=3), [1, 3, 4])
    order = top_activating(net, X, 0, 0, k=9)  # more than N: all of them
    np.testing.assert_array_equal(order, [1, 3, 4, 0, 2])
    assert order.dtype == np.int64


def test_top_activating_breaks_saturation_ties_by_z_then_index():
    net = linear_net([1.0], "sigmoid", dtype=np.float32)
    X = np.array([[50.0], [30.0], [100.0], [-1.0], [30.0]])
    a = activations(net, X, 0)[:, 0]
    assert (a[[0, 1, 2, 4]] == 1).all()  # float32 rounds them all to 1
    np.testing.assert_array_equal(top_activating(net, X, 0, 0, k=5), [2, 0, 1, 4, 3])


def test_top_activating_on_a_hidden_neuron_matches_activations():
    net, X = make_net(), data(50)
    a = activations(net, X, 0)[:, 2]
    np.testing.assert_array_equal(top_activating(net, X, 0, 2, k=7), np.argsort(-a, kind="stable")[:7])


# -- dead_units -----------------------------------------------------------------------------
def test_dead_units_counts_relu_neurons_never_active():
    rng = np.random.default_rng(0)
    first = nl.Dense(3, 6, "relu", rng=rng)
    second = nl.Dense(6, 4, "leaky_relu", rng=rng)
    third = nl.Dense(4, 5, "sigmoid", rng=rng)
    first.bias.value[[1, 4]] = -100.0  # z < 0 for every input in [-1, 1]: dead
    second.weight.value[0] = -np.abs(second.weight.value[0])
    second.bias.value[0] = -1.0  # inputs are >= 0 (ReLU outputs): z < 0 always
    net = nl.NeuralNetwork([first, second, third, nl.Dense(5, 2, "relu", rng=rng), nl.Dense(2, 2, "identity", rng=rng)], "cross_entropy")
    X = rng.uniform(-1, 1, (200, 3))
    counts = dead_units(net, X)
    assert set(counts) == {0, 1, 3}
    assert counts[0] == 2 and counts[1] >= 1
    a = activations(net, X, 3)
    assert counts[3] == int(((a <= 0).all(axis=0)).sum())
    a1 = activations(net, X, 1)
    assert counts[1] == int(((a1 <= 0).all(axis=0)).sum())


def test_dead_units_without_relu_layers_is_empty():
    assert dead_units(linear_net([1.0, 2.0], "sigmoid"), data(3)[:, :2]) == {}


# -- WeightHistory --------------------------------------------------------------------------
class WeightRecorder(Callback):
    """The whole layer's weights after every batch and every epoch."""

    def __init__(self, layer):
        self.layer, self.after_batch, self.after_epoch = layer, [], []

    def on_batch_end(self, network, batch, logs):
        self.after_batch.append(network.layers[self.layer].weight.value.copy())

    def on_epoch_end(self, network, epoch, logs):
        self.after_epoch.append(network.layers[self.layer].weight.value.copy())


def train_data(n=20, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)), rng.integers(0, 2, n)


def tiny_net(seed=0):
    return nl.NeuralNetwork([nl.Dense(4, 5, "tanh", rng=seed), nl.Dense(5, 2, "identity", rng=seed + 1)], "cross_entropy")


def test_weight_history_every_epoch_matches_the_weights_at_each_epoch_end():
    net, (X, y) = tiny_net(), train_data()
    start = net.layers[0].weight.value.copy()
    history, recorder = WeightHistory(layer=0, neurons=[3, 1]), WeightRecorder(0)
    net.fit(X, y, epochs=3, batch_size=8, optimizer=nl.optim.SGD(lr=0.1), rng=0, verbose=0, callbacks=[history, recorder])
    assert [(e, b) for e, b, _ in history.snapshots] == [(0, 0), (1, 3), (2, 3), (3, 3)]
    np.testing.assert_array_equal(history.snapshots[0][2], start[[3, 1]])
    for (_, _, weights), expected in zip(history.snapshots[1:], recorder.after_epoch):
        assert weights.shape == (2, 4)
        np.testing.assert_array_equal(weights, expected[[3, 1]])
    assert not np.array_equal(history.snapshots[0][2], history.snapshots[-1][2])  # it learned
    assert history.weights.shape == (4, 2, 4) and history.neurons == [3, 1]


def test_weight_history_every_n_batches_counts_across_epochs():
    net, (X, y) = tiny_net(), train_data()  # 3 batches per epoch, 9 in all
    history, recorder = WeightHistory(layer=net.layers[0], every=2), WeightRecorder(0)
    net.fit(X, y, epochs=3, batch_size=8, optimizer=nl.optim.SGD(lr=0.1), rng=0, verbose=0, callbacks=[history, recorder])
    assert [(e, b) for e, b, _ in history.snapshots] == [(0, 0), (1, 2), (2, 1), (2, 3), (3, 2)]
    assert history.neurons == [0, 1, 2, 3, 4]
    for (_, _, weights), step in zip(history.snapshots[1:], [2, 4, 6, 8]):
        np.testing.assert_array_equal(weights, recorder.after_batch[step - 1])


def test_weight_history_snapshots_are_copies_and_a_second_fit_appends():
    net, (X, y) = tiny_net(), train_data()
    history = WeightHistory(layer=-2)
    net.fit(X, y, epochs=1, batch_size=8, rng=0, verbose=0, callbacks=[history])
    first = history.snapshots[-1][2].copy()
    net.fit(X, y, epochs=2, batch_size=8, rng=0, verbose=0, callbacks=[history])
    assert [(e, b) for e, b, _ in history.snapshots] == [(0, 0), (1, 3), (1, 3), (2, 3)]
    np.testing.assert_array_equal(history.snapshots[1][2], first)
    np.testing.assert_array_equal(history.snapshots[-1][2], net.layers[0].weight.value)
    assert not np.shares_memory(history.snapshots[-1][2], net.layers[0].weight.value)


# -- errors ---------------------------------------------------------------------------------
def test_errors_name_the_function_and_what_was_expected():
    net, X = make_net(), data()
    with pytest.raises(TypeError, match=r"^activations: expected a neurolab.NeuralNetwork, got list"):
        activations([net], X, 0)
    with pytest.raises(ValueError, match=r"^activations: expected X of shape \(N, ...\), one sample per row, got \(4,\); for a single sample use X.reshape\(1, -1\)"):
        activations(net, X[0], 0)
    with pytest.raises(ValueError, match=r"^activations: expected X to be finite"):
        activations(net, np.full((2, 4), np.nan), 0)
    with pytest.raises(IndexError, match=r"^activations: expected a layer index in \[-4, 4\), got 4"):
        activations(net, X, 4)
    with pytest.raises(ValueError, match=r"^activations: expected a layer index or one of the network's layers, got Dense"):
        activations(net, X, nl.Dense(4, 5))
    with pytest.raises(TypeError, match=r"^activations: expected a Dense or Conv2D layer for pre_activation=True, got layers\[1\] Dropout"):
        activations(net, X, 1, pre_activation=True)
    with pytest.raises(ValueError, match=r"^activations: expected batch_size to be a positive int, got 0"):
        activations(net, X, 0, batch_size=0)
    with pytest.raises(ValueError, match=r"^top_activating: expected a neuron index in \[0, 3\) for layers\[2\], got 3"):
        top_activating(net, X, 2, 3)
    with pytest.raises(ValueError, match=r"^top_activating: expected a non-negative neuron index, got -1"):
        top_activating(net, X, 2, -1)
    with pytest.raises(ValueError, match=r"^top_activating: expected a neuron index in \[0, 5\) for layers\[1\], got 5"):
        top_activating(net, X, 1, 5)  # Dropout has no out_features: the width comes from its output
    with pytest.raises(ValueError, match=r"^top_activating: expected k to be a positive int, got 0"):
        top_activating(net, X, 2, 0, k=0)
    with pytest.raises(ValueError, match=r"^dead_units: expected at least one sample, got X with 0 rows"):
        dead_units(net, X[:0])


def test_weight_history_errors():
    with pytest.raises(TypeError, match=r"^WeightHistory: expected layer to be an index or a Dense layer, got str"):
        WeightHistory("first")
    with pytest.raises(TypeError, match=r"^WeightHistory: expected a Dense layer, got Dropout"):
        WeightHistory(nl.Dropout(0.5))
    with pytest.raises(ValueError, match=r"^WeightHistory: expected neurons to be a non-empty sequence of non-negative ints, got \[0, -1\]"):
        WeightHistory(0, neurons=[0, -1])
    with pytest.raises(ValueError, match=r"^WeightHistory: expected distinct neurons, got \[1, 1\]"):
        WeightHistory(0, neurons=[1, 1])
    with pytest.raises(TypeError, match=r"^WeightHistory: expected neurons to be a sequence of ints, got int"):
        WeightHistory(0, neurons=3)
    with pytest.raises(ValueError, match=r"^WeightHistory: expected every to be 'epoch' or a positive int \(batches\), got 0"):
        WeightHistory(0, every=0)
    with pytest.raises(ValueError, match=r"^WeightHistory: expected every"):
        WeightHistory(0, every="batch")
    with pytest.raises(RuntimeError, match=r"^WeightHistory.weights: expected snapshots, got none; pass the callback to fit first"):
        WeightHistory(0).weights

    X, y = train_data()
    net = nl.NeuralNetwork([nl.Dropout(0.1, rng=0), nl.Dense(4, 2, "identity", rng=0)], "cross_entropy")
    with pytest.raises(TypeError, match=r"^WeightHistory.on_train_begin: expected layers\[0\] to be a Dense layer, got Dropout"):
        net.fit(X, y, verbose=0, callbacks=[WeightHistory(0)])
    with pytest.raises(ValueError, match=r"^WeightHistory.on_train_begin: expected neurons in \[0, 2\) for layers\[1\]"):
        net.fit(X, y, verbose=0, callbacks=[WeightHistory(1, neurons=[0, 2])])
    with pytest.raises(IndexError, match=r"^WeightHistory.on_train_begin: expected a layer index in \[-2, 2\), got 5"):
        net.fit(X, y, verbose=0, callbacks=[WeightHistory(5)])
    with pytest.raises(ValueError, match=r"^WeightHistory.on_train_begin: expected a layer index or one of the network's layers"):
        net.fit(X, y, verbose=0, callbacks=[WeightHistory(nl.Dense(4, 2))])
