"""Optimizers: update parameters in place from their gradients.

An optimizer is built with its hyper-parameters only and given the parameters at each
``step(parameters)``; its state (momentum buffers, moment estimates) is kept per parameter
and has the parameter's dtype. Updates are in place, so views of parameters (neuron views)
stay valid. The update rules follow PyTorch's (``torch.optim``) with the same defaults.
"""

from __future__ import annotations

import math
import operator
from typing import Iterable

import numpy as np

from .activations import quiet_underflow
from ._buffers import page_aligned
from .parameter import Parameter, ParameterBlock
from .validation import from_table, nonnegative_float


CHUNK = 65536  # values (256 KiB of float32 per array): smaller pieces cost more Python per step than they save


def pieces(scratch: np.ndarray, *arrays: np.ndarray):
    """Yield ``(work, *parts)``: matching pieces of ``arrays`` (all of one shape), each with a
    piece ``work`` of the same size cut from the start of ``scratch``.

    C-contiguous arrays larger than ``CHUNK`` values come in flat pieces of ``CHUNK`` values,
    so that an update rule applied piece by piece reads back from the CPU cache what its
    previous line wrote, instead of streaming every array through memory once per line (and
    ``scratch`` beyond the first piece is never touched). Other arrays come whole. An
    elementwise rule gives the same numbers either way.
    """
    size = arrays[0].size
    work = scratch.reshape(-1)
    if size <= CHUNK or not all(a.flags.c_contiguous for a in arrays):
        yield (work[:size].reshape(arrays[0].shape), *arrays)
        return
    flats = [a.reshape(-1) for a in arrays]
    for start in range(0, size, CHUNK):
        parts = [flat[start : start + CHUNK] for flat in flats]
        yield (work[: parts[0].size], *parts)


