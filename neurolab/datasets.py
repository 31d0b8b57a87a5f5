"""Dataset loading: the IDX file format and the MNIST handwritten digits.

``load_mnist()`` returns MNIST as NumPy arrays. It looks for the data in this
order and uses the first place that has it:

1. the ``data_dir`` argument, if given (and nowhere else: a ``data_dir``
   without the files is an error, never a silent fall-back);
2. the directory in the environment variable ``NEUROLAB_DATA``;
3. the per-user cache directory, ``default_cache_dir()``:
   ``$XDG_CACHE_HOME/neurolab/mnist``, by default ``~/.cache/neurolab/mnist``.

For ``data_dir`` and ``NEUROLAB_DATA`` the files may sit in the directory
itself or in its ``mnist/`` subdirectory. A directory holds MNIST if it has
the four IDX files (each gzip-compressed with ``.gz`` or uncompressed)::

    train-images-idx3-ubyte  train-labels-idx1-ubyte
    t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte

or, failing those, the tutorial pickle ``mnist.pkl.gz`` (deeplearning.net,
M. Nielsen's book), which is read with a restricted unpickler that can only
rebuild NumPy arrays.

If nothing is found and ``download=True``, the four ``.gz`` files are
downloaded from ``MNIST_MIRRORS`` into ``data_dir`` when it was given (it must
exist), otherwise into the cache directory. Each download is checked against
the published md5 in ``MNIST_MD5`` before it is moved into place.

Files that neurolab manages are checked before they are used: everything in
the cache, and a download just made. The sha256 of each IDX file's content,
after decompression, must be the one in ``MNIST_SHA256`` (so any faithful
copy passes, compressed or not). A damaged or replaced file in the cache is
downloaded again if ``download=True``, otherwise refused with an error naming
it. Your own directories (``data_dir``, ``NEUROLAB_DATA``) are read as they
are, so they may hold other data in the IDX format under MNIST's file names,
such as Fashion-MNIST; ``load_mnist(verify=True)`` checks them as well.

To use a copy you already have::

    export NEUROLAB_DATA=/path/to/dir/with/the/mnist/files
"""

from __future__ import annotations

import codecs
import gzip
import hashlib
import http.client
import io
import math
import os
import pickle
import struct
import sys
import tempfile
import urllib.request
import zlib
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np

try:
    from numpy._core.multiarray import _reconstruct as _np_reconstruct
except ImportError:  # NumPy < 2
    from numpy.core.multiarray import _reconstruct as _np_reconstruct  # type: ignore[no-redef]

PathLike = Union[str, "os.PathLike[str]"]

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
"""Base URLs tried in turn by ``download_mnist``; a file name is appended."""

MNIST_MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
"""Published md5 of each downloadable file (tests may replace this table)."""

# The decompressed published files (MNIST_MD5) hash to these; so does a
# re-compressed or uncompressed copy, which the .gz md5 would refuse.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
"""sha256 of each IDX file's content, decompressed (tests may replace this table)."""

MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)
MNIST_PICKLE = "mnist.pkl.gz"
DOWNLOAD_TIMEOUT = 30.0  # seconds without data before a mirror counts as failed
_CHUNK_SIZE = 1 << 16

# IDX type code -> dtype as stored (big-endian); load_idx returns native order.
_IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


class DatasetError(ValueError):
    """A data file exists but is corrupt, truncated or not what was expected."""


class DatasetNotFoundError(FileNotFoundError):
    """The data could not be found locally (nor downloaded)."""


# --------------------------------------------------------------------- IDX
def load_idx(path: PathLike) -> np.ndarray:
    """Read an IDX file (the format of MNIST), gzip-compressed or not.

    Parameters
    ----------
    path : str or path-like
        The file. Compression is detected from the gzip magic bytes
        ``1f 8b``, not from the file name.

    Returns
    -------
    np.ndarray
        A writable array of shape ``dims`` from the header, in native byte
        order, with dtype uint8, int8, int16, int32, float32 or float64
        (IDX type codes 0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E).

    Raises
    ------
    DatasetNotFoundError
        If the file does not exist.
    DatasetError
        If the file is not valid IDX: bad magic, unknown type code, no
        dimensions, truncated payload, trailing bytes or corrupt gzip.

    Notes
    -----
    Layout, all integers big-endian::

        bytes 0-1   0x00 0x00
        byte  2     type code
        byte  3     number of dimensions d
        4*d bytes   the size of each dimension (uint32)
        the rest    prod(dims) values of the type, C order
    """
    path = Path(path)
    return _parse_idx(_read_bytes(path, "load_idx"), path)


