"""Faults lose nothing: divergence, Ctrl-C, failed saves, resuming; awkward but valid inputs work."""

import os

import numpy as np
import pytest

import neurolab as nl
from neurolab.callbacks import Callback, ModelCheckpoint


def data(n=64, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = rng.standard_normal((n, features)) + y[:, None]
    return X.astype(np.float32), y


def make_net(seed=0, dropout=0.0):
    layers = [nl.Dense(4, 8, "relu", rng=seed)]
    if dropout:
        layers.append(nl.Dropout(dropout, rng=seed + 10))
    layers.append(nl.Dense(8, 3, "identity", rng=seed + 1))
    return nl.NeuralNetwork(layers, "cross_entropy")


def values(net):
    return [p.value.copy() for p in net.parameters()]


@pytest.mark.parametrize("optimizer", [lambda: nl.optim.SGD(lr=0.1, momentum=0.9), lambda: nl.optim.Adam(lr=0.01), lambda: nl.optim.RMSprop(lr=0.01, momentum=0.5)])
def test_resume_after_save_and_load_is_identical_to_an_uninterrupted_run(tmp_path, optimizer):
    X, y = data()
    straight = make_net(dropout=0.3)
    straight.fit(X, y, epochs=4, batch_size=16, optimizer=optimizer(), rng=7, verbose=0)

    first = make_net(dropout=0.3)
    first.fit(X, y, epochs=2, batch_size=16, optimizer=optimizer(), rng=7, verbose=0)
    resumed = nl.load(first.save(tmp_path / "half.npz"))
    resumed.fit(X, y, epochs=2, batch_size=16, verbose=0)  # optimizer, its state and the rngs come from the file

    for a, b in zip(values(straight), values(resumed)):
        np.testing.assert_array_equal(a, b)


def make_cnn(seed=0):
    """Flat 36-pixel rows in; RandomShift and Dropout draw from their own Generators, saved with the model."""
    return nl.NeuralNetwork([
        nl.Rescale(1 / 255), nl.Reshape((1, 6, 6)), nl.RandomShift(1, rng=seed + 20),
        nl.Conv2D(1, 3, 3, padding=1, rng=seed), nl.MaxPool2D(2), nl.Flatten(),
        nl.Dropout(0.3, rng=seed + 10), nl.Dense(27, 3, "identity", rng=seed + 1),
    ], "cross_entropy")


def test_a_cnn_resumed_from_its_file_trains_as_an_uninterrupted_run(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, (48, 36)).astype(np.uint8), rng.integers(0, 3, 48)
    straight = make_cnn()
    straight.fit(X, y, epochs=4, batch_size=16, optimizer=nl.optim.Adam(lr=0.01), rng=7, verbose=0)

    first = make_cnn()
    first.fit(X, y, epochs=2, batch_size=16, optimizer=nl.optim.Adam(lr=0.01), rng=7, verbose=0)
    resumed = nl.load(first.save(tmp_path / "half.npz"))
    assert resumed.input_shape == (36,)
    resumed.fit(X, y, epochs=2, batch_size=16, verbose=0)  # shifts, masks, shuffling and Adam carry on from the file

    for a, b in zip(values(straight), values(resumed)):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_run_whatever_the_global_random_state():
    X, y = data()
    runs = []
    for global_seed in (0, 1):
        np.random.seed(global_seed)
        net = make_net(dropout=0.5)
        net.fit(X, y, epochs=2, batch_size=8, optimizer=nl.optim.Adam(), rng=3, verbose=0)
        runs.append(values(net))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)


class Explode(Callback):
    """Sets the first weight to a huge value after batch ``at`` of epoch ``epoch``: the next loss is not finite."""

    def __init__(self, epoch, at):
        self.epoch, self.at = epoch, at

    def on_epoch_begin(self, network, epoch):
        self.current = epoch

    def on_batch_end(self, network, batch, logs):
        if self.current == self.epoch and batch == self.at:
            network.layers[0].weight.value[...] = 1e30


