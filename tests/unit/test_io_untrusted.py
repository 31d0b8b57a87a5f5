"""A model file is untrusted input: whatever it holds, ``load`` returns a network or raises
``ModelFileError`` naming the file, and it checks sizes before it reads data or builds layers.

The hostile files are built member by member with ``zipfile``, as an attacker would, not
with ``save``.
"""

import copy
import io
import json
import re
import os
import stat
import time
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import neurolab as nl


def small_net(optimizer=None, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(24, 4))
    y = rng.integers(0, 3, 24)
    net = nl.NeuralNetwork(
        [nl.Dense(4, 5, "tanh", rng=seed), nl.Dropout(0.2, rng=seed), nl.Dense(5, 3, "identity", rng=seed + 1)],
        "cross_entropy",
    )
    net.fit(X, y, epochs=2, batch_size=8, optimizer=optimizer or nl.optim.Adam(lr=0.01), rng=seed, verbose=0)
    return net, X, y


def npy_bytes(array) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
    return buffer.getvalue()


def members_of(net) -> tuple[dict, dict]:
    """The description and the arrays ``save`` would write for ``net``."""
    arrays = {}
    for i, layer in enumerate(net.layers):
        for name, p in layer.named_parameters():
            arrays[f"layers/{i}/{name}"] = p.value.copy()
    if net.optimizer is not None:
        for j, p in enumerate(net.parameters()):
            for key, value in net.optimizer.state.get(p, {}).items():
                arrays[f"optimizer/{j}/{key}"] = np.asarray(value).copy()
    return nl.io._describe(net), arrays


def write_model(path, description, arrays, *, compression=zipfile.ZIP_STORED, raw=None):
    """A zip of .npy members like ``np.savez`` writes; ``raw`` maps member names to bytes written as they are."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        text = description if isinstance(description, str) else json.dumps(description)
        archive.writestr("__neurolab__.npy", npy_bytes(np.array(text)))
        for name, array in arrays.items():
            archive.writestr(f"{name}.npy", npy_bytes(array))
        for name, data in (raw or {}).items():
            archive.writestr(name, data)
    return path


def refused(path, match=None, **kwargs) -> str:
    with pytest.raises(nl.ModelFileError) as info:
        nl.load(path, **kwargs)
    message = str(info.value)
    assert message.startswith(f"load: expected a neurolab model file at '{path}', got ")
    if match is not None:
        import re

        assert re.search(match, message), message
    return message


def peak_memory_of(call) -> int:
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# -- sizes are checked before anything is allocated ---------------------------------------
def test_a_decompression_bomb_is_refused_before_it_is_expanded(tmp_path):
    net, _, _ = small_net()
    description, arrays = members_of(net)
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (4000, 4000)})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("__neurolab__.npy", npy_bytes(np.array(json.dumps(description))))
        with archive.open("layers/0/weight.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            zeros = bytes(4000 * 4)
            for _ in range(4000):
                member.write(zeros)
    assert path.stat().st_size < 2**20  # 64 MB of zeros in a file of a few dozen KB
    peak = peak_memory_of(lambda: refused(path, r"expanding from [\d,]+ to 64,000,128 bytes \(more than 100 times, refused as a decompression bomb\)"))
    assert peak < 8 * 2**20


def test_a_description_larger_than_its_arrays_builds_nothing(tmp_path):
    """A 3 KB file whose description declares Dense(6000, 6000) must not allocate that layer."""
    net, _, _ = small_net()
    net.optimizer = None
    description, arrays = members_of(net)
    description["layers"][0]["config"].update(in_features=6000, out_features=6000)
    path = write_model(tmp_path / "big.npz", description, arrays)
    assert path.stat().st_size < 8000
    peak = peak_memory_of(lambda: refused(
        path, r"array 'layers/0/weight' of shape \(5, 4\), where layers\[0\] \(Dense\(6000, 6000\)\) needs shape \(6000, 6000\)"
    ))
    assert peak < 4 * 2**20  # the layer would take 275 MB


@pytest.mark.parametrize("kernel", [[200, 300], 250])
def test_a_conv_declared_larger_than_its_arrays_builds_nothing(tmp_path, kernel):
    """Conv2D's config decides its allocation too: checked against the stored headers first."""
    net = nl.NeuralNetwork([nl.Reshape((1, 6, 6)), nl.Conv2D(1, 2, 3, rng=0), nl.Flatten(), nl.Dense(32, 3, "identity", rng=1)], "cross_entropy")
    description, arrays = members_of(net)
    description["layers"][1]["config"].update(in_channels=64, out_channels=64, kernel_size=kernel)
    path = write_model(tmp_path / "big.npz", description, arrays)
    shape = (64, 64, *(kernel if isinstance(kernel, list) else [kernel, kernel]))
    peak = peak_memory_of(lambda: refused(
        path, rf"array 'layers/1/weight' of shape \(2, 1, 3, 3\), where layers\[1\] \(Conv2D\(64, 64, {re.escape(str(kernel))}\)\) needs shape {re.escape(str(shape))}"
    ))
    assert peak < 4 * 2**20  # the layer would take about 1 GB


