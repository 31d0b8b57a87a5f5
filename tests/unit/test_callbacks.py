"""fit's training experience: validation, callbacks, schedules, progress output, summary."""

import io
import math
import re

import numpy as np
import pytest

import neurolab as nl
from neurolab.callbacks import (
    Callback,
    CosineAnnealingLR,
    EarlyStopping,
    LearningRateScheduler,
    ModelCheckpoint,
    ProgressBar,
    StepLR,
)


def data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    X = (rng.standard_normal((n, 3)) + 2 * y[:, None]).astype(np.float32)
    return X, y


def net(seed=0, dropout=0.0):
    layers = [nl.Dense(3, 8, "tanh", rng=seed)]
    if dropout:
        layers.append(nl.Dropout(dropout, rng=seed))
    layers.append(nl.Dense(8, 2, "identity", rng=seed + 1))
    return nl.NeuralNetwork(layers, "cross_entropy")


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, network, epochs):
        self.calls.append(("train_begin", epochs))

    def on_epoch_begin(self, network, epoch):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_end(self, network, batch, logs):
        self.calls.append(("batch_end", batch, set(logs)))

    def on_epoch_end(self, network, epoch, logs):
        self.calls.append(("epoch_end", epoch, set(logs)))

    def on_train_end(self, network, history):
        self.calls.append(("train_end", len(history["loss"])))


def test_hooks_run_in_order_with_logs():
    X, y = data(20)
    recorder = Recorder()
    net().fit(X, y, epochs=2, batch_size=10, callbacks=[recorder], verbose=0, validation_data=(X, y))
    logs = {"loss", "accuracy", "lr", "val_loss", "val_accuracy"}
    assert recorder.calls == [
        ("train_begin", 2),
        ("epoch_begin", 1), ("batch_end", 1, {"loss", "accuracy"}), ("batch_end", 2, {"loss", "accuracy"}), ("epoch_end", 1, logs),
        ("epoch_begin", 2), ("batch_end", 1, {"loss", "accuracy"}), ("batch_end", 2, {"loss", "accuracy"}), ("epoch_end", 2, logs),
        ("train_end", 2),
    ]


def test_validation_data_is_scored_in_eval_mode():
    X, y = data()
    network = net(dropout=0.5)
    history = network.fit(X, y, epochs=3, validation_data=(X[:16], y[:16]), verbose=0, rng=0)
    assert len(history["val_loss"]) == 3
    assert history["val_loss"][-1] == pytest.approx(network.evaluate(X[:16], y[:16])["loss"])
    assert all(layer.training for layer in network.layers)  # modes restored after fit


def test_validation_split_holds_out_the_last_samples():
    X, y = data(50)
    recorder = Recorder()
    history = net().fit(X, y, epochs=1, batch_size=10, validation_split=0.2, callbacks=[recorder], verbose=0)
    assert sum(1 for call in recorder.calls if call[0] == "batch_end") == 4  # 40 training samples
    assert "val_accuracy" in history


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"validation_split": 1.0}, ValueError, r"expected validation_split in \[0, 1\), got 1.0"),
        ({"validation_split": 0.001}, ValueError, r"expected validation_split to leave samples on both sides"),
        ({"validation_split": 0.2, "validation_data": "x"}, ValueError, "expected validation_data or validation_split, got both"),
        ({"validation_data": (np.zeros((3, 3)),)}, TypeError, r"expected validation_data as a pair \(X_val, y_val\)"),
        ({"validation_data": (np.zeros((3, 4)), np.zeros(3, int))}, ValueError, r"expected X of shape \(N, 3\) \(the in_features of layers\[0\]"),
        ({"verbose": 3}, ValueError, "expected verbose 0, 1 or 2, got 3"),
    ],
)
def test_fit_option_errors(kwargs, error, message):
    X, y = data(20)
    with pytest.raises(error, match=message):
        net().fit(X, y, **{"verbose": 0, **kwargs})


def test_early_stopping_stops_and_restores_the_best_weights():
    X, y = data()
    network = net()
    stopper = EarlyStopping(monitor="val_loss", patience=2)
    snapshots = []

    class Snap(Callback):
        def on_epoch_end(self, network, epoch, logs):
            snapshots.append([p.value.copy() for p in network.parameters()])

    # Train on shuffled labels, validate on the true ones: val_loss gets worse quickly.
    history = network.fit(
        X, np.random.default_rng(1).permutation(y), epochs=50, batch_size=8, optimizer=nl.optim.Adam(lr=0.05),
        validation_data=(X, y), callbacks=[Snap(), stopper], verbose=0, rng=0,
    )
    epochs_run = len(history["loss"])
    assert epochs_run < 50 and stopper.stopped_epoch == epochs_run
    assert stopper.best_epoch == int(np.argmin(history["val_loss"])) + 1 == epochs_run - 2
    for p, best in zip(network.parameters(), snapshots[stopper.best_epoch - 1]):
        np.testing.assert_array_equal(p.value, best)


def test_early_stopping_on_accuracy_and_bad_monitor():
    X, y = data()
    stopper = EarlyStopping(monitor="accuracy", patience=1)
    assert stopper.mode == "max"
    with pytest.raises(KeyError, match=r"expected 'val_loss' in the epoch logs \['accuracy', 'loss', 'lr'\], got none; pass validation_data"):
        net().fit(X, y, callbacks=[EarlyStopping()], verbose=0)
    with pytest.raises(ValueError, match="EarlyStopping: expected mode 'auto', 'min' or 'max', got 'up'"):
        EarlyStopping(mode="up")


