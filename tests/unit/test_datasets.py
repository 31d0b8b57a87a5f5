"""Unit tests for neurolab.datasets: IDX parsing, MNIST search, pickle safety, download.

Everything runs on tiny synthetic files in tmp_path; downloads go to an
http.server on 127.0.0.1 started by a fixture. No test touches the network or
the real home directory (see the autouse ``isolated`` fixture).
"""

import gzip
import hashlib
import io
import os
import pickle
import re
import socket
import struct
import sys
import threading
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from neurolab import datasets
from neurolab.datasets import (
    DatasetError,
    DatasetNotFoundError,
    default_cache_dir,
    download_mnist,
    load_idx,
    load_mnist,
)

IDX_CODES = {"uint8": 0x08, "int8": 0x09, "int16": 0x0B, "int32": 0x0C,
             "float32": 0x0D, "float64": 0x0E}


# ----------------------------------------------------------------- helpers
def idx_bytes(array):
    """Encode ``array`` as IDX (big-endian, as the format requires)."""
    array = np.asarray(array)
    header = struct.pack(">BBBB", 0, 0, IDX_CODES[array.dtype.name], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def make_split(n, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    return images, labels


def write_mnist(directory, n_train=3, n_test=2, compress=True, seed=0):
    """Write the four IDX files into ``directory``; return the arrays written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = make_split(n_train, seed), make_split(n_test, seed + 1)
    for name, array in zip(datasets.MNIST_FILES, (xtr, ytr, xte, yte)):
        data = idx_bytes(array)
        if compress:
            (directory / (name + ".gz")).write_bytes(gzip.compress(data))
        else:
            (directory / name).write_bytes(data)
    return (xtr, ytr), (xte, yte)


def content_of(path):
    data = Path(path).read_bytes()
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


def trust(monkeypatch, directory):
    """Make the IDX files in ``directory`` the known MNIST (their sha256s replace the table)."""
    checksums = {}
    for name in datasets.MNIST_FILES:
        path = directory / (name + ".gz")
        path = path if path.is_file() else directory / name
        checksums[name] = hashlib.sha256(content_of(path)).hexdigest()
    monkeypatch.setattr(datasets, "MNIST_SHA256", checksums)


def write_file(tmp_path, data, name="data.idx"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    """No real env var, home, cache or network: every test starts clean."""
    monkeypatch.delenv("NEUROLAB_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (refused_url(),))
    monkeypatch.setattr(datasets, "DOWNLOAD_TIMEOUT", 5.0)


def refused_url():
    """An http URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


# ------------------------------------------------------------------ load_idx
@pytest.mark.parametrize("dtype", list(IDX_CODES))
@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_round_trips_every_dtype(tmp_path, dtype, compress):
    array = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "uint8":
        array = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    data = idx_bytes(array)
    path = write_file(tmp_path, gzip.compress(data) if compress else data, "no_extension")
    loaded = load_idx(path)
    np.testing.assert_array_equal(loaded, array)
    assert loaded.dtype == np.dtype(dtype)  # native byte order
    assert loaded.dtype.isnative and loaded.flags.writeable


def test_load_idx_wrong_magic(tmp_path):
    path = write_file(tmp_path, b"\x01\x00\x08\x01" + struct.pack(">I", 0))
    with pytest.raises(DatasetError, match=r"expected an IDX file starting with bytes 00 00 "
                       rf"in '{re.escape(str(path))}', got 01 00 08 01"):
        load_idx(path)


def test_load_idx_plain_garbage(tmp_path):
    path = write_file(tmp_path, b"<html>404 Not Found</html>", "page.gz")
    with pytest.raises(DatasetError, match=r"got 3c 68 74 6d; the file is neither IDX"):
        load_idx(path)


def test_load_idx_empty_file(tmp_path):
    path = write_file(tmp_path, b"")
    with pytest.raises(DatasetError, match=r"got an empty file"):
        load_idx(path)


def test_load_idx_unknown_dtype_code(tmp_path):
    path = write_file(tmp_path, b"\x00\x00\x0a\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(DatasetError, match=r"expected an IDX type code in \(0x08, .*0x0E\) "
                       r"in '.*data.idx', got 0x0A"):
        load_idx(path)


def test_load_idx_zero_dimensions(tmp_path):
    path = write_file(tmp_path, b"\x00\x00\x08\x00\x05")
    with pytest.raises(DatasetError, match=r"expected at least 1 dimension in '.*', got 0"):
        load_idx(path)


def test_load_idx_truncated_header(tmp_path):
    path = write_file(tmp_path, b"\x00\x00\x08\x03" + struct.pack(">I", 2))
    with pytest.raises(DatasetError, match=r"expected a 16-byte header for 3 dimensions "
                       r"in '.*', got 8 bytes; the file is truncated"):
        load_idx(path)


def test_load_idx_truncated_payload(tmp_path):
    data = idx_bytes(np.zeros((2, 3), dtype=np.int32))
    path = write_file(tmp_path, data[:-1])
    with pytest.raises(DatasetError, match=r"expected 24 payload bytes for shape \(2, 3\) of "
                       r"int32 in '.*data.idx', got 23; the file is truncated"):
        load_idx(path)


def test_load_idx_trailing_bytes(tmp_path):
    data = idx_bytes(np.zeros((4,), dtype=np.uint8))
    path = write_file(tmp_path, gzip.compress(data + b"\x00"))
    with pytest.raises(DatasetError, match=r"expected 4 payload bytes .* got 5; "
                       r"it has trailing bytes"):
        load_idx(path)


@pytest.mark.parametrize("cut", [3, 20, -4])
def test_load_idx_truncated_gzip(tmp_path, cut):
    data = gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8)))
    path = write_file(tmp_path, data[:cut], "file.gz")
    with pytest.raises(DatasetError, match=rf"expected a complete gzip stream in "
                       rf"'{re.escape(str(path))}', got a truncated or corrupt one"):
        load_idx(path)


