"""One path: ``fit`` is the public forward, loss, zero_grad, backward and step calls, in a loop.

Every test here compares ``fit`` with a loop written by hand over those public calls, or checks
that what a reader sees (a weight array, a neuron view, a layer's last batch) is what trains.
"""

import copy

import numpy as np
import pytest

import neurolab as nl

N_FEATURES = 6
OUTPUTS = {"cross_entropy": 3, "mse": 2, "binary_cross_entropy": 1}
OPTIMIZERS = {
    "sgd": lambda: nl.optim.SGD(lr=0.1),
    "sgd-momentum": lambda: nl.optim.SGD(lr=0.1, momentum=0.9),
    "sgd-nesterov-decay": lambda: nl.optim.SGD(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.01),
    "rmsprop-momentum": lambda: nl.optim.RMSprop(lr=0.01, momentum=0.5),
    "adam": lambda: nl.optim.Adam(lr=0.01),
    "adam-decay": lambda: nl.optim.Adam(lr=0.01, weight_decay=0.1),
}


def build(activation="tanh", loss="cross_entropy", *, dropout=True, seed=0, dense=nl.Dense):
    """Rescale, Dense, (Dropout,) Dense, Dense: raw uint8 inputs to logits (or values for mse)."""
    rng = np.random.default_rng(seed)
    layers = [nl.Rescale(1 / 255), dense(N_FEATURES, 5, activation, rng=rng)]
    if dropout:
        layers.append(nl.Dropout(0.3, rng=seed + 1))
    last = "identity" if loss != "mse" or activation == "softmax" else activation
    layers += [dense(5, 4, activation, rng=rng), dense(4, OUTPUTS[loss], last, rng=rng)]
    for layer in layers:
        if isinstance(layer, nl.Dense):
            layer.bias.value[...] = rng.uniform(-0.5, 0.5, layer.bias.shape)
    return nl.NeuralNetwork(layers, loss)


