"""Checks shared by the public boundaries, with messages in one style.

Every message reads ``"<where>: expected <what>, got <received>"``, plus ``"; <fix>"`` when
the cause is not obvious.
"""

from __future__ import annotations

import numbers

import numpy as np


def as_generator(rng, where: str) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` for ``rng``: None (fresh entropy), an int seed, or a Generator."""
    if rng is None or isinstance(rng, (numbers.Integral, np.random.SeedSequence)):
        if isinstance(rng, bool):
            raise TypeError(f"{where}: expected rng to be None, an int seed or a numpy Generator, got bool")
        if isinstance(rng, numbers.Integral) and rng < 0:
            raise ValueError(f"{where}: expected rng to be None, a non-negative int seed or a numpy Generator, got {rng}")
        return np.random.default_rng(rng if rng is None or isinstance(rng, np.random.SeedSequence) else int(rng))
    if isinstance(rng, np.random.Generator):
        return rng
    raise TypeError(
        f"{where}: expected rng to be None, an int seed or a numpy.random.Generator, "
        f"got {type(rng).__name__}; np.random.RandomState and the global np.random state "
        "are not used by neurolab"
    )


def positive_int(value, name: str, where: str) -> int:
    """Return ``value`` as an int, requiring an integer >= 1 (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where}: expected {name} to be a positive int, got {value!r}")
    if value < 1:
        raise ValueError(f"{where}: expected {name} to be a positive int, got {value}")
    return int(value)


def nonnegative_float(value, name: str, where: str, *, positive: bool = False) -> float:
    """Return ``value`` as a float, requiring a finite number >= 0 (> 0 if ``positive``)."""
    what = "a positive" if positive else "a non-negative"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: expected {name} to be {what} finite number, got {value!r}")
    value = float(value)
    if not np.isfinite(value) or value < 0 or (positive and value == 0):
        raise ValueError(f"{where}: expected {name} to be {what} finite number, got {value!r}")
    return value


def float_dtype(dtype, where: str) -> np.dtype:
    """Return ``np.dtype(dtype)``, requiring float32 or float64."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{where}: expected dtype float32 or float64, got {dtype!r}") from None
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"{where}: expected dtype float32 or float64, got {dtype}")
    return dtype


def as_array(x, name: str, where: str) -> np.ndarray:
    """``np.asarray(x)``, with a ValueError that names ``x`` for ragged nested sequences."""
    try:
        return np.asarray(x)
    except ValueError as error:  # NumPy's "inhomogeneous shape" message names neither x nor the call
        raise ValueError(
            f"{where}: expected {name} to be an array or a rectangular nested sequence of numbers, "
            f"got a ragged one ({error})"
        ) from None


def numeric_array(x, name: str, where: str) -> np.ndarray:
    """Return ``x`` as an array of a real numeric dtype (bool, int or float), without copying."""
    x = as_array(x, name, where)
    if x.dtype.kind not in "biuf":  # bool, signed and unsigned integers, floats
        raise TypeError(f"{where}: expected {name} to hold real numbers, got dtype {x.dtype}")
    return x


def feature_batch(x, in_features: int, dtype: np.dtype, where: str) -> np.ndarray:
    """Return ``x`` as a ``(N, in_features)`` array of ``dtype`` (no copy when it is one already)."""
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != in_features:
        hint = "; for a single sample use x.reshape(1, -1)" if x.ndim == 1 else ""
        raise ValueError(f"{where}: expected input of shape (N, {in_features}), got {x.shape}{hint}")
    return x.astype(dtype, copy=False)


def finite(x: np.ndarray, name: str, where: str) -> None:
    """Raise ValueError naming the first non-finite entry of a float array ``x``."""
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))
        first = tuple(int(i) for i in bad[0])
        raise ValueError(
            f"{where}: expected {name} to be finite, got {x[first]} at index {first} "
            f"({len(bad)} non-finite value{'s' if len(bad) > 1 else ''} in all)"
        )


def from_table(value, table: dict, base: type, what: str):
    """Resolve ``value`` to an instance of ``base``: the instance itself, a subclass (built with
    its defaults), or a name in ``table`` (case-insensitive)."""
    if isinstance(value, base):
        return value
    if isinstance(value, type) and issubclass(value, base):
        return value()
    if isinstance(value, str):
        cls = table.get(value.lower())
        if cls is not None:
            return cls()
        raise ValueError(f"{what}: expected one of {sorted(table)}, got {value!r}")
    raise TypeError(f"{what}: expected a name or a {base.__module__}.{base.__name__}, got {type(value).__name__}")