def test_divergence_restores_weights_and_optimizer_state_and_keeps_the_checkpoint(tmp_path):
    X, y = data()
    net = make_net()
    checkpoint = tmp_path / "best.npz"
    seen = {}

    class Remember(Callback):
        def on_epoch_begin(self, network, epoch):
            if epoch == 2:
                seen["weights"] = values(network)
                seen["velocity"] = [network.optimizer.state[p]["velocity"].copy() for p in network.parameters()]
                seen["file"] = checkpoint.read_bytes()

    with pytest.raises(FloatingPointError, match=r"expected a finite loss, got (inf|nan) at epoch 2, batch \d+; the weights and optimizer state from the start of epoch 2 were restored. Try a smaller learning rate \(now 0.1\)"):
        with np.errstate(all="ignore"):
            net.fit(X, y, epochs=3, batch_size=16, optimizer=nl.optim.SGD(lr=0.1, momentum=0.9), validation_data=(X, y),
                    callbacks=[ModelCheckpoint(checkpoint), Remember(), Explode(epoch=2, at=2)], verbose=0, rng=0)
    for a, b in zip(values(net), seen["weights"]):
        np.testing.assert_array_equal(a, b)
    for p, velocity in zip(net.parameters(), seen["velocity"]):
        np.testing.assert_array_equal(net.optimizer.state[p]["velocity"], velocity)
    assert checkpoint.read_bytes() == seen["file"]
    assert np.isfinite(net.predict_proba(X)).all()


def test_keyboard_interrupt_leaves_a_usable_network(tmp_path):
    X, y = data()
    net = make_net(dropout=0.5)

    class CtrlC(Callback):
        def on_batch_end(self, network, batch, logs):
            if batch == 3:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        net.fit(X, y, epochs=5, batch_size=8, callbacks=[CtrlC()], verbose=0, rng=0)
    assert all(layer.training for layer in net.layers)  # modes restored
    assert all(np.isfinite(p.value).all() for p in net.parameters())
    loaded = nl.load(net.save(tmp_path / "after_ctrl_c.npz"))
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    net.fit(X, y, epochs=1, batch_size=8, verbose=0)  # and training can go on


def test_save_into_a_read_only_directory_fails_cleanly(tmp_path, monkeypatch):
    net = make_net()
    real_open = os.open

    def refuse(file, *args, **kwargs):  # tests run as root, so a chmod'ed directory would not refuse
        if str(file).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(PermissionError, match=r"NeuralNetwork.save: expected a writable directory for '.*m.npz', got .*Permission denied"):
        net.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_awkward_but_valid_inputs_work_and_are_not_mutated():
    X, y = data(32)
    reference = make_net()
    expected = reference.predict_proba(X)

    transposed = np.asfortranarray(X)  # column-major
    strided = np.zeros((32, 8), dtype=np.float32)[:, ::2]
    strided[...] = X  # non-contiguous view
    read_only = X.copy()
    read_only.flags.writeable = False
    as_float64 = X.astype(np.float64)
    for variant in (transposed, strided, read_only, as_float64, X.T.copy().T):
        np.testing.assert_allclose(reference.predict_proba(variant), expected, rtol=1e-6)

    before_X, before_y = read_only.copy(), y.copy()
    y_read_only = y.copy()
    y_read_only.flags.writeable = False
    make_net().fit(read_only, y_read_only, epochs=2, batch_size=8, verbose=0, validation_split=0.25)
    np.testing.assert_array_equal(read_only, before_X)
    np.testing.assert_array_equal(y_read_only, before_y)


def test_integer_and_bool_inputs_are_converted_not_rescaled():
    net = nl.NeuralNetwork([nl.Dense(2, 1, "identity", rng=0)], "mse")
    net.layers[0].weight.value[...] = [[1.0, 1.0]]
    assert net.predict(np.array([[200, 55]], dtype=np.uint8))[0, 0] == 255.0
    assert net.predict(np.array([[True, True]]))[0, 0] == 2.0
    assert net.predict(np.array([[-3, 1]], dtype=np.int64))[0, 0] == -2.0


def test_label_column_gets_guidance():
    X, y = data(10)
    with pytest.raises(ValueError, match=r"got \(10, 1\); flatten a column of labels with y.ravel\(\)"):
        make_net().fit(X, y.reshape(-1, 1), verbose=0)