class Optimizer:
    """Base class: validated ``lr`` and ``weight_decay``, per-parameter state, ``step``.

    A subclass implements ``update(p, grad, state, scratch)`` for one parameter. When that rule
    is elementwise (the same formula applied to every number, as in SGD, RMSprop and Adam), it
    sets ``elementwise = True``, and ``step`` given a :class:`~neurolab.parameter.ParameterBlock`
    (``fit`` passes its network's) calls ``update`` once for all the block's packed parameters,
    on flat arrays, instead of once per parameter; ``state[p]`` then holds views of the flat
    state, so it reads and saves as usual.
    """

    elementwise = False

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        name = type(self).__name__
        self.lr = nonnegative_float(lr, "lr", name, positive=True)
        self.weight_decay = nonnegative_float(weight_decay, "weight_decay", name)
        self.state: dict[Parameter, dict] = {}
        self._scratch: dict[Parameter, np.ndarray] = {}  # one work array per parameter, not state
        self._block: _LinkedState | None = None  # the state of the last block stepped

    @quiet_underflow
    def step(self, parameters: Iterable[Parameter]) -> None:
        """Update each parameter's ``value`` in place from its ``grad``."""
        if isinstance(parameters, ParameterBlock) and self.elementwise and self._step_block(parameters):
            parameters = parameters.loose
        for p in parameters:
            grad, work = self._grad_and_scratch(p)
            self.update(p, grad, self.state.setdefault(p, {}), work)

    def _grad_and_scratch(self, p: Parameter) -> tuple[np.ndarray, np.ndarray]:
        """``p``'s gradient (plus the weight decay term) and its work array."""
        grad, value = p.grad, p.value
        if self.weight_decay:
            grad = grad + self.weight_decay * value  # L2 penalty (wd/2)||w||^2
        work = self._scratch.get(p)
        if work is None or work.shape != value.shape or work.dtype != value.dtype:
            work = self._scratch[p] = page_aligned(value.shape, value.dtype)
        return grad, work

    def _step_block(self, block: ParameterBlock) -> bool:
        """One ``update`` for all of ``block.packed``; False (nothing done) when it cannot be."""
        if not block.packed or not block.intact():
            return False
        linked = self._block
        if linked is None or linked.block is not block or not linked.intact(self.state):
            flat = self._gather_state(block)
            if flat is None:  # the parameters' states differ in kind: go one by one
                return False
            linked = self._block = _LinkedState(self.state, block, flat)
        block.write_pending_zeros()
        grad, work = self._grad_and_scratch(block.flat)
        flat = linked.flat
        kinds = len(flat)
        self.update(block.flat, grad, flat, work)
        if len(flat) != kinds:  # the first update made the state: give each parameter its views
            self._block = _LinkedState(self.state, block, flat)
        elif linked.numbers:  # counters (Adam's step) are not views: copy them to each parameter
            counts = {key: flat[key] for key in linked.numbers}
            for state in linked.states:
                state.update(counts)
        return True

    def _gather_state(self, block: ParameterBlock) -> dict | None:
        """The packed parameters' states as one flat state (arrays concatenated), or None."""
        states = [self.state.get(p) or {} for p in block.packed]
        keys = set(states[0])
        if any(set(state) != keys for state in states):
            return None
        flat = {}
        for key in keys:
            values = [state[key] for state in states]
            if all(isinstance(v, np.ndarray) and v.shape == p.shape and v.dtype == p.dtype for v, p in zip(values, block.packed)):
                flat[key] = page_aligned(block.value.shape, block.value.dtype)
                np.concatenate([v.reshape(-1) for v in values], out=flat[key])
            elif all(not isinstance(v, np.ndarray) and v == values[0] for v in values):
                flat[key] = values[0]
            else:
                return None
        return flat

    def update(self, p: Parameter, grad: np.ndarray, state: dict, scratch: np.ndarray) -> None:
        """Update ``p.value`` in place from ``grad``; ``state`` persists, ``scratch`` is work space."""
        raise NotImplementedError

    def get_config(self) -> dict:
        """The constructor's keyword arguments (JSON-serialisable)."""
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class _LinkedState:
    """A block's flat optimizer state, and each packed parameter's ``state`` dict made of its views.

    Built from ``flat`` (one array per state key, or a number): each packed parameter's dict in
    ``state`` is filled with views of the arrays (numbers copied), so the state reads, saves
    and loads per parameter as usual while ``update`` runs once on ``flat``.
    """

    __slots__ = ("block", "flat", "numbers", "parameters", "states", "holders", "keys", "views")

    def __init__(self, state: dict, block: ParameterBlock, flat: dict) -> None:
        self.block, self.flat = block, flat
        arrays = {key: block.views(value) for key, value in flat.items() if isinstance(value, np.ndarray)}
        self.numbers = [key for key in flat if key not in arrays]
        self.parameters = block.packed
        self.states = []
        self.holders, self.keys, self.views = [], [], []  # one entry per (parameter, array key)
        for i, p in enumerate(block.packed):
            own = state.setdefault(p, {})
            own.clear()
            own.update({key: arrays[key][i] if key in arrays else value for key, value in flat.items()})
            self.states.append(own)
            for key in arrays:
                self.holders.append(own)
                self.keys.append(key)
                self.views.append(own[key])

    def intact(self, state: dict) -> bool:
        """Whether ``state`` still holds these dicts, and they these views (not, e.g., loaded copies)."""
        # map() keeps these loops in C: this runs at every training step
        return all(map(operator.is_, map(state.get, self.parameters), self.states)) and all(
            map(operator.is_, map(dict.get, self.holders, self.keys), self.views)
        )


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Notes
    -----
    With ``g`` the gradient (plus ``weight_decay * w``)::

        v = momentum * v + g            (v = g on the first step)
        g = g + momentum * v   if nesterov, else   g = v      (when momentum > 0)
        w = w - lr * g
    """

    elementwise = True

    def __init__(self, lr: float = 1e-3, momentum: float = 0.0, nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.momentum = nonnegative_float(momentum, "momentum", "SGD")
        if self.momentum >= 1:
            raise ValueError(f"SGD: expected momentum in [0, 1), got {momentum!r}")
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"SGD: expected nesterov to be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0:
            raise ValueError("SGD: expected momentum > 0 with nesterov=True, got momentum=0")
        self.nesterov = bool(nesterov)

    def update(self, p, grad, state, scratch):
        number = grad.dtype.type  # scalars of the arrays' dtype: NumPy's fastest loops
        momentum, lr = number(self.momentum), number(self.lr)
        if not momentum:
            for work, value, g in pieces(scratch, p.value, grad):
                value -= np.multiply(g, lr, out=work)  # w -= lr * g
            return
        velocity = state.get("velocity")
        first = velocity is None
        if first:
            velocity = state["velocity"] = page_aligned(grad.shape, grad.dtype)
        for work, value, g, v in pieces(scratch, p.value, grad, velocity):
            if first:
                v[...] = g  # v = g on the first step
            else:
                v *= momentum
                v += g  # v = momentum * v + g
            if self.nesterov:
                step = np.multiply(v, momentum, out=work)
                step += g  # g + momentum * v
            else:
                step = v
            value -= np.multiply(step, lr, out=work)  # w -= lr * step

    def get_config(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov, "weight_decay": self.weight_decay}


class RMSprop(Optimizer):
    """RMSprop (Hinton, 2012): scale each step by a running RMS of the gradient.

    Notes
    -----
    ::

        s = alpha * s + (1 - alpha) * g^2
        u = g / (sqrt(s) + eps)
        v = momentum * v + u,  u = v       (when momentum > 0)
        w = w - lr * u
    """

    elementwise = True

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.alpha = nonnegative_float(alpha, "alpha", "RMSprop")
        self.eps = nonnegative_float(eps, "eps", "RMSprop", positive=True)
        self.momentum = nonnegative_float(momentum, "momentum", "RMSprop")
        if self.alpha >= 1 or self.momentum >= 1:
            raise ValueError(f"RMSprop: expected alpha and momentum in [0, 1), got {alpha!r} and {momentum!r}")

    def update(self, p, grad, state, scratch):
        square_avg = state.get("square_avg")
        if square_avg is None:
            square_avg = state["square_avg"] = page_aligned(p.value.shape, p.value.dtype, fill=0)
        square_avg *= self.alpha
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - self.alpha
        square_avg += scratch  # s = alpha s + (1 - alpha) g^2
        np.sqrt(square_avg, out=scratch)
        scratch += self.eps
        np.divide(grad, scratch, out=scratch)  # u = g / (sqrt(s) + eps)
        if self.momentum:
            velocity = state.get("velocity")
            if velocity is None:
                velocity = state["velocity"] = page_aligned(p.value.shape, p.value.dtype, fill=0)
            velocity *= self.momentum
            velocity += scratch
            scratch[...] = velocity
        scratch *= self.lr
        p.value -= scratch

    def get_config(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps, "momentum": self.momentum, "weight_decay": self.weight_decay}


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected moment estimates.

    Notes
    -----
    At step ``t`` (from 1)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

    elementwise = True

    def __init__(self, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        try:
            if len(betas) != 2 or any(isinstance(b, bool) for b in betas):
                raise TypeError
            beta1, beta2 = (float(b) for b in betas)
        except (TypeError, ValueError):
            raise TypeError(f"Adam: expected betas to be a pair of numbers, got {betas!r}") from None
        if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
            raise ValueError(f"Adam: expected betas in [0, 1), got {betas!r}")
        self.betas = (beta1, beta2)
        self.eps = nonnegative_float(eps, "eps", "Adam", positive=True)

    def update(self, p, grad, state, scratch):
        beta1, beta2 = self.betas
        if not state:
            state.update(step=0, m=page_aligned(p.value.shape, p.value.dtype, fill=0), v=page_aligned(p.value.shape, p.value.dtype, fill=0))
        state["step"] += 1
        t, m, v = state["step"], state["m"], state["v"]
        # Python floats for the scalars keep float32 arrays float32.
        m *= beta1
        np.multiply(grad, 1 - beta1, out=scratch)
        m += scratch  # m = beta1 m + (1 - beta1) g
        v *= beta2
        np.multiply(grad, grad, out=scratch)
        scratch *= 1 - beta2
        v += scratch  # v = beta2 v + (1 - beta2) g^2
        np.sqrt(v, out=scratch)
        scratch *= 1 / math.sqrt(1 - beta2**t)
        scratch += self.eps  # sqrt(v) / sqrt(1 - beta2^t) + eps
        np.divide(m, scratch, out=scratch)
        scratch *= self.lr / (1 - beta1**t)
        p.value -= scratch

    def get_config(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}


OPTIMIZERS = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam)}


def get(optimizer: str | Optimizer) -> Optimizer:
    """Return ``optimizer`` itself, or a new optimizer with default settings from its name."""
    return from_table(optimizer, OPTIMIZERS, Optimizer, "optimizer")
