"""Check analytical gradients against central finite differences.

Each check works on a float64 copy of the object it is given (so a float32 layer is checked
at float64 precision and the original is left untouched), probes the scalar
``L = sum(output * U)`` for a fixed random ``U`` (an all-ones upstream gradient would hide
transposition bugs), and compares every entry of dL/dx and of each parameter's gradient with

    numerical = (L(theta + eps) - L(theta - eps)) / (2 eps)

using ``|analytical - numerical| <= atol + rtol * |numerical|`` (``numpy.isclose``). With
float64, ``eps = 1e-6`` and inputs of order 1, the truncation error (~eps^2) and rounding
error (~1e-16 |L| / eps) of the difference are both far below the defaults
``rtol = 1e-5, atol = 1e-7``, while any real mistake (a sign, a transpose, a missing factor)
is orders of magnitude larger. Near a kink (ReLU at 0) the finite difference is meaningless:
keep inputs away from kinks rather than loosening the tolerance.

A NaN or infinite gradient on either side fails the check by itself (the finite difference
of a forward pass that gives NaN is NaN, which would otherwise compare as neither close nor
far). Besides the values, a check enforces the layer contract: ``backward`` returns dL/dx of
``x``'s shape, adds into (rather than overwrites) each ``.grad``, and neither pass changes
``x`` or the parameters. Every perturbed forward pass runs on a fresh copy of the object in
its starting state, so layers that draw random numbers from their own Generator (dropout)
see the same draws each time.

On failure a :class:`GradientCheckError` (an ``AssertionError``) names the object, the array,
the index, and both values.
"""

from __future__ import annotations

import copy
from typing import Callable

import numpy as np


