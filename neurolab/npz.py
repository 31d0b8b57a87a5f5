"""The container of a model file: an ``.npz`` archive of plain arrays, read as untrusted input and written atomically.

``np.savez`` writes the archive: one ``<name>.npy`` member per array. Reading does not use
``np.load``: :func:`opened` checks the archive's table of contents and every member's ``.npy``
header (a plain numeric dtype, a shape whose byte count is what the member holds) before any
array data is read, bounds the total by ``max_bytes`` and each compressed member's expansion
by ``MAX_EXPANSION``, and reads each array only when asked, as plain numbers (never
unpickled). :func:`write` writes beside the target and renames over it when complete.

What the arrays mean is :mod:`neurolab.io`'s business; every refusal here is
``fail(problem)``, the caller's error naming its file.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import stat
import time
import zipfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

MAX_BYTES = 2**31  # what a file's arrays may hold, all together, by default (2 GiB)
MAX_EXPANSION = 100  # how many times its compressed size a member may expand to, beyond 1 MiB
MAX_MEMBERS = 100_000
STALE_SECONDS = 300  # a temporary file untouched this long belongs to no running save

# what zipfile and numpy raise for damaged bytes (RuntimeError: "encrypted", NotImplementedError:
# an unknown compression in a member's local header)
DAMAGE = (zipfile.BadZipFile, EOFError, OSError, ValueError, RuntimeError, NotImplementedError)


class Arrays:
    """Arrays by name, with their declared shape and dtype known before any data is read.

    ``headers[name]`` is ``(shape, dtype)``; ``read(name)`` returns the array and drops its
    header, so the headers left at the end are the arrays nobody asked for. Made by
    :func:`opened` from an archive, or by :meth:`in_memory` from arrays (``save`` rebuilds
    its network from those, through the same code as ``load``).
    """

    def __init__(self, headers: dict, read) -> None:
        self.headers = headers
        self._read = read

    @classmethod
    def in_memory(cls, arrays: dict) -> "Arrays":
        return cls({name: (a.shape, a.dtype) for name, a in arrays.items()}, lambda name: arrays[name])

    def read(self, name: str) -> np.ndarray:
        array = self._read(name)
        del self.headers[name]  # what is left at the end is unexpected
        return array


@contextmanager
def opened(path: Path, max_bytes: int, fail):
    """``with opened(path, max_bytes, fail) as arrays:`` the checked :class:`Arrays` of the archive at ``path``.

    Reading happens inside the block (the archive stays open there). Raises ``fail(problem)``
    for a file that is not a zip archive, a member that is not a ``.npy`` or runs past the
    end, a name twice, a compression other than stored or deflated, a member expanding more
    than ``MAX_EXPANSION`` times (beyond 1 MiB), arrays of more than ``max_bytes`` together,
    and any header :func:`npy_header` refuses.
    """
    with open(path, "rb") as file:
        if not zipfile.is_zipfile(file):
            raise fail("a file that is not an .npz (zip) archive")
        file.seek(0)
        with zipfile.ZipFile(file) as archive:
            yield _checked(archive, os.fstat(file.fileno()).st_size, max_bytes, fail)


def _checked(archive: zipfile.ZipFile, file_length: int, max_bytes: int, fail) -> Arrays:
    """The archive's members and headers, checked; the data is read later, by ``Arrays.read``."""
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise fail(f"an archive of {len(infos):,} members (at most {MAX_MEMBERS:,})")
    members = {}
    for info in infos:
        if not info.filename.endswith(".npy") or info.is_dir():
            raise fail(f"an archive member {info.filename!r} that is not a .npy array")
        name = info.filename[: -len(".npy")]
        if name in members:
            raise fail(f"the array {name!r} twice")
        if info.header_offset + info.compress_size > file_length:
            raise fail(f"a member {name!r} that runs past the end of the file (truncated?)")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise fail(f"the array {name!r} compressed with method {info.compress_type} (stored or deflated expected)")
        if info.file_size > max(2**20, MAX_EXPANSION * info.compress_size):
            raise fail(
                f"the array {name!r} expanding from {info.compress_size:,} to {info.file_size:,} bytes "
                f"(more than {MAX_EXPANSION} times, refused as a decompression bomb)"
            )
        members[name] = info
    total = sum(info.file_size for info in members.values())
    if total > max_bytes:
        raise fail(f"arrays of {total:,} bytes in all, more than max_bytes={max_bytes:,}; pass a larger max_bytes to load it")

    headers, offsets = {}, {}
    for name, info in members.items():
        shape, dtype, offset = npy_header(archive, info, name, fail)
        headers[name] = (shape, dtype)
        offsets[name] = offset

    def read(name: str) -> np.ndarray:
        shape, dtype = headers[name]
        size = math.prod(shape) * dtype.itemsize
        try:
            with archive.open(members[name]) as file:
                file.read(offsets[name])
                data = file.read(size)
                file.read(1)  # at the end of the member: the CRC is checked
        except DAMAGE as error:
            raise fail(f"a damaged array {name!r} ({type(error).__name__}: {error})") from None
        if len(data) != size:
            raise fail(f"the array {name!r} cut short ({len(data):,} of {size:,} bytes)")
        return np.frombuffer(data, dtype=dtype).reshape(shape).copy()  # writable, owns its memory

    return Arrays(headers, read)