@pytest.mark.parametrize("dtype, scale", [(np.float64, 1e4), (np.float32, 80.0)])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu"])
def test_extreme_preactivations_and_logits_under_errstate_raise(dtype, scale, activation):
    rng = np.random.default_rng(0)
    net = nl.NeuralNetwork(
        [nl.Dense(3, 4, activation, rng=0, dtype=dtype), nl.Dense(4, 3, "identity", rng=1, dtype=dtype)], "cross_entropy"
    )
    net.layers[0].weight.value[...] = scale * np.sign(rng.standard_normal((4, 3)))
    net.layers[1].weight.value[...] = scale * np.sign(rng.standard_normal((3, 4)))
    X = np.array([[1.0, -1.0, 1.0], [-1.0, 1.0, -1.0]], dtype=dtype)
    y = np.array([0, 2])
    with np.errstate(all="raise"):
        out = net.forward(X)
        loss = net.loss.forward(out, y)
        grad = net.loss.backward()
        net.zero_grad()
        net.backward(grad)
        net.fit(X, y, epochs=1, batch_size=2, optimizer=nl.optim.SGD(lr=1e-12), verbose=0)
    assert np.isfinite(loss)
    p = np.exp(out.astype(np.float64) - out.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = (p - np.eye(3)[y]) / 2
    np.testing.assert_allclose(grad, expected, atol=1e-6)
    assert all(np.isfinite(p.grad).all() for p in net.parameters())


def test_weights_that_overflow_in_the_last_step_of_an_epoch_are_caught():
    X, y = data(16)
    net = make_net()
    start = values(net)

    class OverflowAtTheEnd(Callback):
        def on_batch_end(self, network, batch, logs):
            if batch == 2:  # the epoch's last batch: no later loss would notice
                network.layers[1].bias.value[0] = np.inf

    with pytest.raises(FloatingPointError, match="expected finite weights, got non-finite ones after epoch 1; the weights and optimizer state from its start were restored"):
        net.fit(X, y, epochs=2, batch_size=8, callbacks=[OverflowAtTheEnd()], verbose=0, rng=0)
    for a, b in zip(values(net), start):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda net: net.fit([[1, 2, 3], [4]], [0, 1], verbose=0), ValueError,
         r"NeuralNetwork.fit: expected X to be an array or a rectangular nested sequence of numbers, got a ragged one"),
        (lambda net: net.predict([[1, 2, 3], [4]]), ValueError, r"NeuralNetwork.predict: expected X to be an array or a rectangular"),
        (lambda net: net.fit(np.ones((2, 3)), [[0], [1, 2]], verbose=0), ValueError,
         r"NeuralNetwork.fit: expected y to be an array or a rectangular nested sequence of numbers, got a ragged one"),
        (lambda net: net.fit(np.ones((2, 3)), [0, 1], callbacks=nl.callbacks.EarlyStopping(), verbose=0), TypeError,
         r"NeuralNetwork.fit: expected callbacks to be a list of Callback objects, got one EarlyStopping; pass it in a list: callbacks=\[...\]"),
        (lambda net: net.fit(np.ones((2, 3)), [0, 1], callbacks=[None], verbose=0), TypeError,
         r"NeuralNetwork.fit: expected callbacks\[0\] to be a neurolab.callbacks.Callback, got NoneType"),
        (lambda net: net.fit(np.ones((2, 3)), [0, 1], callbacks=5, verbose=0), TypeError,
         r"NeuralNetwork.fit: expected callbacks to be a list of Callback objects, got int"),
        (lambda net: net.fit(np.ones((2, 3)), [0, 1], rng=-1, verbose=0), ValueError,
         r"NeuralNetwork.fit: expected rng to be None, a non-negative int seed or a numpy Generator, got -1"),
        (lambda net: nl.Dense(3, 2, rng=-1), ValueError, r"Dense: expected rng to be None, a non-negative int seed"),
        (lambda net: nl.gradcheck.check_layer(np.ones(3), np.ones((2, 3))), TypeError,
         r"check_layer\(ndarray\): expected a neurolab.Layer \(or an object with forward, backward, named_parameters and astype\), "
         r"got ndarray without forward, backward, named_parameters$"),
    ],
    ids=["ragged X", "ragged X to predict", "ragged y", "one callback without a list", "None as a callback",
         "callbacks not a sequence", "negative seed to fit", "negative seed to Dense", "check_layer of an array"],
)
def test_common_mistakes_get_a_message_that_says_what_was_expected(call, error, message):
    net = nl.NeuralNetwork([nl.Dense(3, 4, rng=0), nl.Dense(4, 2, "identity", rng=1)], "cross_entropy")
    before = [p.value.copy() for p in net.parameters()]
    with pytest.raises(error, match=message):
        call(net)
    for p, value in zip(net.parameters(), before):  # refused before any training
        np.testing.assert_array_equal(p.value, value)