def test_load_idx_corrupt_gzip(tmp_path):
    data = bytearray(gzip.compress(idx_bytes(np.arange(100, dtype=np.uint8))))
    data[12:20] = b"\xff" * 8  # garbage in the deflate stream
    path = write_file(tmp_path, bytes(data), "file.gz")
    with pytest.raises(DatasetError, match=r"truncated or corrupt one"):
        load_idx(path)


def test_load_idx_missing_file(tmp_path):
    with pytest.raises(DatasetNotFoundError, match=r"load_idx: expected a file at "
                       r"'.*nope.idx', got nothing there"):
        load_idx(tmp_path / "nope.idx")


# --------------------------------------------------------- load_mnist (IDX)
def test_load_mnist_shapes_dtypes_and_values(tmp_path):
    (xtr, ytr), (xte, yte) = write_mnist(tmp_path / "d", n_train=5, n_test=3)
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path / "d", download=False)
    assert x_train.shape == (5, 784) and x_test.shape == (3, 784)
    assert x_train.dtype == y_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train.reshape(-1, 28, 28), xtr)
    np.testing.assert_array_equal(x_test.reshape(-1, 28, 28), xte)
    np.testing.assert_array_equal(y_train, ytr)
    np.testing.assert_array_equal(y_test, yte)


def test_load_mnist_uncompressed_files(tmp_path):
    (xtr, _), _ = write_mnist(tmp_path, compress=False)
    (x_train, _), _ = load_mnist(tmp_path, download=False)
    np.testing.assert_array_equal(x_train.reshape(-1, 28, 28), xtr)


def test_load_mnist_count_mismatch_names_both_files(tmp_path):
    write_mnist(tmp_path, n_train=3)
    labels = tmp_path / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(idx_bytes(np.zeros(2, dtype=np.uint8))))
    with pytest.raises(DatasetError, match=r"expected as many labels as images, got 3 images "
                       r"in '.*train-images-idx3-ubyte.gz' and 2 labels in "
                       r"'.*train-labels-idx1-ubyte.gz'"):
        load_mnist(tmp_path, download=False)


def test_load_mnist_labels_out_of_range(tmp_path):
    write_mnist(tmp_path, n_test=2)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip.compress(idx_bytes(np.array([3, 10], dtype=np.uint8))))
    with pytest.raises(DatasetError, match=r"expected labels in 0..9 in "
                       r"'.*t10k-labels-idx1-ubyte.gz', got 10"):
        load_mnist(tmp_path, download=False)