def _parse_idx(raw: bytes, path: Path) -> np.ndarray:
    """Decode the (decompressed) content ``raw`` of the IDX file ``path``; see ``load_idx``."""
    if len(raw) < 4 or raw[:2] != b"\x00\x00":
        raise DatasetError(
            f"load_idx: expected an IDX file starting with bytes 00 00 in '{path}', "
            f"got {raw[:4].hex(' ') or 'an empty file'}; the file is neither IDX "
            "nor gzip-compressed IDX, replace it with a good copy"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise DatasetError(
            f"load_idx: expected an IDX type code in ({known}) in '{path}', got 0x{code:02X}"
        )
    if ndim == 0:
        raise DatasetError(f"load_idx: expected at least 1 dimension in '{path}', got 0")
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise DatasetError(
            f"load_idx: expected a {header_size}-byte header for {ndim} dimensions "
            f"in '{path}', got {len(raw)} bytes; the file is truncated"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header_size])
    dtype = _IDX_DTYPES[code]
    expected = math.prod(dims) * dtype.itemsize
    received = len(raw) - header_size
    if received != expected:
        problem = "the file is truncated" if received < expected else "it has trailing bytes"
        raise DatasetError(
            f"load_idx: expected {expected} payload bytes for shape {dims} of "
            f"{dtype.name} in '{path}', got {received}; {problem}"
        )
    array = np.frombuffer(raw, dtype=dtype, offset=header_size).reshape(dims)
    return array.astype(dtype.newbyteorder("="))  # a writable native-order copy


def _read_bytes(path: Path, caller: str) -> bytes:
    """Return the content of ``path``, decompressed if it starts with gzip magic."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetNotFoundError(
            f"{caller}: expected a file at '{path}', got nothing there"
        ) from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
        raise DatasetError(
            f"{caller}: expected a complete gzip stream in '{path}', got a "
            f"truncated or corrupt one ({exc}); delete the file and get it again"
        ) from exc


# ------------------------------------------------------------------- MNIST
def default_cache_dir() -> Path:
    """Return the per-user MNIST cache directory (it may not exist yet).

    Returns
    -------
    Path
        ``$XDG_CACHE_HOME/neurolab/mnist`` if ``XDG_CACHE_HOME`` is set to an
        absolute path, else ``~/.cache/neurolab/mnist``.
    """
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "neurolab" / "mnist"


def load_mnist(
    data_dir: Optional[PathLike] = None,
    *,
    download: bool = True,
    verify: Optional[bool] = None,
    progress: bool = True,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Load MNIST: 60,000 training and 10,000 test images of handwritten digits.

    Parameters
    ----------
    data_dir : str or path-like, optional
        Directory holding the files (directly or in ``data_dir/mnist/``).
        If given, no other place is searched, the directory must exist, and a
        download (if needed) goes into it. If None, ``$NEUROLAB_DATA`` then
        ``default_cache_dir()`` are searched and downloads go to the cache.
    download : bool, default True
        Download the files if they are not found, or if a file in the cache
        fails its check (then each damaged file is replaced atomically).
    verify : bool or None, default None
        Check the sha256 of each IDX file's content against ``MNIST_SHA256``
        before using it. None checks what neurolab manages, the cache and a
        download just made, and reads your own ``data_dir`` or
        ``$NEUROLAB_DATA`` as it is, so that directory may hold other IDX
        data under MNIST's names (e.g. Fashion-MNIST). True checks wherever
        the files are found; False checks nothing. ``mnist.pkl.gz`` has no
        known checksum, so it is refused where files are checked.
    progress : bool, default True
        Report download progress on stderr.

    Returns
    -------
    (x_train, y_train), (x_test, y_test)
        ``x_*`` : uint8 array of shape (N, 784), pixels 0..255, one flattened
        28x28 image per row (``x.reshape(-1, 28, 28)`` gives the images);
        ``y_*`` : uint8 array of shape (N,), the digits 0..9.

    Raises
    ------
    DatasetNotFoundError
        If the data is not found and cannot be downloaded.
    DatasetError
        If a file is corrupt or inconsistent, or fails its check; the message
        names the file, the expected and the actual sha256.
    TypeError
        If ``verify`` is not None, True or False.
    """
    if verify is not None and not isinstance(verify, bool):
        raise TypeError(f"load_mnist: expected verify to be None, True or False, got {verify!r}")
    if data_dir is not None:
        root = Path(data_dir)
        if not root.is_dir():
            raise DatasetNotFoundError(
                f"load_mnist: expected data_dir to be an existing directory, got "
                f"'{root}'; fix the path, or pass data_dir=None to use "
                "$NEUROLAB_DATA or the cache"
            )
        candidates, download_dir = [root, root / "mnist"], root
    else:
        candidates, download_dir = [], default_cache_dir()
        if os.environ.get("NEUROLAB_DATA"):
            env_dir = Path(os.environ["NEUROLAB_DATA"])
            candidates += [env_dir, env_dir / "mnist"]
        candidates.append(download_dir)

    for directory in candidates:
        in_cache = data_dir is None and directory == download_dir
        checked = in_cache if verify is None else verify
        try:
            found = _load_from(directory, checked)
        except DatasetError as damaged:
            if not (in_cache and checked and download):
                raise
            try:  # the cache is neurolab's own: replace what fails, read it again
                _download_damaged(directory, progress)
            except DatasetNotFoundError as exc:
                raise DatasetError(
                    f"{damaged}\nload_mnist could not download a good copy:\n{exc}"
                ) from exc
            found = _load_from(directory, checked)
        if found is not None:
            return found
    searched = ", ".join(f"'{d}'" for d in candidates)
    expected = ", ".join(f"{name}[.gz]" for name in MNIST_FILES) + f" or {MNIST_PICKLE}"
    if not download:
        raise DatasetNotFoundError(
            f"load_mnist: expected the MNIST files ({expected}) in {searched}, got "
            "none; set NEUROLAB_DATA to a directory holding them, or pass download=True"
        )
    present = [p.name for p in (_existing(download_dir / n) for n in MNIST_FILES) if p]
    if data_dir is not None and present:  # the user's files: a download would replace them
        raise DatasetNotFoundError(
            f"load_mnist: expected all four MNIST files in '{download_dir}' or none, got "
            f"only {present}; downloading would replace them, so nothing was downloaded: "
            "add the missing files, or pass a directory without them"
        )
    try:
        download_mnist(download_dir, progress=progress)
    except DatasetNotFoundError as exc:
        raise DatasetNotFoundError(
            f"load_mnist: MNIST not found in {searched}, and the download failed.\n{exc}"
        ) from exc
    return _load_from(download_dir, verify is not False)  # neurolab wrote these files


