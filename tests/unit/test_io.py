"""Saving and loading networks: exact round trips, atomic writes, and files that must not hurt."""

import json
import os
import zipfile

import numpy as np
import pytest

import neurolab as nl


def trained_net(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, (40, 6), dtype=np.uint8)
    y = rng.integers(0, 3, 40)
    net = nl.NeuralNetwork(
        [nl.Rescale(1 / 255), nl.Dense(6, 5, nl.activations.LeakyReLU(0.1), rng=seed), nl.Dropout(0.25, rng=seed),
         nl.Dense(5, 3, "identity", rng=seed + 1)],
        "cross_entropy",
    )
    net.fit(X, y, epochs=2, batch_size=8, optimizer=nl.optim.Adam(lr=0.01), rng=seed, verbose=0)
    return net, X, y


def test_round_trip_is_bit_identical(tmp_path):
    net, X, y = trained_net()
    path = net.save(tmp_path / "model.npz")
    loaded = nl.load(path)
    assert repr(loaded) == repr(net)
    for a, b in zip(net.parameters(), loaded.parameters()):
        assert a.value.dtype == b.value.dtype
        np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert nl.NeuralNetwork.load(path).evaluate(X, y) == net.evaluate(X, y)


def test_optimizer_state_round_trips(tmp_path):
    net, _, _ = trained_net()
    loaded = nl.load(net.save(tmp_path / "model.npz"))
    assert repr(loaded.optimizer) == repr(net.optimizer)
    for p, q in zip(net.parameters(), loaded.parameters()):
        state, restored = net.optimizer.state[p], loaded.optimizer.state[q]
        assert restored["step"] == state["step"]
        np.testing.assert_array_equal(restored["m"], state["m"])
        np.testing.assert_array_equal(restored["v"], state["v"])


def test_register_layer_errors():
    with pytest.raises(TypeError, match="register_layer: expected a subclass of neurolab.Layer, got"):
        nl.register_layer(int)

    class Dense(nl.Layer):
        pass

    with pytest.raises(ValueError, match="expected a new layer name, got 'Dense', already registered for neurolab.layer.Dense"):
        nl.register_layer(Dense)


def test_save_replaces_atomically_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    net, X, _ = trained_net()
    path = tmp_path / "model.npz"
    net.save(path)
    before = path.read_bytes()
    other, _, _ = trained_net(seed=1)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", crash)
    with pytest.raises(OSError, match="disk full"):
        other.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.npz"]
    np.testing.assert_array_equal(nl.load(path).predict_proba(X), net.predict_proba(X))


def test_save_into_a_missing_directory_fails_cleanly(tmp_path):
    net, _, _ = trained_net()
    with pytest.raises(FileNotFoundError, match="expected an existing directory for .*, got none at"):
        net.save(tmp_path / "missing" / "m.npz")


def write_npy(path, array):
    with open(path, "wb") as f:
        np.save(f, array)


def write_npz(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def meta(**changes):
    net, _, _ = trained_net()
    description = nl.io._describe(net)
    description.update(changes)
    return net, description


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.write_bytes(b""), r"not an .npz \(zip\) archive"),
        (lambda p: p.write_bytes(os.urandom(300)), r"not an .npz \(zip\) archive"),
        (lambda p: p.write_text("just text"), r"not an .npz \(zip\) archive"),
        (lambda p: write_npy(p, np.ones(3)), r"not an .npz \(zip\) archive"),
        (lambda p: write_npz(p, weights=np.ones(3)), "without the neurolab description"),
        (lambda p: write_npz(p, __neurolab__=np.array("{not json")), "an unreadable description"),
        (lambda p: write_npz(p, __neurolab__=np.array(json.dumps({"format": "keras"}))), "a description of another format"),
    ],
)
def test_files_that_are_not_models_are_refused(tmp_path, make, message):
    path = tmp_path / "bad.npz"
    make(path)
    with pytest.raises(nl.ModelFileError, match=rf"load: expected a neurolab model file at '.*bad.npz', got .*{message}"):
        nl.load(path)


def test_truncated_file_is_refused(tmp_path):
    net, _, _ = trained_net()
    path = net.save(tmp_path / "m.npz")
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(nl.ModelFileError, match=r"(not a complete|not an) .npz"):
        nl.load(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError, match="got no such file"):
        nl.load("/nonexistent/model.npz")


def arrays_of(net):
    path_arrays = {"__neurolab__": np.array(json.dumps(nl.io._describe(net)))}
    for i, layer in enumerate(net.layers):
        for name, p in layer.named_parameters():
            path_arrays[f"layers/{i}/{name}"] = p.value
    return path_arrays


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda a, d: a.pop("layers/1/weight"), r"no array 'layers/1/weight' for parameter 'weight' of layers\[1\] \(Dense\)"),
        (lambda a, d: a.update(extra=np.ones(2)), r"unexpected arrays \['extra'\]"),
        (lambda a, d: a.update({"layers/1/weight": np.ones((6, 5), np.float32)}), r"array 'layers/1/weight' of shape \(6, 5\), where layers\[1\] \(Dense\(6, 5\)\) needs shape \(5, 6\)"),
        (lambda a, d: a["layers/3/bias"].__setitem__(0, np.nan), r"non-finite values in 'layers/3/bias'"),
        (lambda a, d: d.update(version=99), r"format version 99, newer than this neurolab reads \(2\); upgrade neurolab"),
        (lambda a, d: d["layers"][2].update({"class": "Conv3D"}), r"layers\[2\] of unknown class 'Conv3D' \(known: .*\); if it is your own layer, import its module"),
        (lambda a, d: d["layers"][1]["config"].update(out_features=-1), r"a config that Dense refuses for layers\[1\]"),
        (lambda a, d: d.update(layers=[]), "a description with no layers"),
    ],
)
def test_damaged_models_are_refused_with_the_problem(tmp_path, change, message):
    net, _, _ = trained_net()
    net.optimizer = None
    arrays = arrays_of(net)
    description = nl.io._describe(net)
    change(arrays, description)
    arrays["__neurolab__"] = np.array(json.dumps(description))
    path = write_npz(tmp_path / "m.npz", **arrays)
    with pytest.raises(nl.ModelFileError, match=message):
        nl.load(path)


class Exploit:
    """Unpickling this runs code: it creates the sentinel file."""

    def __init__(self, sentinel):
        self.sentinel = str(sentinel)

    def __reduce__(self):
        return (open, (self.sentinel, "w"))


def test_pickled_object_array_is_refused_and_nothing_runs(tmp_path):
    net, _, _ = trained_net()
    sentinel = tmp_path / "SENTINEL"
    arrays = arrays_of(net)
    payload = np.empty(1, dtype=object)
    payload[0] = Exploit(sentinel)
    arrays["layers/1/weight"] = payload
    path = tmp_path / "evil.npz"
    with open(path, "wb") as f:
        np.savez(f, **arrays)  # np.savez pickles object arrays
    assert not sentinel.exists()
    with pytest.raises(nl.ModelFileError, match="that needs pickle to load, which is refused"):
        nl.load(path)
    assert not sentinel.exists()


def test_dropout_is_off_when_predicting_and_restored_after(tmp_path):
    net, X, _ = trained_net()
    first = net.predict_proba(X)
    np.testing.assert_array_equal(first, net.predict_proba(X))
    assert all(layer.training for layer in net.layers)
    assert zipfile.is_zipfile(net.save(tmp_path / "m.npz"))