def test_load_mnist_wrong_image_size(tmp_path):
    write_mnist(tmp_path)
    images = tmp_path / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(idx_bytes(np.zeros((3, 28, 27), dtype=np.uint8))))
    with pytest.raises(DatasetError, match=r"expected uint8 images of shape \(N, 28, 28\) in "
                       r"'.*train-images-idx3-ubyte.gz', got uint8 of shape \(3, 28, 27\)"):
        load_mnist(tmp_path, download=False)


# ------------------------------------------------------------ search order
def test_search_order_argument_env_cache(tmp_path, monkeypatch):
    write_mnist(tmp_path / "arg", n_train=1)
    write_mnist(tmp_path / "env", n_train=2)
    write_mnist(tmp_path / "xdg" / "neurolab" / "mnist", n_train=3)
    trust(monkeypatch, tmp_path / "xdg" / "neurolab" / "mnist")
    monkeypatch.setenv("NEUROLAB_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))

    assert len(load_mnist(tmp_path / "arg", download=False)[0][0]) == 1
    assert len(load_mnist(download=False)[0][0]) == 2
    monkeypatch.delenv("NEUROLAB_DATA")
    assert len(load_mnist(download=False)[0][0]) == 3


def test_env_dir_without_files_falls_back_to_cache(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    write_mnist(tmp_path / "home" / ".cache" / "neurolab" / "mnist", n_train=4)
    trust(monkeypatch, tmp_path / "home" / ".cache" / "neurolab" / "mnist")
    monkeypatch.setenv("NEUROLAB_DATA", str(tmp_path / "empty"))
    assert len(load_mnist(download=False)[0][0]) == 4


def test_mnist_subdirectory_is_accepted(tmp_path, monkeypatch):
    write_mnist(tmp_path / "data" / "mnist", n_train=2)
    assert len(load_mnist(tmp_path / "data", download=False)[0][0]) == 2
    monkeypatch.setenv("NEUROLAB_DATA", str(tmp_path / "data"))
    assert len(load_mnist(download=False)[0][0]) == 2


def test_default_cache_dir_follows_xdg(tmp_path, monkeypatch):
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "neurolab" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "neurolab" / "mnist"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")  # the XDG spec says ignore
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "neurolab" / "mnist"


def test_explicit_dir_without_files_is_an_error_not_a_fallback(tmp_path, monkeypatch):
    write_mnist(tmp_path / "env")
    monkeypatch.setenv("NEUROLAB_DATA", str(tmp_path / "env"))
    (tmp_path / "mine").mkdir()
    with pytest.raises(DatasetNotFoundError, match=r"expected the MNIST files "
                       r"\(train-images-idx3-ubyte\[.gz\], .* or mnist.pkl.gz\) in "
                       rf"'{re.escape(str(tmp_path / 'mine'))}', '.*mine/mnist', got none; "
                       r"set NEUROLAB_DATA"):
        load_mnist(tmp_path / "mine", download=False)


def test_explicit_dir_that_does_not_exist(tmp_path):
    missing = tmp_path / "typo"
    with pytest.raises(DatasetNotFoundError, match=r"expected data_dir to be an existing "
                       rf"directory, got '{re.escape(str(missing))}'; fix the path"):
        load_mnist(missing)  # download=True must not create it either
    assert not missing.exists()


def test_incomplete_idx_set_is_not_found(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetNotFoundError, match=r"got none"):
        load_mnist(tmp_path, download=False)


# --------------------------------------------------------------- mnist.pkl.gz
def make_pickle_data(n=(3, 2, 2), seed=0):
    rng = np.random.default_rng(seed)
    splits = []
    for count in n:
        pixels = rng.integers(0, 256, size=(count, 784))
        splits.append(((pixels / 255).astype(np.float32),
                       rng.integers(0, 10, size=count).astype(np.int64)))
    return tuple(splits)


def write_pickle(directory, obj, dumps=None):
    dumps = dumps or (lambda o: pickle.dumps(o, protocol=2))
    path = Path(directory) / "mnist.pkl.gz"
    path.write_bytes(gzip.compress(dumps(obj)))
    return path


class _Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING), as the original file has them."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_py2_str(self, obj):
        self.write(pickle.BINSTRING + struct.pack("<i", len(obj)) + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def dumps_like_python2(obj):
    buffer = io.BytesIO()
    _Py2Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue().replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n")


@pytest.mark.parametrize("dumps", [None, dumps_like_python2], ids=["py3", "py2-style"])
def test_pickle_loads_and_converts(tmp_path, dumps):
    data = make_pickle_data()
    write_pickle(tmp_path, data, dumps)
    (x_train, y_train), (x_test, y_test) = load_mnist(tmp_path, download=False)
    (tx, ty), (vx, vy), (sx, sy) = data
    assert x_train.shape == (5, 784) and x_test.shape == (2, 784)
    assert x_train.dtype == y_train.dtype == x_test.dtype == y_test.dtype == np.uint8
    np.testing.assert_array_equal(x_train, np.rint(np.concatenate([tx, vx]) * 255))
    np.testing.assert_array_equal(y_train, np.concatenate([ty, vy]))
    np.testing.assert_array_equal(x_test, np.rint(sx * 255))
    np.testing.assert_array_equal(y_test, sy)


def test_idx_files_are_preferred_over_pickle(tmp_path):
    write_pickle(tmp_path, make_pickle_data(n=(7, 1, 1)))
    write_mnist(tmp_path, n_train=3)
    assert len(load_mnist(tmp_path, download=False)[0][0]) == 3


class _Shell:
    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _Eval:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        return (eval, (self.code,))


@pytest.mark.parametrize("make_payload, refused", [
    (lambda s: _Shell(f"touch {s}"), r"(posix|nt|os)\.system"),
    (lambda s: _Eval(f"open({str(s)!r}, 'w').close()"), r"(__builtin__|builtins)\.eval"),
    (lambda s: ((np.zeros((1, 784), np.float32), _Shell(f"touch {s}")), (), ()),
     r"(posix|nt|os)\.system"),  # hidden inside a plausible structure
])
def test_malicious_pickle_is_refused_and_never_runs(tmp_path, make_payload, refused):
    sentinel = tmp_path / "SENTINEL"
    path = write_pickle(tmp_path, make_payload(sentinel))
    with pytest.raises(DatasetError, match=rf"expected a pickle of NumPy arrays in "
                       rf"'{re.escape(str(path))}', got a reference to '{refused}'; refused"):
        load_mnist(tmp_path, download=False)
    assert not sentinel.exists()


@pytest.mark.parametrize("obj, message", [
    ({"train": 1}, r"expected \(\(train_x, train_y\), .*\) in '.*mnist.pkl.gz', got dict"),
    (((np.zeros((2, 100), np.float32), np.zeros(2, np.int64)),) * 3,
     r"expected train_x to be a float array of shape \(N, 784\) .* got float32 array of "
     r"shape \(2, 100\)"),
    (((np.zeros((2, 784), np.float32), np.zeros(3, np.int64)),) * 3,
     r"expected train_y to be an integer array of shape \(2,\)"),
    (((np.full((2, 784), 2.0, np.float32), np.zeros(2, np.int64)),) * 3,
     r"expected train_x pixels in \[0, 1\] in '.*', got values in \[2.0, 2.0\]"),
    (((np.full((2, 784), np.nan, np.float32), np.zeros(2, np.int64)),) * 3,
     r"expected train_x pixels in \[0, 1\]"),
    (((np.zeros((2, 784), np.float32), np.array([1, -1])),) * 3,
     r"expected labels in 0..9 in '.*mnist.pkl.gz', got -1"),
    (((np.zeros((2, 784), object), np.zeros(2, np.int64)),) * 3,
     r"expected train_x to be a float array .* got object array"),
])
def test_pickle_with_wrong_structure(tmp_path, obj, message):
    write_pickle(tmp_path, obj)
    with pytest.raises(DatasetError, match=message):
        load_mnist(tmp_path, download=False)


def test_truncated_pickle(tmp_path):
    path = write_pickle(tmp_path, make_pickle_data())
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(DatasetError, match=r"expected a gzip-compressed pickle in "
                       r"'.*mnist.pkl.gz', got a corrupt file \(EOFError"):
        load_mnist(tmp_path, download=False)


# ------------------------------------------------------------------ download
class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.routes``: path -> bytes, or ("truncate", bytes)."""

    def do_GET(self):
        self.server.requests.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        body = route[1] if isinstance(route, tuple) else route
        declared = len(body) + 1000 if isinstance(route, tuple) else len(body)
        self.send_response(200)
        self.send_header("Content-Length", str(declared))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if isinstance(route, tuple) else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    httpd.routes, httpd.requests = {}, []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


@pytest.fixture
def gz_files(tmp_path, monkeypatch):
    """Tiny MNIST .gz files (name -> bytes); their checksums replace the published ones."""
    source = tmp_path / "source"
    arrays = write_mnist(source, n_train=4, n_test=2, seed=7)
    files = {name + ".gz": (source / (name + ".gz")).read_bytes()
             for name in datasets.MNIST_FILES}
    monkeypatch.setattr(datasets, "MNIST_MD5",
                        {name: hashlib.md5(data).hexdigest() for name, data in files.items()})
    trust(monkeypatch, source)
    return files, arrays


def serve(server, prefix, files, truncate=False):
    for name, data in files.items():
        server.routes[f"/{prefix}/{name}"] = ("truncate", data) if truncate else data
    return f"{server.url}/{prefix}/"


def leftovers(directory):
    return sorted(p.name for p in Path(directory).iterdir())


def test_download_falls_through_refused_and_404_mirrors(tmp_path, server, gz_files):
    files, _ = gz_files
    good = serve(server, "good", files)
    mirrors = (refused_url(), f"{server.url}/missing/", good)
    download_mnist(tmp_path / "dl", mirrors=mirrors, progress=False)
    assert leftovers(tmp_path / "dl") == sorted(files)
    for name, data in files.items():
        assert (tmp_path / "dl" / name).read_bytes() == data
    assert server.requests[:2] == ["/missing/train-images-idx3-ubyte.gz",
                                   "/good/train-images-idx3-ubyte.gz"]


def test_download_skips_files_already_present(tmp_path, server, gz_files):
    files, _ = gz_files
    good = serve(server, "good", files)
    (tmp_path / "dl").mkdir()
    (tmp_path / "dl" / "t10k-labels-idx1-ubyte.gz").write_bytes(files["t10k-labels-idx1-ubyte.gz"])
    download_mnist(tmp_path / "dl", mirrors=(good,), progress=False)
    assert "/good/t10k-labels-idx1-ubyte.gz" not in server.requests
    assert len(server.requests) == 3


def test_download_checksum_mismatch_everywhere_leaves_nothing(tmp_path, server, gz_files,
                                                              monkeypatch):
    files, _ = gz_files
    mirrors = (serve(server, "a", files), serve(server, "b", files))
    monkeypatch.setitem(datasets.MNIST_MD5, "train-images-idx3-ubyte.gz", "0" * 32)
    with pytest.raises(DatasetNotFoundError, match=r"(?s)expected to download "
                       r"'train-images-idx3-ubyte.gz' into '.*dl', got a failure from every "
                       r"mirror:\n  http://.*/a/train-images-idx3-ubyte.gz: md5 [0-9a-f]{32} "
                       r"does not match the published 0{32}\n  http://.*/b/.*: md5"):
        download_mnist(tmp_path / "dl", mirrors=mirrors, progress=False)
    assert leftovers(tmp_path / "dl") == []  # no file, no temporary .part file


def test_download_interrupted_transfer_tries_next_mirror(tmp_path, server, gz_files):
    files, _ = gz_files
    mirrors = (serve(server, "cut", files, truncate=True), serve(server, "good", files))
    download_mnist(tmp_path / "dl", mirrors=mirrors, progress=False)
    assert leftovers(tmp_path / "dl") == sorted(files)
    assert (tmp_path / "dl" / "train-images-idx3-ubyte.gz").read_bytes() == \
        files["train-images-idx3-ubyte.gz"]


def test_download_interrupted_everywhere_leaves_nothing(tmp_path, server, gz_files):
    files, _ = gz_files
    mirrors = (serve(server, "cut", files, truncate=True),)
    with pytest.raises(DatasetNotFoundError, match=r"/cut/train-images-idx3-ubyte.gz: "
                       r"(transfer interrupted after \d+ of \d+ bytes|IncompleteRead)"):
        download_mnist(tmp_path / "dl", mirrors=mirrors, progress=False)
    assert leftovers(tmp_path / "dl") == []


def test_download_progress_line_without_terminal(tmp_path, server, gz_files, capsys):
    files, _ = gz_files
    download_mnist(tmp_path / "dl", mirrors=(serve(server, "good", files),), progress=True)
    err = capsys.readouterr().err
    assert re.search(r"neurolab: downloading http://.*/good/train-images-idx3-ubyte.gz "
                     r"\(\d+\.\d MB\)", err)
    assert len(err.splitlines()) == 4


class _FakeTqdm:
    instances = []

    def __init__(self, total, **kwargs):
        self.total, self.kwargs, self.count, self.closed = total, kwargs, 0, False
        _FakeTqdm.instances.append(self)

    def update(self, n):
        self.count += n

    def close(self):
        self.closed = True


class _FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_download_progress_bar_on_a_terminal(tmp_path, server, gz_files, monkeypatch):
    files, _ = gz_files
    monkeypatch.setitem(sys.modules, "tqdm", types.SimpleNamespace(tqdm=_FakeTqdm))
    monkeypatch.setattr(sys, "stderr", _FakeTerminal())
    _FakeTqdm.instances.clear()
    download_mnist(tmp_path / "dl", mirrors=(serve(server, "good", files),), progress=True)
    bars = _FakeTqdm.instances
    assert [bar.kwargs["desc"] for bar in bars] == list(datasets.MNIST_MD5)
    assert [bar.count for bar in bars] == [bar.total for bar in bars] == \
        [len(files[name]) for name in datasets.MNIST_MD5]
    assert all(bar.closed for bar in bars) and sys.stderr.getvalue() == ""


def test_download_on_a_terminal_without_tqdm(tmp_path, server, gz_files, monkeypatch):
    files, _ = gz_files
    monkeypatch.setitem(sys.modules, "tqdm", None)  # import tqdm raises ImportError
    monkeypatch.setattr(sys, "stderr", _FakeTerminal())
    download_mnist(tmp_path / "dl", mirrors=(serve(server, "good", files),), progress=True)
    assert sys.stderr.getvalue().count("neurolab: downloading http://") == 4


def test_download_needs_a_mirror(tmp_path):
    with pytest.raises(ValueError, match=r"expected at least one mirror URL, got none"):
        download_mnist(tmp_path, mirrors=())


def test_load_mnist_downloads_into_cache(tmp_path, server, gz_files, monkeypatch):
    files, ((xtr, ytr), (xte, yte)) = gz_files
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (refused_url(), serve(server, "m", files)))
    (x_train, y_train), (x_test, y_test) = load_mnist(progress=False)
    cache = tmp_path / "home" / ".cache" / "neurolab" / "mnist"
    assert leftovers(cache) == sorted(files)
    np.testing.assert_array_equal(x_train.reshape(-1, 28, 28), xtr)
    np.testing.assert_array_equal(y_test, yte)
    server.requests.clear()
    load_mnist(progress=False)  # the second call reads the cache
    assert server.requests == []


def test_load_mnist_downloads_into_explicit_dir(tmp_path, server, gz_files, monkeypatch):
    files, _ = gz_files
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (serve(server, "m", files),))
    (tmp_path / "mine").mkdir()
    load_mnist(tmp_path / "mine", progress=False)
    assert leftovers(tmp_path / "mine") == sorted(files)
    assert not (tmp_path / "home").exists()


def test_a_download_never_replaces_files_in_your_own_directory(tmp_path, server, gz_files,
                                                             monkeypatch):
    """Three Fashion-MNIST-like files and one missing: refuse, rather than overwrite them."""
    files, _ = gz_files
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (serve(server, "m", files),))
    mine = tmp_path / "mine"
    write_mnist(mine, seed=7)
    (mine / "t10k-labels-idx1-ubyte.gz").unlink()
    before = {p.name: p.read_bytes() for p in mine.iterdir()}
    with pytest.raises(DatasetNotFoundError, match=r"expected all four MNIST files in '.*mine' "
                       r"or none, got only \['train-images-idx3-ubyte.gz', .*\]; downloading "
                       r"would replace them, so nothing was downloaded"):
        load_mnist(mine, progress=False)
    assert {p.name: p.read_bytes() for p in mine.iterdir()} == before
    assert server.requests == []


def test_offline_error_says_what_was_tried_and_what_to_do(tmp_path, monkeypatch):
    first, second = refused_url(), refused_url()
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (first, second))
    monkeypatch.setenv("NEUROLAB_DATA", str(tmp_path / "env"))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist(progress=False)
    message = str(info.value)
    cache = tmp_path / "home" / ".cache" / "neurolab" / "mnist"
    assert message.startswith(f"load_mnist: MNIST not found in '{tmp_path / 'env'}', "
                              f"'{tmp_path / 'env' / 'mnist'}', '{cache}', and the download")
    assert f"  {first}train-images-idx3-ubyte.gz: <urlopen error" in message
    assert f"  {second}train-images-idx3-ubyte.gz: <urlopen error" in message
    assert "Connection refused" in message
    for name in datasets.MNIST_MD5:
        assert name in message
    assert "set NEUROLAB_DATA to the directory holding them" in message
    assert leftovers(cache) == []


# ----------------------------------------------------------------- checksums
def tamper(path):
    """Overwrite an IDX file with other valid content of the same shape; return its sha256."""
    array = load_idx(path)
    modulus = 10 if array.ndim == 1 else 256  # labels stay in 0..9
    data = idx_bytes(((array.astype(np.int64) + 1) % modulus).astype(np.uint8))
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)
    return hashlib.sha256(data).hexdigest()


def test_checked_cache_accepts_any_faithful_copy(tmp_path, monkeypatch):
    cache = default_cache_dir()
    (xtr, ytr), (xte, yte) = write_mnist(cache, n_train=3)
    trust(monkeypatch, cache)
    images = cache / "train-images-idx3-ubyte.gz"
    plain = images.with_suffix("")  # decompressed: same content, other bytes
    plain.write_bytes(gzip.decompress(images.read_bytes()))
    images.unlink()
    labels = cache / "t10k-labels-idx1-ubyte.gz"
    recompressed = gzip.compress(content_of(labels), compresslevel=1, mtime=1)
    assert recompressed != labels.read_bytes()
    labels.write_bytes(recompressed)
    (x_train, y_train), (x_test, y_test) = load_mnist(progress=False)  # mirrors refuse
    np.testing.assert_array_equal(x_train.reshape(-1, 28, 28), xtr)
    np.testing.assert_array_equal(y_test, yte)


@pytest.mark.parametrize("verify", [None, True])
def test_tampered_cache_file_is_refused_offline(tmp_path, monkeypatch, verify):
    cache = default_cache_dir()
    write_mnist(cache)
    trust(monkeypatch, cache)
    labels = cache / "train-labels-idx1-ubyte.gz"
    actual = tamper(labels)
    tampered = labels.read_bytes()
    expected = datasets.MNIST_SHA256["train-labels-idx1-ubyte"]
    with pytest.raises(DatasetError, match=rf"^load_mnist: expected '{re.escape(str(labels))}' "
                       rf"to hold MNIST's train-labels-idx1-ubyte \(sha256 of the content "
                       rf"{expected}\), got sha256 {actual}; the file is damaged or holds "
                       r"other data: delete it and load again with download=True, or pass "
                       r"verify=False to use it as it is$"):
        load_mnist(download=False, verify=verify)
    assert labels.read_bytes() == tampered  # refused, not deleted behind the user's back


def test_verify_false_reads_the_cache_unchecked(tmp_path, monkeypatch):
    cache = default_cache_dir()
    write_mnist(cache)
    trust(monkeypatch, cache)
    tamper(cache / "train-labels-idx1-ubyte.gz")
    (_, y_train), _ = load_mnist(download=False, verify=False)
    np.testing.assert_array_equal(y_train, load_idx(cache / "train-labels-idx1-ubyte.gz"))


@pytest.mark.parametrize("compressed", [True, False], ids=["gz", "uncompressed"])
def test_tampered_cache_file_is_downloaded_again(tmp_path, server, gz_files, monkeypatch,
                                                 compressed):
    files, ((xtr, ytr), (xte, yte)) = gz_files
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (serve(server, "m", files),))
    cache = default_cache_dir()
    cache.mkdir(parents=True)
    for name, data in files.items():
        (cache / name).write_bytes(data)
    # A good copy re-compressed (its .gz md5 differs) stays: only the damaged file is fetched.
    images = cache / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(content_of(images), compresslevel=1, mtime=1))
    recompressed = images.read_bytes()
    labels = cache / "t10k-labels-idx1-ubyte.gz"
    if not compressed:
        labels.rename(labels.with_suffix(""))
        labels = labels.with_suffix("")
    tamper(labels)
    (x_train, y_train), (x_test, y_test) = load_mnist(progress=False)
    np.testing.assert_array_equal(y_test, yte)
    np.testing.assert_array_equal(x_train.reshape(-1, 28, 28), xtr)
    assert server.requests == ["/m/t10k-labels-idx1-ubyte.gz"]
    assert images.read_bytes() == recompressed
    assert (cache / "t10k-labels-idx1-ubyte.gz").read_bytes() == files["t10k-labels-idx1-ubyte.gz"]
    assert leftovers(cache) == sorted(files)  # no damaged copy, no temporary .part file


def test_tampered_cache_file_and_failed_download_says_both(tmp_path, gz_files):
    files, _ = gz_files
    cache = default_cache_dir()
    cache.mkdir(parents=True)
    for name, data in files.items():
        (cache / name).write_bytes(data)
    images = cache / "train-images-idx3-ubyte.gz"
    tamper(images)
    tampered = images.read_bytes()
    with pytest.raises(DatasetError, match=r"(?s)^load_mnist: expected '.*train-images-idx3-"
                       r"ubyte.gz' to hold MNIST's train-images-idx3-ubyte .*\nload_mnist could "
                       r"not download a good copy:\ndownload_mnist: expected to download "
                       r"'train-images-idx3-ubyte.gz' into .*Connection refused"):
        load_mnist(progress=False)  # the mirror refuses connections
    assert leftovers(cache) == sorted(files)  # no temporary .part file
    assert images.read_bytes() == tampered  # not truncated by the failed attempt


@pytest.mark.parametrize("where", ["data_dir", "NEUROLAB_DATA"])
def test_own_directory_with_other_idx_data_loads_unchecked(tmp_path, monkeypatch, where):
    # Like Fashion-MNIST: valid IDX files under MNIST's names, other content.
    own = tmp_path / "fashion"
    (xtr, ytr), (xte, yte) = write_mnist(own, n_train=4, seed=42)
    before = {path.name: path.read_bytes() for path in own.iterdir()}
    data_dir = own if where == "data_dir" else None
    if where == "NEUROLAB_DATA":
        monkeypatch.setenv("NEUROLAB_DATA", str(own))
    (x_train, y_train), (x_test, y_test) = load_mnist(data_dir, download=False)
    np.testing.assert_array_equal(x_train.reshape(-1, 28, 28), xtr)
    np.testing.assert_array_equal(y_test, yte)
    assert {path.name: path.read_bytes() for path in own.iterdir()} == before
    with pytest.raises(DatasetError, match=r"expected '.*fashion/train-images-idx3-ubyte.gz' "
                       r"to hold MNIST's train-images-idx3-ubyte \(sha256 of the content "
                       r"ba891046e6505d7a"):
        load_mnist(data_dir, download=False, verify=True)


def test_pickle_is_refused_where_files_are_checked(tmp_path):
    data = make_pickle_data()
    write_pickle(tmp_path, data)  # your own directory: read unchecked
    assert len(load_mnist(tmp_path, download=False)[0][0]) == 5
    cache = default_cache_dir()
    cache.mkdir(parents=True)
    write_pickle(cache, data)
    for call in (lambda: load_mnist(download=False),
                 lambda: load_mnist(tmp_path, download=False, verify=True)):
        with pytest.raises(DatasetError, match=r"expected the four IDX files in '.*' to check "
                           r"against MNIST_SHA256, got only mnist.pkl.gz, which has no known "
                           r"checksum; pass verify=False to read it unchecked"):
            call()
    assert len(load_mnist(download=False, verify=False)[0][0]) == 5


def test_a_download_into_data_dir_is_checked(tmp_path, server, gz_files, monkeypatch):
    files, _ = gz_files
    monkeypatch.setattr(datasets, "MNIST_MIRRORS", (serve(server, "m", files),))
    monkeypatch.setitem(datasets.MNIST_SHA256, "t10k-images-idx3-ubyte", "0" * 64)
    (tmp_path / "mine").mkdir()
    with pytest.raises(DatasetError, match=r"expected '.*mine/t10k-images-idx3-ubyte.gz' to "
                       r"hold MNIST's t10k-images-idx3-ubyte \(sha256 of the content 0{64}\)"):
        load_mnist(tmp_path / "mine", progress=False)


def test_verify_must_be_none_or_bool(tmp_path):
    with pytest.raises(TypeError, match=r"load_mnist: expected verify to be None, True or "
                       r"False, got 'yes'"):
        load_mnist(tmp_path, verify="yes")