def test_a_header_that_declares_more_than_its_member_holds_is_refused(tmp_path):
    net, _, _ = small_net()
    description, arrays = members_of(net)
    data = npy_bytes(arrays.pop("layers/0/weight"))
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f4", "fortran_order": False, "shape": (6000, 6000)})
    path = write_model(tmp_path / "m.npz", description, arrays, raw={"layers/0/weight.npy": header.getvalue() + data[128:]})
    refused(path, r"'layers/0/weight' whose header declares shape \(6000, 6000\) of float32 \(144,000,000 bytes\), but whose member holds 80 bytes")


def test_max_bytes_bounds_what_a_file_may_hold(tmp_path):
    net, X, _ = small_net()
    path = net.save(tmp_path / "m.npz")
    refused(path, r"arrays of [\d,]+ bytes in all, more than max_bytes=100; pass a larger max_bytes", max_bytes=100)
    np.testing.assert_array_equal(nl.load(path, max_bytes=10**6).predict_proba(X), net.predict_proba(X))
    with pytest.raises(ValueError, match="load: expected max_bytes to be a positive int, got 0"):
        nl.load(path, max_bytes=0)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda d: "[" * 10_000 + "]" * 10_000, r"a description nested 10000 levels deep \(at most 16\)"),
        (lambda d: {**d, "layers": [{**d["layers"][0], "config": {"x": json.loads("[" * 20 + "]" * 20)}}]}, r"nested 2\d levels deep \(at most 16\)"),
        (lambda d: json.dumps(d)[:-1] + ', "pad": "' + "x" * 1_000_000 + '"}', r"a description stored as <U1000\d+ of shape \(\) \(expected one string of at most 1,000,000 characters\)"),
        (lambda d: json.dumps(d).replace('"lr": 0.01', '"lr": NaN'), "an unreadable description .*NaN is not a number JSON allows"),
        (lambda d: {**d, "version": "2"}, r"format version '2' \(expected an int from 1\)"),
        (lambda d: {**d, "version": True}, r"format version True \(expected an int from 1\)"),
        (lambda d: {**d, "layers": {"0": d["layers"][0]}}, "the layer list of type dict, where a list belongs"),
        (lambda d: {**d, "layers": ["Dense"]}, r"layers\[0\] of type str, where an object belongs"),
        (lambda d: {**d, "layers": [{**d["layers"][0], "config": [4, 5]}]}, r"the config of layers\[0\] of type list, where an object belongs"),
        (lambda d: {**d, "layers": [{**d["layers"][0], "class": 7}]}, r"the class of layers\[0\] of type int, where a string belongs"),
        (lambda d: {**d, "loss": 3}, "the loss of type int, where an object belongs"),
        (lambda d: {**d, "optimizer": {"config": {}}}, "a description without the optimizer's class"),
        (lambda d: {**d, "optimizer": {"class": "Adam", "config": {"lr": "fast"}}}, "settings that Adam refuses for the optimizer"),
        (lambda d: {**d, "optimizer": {"class": "Adam", "config": {"betas": [0.9]}}}, "settings that Adam refuses"),
        (lambda d: {**d, "optimizer": {"class": "Lion", "config": {}}}, r"the optimizer of unknown class 'Lion' \(known: .*\); if it is your own, import its module and decorate the class with @neurolab.register"),
        (lambda d: {**d, "loss": {"class": "Focal"}}, "the loss of unknown class 'Focal'"),
        (lambda d: {**d, "shuffle_rng": {"bit_generator": "PCG64", "state": "zero"}}, "an unreadable PCG64 generator state"),
        (lambda d: {**d, "shuffle_rng": {"bit_generator": "os.system"}}, "a random generator state of unknown kind 'os.system'"),
        (lambda d: {**d, "input_range": [1, 0]}, r"an input range \[1, 0\] \(expected \[low, high\], finite numbers with low <= high\)"),
        (lambda d: json.dumps({**d, "input_range": [0, 1]}).replace("[0, 1]", "[0, 1e400]"), r"an input range \[0, inf\]"),
        (lambda d: json.dumps({**d, "input_range": [0, 1]}).replace("[0, 1]", "[0, 1" + "0" * 400 + "]"), r"an input range \[0, 10+\]"),
        (lambda d: {**d, "input_range": [0, "1"]}, r"an input range \[0, '1'\]"),
        (lambda d: {**d, "layers": [{**d["layers"][0], "rng": d["shuffle_rng"]}] + d["layers"][1:]}, r"a random generator state for layers\[0\] \(Dense\), which has none"),
    ],
)
def test_malformed_descriptions_are_refused_with_the_problem(tmp_path, make, message):
    net, _, _ = small_net()
    description, arrays = members_of(net)
    path = write_model(tmp_path / "m.npz", make(copy.deepcopy(description)), arrays)
    refused(path, message)


