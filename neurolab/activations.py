"""Activation functions, their derivatives, and the name table.

An activation maps the pre-activation ``Z`` to ``A = f(Z)`` (same shape). ``backward`` turns
the upstream gradient dL/dA into dL/dZ. Elementwise activations define ``derivative``, f'(Z),
and their ``backward`` is ``grad_a * f'(Z)``; softmax couples the units of a row, so it defines
``backward`` directly (a Jacobian-vector product) and has no elementwise derivative.

``get(name)`` returns an activation from its name: relu, leaky_relu, sigmoid, tanh, identity,
softmax.
"""

from __future__ import annotations

import contextvars
import functools
import inspect

import numpy as np

from ._buffers import constant_row
from .validation import from_table, nonnegative_float


_quiet = contextvars.ContextVar("neurolab_quiet_underflow", default=False)


def quiet_underflow(function):
    """Run ``function`` with underflow ignored: exp(-1e4) = 0 and a tiny ``a * (1 - a)`` are
    the right answers, not errors, even when the caller runs under ``np.errstate(all="raise")``."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if _quiet.get():  # already inside (fit calls many of these per batch): no new context
            return function(*args, **kwargs)
        token = _quiet.set(True)
        try:
            with np.errstate(under="ignore"):  # a fresh context per call: safe when nested
                return function(*args, **kwargs)
        finally:
            _quiet.reset(token)

    return wrapper


def _ignoring_out(function):
    """A subclass's ``forward``/``backward`` made to accept (and ignore) ``out=`` like the built-in ones."""

    @functools.wraps(function)
    def wrapper(*args, out=None):
        return function(*args)

    return wrapper


class Activation:
    """Base class: ``forward(z) -> a`` and ``backward(z, a, grad_a) -> grad_z``.

    Subclasses set ``name`` and implement ``forward`` and ``derivative`` (elementwise ones) or
    ``backward`` (coupled ones, which also set ``elementwise = False``).

    Both methods take an optional ``out=``, an array of the result's shape and dtype to write
    into, NumPy style, and return the result: ``Dense`` passes its arrays of the previous
    batch during ``fit``, so training allocates nothing per batch. ``out`` is a hint: a
    subclass may ignore it and return a new array, and one whose ``forward(z)`` or
    ``backward(z, a, grad_a)`` does not take ``out`` at all is given it automatically. In
    ``backward``, ``out`` may be ``grad_a`` itself (``fit`` overwrites a dL/dA nobody else
    reads), so a rule that writes ``out`` must be done reading ``grad_a`` at each element.
    """

    name = "activation"
    elementwise = True

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for name in ("forward", "backward"):
            method = cls.__dict__.get(name)
            function = method.__func__ if isinstance(method, staticmethod) else method
            if inspect.isfunction(function) and "out" not in inspect.signature(function).parameters:
                adapted = _ignoring_out(function)
                setattr(cls, name, adapted if not isinstance(method, staticmethod) else staticmethod(adapted))

    def forward(self, z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``A = f(Z)``, an array of ``z``'s shape and dtype (``out`` if it was used)."""
        raise NotImplementedError

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Return ``f'(Z)`` elementwise, given ``Z`` and ``A = f(Z)`` (either may be used)."""
        raise NotImplementedError

    @quiet_underflow
    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Return ``dL/dZ = dL/dA * f'(Z)`` (written into ``out`` when given)."""
        return np.multiply(grad_a, self.derivative(z, a), out=out)

    def get_config(self) -> dict:
        """Keyword arguments that rebuild this activation (for saving)."""
        return {}

    def __call__(self, z: np.ndarray) -> np.ndarray:
        return self.forward(z)

    def __eq__(self, other) -> bool:
        return type(self) is type(other) and self.get_config() == other.get_config()

    def __hash__(self) -> int:
        return hash((type(self), tuple(sorted(self.get_config().items()))))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Identity(Activation):
    """``f(z) = z``, ``f'(z) = 1``: a linear unit, used for logits and regression outputs."""

    name = "identity"

    def forward(self, z, out=None):
        return z  # A is Z itself: nothing to compute or copy

    def derivative(self, z, a):
        return np.ones_like(z)

    def backward(self, z, a, grad_a, out=None):
        return grad_a


class ReLU(Activation):
    """``f(z) = max(z, 0)``, ``f'(z) = 1 if z > 0 else 0`` (0 at the kink z = 0, like PyTorch)."""

    name = "relu"

    def forward(self, z, out=None):
        if z.ndim and z.dtype.kind == "f":  # a row of zeros: NumPy's maximum of two arrays is 2x faster than with 0
            return np.maximum(z, constant_row(z.shape[-1], z.dtype, 0), out=out)
        return np.maximum(z, 0, out=out)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, z, a, grad_a, out=None):
        return np.multiply(grad_a, z > 0, out=out)


