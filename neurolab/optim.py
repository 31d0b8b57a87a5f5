"""Optimizers: update parameters in place from their gradients.

An optimizer is built with its hyper-parameters only and given the parameters at each
``step(parameters)``. It updates each parameter by its own rule (``update``, a few lines
that follow the class's Notes), keeps per-parameter state (momentum buffers, moment
estimates) in ``state[parameter]``, in the parameter's dtype, and writes into
``parameter.value`` in place, so views of parameters (neuron views) stay valid. The update
rules follow PyTorch's (``torch.optim``) with the same defaults.
"""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np

from .parameter import Parameter
from .validation import from_table, nonnegative_float


class Optimizer:
    """Base class: validated ``lr`` and ``weight_decay``, per-parameter ``state``, ``step``.

    A subclass implements :meth:`update` for one parameter.
    """

    def __init__(self, lr: float, weight_decay: float = 0.0) -> None:
        name = type(self).__name__
        self.lr = nonnegative_float(lr, "lr", name, positive=True)
        self.weight_decay = nonnegative_float(weight_decay, "weight_decay", name)
        self.state: dict[Parameter, dict] = {}

    def step(self, parameters: Iterable[Parameter]) -> None:
        """Update each parameter's ``value`` in place from its ``grad``."""
        for p in parameters:
            grad = p.grad
            if self.weight_decay:
                grad = grad + self.weight_decay * p.value  # the gradient of an L2 penalty (wd/2)||w||^2
            self.update(p, grad, self.state.setdefault(p, {}))

    def update(self, p: Parameter, grad: np.ndarray, state: dict) -> None:
        """Update ``p.value`` in place from ``grad``; ``state`` is this parameter's, kept between steps."""
        raise NotImplementedError(f"{type(self).__name__}.update: subclasses of Optimizer implement update")

    def get_config(self) -> dict:
        """The constructor's keyword arguments (JSON-serialisable)."""
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def check_state(self, p: Parameter, state: dict) -> None:
        """Raise ValueError unless ``state`` could be this optimizer's state for ``p``.

        ``neurolab.load`` calls it on the state read from a file, before training resumes
        with it. This check: every entry is a finite array of ``p``'s shape and dtype, or a
        step counter (an int >= 0). A subclass adds its own rules (which keys, which signs)
        and calls ``super().check_state(p, state)``.
        """
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                if value.shape != p.value.shape or value.dtype != p.value.dtype:
                    raise ValueError(
                        f"expected {key!r} of shape {p.value.shape} and dtype {p.value.dtype} (its "
                        f"parameter's), got shape {value.shape} and dtype {value.dtype}"
                    )
                if not np.isfinite(value).all():
                    raise ValueError(f"expected finite values in {key!r}, got NaN or inf")
            elif isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"expected {key!r} to be an array or a step count (int >= 0), got {value!r}")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum.

    Notes
    -----
    With ``g`` the gradient (plus ``weight_decay * w``)::

        v = momentum * v + g            (v = g on the first step)
        g = g + momentum * v   if nesterov, else   g = v      (when momentum > 0)
        w = w - lr * g
    """

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

    def update(self, p, grad, state):
        if self.momentum:
            velocity = state.get("velocity")
            if velocity is None:
                velocity = state["velocity"] = grad.copy()  # v = g on the first step
            else:
                velocity *= self.momentum
                velocity += grad  # v = momentum * v + g
            grad = grad + self.momentum * velocity if self.nesterov else velocity
        p.value -= self.lr * grad  # w = w - lr * g

    def get_config(self):
        return {"lr": self.lr, "momentum": self.momentum, "nesterov": self.nesterov, "weight_decay": self.weight_decay}

    def check_state(self, p, state):
        super().check_state(p, state)
        _expect_keys(state, ["velocity"] if self.momentum else [])
        _expect_arrays(state, ["velocity"])


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

    def __init__(self, lr: float = 0.01, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.alpha = nonnegative_float(alpha, "alpha", "RMSprop")
        self.eps = nonnegative_float(eps, "eps", "RMSprop", positive=True)
        self.momentum = nonnegative_float(momentum, "momentum", "RMSprop")
        if self.alpha >= 1 or self.momentum >= 1:
            raise ValueError(f"RMSprop: expected alpha and momentum in [0, 1), got {alpha!r} and {momentum!r}")

    def update(self, p, grad, state):
        square_avg = state.get("square_avg")
        if square_avg is None:
            square_avg = state["square_avg"] = np.zeros_like(p.value)
        square_avg *= self.alpha
        square_avg += (1 - self.alpha) * grad * grad  # s = alpha * s + (1 - alpha) * g^2
        step = grad / (np.sqrt(square_avg) + self.eps)  # u = g / (sqrt(s) + eps)
        if self.momentum:
            velocity = state.get("velocity")
            if velocity is None:
                velocity = state["velocity"] = np.zeros_like(p.value)
            velocity *= self.momentum
            velocity += step  # v = momentum * v + u
            step = velocity
        p.value -= self.lr * step  # w = w - lr * u

    def get_config(self):
        return {"lr": self.lr, "alpha": self.alpha, "eps": self.eps, "momentum": self.momentum, "weight_decay": self.weight_decay}

    def check_state(self, p, state):
        super().check_state(p, state)
        _expect_keys(state, ["square_avg", "velocity"] if self.momentum else ["square_avg"])
        _expect_arrays(state, ["square_avg", "velocity"])
        _expect_nonnegative(state, "square_avg", "a running mean of g^2")


class Adam(Optimizer):
    """Adam (Kingma & Ba, 2015) with bias-corrected moment estimates.

    Notes
    -----
    At step ``t`` (from 1)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        w = w - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
    """

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

    def update(self, p, grad, state):
        beta1, beta2 = self.betas
        if not state:
            state.update(step=0, m=np.zeros_like(p.value), v=np.zeros_like(p.value))
        state["step"] += 1
        t, m, v = state["step"], state["m"], state["v"]
        m *= beta1
        m += (1 - beta1) * grad  # m = beta1 * m + (1 - beta1) * g
        v *= beta2
        v += (1 - beta2) * grad * grad  # v = beta2 * v + (1 - beta2) * g^2
        denominator = np.sqrt(v) / math.sqrt(1 - beta2**t) + self.eps  # sqrt(v) / sqrt(1 - beta2^t) + eps
        p.value -= self.lr / (1 - beta1**t) * m / denominator  # w = w - lr / (1 - beta1^t) * m / (...)

    def get_config(self):
        return {"lr": self.lr, "betas": self.betas, "eps": self.eps, "weight_decay": self.weight_decay}

    def check_state(self, p, state):
        super().check_state(p, state)
        _expect_keys(state, ["step", "m", "v"])
        _expect_arrays(state, ["m", "v"])
        _expect_nonnegative(state, "v", "a running mean of g^2")
        if state and (not isinstance(state["step"], int) or state["step"] < 1):
            raise ValueError(f"expected 'step' to count the steps taken (an int >= 1), got {state['step']!r}")


def _expect_keys(state: dict, keys: list[str]) -> None:
    """Refuse a non-empty ``state`` whose keys are not exactly ``keys`` (state is made whole on the first step)."""
    if state and set(state) != set(keys):
        raise ValueError(f"expected the state keys {sorted(keys)}, got {sorted(state)}")


def _expect_arrays(state: dict, keys: list[str]) -> None:
    for key in keys:
        if key in state and not isinstance(state[key], np.ndarray):
            raise ValueError(f"expected {key!r} to be an array, got {state[key]!r}")


def _expect_nonnegative(state: dict, key: str, what: str) -> None:
    if key in state and (state[key] < 0).any():
        raise ValueError(f"expected {key!r} >= 0 ({what}), got negative entries")


OPTIMIZERS: dict[str, type[Optimizer]] = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adam)}


def get(optimizer: str | Optimizer) -> Optimizer:
    """Return ``optimizer`` itself, or a new optimizer with default settings from its name."""
    return from_table(optimizer, OPTIMIZERS, Optimizer, "optimizer")