@pytest.mark.parametrize(
    "raw, message",
    [
        ({"notes.txt": b"hello"}, "an archive member 'notes.txt' that is not a .npy array"),
        ({"layers/0/weight.npy": npy_bytes(np.zeros((5, 4), np.float32))}, "the array 'layers/0/weight' twice"),
        ({"extra.npy": b"\x93NUMPY\x09\x00"}, r"an unreadable array 'extra'"),
        ({"extra.npy": npy_bytes(np.zeros(3, dtype=[("a", "<f4")]))}, "an array 'extra' of dtype .*, where plain numbers belong"),
        ({"extra.npy": npy_bytes(np.zeros((2, 2), order="F").T.copy(order="F"))}, "in Fortran order"),
        ({"extra.npy": npy_bytes(np.ones(3))}, r"unexpected arrays \['extra'\]"),
    ],
)
def test_malformed_archives_are_refused_with_the_problem(tmp_path, raw, message):
    net, _, _ = small_net()
    description, arrays = members_of(net)
    path = tmp_path / "m.npz"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # zipfile warns about the duplicate name
        write_model(path, description, arrays, raw=raw)
    refused(path, message)


def test_an_object_dtype_in_the_description_member_is_refused_unread(tmp_path):
    net, _, _ = small_net()
    _, arrays = members_of(net)
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as archive:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(header, {"descr": "|O", "fortran_order": False, "shape": ()})
        archive.writestr("__neurolab__.npy", header.getvalue() + b"cos\nsystem\n(S'touch /tmp/x'\ntR.")
    refused(path, r"an array '__neurolab__' that needs pickle to load, which is refused")


def test_version_1_files_still_load(tmp_path):
    net, X, _ = small_net()
    description, arrays = members_of(net)
    description.update(version=1, loss="CrossEntropy")
    del description["input_range"]
    loaded = nl.load(write_model(tmp_path / "v1.npz", description, arrays))
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert isinstance(loaded.loss, nl.losses.CrossEntropy)


# -- optimizer state is validated like the weights -----------------------------------------
OPTIMIZERS = {
    "sgd": lambda: nl.optim.SGD(lr=0.1, momentum=0.9),
    "rmsprop": lambda: nl.optim.RMSprop(lr=0.01, momentum=0.5),
    "adam": lambda: nl.optim.Adam(lr=0.01),
}
TAMPERING = [
    ("wrong shape", lambda s, k: s.__setitem__(k, np.zeros((2, 2), np.float32)), r"optimizer state 'optimizer/0/\w+' of shape \(2, 2\) and dtype float32, for a parameter of shape \(5, 4\)"),
    ("wrong dtype", lambda s, k: s.__setitem__(k, s[k].astype(np.float64)), r"of shape \(5, 4\) and dtype float64, for a parameter of shape \(5, 4\) and dtype float32"),
    ("NaN", lambda s, k: s[k].__setitem__((0, 0), np.nan), r"that \w+ cannot resume from: expected finite values in '\w+', got NaN or inf"),
    ("inf", lambda s, k: s[k].__setitem__((1, 2), -np.inf), "expected finite values in"),
    ("missing key", lambda s, k: s.pop(k), r"(expected the state keys \[.*\], got \[|optimizer state \[\] for parameter 0 but \['velocity'\] for parameter 1 \(step\(\) updates all parameters together\))"),
    ("extra key", lambda s, k: s.__setitem__("extra", s[k].copy()), r"expected the state keys \[.*\], got \[.*'extra'"),
]


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
@pytest.mark.parametrize("what, tamper, message", TAMPERING, ids=[t[0] for t in TAMPERING])
def test_tampered_optimizer_state_is_refused(tmp_path, name, what, tamper, message):
    net, _, _ = small_net(OPTIMIZERS[name]())
    description, arrays = members_of(net)
    state = {key.split("/")[2]: arrays.pop(key) for key in list(arrays) if key.startswith("optimizer/0/")}
    key = next(k for k in sorted(state) if k != "step")
    tamper(state, key)
    arrays.update({f"optimizer/0/{k}": v for k, v in state.items()})
    refused(write_model(tmp_path / "m.npz", description, arrays), message)