class LeakyReLU(Activation):
    """``f(z) = z if z > 0 else negative_slope * z``; ``f'(z) = 1 or negative_slope``."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = nonnegative_float(negative_slope, "negative_slope", "LeakyReLU")

    @quiet_underflow
    def forward(self, z):
        return np.where(z > 0, z, z * self.negative_slope)

    def derivative(self, z, a):
        return np.where(z > 0, 1, self.negative_slope).astype(z.dtype)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``, ``f'(z) = f(z) (1 - f(z))``.

    Computed from ``e = exp(-|z|)`` as ``1 / (1 + e)`` for z >= 0 and ``e / (1 + e)`` for
    z < 0, so no exponential overflows and small outputs keep their relative precision.
    """

    name = "sigmoid"

    def forward(self, z):
        return sigmoid(z)

    @quiet_underflow
    def derivative(self, z, a):
        return a * (1 - a)


class Tanh(Activation):
    """``f(z) = tanh(z)``, ``f'(z) = 1 - tanh(z)^2``."""

    name = "tanh"

    def forward(self, z, out=None):
        return np.tanh(z, out=out)

    @quiet_underflow
    def derivative(self, z, a):
        return 1 - a * a


class Softmax(Activation):
    """Row-wise ``f(z)_k = exp(z_k) / sum_j exp(z_j)`` over the last axis of ``(N, K)`` inputs.

    The units of a row are coupled, so the gradient is a Jacobian-vector product::

        dL/dz = a * (dL/da - sum_k(dL/da_k * a_k))      (N, K)

    For classification, prefer an ``identity`` output layer with the ``cross_entropy`` loss,
    which fuses softmax and log-likelihood stably (gradient ``(p - y) / N``).
    """

    name = "softmax"
    elementwise = False

    def forward(self, z):
        return softmax(z)

    def derivative(self, z, a):
        raise TypeError(
            "Softmax.derivative: expected an elementwise activation, got softmax, whose units "
            "are coupled; use Softmax.backward(z, a, grad_a) for dL/dz"
        )

    @quiet_underflow
    def backward(self, z, a, grad_a):
        return a * (grad_a - np.sum(grad_a * a, axis=-1, keepdims=True))


@quiet_underflow
def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic sigmoid, elementwise, in ``z``'s dtype."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1, e) / (1 + e)


@quiet_underflow
def softmax(z: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis (the row maximum is subtracted first)."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@quiet_underflow
def log_softmax(z: np.ndarray) -> np.ndarray:
    """``z - logsumexp(z)`` over the last axis, computed stably."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


ACTIVATIONS = {
    cls.name: cls for cls in (Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax)
}


def get(activation: str | dict | Activation) -> Activation:
    """Return the activation named ``activation`` (see ``ACTIVATIONS``), or the object itself.

    A dict ``{"name": name, **options}`` builds the activation with those options.
    """
    if isinstance(activation, dict):  # {"name": ..., **config}, as Dense.get_config writes it
        config = dict(activation)
        cls = ACTIVATIONS.get(str(config.pop("name", "")).lower())
        if cls is None:
            raise ValueError(f"activation: expected one of {sorted(ACTIVATIONS)}, got {activation!r}")
        return cls(**config)
    return from_table(activation, ACTIVATIONS, Activation, "activation")