def _load_from(directory: Path, verify: bool):
    """Load MNIST from ``directory`` (IDX files first, then the pickle), or return None.

    With ``verify``, each IDX file must pass ``_check_content`` and the pickle
    is refused (it has no known checksum).
    """
    found = [_existing(directory / name) for name in MNIST_FILES]
    paths = [path for path in found if path is not None]
    if len(paths) == len(found):
        train_images, train_labels, test_images, test_labels = paths
        return (
            _load_split(train_images, train_labels, verify),
            _load_split(test_images, test_labels, verify),
        )
    if (directory / MNIST_PICKLE).is_file():
        if verify:
            raise DatasetError(
                f"load_mnist: expected the four IDX files in '{directory}' to check "
                f"against MNIST_SHA256, got only {MNIST_PICKLE}, which has no known "
                "checksum; pass verify=False to read it unchecked, or replace it with "
                "the IDX files"
            )
        return _load_pickle(directory / MNIST_PICKLE)
    return None


def _existing(stem: Path) -> Optional[Path]:
    """Return ``stem.gz`` or ``stem``, whichever exists first, else None."""
    for path in (stem.with_name(stem.name + ".gz"), stem):
        if path.is_file():
            return path
    return None


def _load_split(
    images_path: Path, labels_path: Path, verify: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Read and check one image file and its label file; return (x (N, 784), y (N,))."""
    images, labels = _read_idx(images_path, verify), _read_idx(labels_path, verify)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(
            f"load_mnist: expected uint8 images of shape (N, 28, 28) in "
            f"'{images_path}', got {images.dtype} of shape {images.shape}"
        )
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise DatasetError(
            f"load_mnist: expected uint8 labels of shape (N,) in '{labels_path}', "
            f"got {labels.dtype} of shape {labels.shape}"
        )
    if len(images) != len(labels):
        raise DatasetError(
            f"load_mnist: expected as many labels as images, got {len(images)} "
            f"images in '{images_path}' and {len(labels)} labels in '{labels_path}'"
        )
    _check_labels(labels, labels_path)
    return images.reshape(len(images), 784), labels


def _read_idx(path: Path, verify: bool) -> np.ndarray:
    """``load_idx(path)``, checking the content first if ``verify`` (one read, one inflate)."""
    raw = _read_bytes(path, "load_idx")
    if verify:
        _check_content(raw, path)
    return _parse_idx(raw, path)


def _check_content(raw: bytes, path: Path) -> None:
    """Raise DatasetError unless ``raw``, the decompressed ``path``, has its MNIST sha256."""
    name = path.name.removesuffix(".gz")
    expected = MNIST_SHA256[name]
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected:
        raise DatasetError(
            f"load_mnist: expected '{path}' to hold MNIST's {name} (sha256 of the "
            f"content {expected}), got sha256 {actual}; the file is damaged or holds "
            "other data: delete it and load again with download=True, or pass "
            "verify=False to use it as it is"
        )


def _download_damaged(directory: Path, progress: bool) -> None:
    """Download again each MNIST file in ``directory`` that is missing or fails its check.

    Only those files are fetched (a good copy that is re-compressed or
    uncompressed stays), each replaced atomically by ``_download_file``.
    """
    for name in MNIST_FILES:
        path = _existing(directory / name)
        if _intact(path):
            continue
        target = directory / (name + ".gz")
        _download_file(target.name, MNIST_MD5[target.name], target, MNIST_MIRRORS, progress)
        if path is not None and path != target:
            path.unlink()  # a damaged uncompressed copy, which the .gz now shadows


def _intact(path: Optional[Path]) -> bool:
    """Whether ``path`` exists, decompresses and passes ``_check_content``."""
    if path is None:
        return False
    try:
        _check_content(_read_bytes(path, "load_idx"), path)
    except DatasetError:
        return False
    return True


def _check_labels(labels: np.ndarray, path: Path) -> None:
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        bad = labels[(labels < 0) | (labels > 9)][0]
        raise DatasetError(f"load_mnist: expected labels in 0..9 in '{path}', got {bad}")


# --------------------------------------------------------- mnist.pkl.gz
# The only globals a pickle of NumPy arrays needs. Old (Python 2) files name
# numpy.core.multiarray, NumPy >= 2 writes numpy._core.multiarray; and
# Python 3 writes bytes at protocol 2 as _codecs.encode(text, "latin1").
_PICKLE_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _np_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,
}


class _ArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild NumPy arrays and tuples, and nothing else.

    A pickle can call any importable function while it loads; this one refuses
    every global outside ``_PICKLE_ALLOWED``, so no code from the file runs.
    """

    def __init__(self, file, path: Path):
        super().__init__(file, encoding="latin1")
        self.path = path

    def find_class(self, module: str, name: str):
        try:
            return _PICKLE_ALLOWED[(module, name)]
        except KeyError:
            raise DatasetError(
                f"load_mnist: expected a pickle of NumPy arrays in '{self.path}', got "
                f"a reference to '{module}.{name}'; refused to load it, the file may "
                "be malicious (use the IDX files instead)"
            ) from None


def _load_pickle(path: Path):
    """Load ``mnist.pkl.gz`` safely and convert it to the ``load_mnist`` layout."""
    try:
        with gzip.open(path, "rb") as file:
            data = _ArrayUnpickler(file, path).load()
    except DatasetError:
        raise
    except Exception as exc:  # any failure while parsing the bytes: a corrupt file
        raise DatasetError(
            f"load_mnist: expected a gzip-compressed pickle in '{path}', got a "
            f"corrupt file ({type(exc).__name__}: {exc}); delete it and get it again"
        ) from exc

    layout = "((train_x, train_y), (valid_x, valid_y), (test_x, test_y))"
    if not (
        isinstance(data, (tuple, list))
        and len(data) == 3
        and all(isinstance(pair, (tuple, list)) and len(pair) == 2 for pair in data)
    ):
        raise DatasetError(
            f"load_mnist: expected {layout} in '{path}', got {type(data).__name__}"
        )
    splits = []
    for split, (x, y) in zip(("train", "valid", "test"), data):
        if not (isinstance(x, np.ndarray) and x.dtype.kind == "f" and x.ndim == 2
                and x.shape[1] == 784):
            raise DatasetError(
                f"load_mnist: expected {split}_x to be a float array of shape (N, 784) "
                f"in '{path}', got {_describe(x)}"
            )
        if not (isinstance(y, np.ndarray) and y.dtype.kind in "iu" and y.shape == (len(x),)):
            raise DatasetError(
                f"load_mnist: expected {split}_y to be an integer array of shape "
                f"({len(x)},) in '{path}', got {_describe(y)}"
            )
        if x.size and not (np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1):
            raise DatasetError(
                f"load_mnist: expected {split}_x pixels in [0, 1] in '{path}', got "
                f"values in [{x.min()}, {x.max()}]"
            )
        _check_labels(y, path)
        splits.append((np.rint(x * 255).astype(np.uint8), y.astype(np.uint8)))
    (train_x, train_y), (valid_x, valid_y), test = splits
    return (np.concatenate([train_x, valid_x]), np.concatenate([train_y, valid_y])), test


def _describe(obj) -> str:
    if isinstance(obj, np.ndarray):
        return f"{obj.dtype} array of shape {obj.shape}"
    return type(obj).__name__


# ------------------------------------------------------------- download
def download_mnist(
    dest_dir: PathLike, *, mirrors: Optional[Sequence[str]] = None, progress: bool = True
) -> Path:
    """Download the four MNIST ``.gz`` files into ``dest_dir``, verified by md5.

    Each file is fetched from the mirrors in turn until one delivers it
    complete and with the md5 in ``MNIST_MD5``. It is streamed into a
    temporary file in ``dest_dir`` and renamed into place only once the
    checksum passes, so a failure never leaves a partial file behind. A file
    already present with the right md5 is not downloaded again.

    Parameters
    ----------
    dest_dir : str or path-like
        Where to put the files; created if missing.
    mirrors : sequence of str, optional
        Base URLs (a file name is appended). Defaults to ``MNIST_MIRRORS``.
    progress : bool, default True
        Report progress on stderr: a tqdm bar if tqdm is installed and stderr
        is a terminal, else one line per file.

    Returns
    -------
    Path
        ``dest_dir``.

    Raises
    ------
    DatasetNotFoundError
        If some file could not be fetched from any mirror; the message gives
        each mirror's reason.
    """
    dest_dir = Path(dest_dir)
    mirrors = MNIST_MIRRORS if mirrors is None else tuple(mirrors)
    if not mirrors:
        raise ValueError("download_mnist: expected at least one mirror URL, got none")
    dest_dir.mkdir(parents=True, exist_ok=True)
    for name, md5 in MNIST_MD5.items():
        target = dest_dir / name
        if not (target.is_file() and _md5_of(target) == md5):
            _download_file(name, md5, target, mirrors, progress)
    return dest_dir


class _MirrorError(Exception):
    """A mirror answered, but with an incomplete or wrong file."""


def _download_file(name: str, md5: str, target: Path, mirrors, progress: bool) -> None:
    """Fetch ``name`` from the first mirror that delivers it intact, into ``target``."""
    failures = []
    fd, part_name = tempfile.mkstemp(dir=target.parent, prefix=f".{name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as part:
            for mirror in mirrors:
                url = mirror.rstrip("/") + "/" + name
                part.seek(0)
                part.truncate()
                try:
                    _fetch(url, part, md5, progress)
                except (OSError, http.client.HTTPException, _MirrorError) as exc:
                    failures.append(f"  {url}: {str(exc) or type(exc).__name__}")
                else:
                    break
        if len(failures) < len(mirrors):  # the last mirror tried succeeded
            os.chmod(part_name, 0o644)  # mkstemp makes it private; data is shareable
            os.replace(part_name, target)
            return
    finally:
        if os.path.exists(part_name):
            os.remove(part_name)
    reasons = "\n".join(failures)
    raise DatasetNotFoundError(
        f"download_mnist: expected to download '{name}' into '{target.parent}', "
        f"got a failure from every mirror:\n{reasons}\n"
        f"Expected files: {', '.join(MNIST_MD5)}. If you have a copy, set "
        "NEUROLAB_DATA to the directory holding them (or pass data_dir=...)."
    )


def _fetch(url: str, part: io.BufferedWriter, md5: str, progress: bool) -> None:
    """Stream ``url`` into ``part``; raise if the transfer is short or the md5 differs."""
    digest = hashlib.md5()
    received = 0
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response:
        length = response.headers.get("Content-Length")
        total = int(length) if length else None
        bar = _progress_bar(url, total) if progress else None
        if progress and bar is None:
            size = f" ({total / 1e6:.1f} MB)" if total else ""
            print(f"neurolab: downloading {url}{size}", file=sys.stderr)
        try:
            while chunk := response.read(_CHUNK_SIZE):
                part.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
    if total is not None and received != total:
        raise _MirrorError(f"transfer interrupted after {received} of {total} bytes")
    if digest.hexdigest() != md5:
        raise _MirrorError(f"md5 {digest.hexdigest()} does not match the published {md5}")


def _progress_bar(url: str, total: Optional[int]):
    """Return a tqdm bar if tqdm is installed and stderr is a terminal, else None."""
    if not sys.stderr.isatty():
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1])