def data(loss="cross_entropy", n=37, seed=1):
    """uint8 inputs (n, 6) and targets as the loss takes them; 37 = two batches of 16 and one of 5."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (n, N_FEATURES), dtype=np.uint8)
    if loss == "cross_entropy":
        y = rng.integers(0, OUTPUTS[loss], n)
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, n).astype(float)
    else:
        y = rng.uniform(-1, 1, (n, OUTPUTS[loss]))
    return X, y


def hand_loop(net, X, y, *, epochs, batch_size, optimizer, seed, skip_backward_of=()):
    """fit written out with public calls only; returns the mean loss of each epoch.

    ``skip_backward_of``: layer classes whose ``backward`` is skipped (the gradient passed
    through unchanged), to plant the bug of a training loop that forgets a layer.
    """
    shuffle = np.random.default_rng(seed)
    net.train()
    losses = []
    for _ in range(epochs):
        order = shuffle.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            index = order[start : start + batch_size]
            out = net.forward(X[index])
            loss = net.loss.forward(out, y[index])
            net.zero_grad()
            grad = net.loss.backward()
            for layer in reversed(net.layers):
                if not isinstance(layer, skip_backward_of):
                    grad = layer.backward(grad)
            optimizer.step(net.parameters())
            total += loss * len(index)
        losses.append(total / len(X))
    return losses


def assert_same_parameters(a, b):
    for (p, q) in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
        np.testing.assert_array_equal(p.grad, q.grad)  # the last batch's gradients, kept after the step


def fit_and_loop(activation, loss, make_optimizer, *, dropout=True, epochs=3, batch_size=16):
    X, y = data(loss)
    fitted, looped = build(activation, loss, dropout=dropout), build(activation, loss, dropout=dropout)
    history = fitted.fit(X, y, epochs=epochs, batch_size=batch_size, optimizer=make_optimizer(), rng=7, verbose=0)
    looped.optimizer = make_optimizer()
    losses = hand_loop(looped, X, y, epochs=epochs, batch_size=batch_size, optimizer=looped.optimizer, seed=7)
    return fitted, looped, history, losses


# ---------------------------------------------------------------- fit is the hand-written loop


@pytest.mark.parametrize("loss", sorted(OUTPUTS))
@pytest.mark.parametrize("activation", sorted(nl.activations.ACTIVATIONS))
def test_fit_is_the_hand_written_loop_bit_for_bit_for_every_activation_and_loss(activation, loss):
    fitted, looped, history, losses = fit_and_loop(activation, loss, OPTIMIZERS["sgd-momentum"])
    assert_same_parameters(fitted, looped)
    assert history["loss"] == losses
    assert not np.array_equal(fitted.layers[1].weight.value, build(activation, loss).layers[1].weight.value)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_fit_is_the_hand_written_loop_bit_for_bit_for_every_optimizer(name):
    fitted, looped, history, losses = fit_and_loop("relu", "cross_entropy", OPTIMIZERS[name])
    assert_same_parameters(fitted, looped)
    assert history["loss"] == losses
    for p, q in zip(fitted.parameters(), looped.parameters()):  # and the optimizer's state
        mine, theirs = fitted.optimizer.state[p], looped.optimizer.state[q]
        assert mine.keys() == theirs.keys()
        for key in mine:
            np.testing.assert_array_equal(mine[key], theirs[key])


def test_a_loop_that_skips_dropouts_backward_is_caught():
    """The bug fit once had with no test to see it: the comparison above must notice it."""
    X, y = data()
    fitted, buggy = build(), build()
    fitted.fit(X, y, epochs=2, batch_size=16, optimizer=nl.optim.SGD(lr=0.1), rng=7, verbose=0)
    hand_loop(buggy, X, y, epochs=2, batch_size=16, optimizer=nl.optim.SGD(lr=0.1), seed=7, skip_backward_of=nl.Dropout)
    with pytest.raises(AssertionError):
        assert_same_parameters(fitted, buggy)
    assert not np.array_equal(fitted.layers[1].weight.value, buggy.layers[1].weight.value)  # below the dropout


def test_backward_without_the_input_gradient_gives_the_same_gradients():
    X, y = data()
    full, short = build(dropout=False), build(dropout=False)
    for net in (full, short):
        net.loss.forward(net.forward(X), y)
    grad_X = full.backward(full.loss.backward())
    assert grad_X.shape == X.shape
    assert short.backward(short.loss.backward(), input_grad=False) is None
    assert_same_parameters(full, short)


# ---------------------------------------------------------------- the arrays a reader holds are the ones that train


class CachedDense(nl.Dense):
    """A Dense subclass that keeps its weight array from ``__init__``, as a learner might write it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.W = self.weight.value

    def forward(self, x):
        self.x = np.asarray(x, dtype=self.dtype)
        self.z = self.x @ self.W.T + self.bias.value
        self.a = self.activation.forward(self.z)
        self.grad_z = None
        return self.a


def test_a_dense_subclass_that_keeps_its_weight_array_trains_like_dense():
    X, y = data()
    cached, plain = build(dense=CachedDense), build()
    kept = [layer.W.copy() for layer in cached.layers if isinstance(layer, CachedDense)]
    for net in (cached, plain):
        net.fit(X, y, epochs=3, batch_size=16, optimizer=nl.optim.SGD(lr=0.1, momentum=0.9), rng=7, verbose=0)
    layers = [layer for layer in cached.layers if isinstance(layer, CachedDense)]
    assert all(layer.W is layer.weight.value for layer in layers)
    assert all(not np.array_equal(layer.W, before) for layer, before in zip(layers, kept))
    assert_same_parameters(cached, plain)


def test_arrays_taken_before_the_network_is_built_are_the_ones_that_train():
    X, y = data()
    first = nl.Dense(N_FEATURES, 3, "identity", rng=0)
    weight, bias, neuron_weights = first.weight.value, first.bias.value, first.neurons[1].weights
    before = weight.copy()
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), first], "cross_entropy")
    net.fit(X, y, epochs=2, batch_size=16, optimizer="sgd", rng=0, verbose=0)
    assert first.weight.value is weight and first.bias.value is bias
    assert not np.array_equal(weight, before)
    np.testing.assert_array_equal(neuron_weights, weight[1])
    assert np.shares_memory(neuron_weights, first.neurons[1].weights)