class GradientCheckError(AssertionError):
    """An analytical gradient disagrees with finite differences, or the layer contract is broken."""


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar ``f()`` with respect to ``array``.

    ``array`` is perturbed in place, one entry at a time, and restored exactly; ``f`` must
    read it afresh on each call. Returns an array of ``array``'s shape.
    """
    grad = np.zeros(array.shape, dtype=np.float64)
    for index in np.ndindex(array.shape):
        original = array[index]
        array[index] = original + eps
        plus = f()
        array[index] = original - eps
        minus = f()
        array[index] = original
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def _entry(array_name: str, index) -> str:
    return f"{array_name}[{', '.join(str(int(i)) for i in index)}]" if index else array_name


def _compare(where: str, array_name: str, analytical, numerical, rtol: float, atol: float, extra: str = "") -> None:
    analytical = np.asarray(analytical, dtype=np.float64)
    if analytical.shape != numerical.shape:
        raise GradientCheckError(
            f"{where}: expected the gradient of {array_name} to have shape {numerical.shape}, "
            f"got {analytical.shape}"
        )
    # NaN compares as neither close nor far: a non-finite value on either side is a failure of its own
    for side, values, source in (
        ("a numerical", numerical, "forward gave a non-finite loss when this entry was moved by +-eps"),
        ("an analytical", analytical, "backward returned it"),
    ):
        bad = ~np.isfinite(values)
        if bad.any():
            index = tuple(np.argwhere(bad)[0])
            raise GradientCheckError(
                f"{where}: expected finite gradients, got {side} gradient of {_entry(array_name, index)} "
                f"of {values[index]} ({source}); {int(bad.sum())} of {bad.size} entries are not finite"
            )
    excess = np.abs(analytical - numerical) - (atol + rtol * np.abs(numerical))
    if (excess > 0).any():
        index = np.unravel_index(np.argmax(excess), excess.shape)
        raise GradientCheckError(
            f"{where}: gradient of {_entry(array_name, index)} is wrong: analytical {analytical[index]:.10g}, "
            f"numerical {numerical[index]:.10g} (|difference| {abs(analytical[index] - numerical[index]):.3g} "
            f"> atol {atol:g} + rtol {rtol:g} * |numerical|); {int((excess > 0).sum())} of "
            f"{excess.size} entries differ{extra}"
        )


def _as_float64_copy(obj):
    obj = copy.deepcopy(obj)
    obj.astype(np.float64)
    return obj


def _probe(rng: np.random.Generator, out, where: str) -> np.ndarray:
    if not isinstance(out, np.ndarray) or not np.issubdtype(out.dtype, np.floating):
        raise GradientCheckError(f"{where}: expected forward to return a float array, got {type(out).__name__}")
    return np.asarray(rng.standard_normal(out.shape))


def _check_unchanged(where: str, what: str, before: np.ndarray, after: np.ndarray) -> None:
    if not np.array_equal(before, after):
        raise GradientCheckError(f"{where}: expected {what} to be left unchanged, got it modified")


def check_layer(layer, x, *, rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6, seed: int = 0) -> None:
    """Check ``layer.backward`` (dL/dx and every parameter gradient) against finite differences.

    Parameters
    ----------
    layer : Layer or Neuron
        Anything with ``forward``, ``backward``, ``named_parameters`` and ``astype``. It is
        copied, not changed.
    x : array (N, in_features)
        The input batch; keep ReLU-like pre-activations away from their kinks.
    rtol, atol, eps : float
        Tolerances and finite-difference step (see the module docstring).
    seed : int
        Seed of the random upstream gradient ``U`` and of the gradient pre-fill.

    Raises
    ------
    GradientCheckError
        Naming the layer, the array (``input`` or a parameter name), the index and both values.
    """
    where = f"check_layer({type(layer).__name__})"
    missing = [name for name in ("forward", "backward", "named_parameters", "astype") if not callable(getattr(layer, name, None))]
    if missing:
        raise TypeError(
            f"{where}: expected a neurolab.Layer (or an object with forward, backward, "
            f"named_parameters and astype), got {type(layer).__name__} without {', '.join(missing)}"
        )
    rng = np.random.default_rng(seed)
    start = _as_float64_copy(layer)  # every forward below starts from a copy of this state
    x = np.array(x, dtype=np.float64)

    work = copy.deepcopy(start)
    x_before = x.copy()
    values_before = {name: p.value.copy() for name, p in work.named_parameters()}
    out = work.forward(x)
    u = _probe(rng, out, where)
    prefill = {}
    for name, p in work.named_parameters():  # backward must add to whatever is there
        prefill[name] = rng.standard_normal(p.grad.shape)
        p.grad[...] = prefill[name]
    grad_x = work.backward(u.copy())
    _check_unchanged(where, "the input x (forward and backward must not mutate it)", x_before, x)
    for name, p in work.named_parameters():
        _check_unchanged(where, f"parameter {name!r} (backward must not update weights)", values_before[name], p.value)
        if p.grad.shape != p.value.shape:
            raise GradientCheckError(
                f"{where}: expected {name}.grad to keep the parameter's shape {p.value.shape}, got {p.grad.shape}"
            )
    if getattr(grad_x, "shape", None) != x.shape:
        raise GradientCheckError(
            f"{where}: expected backward to return dL/dx of the input's shape {x.shape}, "
            f"got {getattr(grad_x, 'shape', type(grad_x).__name__)}"
        )

    def loss() -> float:  # reads x and start's parameters, which numerical_gradient perturbs
        return float(np.sum(copy.deepcopy(start).forward(x) * u))

    _compare(where, "input", grad_x, numerical_gradient(loss, x, eps), rtol, atol)
    start_params = dict(start.named_parameters())
    for name, p in work.named_parameters():
        numerical = numerical_gradient(loss, start_params[name].value, eps)
        added = p.grad - prefill[name]
        hint = ""
        if not np.allclose(added, numerical, rtol=rtol, atol=atol) and np.allclose(p.grad, numerical, rtol=rtol, atol=atol):
            hint = f"; backward overwrote {name}.grad instead of adding to it"
        _compare(where, name, added, numerical, rtol, atol, hint)


def check_activation(activation, z, *, rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6, seed: int = 0) -> None:
    """Check ``activation.backward(z, a, grad_a)`` against finite differences of ``forward``."""
    where = f"check_activation({type(activation).__name__})"
    z = np.array(z, dtype=np.float64)
    a = activation.forward(z.copy())
    u = _probe(np.random.default_rng(seed), a, where)
    analytical = activation.backward(z.copy(), a, u.copy())
    numerical = numerical_gradient(lambda: float(np.sum(activation.forward(z.copy()) * u)), z, eps)
    _compare(where, "z", analytical, numerical, rtol, atol)


def check_loss(loss, prediction, target, *, rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Check ``loss.backward()`` (dL/dprediction) against finite differences of ``loss.forward``."""
    where = f"check_loss({type(loss).__name__})"
    prediction = np.array(prediction, dtype=np.float64)
    loss = copy.deepcopy(loss)
    loss.forward(prediction.copy(), target)
    analytical = loss.backward()
    numerical = numerical_gradient(lambda: float(loss.forward(prediction.copy(), target)), prediction, eps)
    _compare(where, "prediction", analytical, numerical, rtol, atol)


def check_network(net, X, y, *, rtol: float = 1e-5, atol: float = 1e-7, eps: float = 1e-6) -> None:
    """Check a whole network: dL/dX and every parameter of every layer, with ``L = net.loss(net.forward(X), y)``.

    Errors name the array as ``layers[i] (Class).name``.
    """
    where = f"check_network({len(net.layers)} layers)"
    start = _as_float64_copy(net)
    X = np.array(X, dtype=np.float64)

    work = copy.deepcopy(start)
    work.zero_grad()
    out = work.forward(X)
    work.loss.forward(out, y)
    grad_X = work.backward(work.loss.backward())

    def loss() -> float:
        fresh = copy.deepcopy(start)
        return float(fresh.loss.forward(fresh.forward(X), y))

    _compare(where, "input", grad_X, numerical_gradient(loss, X, eps), rtol, atol)
    for i, (layer, start_layer) in enumerate(zip(work.layers, start.layers)):
        start_params = dict(start_layer.named_parameters())
        for name, p in layer.named_parameters():
            numerical = numerical_gradient(loss, start_params[name].value, eps)
            _compare(where, f"layers[{i}] ({type(layer).__name__}).{name}", p.grad, numerical, rtol, atol)
