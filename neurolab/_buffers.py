"""Reusing a layer's arrays from one training batch to the next, within one ``fit`` call.

``NeuralNetwork.fit`` runs each batch's forward and backward pass inside its
:class:`FitArrays` context. There, the built-in layers and losses write a batch's results
(``Z``, ``A``, dL/dZ, dL/dX, probabilities) over the arrays of the previous batch of the same
``fit`` call instead of allocating new ones, which keeps training's working set small and in
the CPU caches.

What a user can observe: during ``fit`` (in a callback), ``layer.z`` and the other caches hold
the last batch and are overwritten by the next one, so copy what you keep. Arrays from before
a ``fit`` call, from another ``fit`` call, or from any call outside ``fit`` (``forward``,
``backward``, ``predict``, ``explain``, a callback's own ``net.forward``) are never written to.
"""

from __future__ import annotations

import contextvars

import numpy as np

_current = contextvars.ContextVar("neurolab_fit_arrays", default=None)


def reusable(arrays: dict, name: str, shape: tuple[int, ...], dtype, consumable: bool = False) -> np.ndarray | None:
    """An array to pass as ``out=`` for the result ``name`` of an owner (layer or loss).

    ``arrays`` is the owner's own dict. Outside a :class:`FitArrays` context: None (NumPy
    then allocates a new array). Inside: the array this owner made for ``name`` earlier in
    the same ``fit`` call, when it has ``shape`` and ``dtype``, or else a new one, kept for
    the next batch. ``consumable=True`` marks a result that the owner does not keep (dL/dX,
    which only the layer below reads), so that the layer below may overwrite it (see
    :func:`consumable`).
    """
    fit = _current.get()
    if fit is None:
        return None
    entry = arrays.get(name)
    if entry is not None and entry[0] is fit and entry[1].shape == shape and entry[1].dtype == dtype:
        return entry[1]
    if entry is not None:  # replaced: its id may be reused once the array is gone
        fit.consumable.discard(id(entry[1]))
    if not arrays:
        fit.owners.append(arrays)
    array = np.empty(shape, dtype)
    arrays[name] = (fit, array)
    if consumable:
        fit.consumable.add(id(array))  # the array stays alive (in arrays) until release
    return array


def consumable(array) -> bool:
    """True inside ``fit`` for a result made with ``consumable=True``: its reader may write over it."""
    fit = _current.get()
    return fit is not None and id(array) in fit.consumable


class FitArrays:
    """One ``fit`` call's context, entered around each batch's forward and backward pass.

    :meth:`release` (at the end of ``fit``) empties the owners' dicts: the layers then hold
    only their caches of the last batch, as after any forward and backward pass.
    """

    __slots__ = ("owners", "consumable", "_token")

    def __init__(self) -> None:
        self.owners: list[dict] = []
        self.consumable: set[int] = set()

    def __enter__(self) -> "FitArrays":
        self._token = _current.set(self)
        return self

    def __exit__(self, *exc) -> None:
        _current.reset(self._token)

    def release(self) -> None:
        for arrays in self.owners:
            arrays.clear()
        self.owners.clear()
        self.consumable.clear()

    def __deepcopy__(self, memo) -> "FitArrays":  # a network copied during fit (in a callback)
        return self