def _md5_of(path: Path) -> str:
    digest = hashlib.md5()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


# ------------------------------------------------------------ your own data
def read_digit_image(path: PathLike) -> np.ndarray:
    """An image file (PNG, or anything Pillow reads) as one MNIST-like row ``(1, 784)`` of uint8 pixels.

    The image is made grayscale and resized to 28x28; a dark digit on a light background (mean
    pixel above 127), as people draw them, is inverted to MNIST's white digit on black.
    Needs Pillow (``pip install neurolab-nn[image]``); raises ``ImportError`` saying so without it,
    :class:`DatasetError` for a file Pillow cannot read as an image.
    """
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise ImportError("read_digit_image: reading images needs Pillow: pip install neurolab-nn[image] (or Pillow)") from None
    try:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("L").resize((28, 28)), dtype=np.uint8)
    except UnidentifiedImageError:
        raise DatasetError(f"read_digit_image: expected an image file, got {str(path)!r}, which Pillow cannot read as one") from None
    if pixels.mean() > 127:  # dark digit on a light background: invert to MNIST's convention
        pixels = 255 - pixels
    return pixels.reshape(1, 784)


def load_csv(path: PathLike, label_column: str) -> tuple[np.ndarray, np.ndarray]:
    """A CSV file with a header row as ``(X, y)``: ``y`` ``(N,)`` int64 from the column ``label_column``,
    ``X`` ``(N, features)`` float64 from every other column, in file order.

    Labels must be non-negative integers (class indices). Raises :class:`DatasetError` naming
    the line and column of the first problem (a missing label column, a row of the wrong
    length, a value that is not a number), ``FileNotFoundError`` for a missing file.
    """
    import csv

    path = Path(path)
    where = f"load_csv: {str(path)!r}"
    try:
        with open(path, newline="", encoding="utf-8") as file:
            rows = list(csv.reader(file))
    except UnicodeDecodeError:
        raise DatasetError(f"{where}: expected a CSV text file (UTF-8), got bytes that are not text") from None
    except csv.Error as error:
        raise DatasetError(f"{where}: not a readable CSV file ({error})") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]  # blank lines are skipped
    if len(rows) < 2:
        raise DatasetError(f"{where}: expected a header row and at least one data row, got {len(rows)} row(s)")
    header = [name.strip() for name in rows[0]]
    if label_column not in header:
        raise DatasetError(f"{where}: expected a column named {label_column!r}, got columns {', '.join(header)}")
    if len(header) < 2:
        raise DatasetError(f"{where}: expected at least one feature column besides {label_column!r}")
    label_at = header.index(label_column)
    values = np.empty((len(rows) - 1, len(header)), dtype=np.float64)
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise DatasetError(f"{where}, line {line}: expected {len(header)} values as in the header, got {len(row)}")
        for column, cell in enumerate(row):
            try:
                values[line - 2, column] = float(cell)
            except ValueError:
                raise DatasetError(f"{where}, line {line}, column {header[column]!r}: expected a number, got {cell!r}") from None
    if not np.isfinite(values).all():
        line = int(np.nonzero(~np.isfinite(values).all(axis=1))[0][0]) + 2
        raise DatasetError(f"{where}, line {line}: expected finite numbers, got NaN or infinity")
    labels = values[:, label_at]
    bad = (labels < 0) | (labels != np.round(labels))
    if bad.any():
        line = int(np.nonzero(bad)[0][0]) + 2
        raise DatasetError(f"{where}, line {line}: expected a class label (an integer >= 0) in {label_column!r}, got {labels[line - 2]:g}")
    return np.delete(values, label_at, axis=1), labels.astype(np.int64)
