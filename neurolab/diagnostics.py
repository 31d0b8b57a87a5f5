"""What went wrong, and where: NaN or infinity in a network's numbers, and inputs far from the training range.

The network's own path checks one thing at a time and moves on: is the output finite
(``predict``, ``predict_proba``, ``evaluate``), is the loss finite (``fit``), are these inputs in
about the training range. This module is what runs when such a check fails, to say where and
why: it runs the failing samples again, layer by layer, and names the first row, layer and
quantity (``x``, ``z``, ``a`` or the output) that stopped being a number, and whether the data
or the learning rate is to blame. Nothing here runs while everything is finite.
"""

from __future__ import annotations

import copy
import math
from typing import NamedTuple

import numpy as np

from .layer import Layer, Rescale


class NonFiniteError(ValueError, FloatingPointError):
    """NaN or infinity where the network should give numbers; the message says where it first appeared.

    ``predict``, ``predict_proba`` and ``evaluate`` raise it instead of returning NaN rows or a
    label taken from them; ``fit`` raises it when the training data, not the learning rate,
    makes the loss stop being finite. The usual cause is input values too large for the
    layers' dtype, so it is a ValueError (a bad value); it is also a FloatingPointError, what
    ``fit`` raises for a diverging run, so code catching either keeps working.
    """


class InputRangeWarning(UserWarning):
    """Inputs far outside the range seen in training (see ``NeuralNetwork.input_range``).

    Most often inputs scaled differently from the training inputs, such as pixels already
    divided by 255 given to a network with ``Rescale(1 / 255)`` inside. Silence it with
    ``warnings.simplefilter("ignore", InputRangeWarning)``, or for one network with
    ``net.input_range = None``.
    """



_FAR = 20  # inputs are far from the training range beyond 20 of its spans, or in a span 20 times narrower
_FEW = 100  # fewer input values than this are not judged narrow: one row of a few features has no telling span


def far_from(trained: tuple[float, float], seen: tuple[float, float], count: int) -> str | None:
    """How the range ``seen`` of ``count`` input values is far from the ``trained`` one, or None.

    See the Notes of :class:`NeuralNetwork`: more than ``_FAR`` training spans beyond the
    training range, or (with at least ``_FEW`` values) a span ``_FAR`` times narrower.
    """
    low, high = trained
    span = high - low
    if span <= 0:  # a constant training input: no scale to compare with
        return None
    beyond = max(low - seen[0], seen[1] - high)
    if beyond > _FAR * span:
        return f"reaching {beyond / span:.3g} training spans beyond it"
    width = seen[1] - seen[0]
    if count >= _FEW and width * _FAR < span:
        return "a single value, where training spanned a range" if width == 0 else f"a span {span / width:.3g} times narrower"
    return None


def range_message(layers, where: str, trained: tuple[float, float], seen: tuple[float, float], how: str) -> str:
    """The InputRangeWarning's text: both ranges, how far apart (``how``, from :func:`far_from`) and the likely fix."""
    low, high = trained
    rescale = next((i for i, layer in enumerate(layers) if isinstance(layer, Rescale)), None)
    if how.endswith("narrower") and rescale is not None:
        hint = (
            f"the network scales its inputs itself (layers[{rescale}] is {layers[rescale]!r}), "
            "so give them unscaled, as in training"
        )
    elif how.endswith("narrower"):
        hint = "were these inputs scaled (say, divided by 255) and the training inputs not? Give them as in training"
    else:
        hint = "were the training inputs scaled (say, divided by 255) and these not? Scale them as in training"
    return (
        f"{where}: expected inputs in about the range of the training inputs, "
        f"[{low:g}, {high:g}], got [{seen[0]:g}, {seen[1]:g}], {how}; the answers are likely "
        f"meaningless: {hint}. (Warned once per network; net.input_range = None stops the check.)"
    )


class Spot(NamedTuple):
    """Where NaN or infinity first appears: ``value[row][column]``, computed by ``layers[position]`` from ``given``.

    ``column`` is an int for a layer of flat samples ``(N, width)``, and the index tuple
    within one sample for others (``(channel, row, column)`` of an image).
    """

    position: int  # in the network's layers (a field called index would hide tuple.index)
    layer: Layer
    name: str  # "x", "z", "a" (what Dense keeps of a batch) or "output"
    value: np.ndarray
    given: np.ndarray  # the layer's input
    row: int
    column: int | tuple[int, ...]