def npy_header(archive, info, name: str, fail) -> tuple[tuple, np.dtype, int]:
    """The shape, dtype and header length that member ``info`` declares, checked against its size."""
    try:
        with archive.open(info) as file:
            version = np.lib.format.read_magic(file)
            if version == (1, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
            elif version == (2, 0):
                shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
            offset = file.tell()
    except DAMAGE + (SyntaxError, TypeError) as error:  # numpy parses the header as a Python literal
        raise fail(f"an unreadable array {name!r} ({type(error).__name__}: {error})") from None
    if dtype.hasobject:
        raise fail(f"an array {name!r} that needs pickle to load, which is refused (dtype {dtype})")
    if dtype.kind not in "biufcU" or dtype.fields is not None or dtype.subdtype is not None:
        raise fail(f"an array {name!r} of dtype {dtype}, where plain numbers belong")
    if fortran_order or len(shape) > 32:
        raise fail(f"an array {name!r} in Fortran order or of {len(shape)} dimensions, which neurolab never writes")
    size = math.prod(shape) * dtype.itemsize
    if info.file_size != offset + size:
        raise fail(
            f"an array {name!r} whose header declares shape {shape} of {dtype} ({size:,} bytes), "
            f"but whose member holds {info.file_size - offset:,} bytes of data"
        )
    return shape, dtype, offset


def write(path: Path, arrays: dict, where: str) -> None:
    """Write ``arrays`` to ``path`` with ``np.savez``, atomically (see :func:`write_atomically`)."""
    write_atomically(path, lambda file: np.savez(file, **arrays), where)


def write_atomically(path: Path, write_to, where: str) -> None:
    """Call ``write_to(file)`` on a new binary file beside ``path``, then rename it over ``path``.

    Readers see the old file or the new one, never half. The new file keeps the permissions
    of the file it replaces (a new one gets 0o666 less the umask, as ``open`` gives);
    temporary files of ``path`` left by a killed write and untouched for ``STALE_SECONDS``
    are removed afterwards. An OSError names ``where`` and ``path`` and says the previous
    file is unchanged.
    """
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{where}: expected an existing directory for '{path}', got none at '{directory}'")
    fd, tmp = _temporary(path, where)
    try:
        with os.fdopen(fd, "wb") as file:
            write_to(file)
            file.flush()
            os.fsync(file.fileno())
        if path.exists():
            os.chmod(tmp, stat.S_IMODE(os.stat(path).st_mode))  # keep the permissions the user gave it
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
    except BaseException as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(error, OSError):
            raise type(error)(f"{where}: could not write '{path}' ({error}); the previous file is unchanged") from error
        raise
    _remove_stale_temporaries(path)


def _temporary(path: Path, where: str) -> tuple[int, Path]:
    """A new hidden file beside ``path``, created with mode 0o666 less the umask (as ``open`` would)."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
        except OSError as error:
            raise type(error)(f"{where}: expected a writable directory for '{path}', got {error}") from error
    raise FileExistsError(f"{where}: could not create a temporary file beside '{path}'")


def _remove_stale_temporaries(path: Path) -> None:
    """Remove temporary files of saves of ``path`` that were killed (untouched for STALE_SECONDS)."""
    pattern = re.compile(re.escape(f".{path.name}.") + r"[A-Za-z0-9_]{8}\.tmp")  # ours, or mkstemp's
    now = time.time()
    try:
        entries = list(os.scandir(path.parent if str(path.parent) else "."))
    except OSError:
        return
    for entry in entries:
        try:
            if (pattern.fullmatch(entry.name) and entry.is_file(follow_symlinks=False)
                    and now - entry.stat(follow_symlinks=False).st_mtime > STALE_SECONDS):
                os.remove(entry.path)
        except OSError:
            pass  # another process removed it, or it is not ours to remove: not worth failing a save