@pytest.mark.parametrize(
    "name, key, value, message",
    [
        ("rmsprop", "square_avg", -1.0, r"expected 'square_avg' >= 0 \(a running mean of g\^2\), got negative entries"),
        ("adam", "v", -1e-9, r"expected 'v' >= 0 \(a running mean of g\^2\), got negative entries"),
        ("adam", "step", np.int64(0), r"expected 'step' to count the steps taken \(an int >= 1\), got 0"),
        ("adam", "step", np.float32(3.0), r"optimizer state 'optimizer/0/step' of shape \(\) and dtype float32"),
        ("adam", "step", np.int64(-4), r"expected 'step' to be an array or a step count \(int >= 0\), got -4"),
        ("adam", "m", np.int64(2), r"expected 'm' to be an array, got 2"),
        ("sgd", "velocity", np.int64(1), r"expected 'velocity' to be an array, got 1"),
    ],
)
def test_optimizer_state_that_the_optimizer_could_not_have_made_is_refused(tmp_path, name, key, value, message):
    net, _, _ = small_net(OPTIMIZERS[name]())
    description, arrays = members_of(net)
    if np.ndim(value) == 0 and isinstance(value, float):
        arrays[f"optimizer/0/{key}"][0, 0] = value
    else:
        arrays[f"optimizer/0/{key}"] = np.asarray(value)
    refused(write_model(tmp_path / "m.npz", description, arrays), message)


def test_step_counters_that_disagree_between_parameters_are_refused(tmp_path):
    net, _, _ = small_net(OPTIMIZERS["adam"]())
    description, arrays = members_of(net)
    arrays["optimizer/2/step"] = arrays["optimizer/2/step"] + 5
    refused(write_model(tmp_path / "m.npz", description, arrays), r"optimizer state 'step' = 6 for parameter 0 but 11 for parameter 2 \(step\(\) updates all parameters together\)")


def test_optimizer_state_for_a_parameter_the_network_lacks_is_refused(tmp_path):
    net, _, _ = small_net()
    description, arrays = members_of(net)
    arrays["optimizer/9/m"] = np.zeros(3, np.float32)
    refused(write_model(tmp_path / "m.npz", description, arrays), r"optimizer state 'optimizer/9/m' for a parameter the network does not have")


# -- any damage: a network or a ModelFileError, never another exception ---------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, prefix + (i,))


def assert_loads_or_is_refused_by_its_own_check(path, X):
    """``load`` gives a working network, or a ModelFileError from one of its checks (not from its last guard)."""
    try:
        net = nl.load(path)
    except nl.ModelFileError as error:
        assert str(path) in str(error)
        assert "a file neurolab cannot read" not in str(error), str(error)  # load's last guard: every case has its check
    else:
        assert net.predict_proba(X).shape == (len(X), 3)


@pytest.fixture(scope="module")
def model_members():
    net, X, _ = small_net()
    return members_of(net), X


WRONG_VALUES = [None, True, 0, -1, 10**30, 1.5, "", "x", [], [1], {}, {"a": 1}]


def test_every_field_of_the_description_of_every_wrong_type_is_a_model_file_error(tmp_path, model_members):
    """Each field replaced by each kind of JSON value: a network, or a refusal by its own check."""
    (description, arrays), X = model_members
    escaped = []
    for n, where in enumerate(list(_paths(description))[1:]):
        for value in WRONG_VALUES:
            changed = copy.deepcopy(description)
            node = changed
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = value
            path = write_model(tmp_path / f"m{n}.npz", changed, arrays)
            try:
                nl.load(path).predict_proba(X)
            except nl.ModelFileError as error:
                if "a file neurolab cannot read" in str(error):
                    escaped.append(f"{where} = {value!r}: {error}")
    assert not escaped, "\n".join(escaped)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_change_to_the_description_loads_or_is_a_model_file_error(tmp_path_factory, model_members, data):
    (description, arrays), X = model_members
    description = copy.deepcopy(description)
    paths = list(_paths(description))[1:]
    for _ in range(data.draw(st.integers(1, 3), label="changes")):
        where = data.draw(st.sampled_from(paths), label="path")
        node = description
        try:
            for key in where[:-1]:
                node = node[key]
            node[where[-1]] = data.draw(json_values, label="value")
        except (KeyError, IndexError, TypeError):
            pass  # an earlier change replaced a parent of this path
    path = write_model(tmp_path_factory.mktemp("d") / "m.npz", description, arrays)
    assert_loads_or_is_refused_by_its_own_check(path, X)