_CACHED = ("x", "z", "a")  # Dense's input in its dtype, pre-activation and activation, in the order forward makes them
_LABELS = {"x": "input x", "z": "pre-activation z", "a": "activation a", "output": "output"}
_AXES = {"x": "feature", "z": "neuron", "a": "neuron", "output": "column"}  # what a column of each is


def trace_non_finite(layers, x: np.ndarray, rows: np.ndarray | None = None) -> tuple[Spot | None, np.ndarray]:
    """Run the batch ``x`` ``(N, ...)`` through ``layers`` and find where NaN or infinity appears.

    Each layer's quantities are looked at in the order they are computed: what it keeps of the
    batch as ``x``, ``z`` and ``a`` (Dense does; only arrays this forward made), then its output.
    Returns ``(spot, bad)``: ``bad`` ``(N,)`` marks the samples (of ``rows``, a boolean mask;
    all by default) holding NaN or infinity anywhere, and ``spot`` is the first place where
    one of them does (None if none does). For the failure paths only: it costs a forward pass.
    """
    n = x.shape[0]
    rows = np.ones(n, dtype=bool) if rows is None else rows
    bad = np.zeros(n, dtype=bool)
    spot = None
    with np.errstate(all="ignore"):  # the overflow is known; the point is to find where it happens
        for i, layer in enumerate(layers):
            given = x
            before = [getattr(layer, name, None) for name in _CACHED]
            x = layer.forward(given)
            made = [(name, getattr(layer, name, None)) for name in _CACHED]
            quantities = [(name, value) for (name, value), old in zip(made, before) if value is not old]
            for name, value in quantities + [("output", x)]:
                if not isinstance(value, np.ndarray) or value.ndim < 2 or value.shape[0] != n:
                    continue
                wrong = ~np.isfinite(value).reshape(n, -1).all(axis=1) & rows
                if spot is None and wrong.any():
                    row = int(np.flatnonzero(wrong)[0])
                    where = np.unravel_index(np.flatnonzero(~np.isfinite(value[row]))[0], value.shape[1:])
                    column = int(where[0]) if value.ndim == 2 else tuple(int(j) for j in where)
                    spot = Spot(i, layer, name, value, given, row, column)
                bad |= wrong
    return spot, bad


def describe(spot: Spot) -> str:
    """Which layer made NaN or infinity in what, and from which values (to follow "in X row r, ")."""
    value, given, row, column = spot.value, spot.given, spot.row, spot.column
    limit = np.finfo(value.dtype).max
    text = f"layers[{spot.position}] ({spot.layer!r}) "
    source = given[row][column] if given.shape == value.shape else None  # elementwise: the input at the same place
    if spot.name in ("x", "output") and source is not None and np.isfinite(source) and abs(source) > limit:
        place = f"feature {column}" if isinstance(column, int) else f"the value at {column}"
        return text + f"converts its input to {value.dtype}, and {place}, {source:g}, is beyond {value.dtype}'s largest value {limit:g}"
    text += (
        f"gives {value[row][column]} in its {_LABELS[spot.name]} ({value.dtype}) at {_AXES[spot.name] if isinstance(column, int) else '(channel, row, column)' if len(column) == 3 else 'index'} {column}, "
        f"from inputs up to {largest([given[row]]):g} in size"
    )
    parameters = spot.layer.parameters()
    if parameters:
        text += f" and parameters up to {largest(p.value for p in parameters):g}"
    return text + f" ({value.dtype}'s largest value is {limit:g})"


def fix(spot: Spot) -> str:
    """What to do about the NaN or infinity at ``spot``."""
    if not all(np.isfinite(p.value).all() for p in spot.layer.parameters()):
        return "that layer's parameters hold NaN or infinity: train the network again or load a saved copy"
    if spot.value.dtype == np.float32:
        return "scale the inputs down (as the training inputs were), or compute in float64: net.astype(np.float64)"
    return "scale the inputs down (as the training inputs were)"