# ---------------------------------------------------------------- inference does not disturb what the layers show


def last_batch(net):
    """Every array attribute of every layer (x, z, a, grad_z, masks): what neuron views read."""
    return [{k: v for k, v in vars(layer).items() if isinstance(v, np.ndarray)} for layer in net.layers]


@pytest.mark.parametrize("call", ["predict", "predict_proba", "evaluate", "summary"])
def test_inference_leaves_the_last_batch_and_the_modes_as_they_were(call):
    X, y = data()
    net = build()
    net.fit(X, y, epochs=1, batch_size=16, optimizer="sgd", rng=0, verbose=0)
    net.loss.forward(net.forward(X[:3]), y[:3])
    net.zero_grad()
    net.backward(net.loss.backward())
    before = last_batch(net)
    assert before[1]["z"].shape == (3, 5) and "grad_z" in before[1]
    neuron = net.layers[1].neurons[2]
    z, delta = neuron.z.copy(), neuron.delta.copy()
    grad = net.loss.backward().copy()
    modes = [layer.training for layer in net.layers]
    args = {"predict": (X,), "predict_proba": (X,), "evaluate": (X, y), "summary": ()}[call]
    kwargs = {"print_fn": lambda text: None} if call == "summary" else {}
    getattr(net, call)(*args, **kwargs)
    after = last_batch(net)
    for was, now in zip(before, after):
        assert was.keys() == now.keys()
        for key in was:
            assert now[key] is was[key], key  # the same arrays, not rewritten
    np.testing.assert_array_equal(neuron.z, z)
    np.testing.assert_array_equal(neuron.delta, delta)
    np.testing.assert_array_equal(net.loss.backward(), grad)  # the loss still holds the last forward
    assert [layer.training for layer in net.layers] == modes


def test_fit_checks_targets_without_running_the_layers():
    X, y = data()
    net = build()
    net.forward(X[:2])
    before = last_batch(net)
    with pytest.raises(ValueError, match="expected class labels in"):
        net.fit(X, y + 5, epochs=1, verbose=0)
    for was, now in zip(before, last_batch(net)):
        assert all(now[key] is was[key] for key in was)


# ---------------------------------------------------------------- copies, shared layers, callbacks


