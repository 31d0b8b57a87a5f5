"""Weight initialisers.

Each initialiser is a function ``init(shape, rng, dtype=np.float32) -> ndarray`` that draws
from the ``numpy.random.Generator`` it is given (never from global state) directly in
``dtype``. For a weight of shape ``(out_features, in_features)``, ``fan_in = in_features`` and
``fan_out = out_features``; a 1-D shape ``(in_features,)`` (one neuron) has ``fan_out = 1``.

===================  ===============================================  ==========================
name                 distribution                                     suits
===================  ===============================================  ==========================
``xavier_uniform``   U(-l, l),  l = sqrt(6 / (fan_in + fan_out))      sigmoid, tanh, identity
``xavier_normal``    N(0, s^2), s = sqrt(2 / (fan_in + fan_out))      sigmoid, tanh, identity
``he_uniform``       U(-l, l),  l = sqrt(6 / fan_in)                  relu, leaky_relu
``he_normal``        N(0, s^2), s = sqrt(2 / fan_in)                  relu, leaky_relu
``lecun_normal``     N(0, s^2), s = sqrt(1 / fan_in)                  selu-like, tanh
``zeros``            0                                                biases
===================  ===============================================  ==========================
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from .validation import as_generator, float_dtype

Initializer = Callable[..., np.ndarray]


def fans(shape: tuple[int, ...]) -> tuple[int, int]:
    """Return ``(fan_in, fan_out)`` of a weight of shape ``(out, in)``, ``(in,)`` or ``(out, in, *kernel)``.

    A convolution's weight ``(out_channels, in_channels, kh, kw)`` has ``fan_in = in_channels *
    kh * kw`` (the inputs each output sees) and ``fan_out = out_channels * kh * kw``, as in PyTorch.
    """
    shape = tuple(shape)
    if len(shape) < 1 or min(shape) < 1:
        raise ValueError(f"init.fans: expected a shape (out, in), (in,) or (out, in, *kernel) of positive sizes, got {shape}")
    if len(shape) == 1:
        return shape[0], 1
    receptive = int(np.prod(shape[2:]))  # 1 for a matrix
    return shape[1] * receptive, shape[0] * receptive


def _uniform(shape, limit: float, rng: np.random.Generator, dtype) -> np.ndarray:
    dtype = float_dtype(dtype, "init")
    w = as_generator(rng, "init").random(shape, dtype=dtype)  # U[0, 1) drawn directly in dtype
    w *= 2 * limit
    w -= limit
    return w


def _normal(shape, std: float, rng: np.random.Generator, dtype) -> np.ndarray:
    dtype = float_dtype(dtype, "init")
    w = as_generator(rng, "init").standard_normal(shape, dtype=dtype)
    w *= std
    return w


def xavier_uniform(shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """Glorot & Bengio (2010): U(-l, l) with ``l = sqrt(6 / (fan_in + fan_out))``."""
    fan_in, fan_out = fans(shape)
    return _uniform(shape, np.sqrt(6.0 / (fan_in + fan_out)), rng, dtype)


def xavier_normal(shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """Glorot & Bengio (2010): N(0, s^2) with ``s = sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = fans(shape)
    return _normal(shape, np.sqrt(2.0 / (fan_in + fan_out)), rng, dtype)


def he_uniform(shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """He et al. (2015): U(-l, l) with ``l = sqrt(6 / fan_in)``."""
    fan_in, _ = fans(shape)
    return _uniform(shape, np.sqrt(6.0 / fan_in), rng, dtype)


def he_normal(shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """He et al. (2015): N(0, s^2) with ``s = sqrt(2 / fan_in)``."""
    fan_in, _ = fans(shape)
    return _normal(shape, np.sqrt(2.0 / fan_in), rng, dtype)


def lecun_normal(shape, rng: np.random.Generator, dtype=np.float32) -> np.ndarray:
    """LeCun et al. (1998): N(0, s^2) with ``s = sqrt(1 / fan_in)``."""
    fan_in, _ = fans(shape)
    return _normal(shape, np.sqrt(1.0 / fan_in), rng, dtype)


def zeros(shape, rng: np.random.Generator | None = None, dtype=np.float32) -> np.ndarray:
    """All zeros (``rng`` is accepted for a uniform signature and not used)."""
    return np.zeros(shape, dtype=float_dtype(dtype, "init"))


INITIALIZERS = {
    f.__name__: f
    for f in (xavier_uniform, xavier_normal, he_uniform, he_normal, lecun_normal, zeros)
}


def default_for(activation_name: str) -> str:
    """The initialiser ``Dense`` uses by default: He for the ReLU family, else Xavier."""
    return "he_normal" if activation_name in ("relu", "leaky_relu") else "xavier_uniform"


def initial_weight(init: str | Initializer, shape: tuple[int, ...], rng: np.random.Generator, dtype, where: str) -> np.ndarray:
    """Draw a weight matrix of ``shape`` and ``dtype`` with ``init``, checking what a custom initialiser returns."""
    weight = get(init)(shape, rng, dtype=dtype)
    if not isinstance(weight, np.ndarray) or weight.shape != shape or weight.dtype != dtype:
        raise ValueError(
            f"{where}: expected init to return an array of shape {shape} and dtype {dtype}, got "
            f"{getattr(weight, 'shape', type(weight).__name__)} {getattr(weight, 'dtype', '')}"
        )
    return weight


def get(init: str | Initializer) -> Initializer:
    """Return the initialiser named ``init`` (see ``INITIALIZERS``), or the callable itself."""
    if callable(init):
        return init
    if isinstance(init, str):
        if init.lower() in INITIALIZERS:
            return INITIALIZERS[init.lower()]
        raise ValueError(f"init: expected one of {sorted(INITIALIZERS)} or a callable, got {init!r}")
    raise TypeError(f"init: expected a name or a callable, got {type(init).__name__}")