def largest(arrays) -> float:
    """The largest ``|value|`` over ``arrays`` (nan if any holds NaN, inf if any holds infinity)."""
    sizes = [float(np.max(np.abs(a))) for a in arrays if np.size(a)]
    return math.nan if any(math.isnan(v) for v in sizes) else max(sizes, default=0.0)


def rows_text(rows) -> str:
    """``[3, 17]``, or the first five and ``...``."""
    shown = ", ".join(str(int(r)) for r in rows[:5])
    return f"[{shown}{', ...' if len(rows) > 5 else ''}]"


def output_error(layers, X, batch_size: int, out, method: str) -> NonFiniteError:
    """The error for outputs with NaN or infinity: which rows, and where the first of them went wrong.

    The batch holding the first such row runs again, the same rows through the same
    layers, so it goes wrong the same way; this costs nothing until the check has failed.
    """
    bad = np.flatnonzero(~np.isfinite(out).all(axis=1))
    start = bad[0] - bad[0] % batch_size
    x = X[start : start + batch_size]
    rows = np.zeros(x.shape[0], dtype=bool)
    rows[bad[bad < start + batch_size] - start] = True
    spot, _ = trace_non_finite(layers, x, rows)
    text = (
        f"NeuralNetwork.{method}: expected a finite output for every sample, got NaN or infinity "
        f"for {len(bad)} of {X.shape[0]} samples (X rows {rows_text(bad)})"
    )
    if spot is not None:
        text += f": in X row {start + spot.row}, {describe(spot)}; {fix(spot)}"
    return NonFiniteError(text)


def data_fault(network, fit_start, X, seen, batch) -> str | None:
    """How the data alone gives NaN or infinity, or None if it does not.

    Judged with ``fit_start``, the weights before any step of this ``fit`` (so no learning
    rate is involved), on copies of the layers: the data is at fault when a sample of
    ``seen`` (rows of ``X``) gives NaN or infinity in some layer; when one holds an input
    whose square overflows the weights' dtype (a step on it is that large); or when the loss
    of ``batch`` is not finite.
    """
    layers = [copy.deepcopy(layer).eval() for layer in network.layers]
    for p, value in zip((p for layer in layers for p in layer.parameters()), fit_start):
        p.value[...] = value
    seen = np.sort(seen)
    first, parts = None, []
    for start in range(0, len(seen), 1024):
        rows = seen[start : start + 1024]
        spot, wrong = trace_non_finite(layers, X[rows])
        if first is None and spot is not None:
            first = (spot, rows[spot.row])
        parts.append(rows[wrong])
    bad = np.concatenate(parts)
    if first is not None:
        spot, row = first
        return (
            f"X rows {rows_text(bad)} ({len(bad)} of the {len(seen)} samples used) give NaN or infinity "
            f"with the weights this fit started from, before any step: in X row {row}, {describe(spot)}; {fix(spot)}"
        )
    dtype = np.result_type(*fit_start) if fit_start else np.dtype(np.float64)
    limit = math.sqrt(np.finfo(dtype).max)
    size = np.abs(X[seen]).reshape(len(seen), -1).max(axis=1)
    if (size > limit).any():  # the forward pass is finite, the first steps will not be
        return (
            f"X rows {rows_text(seen[size > limit])} ({np.count_nonzero(size > limit)} of the {len(seen)} samples "
            f"used) give finite values with the weights this fit started from, but hold inputs up to "
            f"{size.max():g} in size, beyond the square root of {dtype}'s largest value ({limit:g}): a gradient "
            f"grows with the inputs (dW = dZ.T @ X), so a step on such inputs overflows at any learning rate "
            f"that still trains; scale the inputs down"
        )
    if batch is not None:
        x, target = batch
        with np.errstate(all="ignore"):  # the overflow is known; this only measures it
            out = x
            for layer in layers:
                out = layer.forward(out)
            loss = copy.copy(network.loss).forward(out, target)
        if not math.isfinite(loss):  # finite outputs, and still an infinite loss: the targets are too large
            return (
                f"the {network.loss.name} loss of that batch is {loss} with the weights this fit started from, "
                f"though every output is finite (up to {largest([out]):g} in size, targets up to "
                f"{largest([target]):g}): its terms overflow {out.dtype}, whose largest value is "
                f"{np.finfo(out.dtype).max:g}; scale the targets down"
            )
    return None
