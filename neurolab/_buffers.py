"""Reusing a layer's arrays from one training batch to the next, within one epoch.

``NeuralNetwork.fit`` runs each batch through the private hooks ``Layer._fit_forward``,
``Layer._fit_backward``, ``Loss._fit_forward`` and ``Loss._fit_backward``, giving each layer
and the loss a :class:`BatchArrays` of its own, made at the start of the epoch. The built-in
layers and losses write a batch's results (``Z``, ``A``, dL/dZ, dL/dX, probabilities) over
the arrays of the previous batch instead of allocating new ones, which keeps training's
working set small and in the CPU caches. The hooks of any other layer call its ``forward``
and ``backward``.

What a user can observe: during ``fit`` (in a callback's ``on_batch_end``), ``layer.z`` and
the other caches hold the last batch and are overwritten by the next batch of the same
epoch, so copy what you keep. Arrays from an earlier epoch or fit call, and from any call
outside ``fit`` (``forward``, ``backward``, ``predict``, ``explain``, a callback's own
``net.forward``), are never written to.
"""

from __future__ import annotations

import functools

import numpy as np


PAGE = 4096  # bytes


def page_aligned(shape, dtype, fill=None) -> np.ndarray:
    """``np.empty(shape, dtype)`` (or filled with ``fill``), starting on a 4 KiB page boundary.

    Training keeps every array it streams through (batch results, the parameter block, its
    gradients, the optimizer's state and scratch) starting on a page. When two arrays that an
    operation reads and writes together (``w -= lr * v``) start a few hundred bytes apart
    modulo 4 KiB, the CPU takes loads from one for stores to the other ("4K aliasing") and
    stalls: measured on this project's machines, up to 10% on an optimizer step. Arrays that
    start on pages are 0 bytes apart.
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    memory = np.empty(nbytes + PAGE, np.uint8)
    start = -memory.ctypes.data % PAGE
    array = memory[start : start + nbytes].view(dtype).reshape(shape)
    if fill is not None:
        array[...] = fill
    return array


@functools.lru_cache(maxsize=32)
def constant_row(n: int, dtype: np.dtype, value: float) -> np.ndarray:
    """A read-only row of ``n`` copies of ``value`` (one per width, dtype and value in use):
    the ``ones`` of BLAS row and column sums, the ``zeros`` of ReLU's maximum."""
    row = np.full(n, value, dtype)
    row.flags.writeable = False
    return row


class BatchArrays:
    """One layer's (or loss's) arrays for the batches of one epoch, one per result name.

    ``get(name, shape, dtype)`` gives the array the last batch used for ``name`` when it had
    ``shape`` and ``dtype``, and a new one, kept for the next batch, otherwise. ``scratch`` is
    the last array got with ``scratch=True``: a result the owner hands to its reader alone
    (a ``Dense`` layer's dL/dX), which ``fit`` lets the layer below write over.
    """

    __slots__ = ("_arrays", "scratch")

    def __init__(self) -> None:
        self._arrays: dict[tuple, np.ndarray] = {}
        self.scratch: np.ndarray | None = None

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype, scratch: bool = False) -> np.ndarray:
        """The array for the result ``name`` (its numbers are stale: write all of it)."""
        key = (name, shape, dtype)  # a batch of another size, or a layer converted by astype
        array = self._arrays.get(key)
        if array is None:
            array = self._arrays[key] = page_aligned(shape, dtype)
        if scratch:
            self.scratch = array
        return array


class _NewArrays:
    """The ``arrays`` of a call outside ``fit``: ``get`` gives None, so NumPy allocates."""

    __slots__ = ()

    def get(self, name: str, shape: tuple[int, ...], dtype: np.dtype, scratch: bool = False) -> None:
        return None


NEW_ARRAYS = _NewArrays()
