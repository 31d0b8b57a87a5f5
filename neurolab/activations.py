"""Activation functions, their derivatives, and the name table.

An activation maps the pre-activation ``Z`` to ``A = f(Z)`` (same shape). ``backward`` turns
the upstream gradient dL/dA into dL/dZ. Elementwise activations define ``derivative``, f'(Z),
and their ``backward`` is ``grad_a * f'(Z)``; softmax couples the units of a row, so it defines
``backward`` directly (a Jacobian-vector product) and has no elementwise derivative.

``get(name)`` returns an activation from its name: relu, leaky_relu, sigmoid, tanh, identity,
softmax.

Underflow (``exp(-1000)`` becoming 0, a product of two tiny numbers becoming 0) is the right
answer in these formulas, not an error: the functions that can produce it compute under
``np.errstate(under="ignore")``, so they also work when the caller has asked NumPy to raise
on floating-point errors. Overflow and invalid operations still follow the caller's settings.
"""

from __future__ import annotations

import numpy as np

from .validation import from_table, nonnegative_float


class Activation:
    """Base class: ``forward(z) -> a``, ``derivative(z, a) -> f'(z)``, ``backward(z, a, grad_a) -> grad_z``.

    A subclass sets ``name`` and implements ``forward`` and ``derivative`` (an elementwise
    activation), or ``forward`` and ``backward`` (a coupled one, which also sets
    ``elementwise = False``). Every method returns a new array of ``z``'s shape and dtype.
    """

    name = "activation"
    elementwise = True

    def forward(self, z: np.ndarray) -> np.ndarray:
        """Return ``A = f(Z)``."""
        raise NotImplementedError(f"{type(self).__name__}.forward: subclasses of Activation implement forward")

    def derivative(self, z: np.ndarray, a: np.ndarray) -> np.ndarray:
        """Return ``f'(Z)`` elementwise, given ``Z`` and ``A = f(Z)`` (either may be used)."""
        raise NotImplementedError(f"{type(self).__name__}.derivative: elementwise activations implement derivative")

    def backward(self, z: np.ndarray, a: np.ndarray, grad_a: np.ndarray) -> np.ndarray:
        """Return ``dL/dZ = dL/dA * f'(Z)``."""
        with np.errstate(under="ignore"):  # a tiny gradient times a tiny f'(z) is 0
            return grad_a * self.derivative(z, a)

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

    def forward(self, z):
        return z  # A is Z itself: nothing to compute or copy

    def derivative(self, z, a):
        return np.ones_like(z)

    def backward(self, z, a, grad_a):
        return grad_a  # grad_a * 1


class ReLU(Activation):
    """``f(z) = max(z, 0)``, ``f'(z) = 1 if z > 0 else 0`` (0 at the kink z = 0, like PyTorch)."""

    name = "relu"

    def forward(self, z):
        return np.maximum(z, 0)

    def derivative(self, z, a):
        return (z > 0).astype(z.dtype)

    def backward(self, z, a, grad_a):
        return grad_a * (z > 0)  # f'(z) as a mask: the same numbers, without making a float copy


class LeakyReLU(Activation):
    """``f(z) = z if z > 0 else negative_slope * z``; ``f'(z) = 1 or negative_slope``."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = nonnegative_float(negative_slope, "negative_slope", "LeakyReLU")

    def forward(self, z):
        with np.errstate(under="ignore"):  # negative_slope * (a tiny z) is 0
            return np.where(z > 0, z, z * self.negative_slope)

    def derivative(self, z, a):
        return np.where(z > 0, 1, self.negative_slope).astype(z.dtype)

    def get_config(self):
        return {"negative_slope": self.negative_slope}


class Sigmoid(Activation):
    """``f(z) = 1 / (1 + exp(-z))``, ``f'(z) = f(z) (1 - f(z))``; stable for any z (see :func:`sigmoid`)."""

    name = "sigmoid"

    def forward(self, z):
        return sigmoid(z)

    def derivative(self, z, a):
        return a * (1 - a)


class Tanh(Activation):
    """``f(z) = tanh(z)``, ``f'(z) = 1 - tanh(z)^2``."""

    name = "tanh"

    def forward(self, z):
        return np.tanh(z)

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

    def backward(self, z, a, grad_a):
        with np.errstate(under="ignore"):  # products of tiny probabilities and gradients are 0
            return a * (grad_a - np.sum(grad_a * a, axis=-1, keepdims=True))


def sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically stable logistic sigmoid, elementwise, in ``z``'s dtype.

    ``1 / (1 + exp(-z))`` overflows for very negative z. With ``e = exp(-|z|)``, which never
    overflows, it is ``1 / (1 + e)`` for z >= 0 and ``e / (1 + e)`` for z < 0; the second form
    keeps the relative precision of small outputs (sigmoid(-30) ~ 9.4e-14, not 0).
    """
    with np.errstate(under="ignore"):  # exp(-|z|) of a large |z| is 0: the right answer
        e = np.exp(-np.abs(z))
        return np.where(z >= 0, 1, e) / (1 + e)


def softmax(z: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis.

    Subtracting each row's maximum first leaves the result unchanged and keeps every
    exponent <= 0, so ``exp`` cannot overflow and the largest term of each row is 1.
    """
    with np.errstate(under="ignore"):  # exp of a very negative shifted logit is 0
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


def log_softmax(z: np.ndarray) -> np.ndarray:
    """``z - logsumexp(z)`` over the last axis, computed stably (finite where log(softmax) is -inf)."""
    with np.errstate(under="ignore"):
        shifted = z - z.max(axis=-1, keepdims=True)
        return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


ACTIVATIONS: dict[str, type[Activation]] = {cls.name: cls for cls in (Identity, ReLU, LeakyReLU, Sigmoid, Tanh, Softmax)}


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


def spec(activation: Activation) -> str | dict:
    """What :func:`get` rebuilds ``activation`` from, as a layer's ``get_config`` stores it: its
    name, or ``{"name": name, **settings}`` for one with settings (LeakyReLU's slope)."""
    settings = activation.get_config()
    return activation.name if not settings else {"name": activation.name, **settings}


def short_repr(activation: Activation) -> str:
    """How a layer's ``repr`` shows ``activation``: ``'relu'``, or its full ``repr`` when it has settings."""
    return repr(activation.name) if not activation.get_config() else repr(activation)