def test_a_deep_copy_of_a_trained_network_trains_on_its_own():
    X, y = data()
    net = build()
    net.fit(X, y, epochs=2, batch_size=16, optimizer=nl.optim.SGD(lr=0.1, momentum=0.9), rng=0, verbose=0)
    twin = copy.deepcopy(net)
    original = [p.value.copy() for p in net.parameters()]
    history = twin.fit(X, y, epochs=20, batch_size=16, rng=1, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    assert len(set(history["loss"])) > 1
    for p, value in zip(net.parameters(), original):
        np.testing.assert_array_equal(p.value, value)
    assert twin.layers[1].neurons[0].layer is twin.layers[1]
    assert not np.shares_memory(twin.layers[1].neurons[0].weights, net.layers[1].weight.value)


def test_a_layer_shared_by_two_networks_trains_in_both():
    X, y = data()
    shared = nl.Dense(N_FEATURES, 3, "identity", rng=0)
    one = nl.NeuralNetwork([nl.Rescale(1 / 255), shared], "cross_entropy")
    two = nl.NeuralNetwork([nl.Rescale(1 / 255), shared], "cross_entropy")
    one.fit(X, y, epochs=1, batch_size=8, optimizer="sgd", verbose=0)
    trained = shared.weight.value.copy()
    two.fit(X, y, epochs=1, batch_size=8, optimizer="sgd", verbose=0)
    assert not np.array_equal(shared.weight.value, trained)
    assert one.predict(X[:5]).tolist() == two.predict(X[:5]).tolist()


def test_a_callback_sees_each_batch_in_the_layers_and_its_neuron_views():
    X, y = data(n=48)
    net = build(activation="relu", dropout=False)
    seen = []

    class Watch(nl.callbacks.Callback):
        def on_batch_end(self, network, batch, logs):
            layer = network.layers[2]
            neuron = layer.neurons[3]
            np.testing.assert_array_equal(neuron.z, layer.z[:, 3])
            np.testing.assert_array_equal(neuron.delta, layer.grad_z[:, 3])
            np.testing.assert_array_equal(neuron.a, np.maximum(neuron.z, 0))
            seen.append((layer.z, layer.z.copy()))  # the array kept without a copy, and a copy

    net.fit(X, y, epochs=2, batch_size=16, optimizer="sgd", shuffle=False, callbacks=[Watch()], verbose=0)
    assert len(seen) == 6
    for kept, copied in seen:  # no later batch wrote into an earlier batch's arrays
        np.testing.assert_array_equal(kept, copied)
    assert not np.array_equal(seen[0][1], seen[3][1])  # the same rows in both epochs, other weights


def test_fit_asks_the_first_dense_layer_to_skip_its_input_gradient(monkeypatch):
    """The one speed branch of the core: fit's backward stops at the first layer with parameters
    and, when it runs Dense's own backward, passes input_grad=False; every other call is plain."""
    calls = []
    plain = nl.Dense.backward

    def recorded(self, grad_a, **kwargs):
        calls.append((self, kwargs))
        return plain(self, grad_a, **kwargs)

    monkeypatch.setattr(nl.Dense, "backward", recorded)
    X, y = data()
    net = build(dropout=False)
    net.fit(X, y, epochs=1, batch_size=37, optimizer="sgd", verbose=0)  # one batch
    first, second, third = (layer for layer in net.layers if isinstance(layer, nl.Dense))
    assert calls == [(third, {}), (second, {}), (first, {"input_grad": False})]


def test_predict_from_another_thread_while_fit_runs_changes_nothing_fit_computes():
    """Inference runs on copies of the layers in evaluation mode: a thread that predicts and
    evaluates during fit neither fails nor changes a single number of the training."""
    import threading

    X, y = data(n=400)
    trained, watched = build(), build()
    trained.fit(X, y, epochs=6, batch_size=16, optimizer=nl.optim.SGD(lr=0.1, momentum=0.9), rng=3, verbose=0)

    errors, outputs = [], []

    def train():
        try:
            watched.fit(X, y, epochs=6, batch_size=16, optimizer=nl.optim.SGD(lr=0.1, momentum=0.9), rng=3, verbose=0)
        except BaseException as error:  # noqa: BLE001 - reported to the main thread
            errors.append(error)

    thread = threading.Thread(target=train)
    thread.start()
    while thread.is_alive():
        outputs.append(watched.predict_proba(X[:7]))
        watched.evaluate(X[:9], y[:9])
    thread.join()
    assert not errors
    assert len(outputs) > 3 and all(out.shape == (7, 3) and np.isfinite(out).all() for out in outputs)
    assert_same_parameters(trained, watched)  # bit for bit: the dropout draws and the caches were fit's own


def test_astype_keeps_the_optimizer_and_converts_its_state():
    X, y = data()
    net = build()
    optimizer = nl.optim.SGD(lr=0.1, momentum=0.9)
    net.fit(X, y, epochs=1, batch_size=16, optimizer=optimizer, rng=0, verbose=0)
    velocities = [optimizer.state[p]["velocity"].copy() for p in net.parameters()]
    net.astype(np.float64)
    assert net.optimizer is optimizer
    for p, before in zip(net.parameters(), velocities):
        state = optimizer.state[p]["velocity"]
        assert state.dtype == np.float64 and p.value.dtype == np.float64
        np.testing.assert_array_equal(state, before)
    net.fit(X, y, epochs=1, batch_size=16, rng=0, verbose=0)  # carries on with the same SGD
    assert net.optimizer is optimizer and all(optimizer.state[p]["velocity"].dtype == np.float64 for p in net.parameters())