def test_model_checkpoint_saves_the_best(tmp_path):
    X, y = data()
    path = tmp_path / "best.npz"
    network = net()
    saved = []

    class Watch(Callback):
        def on_epoch_end(self, network, epoch, logs):
            if path.exists():
                saved.append(path.stat().st_mtime_ns)

    history = network.fit(X, y, epochs=4, validation_data=(X, y), callbacks=[ModelCheckpoint(path), Watch()], verbose=0, rng=0)
    best = int(np.argmin(history["val_loss"]))
    loaded = nl.load(path)
    assert loaded.evaluate(X, y)["loss"] == pytest.approx(history["val_loss"][best], rel=1e-6)


def test_model_checkpoint_every_epoch_with_epoch_in_the_name(tmp_path):
    X, y = data(16)
    net().fit(X, y, epochs=3, callbacks=[ModelCheckpoint(tmp_path / "m{epoch}.npz", save_best_only=False)], verbose=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m1.npz", "m2.npz", "m3.npz"]


def test_step_and_cosine_schedules():
    X, y = data(16)
    step = net().fit(X, y, epochs=5, optimizer=nl.optim.SGD(lr=0.1), callbacks=[StepLR(2, gamma=0.5)], verbose=0)
    assert step["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    cosine = net().fit(X, y, epochs=4, optimizer=nl.optim.SGD(lr=0.1), callbacks=[CosineAnnealingLR(min_lr=0.01)], verbose=0)
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * e / 4)) / 2 for e in range(4)]
    assert cosine["lr"] == pytest.approx(expected)
    custom = net().fit(X, y, epochs=3, optimizer=nl.optim.SGD(lr=0.1), callbacks=[LearningRateScheduler(lambda e: 1.0 / e)], verbose=0)
    assert custom["lr"] == pytest.approx([1.0, 0.5, 1 / 3])


def test_schedule_errors():
    X, y = data(16)
    with pytest.raises(ValueError, match="LearningRateScheduler: expected learning rate of epoch 1 to be a positive finite number, got -1.0"):
        net().fit(X, y, callbacks=[LearningRateScheduler(lambda e: -1.0)], verbose=0)
    with pytest.raises(TypeError, match="expected a callable schedule"):
        LearningRateScheduler(0.1)
    with pytest.raises(ValueError, match="StepLR: expected step_size to be a positive int, got 0"):
        StepLR(0)


def test_progress_lines_when_not_a_terminal():
    X, y = data(16)
    out = io.StringIO()
    net().fit(X, y, epochs=2, callbacks=[ProgressBar(file=out)], verbose=0, validation_data=(X, y))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("epoch 1/2  loss ") and "val_accuracy" in lines[0]


def test_verbose_prints_one_line_per_epoch_to_stdout(capsys):
    X, y = data(16)
    net().fit(X, y, epochs=3, verbose=2)
    assert [line.split()[1] for line in capsys.readouterr().out.splitlines()] == ["1/3", "2/3", "3/3"]
    net().fit(X, y, epochs=3, verbose=0)
    assert capsys.readouterr().out == ""


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_on_a_terminal_uses_tqdm():
    pytest.importorskip("tqdm")
    X, y = data(32)
    out = FakeTerminal()
    net().fit(X, y, epochs=2, batch_size=8, callbacks=[ProgressBar(file=out)], verbose=0)
    text = out.getvalue()
    assert "epoch 1/2" in text and "4/4" in text and "batch" in text and "loss" in text


def test_summary(capsys):
    network = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(784, 16, rng=0), nl.Dropout(0.1), nl.Dense(16, 10, "identity", rng=1)], "cross_entropy")
    network.summary(784)
    text = capsys.readouterr().out
    assert re.search(r"\(1\) Dense\(784, 16, activation='relu'\) +\(N, 16\) +12,560", text)
    assert "(2) Dropout(p=0.1)" in text and "12,560" in text
    assert "total parameters: 12,730   loss: cross_entropy" in text
    network.summary()
    assert "?" in capsys.readouterr().out  # no input width known yet


def test_a_callback_failing_to_begin_still_ends_those_that_began():
    """on_train_end reaches every callback whose on_train_begin ran (a progress bar closes, the lab stops showing a run)."""
    calls = []

    class Recorder(Callback):
        def __init__(self, name, fail=False):
            self.name, self.fail = name, fail

        def on_train_begin(self, network, epochs):
            calls.append(f"{self.name}.begin")
            if self.fail:
                raise RuntimeError(f"{self.name} cannot begin")

        def on_train_end(self, network, history):
            calls.append(f"{self.name}.end")

    net = nl.NeuralNetwork([nl.Dense(2, 2, rng=0)], "mse")
    X = np.zeros((4, 2))
    with pytest.raises(RuntimeError, match="b cannot begin"):
        net.fit(X, X, epochs=1, callbacks=[Recorder("a"), Recorder("b", fail=True), Recorder("c")], verbose=0)
    assert calls == ["a.begin", "b.begin", "a.end"]
    assert all(layer.training for layer in net.layers)