def structural_positions(path, npy_headers=True) -> list[int]:
    """The byte offsets of the zip headers, the .npy headers and the central directory of ``path``."""
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
    positions = set()
    for info in infos:
        local = 30 + len(info.filename) + len(info.extra)
        positions.update(range(info.header_offset, info.header_offset + local + (128 if npy_headers else 0)))
    end_of_data = max(info.header_offset + 30 + len(info.filename) + len(info.extra) + info.compress_size for info in infos)
    positions.update(range(end_of_data, path.stat().st_size))
    return sorted(positions)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_damage_to_the_bytes_loads_or_is_a_model_file_error(tmp_path_factory, model_members, data):
    (description, arrays), X = model_members
    path = write_model(tmp_path_factory.mktemp("d") / "m.npz", description, arrays)
    raw = bytearray(path.read_bytes())
    structure = structural_positions(path)  # where damage is met by a check, not by the CRC
    for _ in range(data.draw(st.integers(1, 4), label="changes")):
        position = data.draw(st.sampled_from(structure) | st.integers(0, len(raw) - 1), label="position")
        raw[position] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.sampled_from([None, data.draw(st.integers(0, len(raw)), label="cut")]), label="truncate")
    path.write_bytes(bytes(raw[:cut]))
    assert_loads_or_is_refused_by_its_own_check(path, X)


# -- writing: permissions kept, stale temporaries removed -----------------------------------
@pytest.mark.parametrize("mode", [0o644, 0o444, 0o640, 0o600])
def test_save_keeps_the_permissions_of_the_file_it_replaces(tmp_path, mode):
    net, _, _ = small_net()
    path = tmp_path / "m.npz"
    path.write_bytes(b"old")
    os.chmod(path, mode)
    net.save(path)
    assert stat.S_IMODE(path.stat().st_mode) == mode
    assert nl.load(path) is not None


@pytest.mark.parametrize("umask, mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_a_new_file_follows_the_umask(tmp_path, umask, mode):
    net, _, _ = small_net()
    old = os.umask(umask)
    try:
        path = net.save(tmp_path / "m.npz")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_save_removes_stale_temporaries_of_its_target_only(tmp_path):
    net, _, _ = small_net()
    old = time.time() - nl.npz.STALE_SECONDS - 60
    stale = [tmp_path / ".m.npz.k3j_x9a2.tmp", tmp_path / ".m.npz.0123abcd.tmp"]  # mkstemp's and ours
    kept = [
        tmp_path / ".m.npz.fresh123.tmp",  # may belong to a save in progress
        tmp_path / ".other.npz.k3j_x9a2.tmp",  # another target's
        tmp_path / ".m.npz.k3j_x9a2.tmp.bak",  # not a temporary file name of ours
        tmp_path / "m.npz.k3j_x9a2.tmp",
    ]
    for file in stale + kept:
        file.write_bytes(b"partial")
        if file.name != ".m.npz.fresh123.tmp":
            os.utime(file, (old, old))
    net.save(tmp_path / "m.npz")
    assert not any(file.exists() for file in stale)
    assert all(file.exists() for file in kept)


@pytest.mark.slow
def test_each_byte_of_the_zip_structure_damaged_is_a_model_file_error(tmp_path, model_members):
    """Every byte of every zip header and of the central directory, flipped in turn (about 2,000 files)."""
    (description, arrays), X = model_members
    path = write_model(tmp_path / "m.npz", description, arrays)
    good = path.read_bytes()
    escaped = []
    for position in structural_positions(path, npy_headers=False):
        raw = bytearray(good)
        raw[position] ^= 0xFF
        path.write_bytes(bytes(raw))
        try:
            nl.load(path).predict_proba(X)
        except nl.ModelFileError as error:
            if "a file neurolab cannot read" in str(error):
                escaped.append(f"byte {position}: {error}")
    assert not escaped, "\n".join(escaped[:10])
