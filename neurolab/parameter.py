"""Parameter: a trainable array and the gradient of the loss with respect to it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array ``value`` and its gradient ``grad``, of one shape and dtype.

    Both arrays are made once, when the parameter is, and every later change writes into
    them: ``backward`` adds into ``grad`` (``p.grad += ...``), ``zero_grad`` fills it with
    zeros, optimizers update ``value`` in place (``p.value -= ...``), and assigning
    ``p.value = array`` (or ``p.grad = array``) copies ``array`` in after checking its shape
    and dtype. So a view of either array, taken at any time (``w = layer.weight.value``, a
    neuron's weights), is the array that trains. Only :meth:`astype` makes new arrays, since
    a float32 array cannot hold float64 numbers.

    Parameters
    ----------
    value : ndarray of float32 or float64
        The initial value, used as it is (not copied), so a layer can register an array it
        already holds. The gradient starts as zeros of the same shape and dtype.
    """

    __slots__ = ("_value", "_grad")

    def __init__(self, value: np.ndarray) -> None:
        if not isinstance(value, np.ndarray):
            raise TypeError(f"Parameter: expected value to be a numpy.ndarray, got {type(value).__name__}")
        if value.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"Parameter: expected a float32 or float64 value, got dtype {value.dtype}; "
                "convert it with value.astype(np.float32)"
            )
        self._value = value
        self._grad = np.zeros_like(value)

    @property
    def value(self) -> np.ndarray:
        """The trainable array."""
        return self._value

    @value.setter
    def value(self, array: np.ndarray) -> None:
        if array is not self._value:  # `p.value -= step` hands back the same array: nothing to copy
            self._value[...] = self._checked(array, "value")

    @property
    def grad(self) -> np.ndarray:
        """dL/d(value), summed over the ``backward`` calls since the last :meth:`zero_grad`."""
        return self._grad

    @grad.setter
    def grad(self, array: np.ndarray) -> None:
        if array is not self._grad:  # `p.grad += term` hands back the same array
            self._grad[...] = self._checked(array, "grad")

    def _checked(self, array, name: str) -> np.ndarray:
        """``array`` if it has this parameter's shape and dtype; a ValueError or TypeError otherwise."""
        if not isinstance(array, np.ndarray):
            raise TypeError(
                f"Parameter.{name}: expected a numpy.ndarray of shape {self.shape} and dtype "
                f"{self.dtype}, got {type(array).__name__}; assign into it with p.{name}[...] = ..."
            )
        if array.shape != self.shape:
            raise ValueError(f"Parameter.{name}: expected an array of shape {self.shape}, got shape {array.shape}")
        if array.dtype != self.dtype:
            raise TypeError(
                f"Parameter.{name}: expected an array of dtype {self.dtype}, got dtype {array.dtype}; "
                f"convert it with .astype(np.{self.dtype})"
            )
        return array

    @property
    def shape(self) -> tuple[int, ...]:
        return self._value.shape

    @property
    def dtype(self) -> np.dtype:
        return self._value.dtype

    @property
    def size(self) -> int:
        return self._value.size

    def zero_grad(self) -> None:
        """Set every entry of ``grad`` to zero (in place)."""
        self._grad.fill(0)

    def astype(self, dtype) -> None:
        """Convert ``value`` and ``grad`` to ``dtype``: new arrays, so views taken before keep the old ones."""
        self._value = self._value.astype(dtype)
        self._grad = self._grad.astype(dtype)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.shape}, dtype={self.dtype})"


class ParameterRow(Parameter):
    """Row ``index`` of another parameter, as a parameter: what a neuron view is made of.

    ``value`` and ``grad`` are views of the parent's row, read afresh at each access, and
    ``zero_grad`` zeroes just the row.
    """

    __slots__ = ("parent", "index")

    def __init__(self, parent: Parameter, index: int) -> None:  # no super().__init__: nothing of its own
        self.parent = parent
        self.index = index

    @property
    def value(self) -> np.ndarray:
        return self.parent.value[self.index, ...]

    @value.setter
    def value(self, array) -> None:
        self.parent.value[self.index, ...] = array

    @property
    def grad(self) -> np.ndarray:
        return self.parent.grad[self.index, ...]

    @grad.setter
    def grad(self, array) -> None:
        self.parent.grad[self.index, ...] = array

    @property
    def shape(self) -> tuple[int, ...]:
        return self.parent.shape[1:]

    @property
    def dtype(self) -> np.dtype:
        return self.parent.dtype

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def astype(self, dtype) -> None:
        raise TypeError("ParameterRow.astype: expected the parent parameter to be converted, got a row; convert the layer")

    def __repr__(self) -> str:
        return f"ParameterRow(row {self.index} of {self.parent!r})"
