"""Checks of what a request sends: its JSON body and query, field by field.

A request is untrusted input. Every check raises :class:`RequestError`, whose message reads
``"<where>: expected <what>, got <received>"`` (``where`` is the method and path, such as
``"POST /api/predict"``) and whose status is the HTTP status to answer with (4xx).
"""

from __future__ import annotations

import json
import math
import numbers

import numpy as np


class RequestError(Exception):
    """A request the lab refuses: ``status`` is the HTTP status (4xx), ``str(error)`` says why."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _no_constants(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _unique_keys(pairs: list) -> dict:
    keys = [key for key, _ in pairs]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        raise ValueError(f"repeated key {repeated[0]!r}")
    return dict(pairs)


def json_object(body: bytes, where: str) -> dict:
    """The JSON object in ``body`` (UTF-8); NaN, Infinity and repeated keys are refused."""
    try:
        value = json.loads(body.decode("utf-8"), parse_constant=_no_constants, object_pairs_hook=_unique_keys)
    except UnicodeDecodeError:
        raise RequestError(400, f"{where}: expected a UTF-8 JSON body, got bytes that are not UTF-8") from None
    except RecursionError:
        raise RequestError(400, f"{where}: expected a JSON object, got one nested too deeply") from None
    except ValueError as error:  # json.JSONDecodeError, and the two refusals above
        raise RequestError(400, f"{where}: expected a JSON object, got invalid JSON ({error})") from None
    if not isinstance(value, dict):
        raise RequestError(400, f"{where}: expected a JSON object {{...}}, got {type(value).__name__}")
    return value


def known_keys(obj: dict, allowed, where: str, what: str = "key") -> None:
    """Refuse keys outside ``allowed`` (a typo such as ``"pixel"`` would otherwise be ignored)."""
    unknown = sorted(set(obj) - set(allowed))
    if unknown:
        raise RequestError(400, f"{where}: expected {what}s among {sorted(allowed)}, got {unknown[0]!r}")


def query_fields(query: dict[str, list[str]], allowed, where: str) -> dict[str, str]:
    """A parsed query string (``urllib.parse.parse_qs``) as one value per name, only names in ``allowed``."""
    known_keys(query, allowed, where, "query parameter")
    repeated = sorted(name for name, values in query.items() if len(values) > 1)
    if repeated:
        raise RequestError(400, f"{where}: expected each query parameter once, got {repeated[0]!r} {len(query[repeated[0]])} times")
    return {name: values[0] for name, values in query.items()}


def integer(value, name: str, where: str, low: int, high: int) -> int:
    """``value`` as an int in ``[low, high)``; bools, floats and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestError(400, f"{where}: expected {name} to be an integer, got {_shown(value)}")
    if not low <= value < high:
        raise RequestError(400, f"{where}: expected {name} in [{low}, {high}), got {value}")
    return value


def query_integer(text: str, name: str, where: str, low: int, high: int) -> int:
    """A query parameter as an int in ``[low, high)``: decimal digits with an optional minus sign."""
    digits = text[1:] if text.startswith("-") else text
    if not (digits.isascii() and digits.isdigit()) or len(digits) > 18:
        raise RequestError(400, f"{where}: expected {name} to be an integer, got {text[:40]!r}")
    return integer(int(text), name, where, low, high)


def boolean(value, name: str, where: str) -> bool:
    """``value``, which must be ``true`` or ``false``."""
    if not isinstance(value, bool):
        raise RequestError(400, f"{where}: expected {name} to be true or false, got {_shown(value)}")
    return value


def number(value, name: str, where: str, *, positive: bool = False) -> float:
    """``value`` as a finite float (> 0 if ``positive``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise RequestError(400, f"{where}: expected {name} to be a number, got {_shown(value)}")
    value = _as_float(value)
    if not math.isfinite(value) or (positive and value <= 0):
        what = "a positive finite number" if positive else "a finite number"
        raise RequestError(400, f"{where}: expected {name} to be {what}, got {value}")
    return value


def vector(value, name: str, length: int, where: str, low: float = -math.inf, high: float = math.inf) -> np.ndarray:
    """``value`` as a float64 array ``(length,)``: a JSON list of finite numbers in ``[low, high]``."""
    if not isinstance(value, list):
        raise RequestError(400, f"{where}: expected {name} to be a list of {length} numbers, got {_shown(value)}")
    if len(value) != length:
        raise RequestError(400, f"{where}: expected {name} to be a list of {length} numbers, got {len(value)}")
    for i, item in enumerate(value):
        if isinstance(item, bool) or not isinstance(item, (int, float)):
            raise RequestError(400, f"{where}: expected {name} to hold numbers, got {_shown(item)} at index {i}")
    array = np.array([_as_float(item) for item in value], dtype=np.float64)
    bad = np.flatnonzero(~(np.isfinite(array) & (array >= low) & (array <= high)))
    if bad.size:
        i = int(bad[0])
        span = "finite numbers" if math.isinf(low) and math.isinf(high) else f"numbers in [{low:g}, {high:g}]"
        raise RequestError(400, f"{where}: expected {name} to hold {span}, got {array[i]:g} at index {i}")
    return array


def _as_float(value) -> float:
    try:
        return float(value)
    except OverflowError:  # a JSON integer beyond float's range: as far from finite as inf
        return math.inf


def _shown(value) -> str:
    """A short description of a JSON value for a message: its type, and the value if it is short."""
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(type(value))
    if kind is None:
        return repr(value)
    if isinstance(value, (str, bool)) and len(repr(value)) <= 40:
        return f"{kind} {json.dumps(value)}"
    return kind
