"""Training while the page looks: from the page, from Python with lab.watch(), and what requests may not change."""

import threading
import time

import numpy as np
import pytest

import neurolab as nl
from neurolab.lab import training

from .conftest import pixel_data, rescale_net

WAIT_SECONDS = 60  # generous: a loaded machine trains slowly; a passing test waits far less


def wait_for(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"waited {WAIT_SECONDS} s for {what}"
        time.sleep(0.01)


def status_of(client, since=0):
    status, answer = client.get(f"/api/train/status?since={since}")
    assert status == 200
    return answer


def same_state(a: nl.NeuralNetwork, b: nl.NeuralNetwork) -> None:
    """Parameters, optimizer state and shuffling generator equal, bit for bit."""
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    for p, q in zip(a.parameters(), b.parameters()):
        for key, value in a.optimizer.state[p].items():
            np.testing.assert_array_equal(value, b.optimizer.state[q][key])
    assert a.shuffle_rng.bit_generator.state == b.shuffle_rng.bit_generator.state
    for layer, other in zip(a.layers, b.layers):
        if isinstance(layer, nl.Dropout):
            assert layer.rng.bit_generator.state == other.rng.bit_generator.state


@pytest.fixture(scope="module")
def data():
    return pixel_data(400, seed=2)


def test_train_from_the_page_streams_curves_and_stops_after_the_current_batch(data, served):
    net = rescale_net()
    _, client = served(net, train_data=data)
    assert status_of(client)["available"] is True
    status, started = client.post("/api/train/start", {"epochs": 200, "batch_size": 4, "seed": 0})
    assert status == 202 and started["running"] and started["source"] == "page" and started["epochs"] == 200
    wait_for(lambda: status_of(client)["batch_points_total"] >= 5, "five batches")
    first = status_of(client)
    wait_for(lambda: status_of(client)["batch_points_total"] > first["batch_points_total"], "more batches")
    grown = status_of(client, since=2)
    assert grown["since"] == 2 and len(grown["batch_points"]) == grown["batch_points_total"] - 2
    step, epoch, loss, accuracy = grown["batch_points"][0]
    assert step == 3 and epoch == 1 and loss > 0 and 0 <= accuracy <= 1
    status, stopped = client.post("/api/train/stop", {})
    assert status == 200 and stopped["stopping"] is True
    wait_for(lambda: not status_of(client)["running"], "training to stop")
    final = status_of(client)
    assert final["stop_requested"] and final["error"] is None
    assert final["steps"] < 200 * 100  # stopped long before its 200 epochs of 100 batches
    assert final["steps"] <= stopped["steps"] + 1  # within a batch of the press
    assert final["steps"] == final["batch_points_total"]
    assert net.layers[1].training and net.layers[2].training  # fit put the modes back
    assert status_of(client)["version"] > started["version"]


def test_training_runs_add_up_and_the_lr_is_set(data, served):
    net = rescale_net()
    _, client = served(net, train_data=data)
    assert client.post("/api/train/start", {"epochs": 2, "batch_size": 100, "lr": 0.01, "seed": 1})[0] == 202
    wait_for(lambda: not status_of(client)["running"], "the first run")
    assert net.optimizer.lr == 0.01
    assert client.post("/api/train/start", {"epochs": 1, "batch_size": 100, "lr": 0.002})[0] == 202
    wait_for(lambda: not status_of(client)["running"], "the second run")
    assert net.optimizer.lr == 0.002
    final = status_of(client)
    assert final["runs"] == 2 and final["steps"] == 12
    assert [(p["run"], p["epoch"], p["step"]) for p in final["epoch_points"]] == [(1, 1, 4), (1, 2, 8), (2, 1, 12)]
    assert all(set(p) >= {"loss", "accuracy", "lr"} for p in final["epoch_points"])


def test_a_second_start_while_training_is_refused(data, served):
    net = rescale_net()
    _, client = served(net, train_data=data)
    assert client.post("/api/train/start", {"epochs": 100, "batch_size": 4})[0] == 202
    status, answer = client.post("/api/train/start", {"epochs": 1})
    assert status == 409 and "expected no training running, got one started from the page" in answer["error"]
    client.post("/api/train/stop", {})
    wait_for(lambda: not status_of(client)["running"], "training to stop")


@pytest.mark.parametrize("body, fragment", [
    ({"epochs": 0}, "expected epochs in [1, 1001), got 0"),
    ({"epochs": "3"}, 'expected epochs to be an integer, got a string "3"'),
    ({"batch_size": 401}, "expected batch_size in [1, 401), got 401"),
    ({"lr": -0.1}, "expected lr to be a positive finite number, got -0.1"),
    ({"lr": "fast"}, 'expected lr to be a number, got a string "fast"'),
    ({"seed": -1}, "expected seed in [0, "),
    ({"epoch": 1}, "expected keys among ['batch_size', 'epochs', 'lr', 'seed'], got 'epoch'"),
])
def test_bad_training_requests(body, fragment, data, served):
    _, client = served(rescale_net(), train_data=data)
    status, answer = client.post("/api/train/start", body)
    assert status == 400 and fragment in answer["error"]
    assert status_of(client)["running"] is False


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the steps overflow; fit then raises, as it should
def test_a_diverging_run_shows_its_error(data, served, capsys):
    net = rescale_net()
    _, client = served(net, train_data=data)
    assert client.post("/api/train/start", {"epochs": 3, "batch_size": 50, "lr": 1e30})[0] == 202
    wait_for(lambda: not status_of(client)["running"], "the run to end")
    assert status_of(client)["error"].startswith("FloatingPointError: NeuralNetwork.fit: expected")
    assert "training stopped by an error" in capsys.readouterr().err
    assert client.get("/api/model")[0] == 200


def test_requests_during_training_do_not_change_what_it_computes(data, served, monkeypatch):
    """The page's training, hammered with every kind of request, ends bit for bit where a plain fit ends."""
    monkeypatch.setattr(training, "SNAPSHOT_SECONDS", 0.0)  # a snapshot after every batch: the most interleaving
    X, y = data
    reference = rescale_net(seed=3)
    reference.fit(X, y, epochs=3, batch_size=8, rng=5, verbose=0)

    net = rescale_net(seed=3)
    _, client = served(net, data=(X[:50], y[:50]), train_data=data)
    assert client.post("/api/train/start", {"epochs": 3, "batch_size": 8, "seed": 5})[0] == 202
    answers, versions = [], set()
    while True:
        running = status_of(client)["running"]
        answers.append(client.post("/api/predict", {"pixels": X[len(answers) % 50].tolist()})[0])
        answers.append(client.post("/api/explain", {"pixels": X[0].tolist(), "layer": 1, "neuron": 2, "target": 3})[0])
        answers.append(client.get("/api/samples?pick=misclassified")[0])
        status, image = client.get("/api/weight-images?layer=1")
        answers.append(status)
        versions.add(image["version"])
        answers.append(client.get("/api/weights?layer=3&neuron=1")[0])
        answers.append(client.get("/api/model")[0])
        if not running:
            break
    assert set(answers) == {200}
    assert len(versions) > 2  # requests were answered from several snapshots while it trained
    same_state(net, reference)


def test_requests_read_snapshots_while_training(data):
    """Not the network itself: a request sees the weights of one moment between two batches."""
    net = rescale_net()
    snapshots = training.Snapshots(net)
    with snapshots.reading() as (seen, version):
        assert seen is net and version == 0
    snapshots.freeze()
    with snapshots.reading() as (seen, version):
        assert seen is not net and version == 1
        np.testing.assert_array_equal(seen.layers[1].weight.value, net.layers[1].weight.value)
        net.layers[1].weight.value += 1  # a step
        assert not np.array_equal(seen.layers[1].weight.value, net.layers[1].weight.value)
    snapshots.thaw()
    with snapshots.reading() as (seen, version):
        assert seen is net and version == 2


def test_freeze_waits_for_requests_reading_the_network_itself():
    snapshots = training.Snapshots(rescale_net())
    frozen = threading.Event()
    with snapshots.reading():
        thread = threading.Thread(target=lambda: (snapshots.freeze(), frozen.set()))
        thread.start()
        assert not frozen.wait(0.2)  # the first step waits for the request to finish
    assert frozen.wait(10)
    thread.join()


def test_snapshots_are_made_only_while_the_page_looks(monkeypatch):
    monkeypatch.setattr(training, "SNAPSHOT_SECONDS", 0.0)
    snapshots = training.Snapshots(rescale_net())
    snapshots.freeze()
    snapshots.refresh()
    assert snapshots.version == 1  # nobody asked for anything: no copy
    snapshots.touch()
    snapshots.refresh()
    assert snapshots.version == 2


# -- watching a fit started from Python -----------------------------------------------------
def test_watch_streams_a_users_fit_and_its_stop_ends_the_epoch(data, served):
    X, y = data
    net = rescale_net()
    server, client = served(net)
    result = {}

    def user_fit():
        result["history"] = net.fit(X, y, epochs=500, batch_size=20, rng=0, verbose=0, callbacks=[server.watch()])

    thread = threading.Thread(target=user_fit)
    thread.start()
    try:
        wait_for(lambda: status_of(client)["epoch"] >= 2, "the second epoch")
        running = status_of(client)
        assert running["running"] and running["source"] == "python" and running["epochs"] == 500
        assert running["batches"] == 20 and running["epoch_points"][0]["epoch"] == 1
        assert client.post("/api/predict", {"pixels": X[0].tolist()})[0] == 200
        assert client.post("/api/train/stop", {})[1]["stopping"] is True
    finally:
        thread.join(WAIT_SECONDS)
    history = result["history"]
    final = status_of(client)
    assert not final["running"]
    assert len(history["loss"]) < 500  # stopped early, and fit returned its history as usual
    assert len(history["loss"]) == len(final["epoch_points"]) and final["steps"] == 20 * len(history["loss"])
    assert [p["loss"] for p in final["epoch_points"]] == history["loss"]


def test_watch_gives_the_same_training_as_without_it(data, served):
    X, y = data
    plain = rescale_net(seed=4)
    plain.fit(X, y, epochs=2, batch_size=16, rng=2, verbose=0)
    watched = rescale_net(seed=4)
    server, client = served(watched)
    watched.fit(X, y, epochs=2, batch_size=16, rng=2, verbose=0, callbacks=[server.watch()])
    same_state(watched, plain)
    assert status_of(client)["steps"] == 50


def test_watch_refuses_another_network_and_a_second_run(data, served):
    X, y = data
    net = rescale_net()
    server, client = served(net, train_data=data)
    other = rescale_net()
    with pytest.raises(ValueError, match=r"Watch.on_train_begin: expected the network the lab serves, got another one"):
        other.fit(X, y, epochs=1, verbose=0, callbacks=[server.watch()])
    assert client.post("/api/train/start", {"epochs": 100, "batch_size": 4})[0] == 202
    wait_for(lambda: status_of(client)["steps"] > 0, "the page's run")
    with pytest.raises(RuntimeError, match=r"Watch.on_train_begin: expected no training running, got one started from the page"):
        net.fit(X, y, epochs=1, verbose=0, callbacks=[server.watch()])
    client.post("/api/train/stop", {})
    wait_for(lambda: not status_of(client)["running"], "training to stop")


def test_close_stops_the_pages_training(data):
    net = rescale_net()
    server = nl.lab.serve(net, port=0, train_data=data)
    server.lab.trainer.start(epochs=1000, batch_size=4, lr=None, seed=0)
    wait_for(lambda: server.lab.progress.steps > 0, "a step")
    server.close()
    assert not server.lab.progress.running


def test_close_leaves_a_watched_fit_running(data):
    X, y = data
    net = rescale_net()
    server = nl.lab.serve(net, port=0)
    result = {}
    thread = threading.Thread(target=lambda: result.update(history=net.fit(
        X, y, epochs=30, batch_size=50, rng=0, verbose=0, callbacks=[server.watch()])))
    thread.start()
    wait_for(lambda: server.lab.progress.steps > 0, "a step")
    server.close()
    closed_at = server.lab.progress.epoch
    thread.join(WAIT_SECONDS)
    assert closed_at < 30  # closed while it ran
    assert len(result["history"]["loss"]) == 30  # and it ran all its epochs: closing the page is not pressing stop


class Scaled(nl.Layer):
    """A user's layer with a plain array of state (not a parameter, not a cache): a snapshot must keep it."""

    def __init__(self):
        super().__init__()
        self.factor = np.full(4, 2.0, dtype=np.float32)

    def forward(self, x):
        self.x = x
        return x * self.factor

    def backward(self, grad_out):
        return grad_out * self.factor


def test_a_snapshot_copies_the_weights_but_not_the_last_batch():
    rng = np.random.default_rng(0)
    net = nl.NeuralNetwork([nl.Reshape((1, 4, 4)), nl.Conv2D(1, 2, 3, rng=0), nl.MaxPool2D(2), nl.Flatten(),
                            nl.Dropout(0.2, rng=1), nl.Dense(2, 4, rng=2), Scaled(), nl.Dense(4, 3, "identity", rng=3)],
                           "cross_entropy")
    X, y = rng.random((8, 16)).astype(np.float32), rng.integers(0, 3, 8)
    net.fit(X, y, epochs=1, batch_size=8, verbose=0)
    snapshot = training.snapshot_of(net)
    for layer, copied in zip(net.layers, snapshot.layers):
        for name in training.LAST_BATCH:
            if isinstance(getattr(layer, name, None), np.ndarray):
                assert getattr(copied, name) is None, (layer, name)  # not copied ...
                assert isinstance(getattr(layer, name), np.ndarray)  # ... and the network keeps its own
        for p, q in zip(layer.parameters(), copied.parameters()):
            np.testing.assert_array_equal(p.value, q.value)
            assert not np.shares_memory(p.value, q.value)
    np.testing.assert_array_equal(snapshot.layers[6].factor, net.layers[6].factor)
    np.testing.assert_array_equal(snapshot.predict_proba(X), net.predict_proba(X))
    assert set(snapshot.optimizer.state) == set(snapshot.parameters())  # the optimizer's state follows its copies
