"""Parameter: a trainable array and the gradient of the loss with respect to it."""

from __future__ import annotations

import functools

import numpy as np


_BLAS_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


@functools.lru_cache(maxsize=16)
def _ones(n: int, dtype: np.dtype) -> np.ndarray:
    """A read-only vector of n ones (one per batch size and dtype in use)."""
    ones = np.ones(n, dtype)
    ones.flags.writeable = False
    return ones


class Parameter:
    """A trainable array ``value`` and its gradient ``grad``, of one shape and dtype.

    ``grad`` holds dL/d(value), summed over the ``backward`` calls since the last
    :meth:`zero_grad`: ``backward`` only ever *adds* into it (``p.grad += ...``), and
    optimizers update ``value`` in place, so views of either array stay valid for the life of
    the parameter.

    ``zero_grad`` does not write zeros at once: it marks the gradient as zero, and the first
    access to ``grad`` writes them. :meth:`add_matmul` and :meth:`add_sum` add a product or a
    sum into the gradient without a temporary array, and right after ``zero_grad`` they write
    the result straight into it: the training loop never spends a pass over memory on zeros.

    Parameters
    ----------
    value : ndarray
        The initial value. It is used as it is (not copied), so a layer can register an
        array it already holds.
    grad : ndarray, optional
        An existing gradient array of ``value``'s shape and dtype to use; by default a new
        zero array.
    """

    __slots__ = ("value", "_grad", "_zeroed")

    def __init__(self, value: np.ndarray, grad: np.ndarray | None = None) -> None:
        if not isinstance(value, np.ndarray):
            raise TypeError(
                f"Parameter: expected value to be a numpy.ndarray, got {type(value).__name__}"
            )
        if not np.issubdtype(value.dtype, np.floating):
            raise TypeError(
                f"Parameter: expected a floating-point value, got dtype {value.dtype}; "
                "convert it with value.astype(np.float32)"
            )
        if grad is None:
            grad = np.zeros_like(value)
        elif grad.shape != value.shape or grad.dtype != value.dtype:
            raise ValueError(
                f"Parameter: expected grad of shape {value.shape} and dtype {value.dtype}, "
                f"got shape {grad.shape} and dtype {grad.dtype}"
            )
        self.value = value
        self._grad = grad
        self._zeroed = False

    @property
    def grad(self) -> np.ndarray:
        """dL/d(value), accumulated since the last ``zero_grad``."""
        if self._zeroed:  # zero_grad deferred the zeros until now
            self._grad.fill(0)
            self._zeroed = False
        return self._grad

    @grad.setter
    def grad(self, array: np.ndarray) -> None:
        self._grad = array
        self._zeroed = False

    @property
    def shape(self) -> tuple[int, ...]:
        return self.value.shape

    @property
    def dtype(self) -> np.dtype:
        return self.value.dtype

    @property
    def size(self) -> int:
        return self.value.size

    def zero_grad(self) -> None:
        """Make ``grad`` zero (written lazily, on the next access)."""
        self._zeroed = True

    def add_matmul(self, a: np.ndarray, b: np.ndarray) -> None:
        """``grad += a @ b``, written into ``grad`` directly when it is zero."""
        if self._zeroed:
            np.matmul(a, b, out=self._grad)
            self._zeroed = False
        else:
            self._grad += a @ b

    def add_sum(self, a: np.ndarray, axis: int = 0) -> None:
        """``grad += a.sum(axis)``, written into ``grad`` directly when it is zero.

        The column sums of an ``(N, K)`` float array are computed as ``ones(N) @ a``, a BLAS
        matrix-vector product about twice as fast as ``a.sum(axis=0)``.
        """
        if axis == 0 and a.ndim == 2 and a.dtype == self._grad.dtype and a.dtype in _BLAS_DTYPES:
            ones = _ones(a.shape[0], a.dtype)
            if self._zeroed:
                np.dot(ones, a, out=self._grad)
            else:
                self._grad += ones @ a
        elif self._zeroed:
            a.sum(axis=axis, out=self._grad)
        else:
            self._grad += a.sum(axis=axis)
        self._zeroed = False

    def astype(self, dtype) -> None:
        """Convert ``value`` and ``grad`` to ``dtype`` (new arrays; existing views detach)."""
        self.value = self.value.astype(dtype)
        self.grad = self.grad.astype(dtype)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype})"


class ParameterRow(Parameter):
    """Row ``index`` of another parameter, as a parameter: what a neuron view is made of.

    ``value`` and ``grad`` are views of the parent's row (``grad`` through the parent's, so
    a pending ``zero_grad`` of the layer is honoured), and ``zero_grad`` zeroes just the row.
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

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def add_matmul(self, a, b) -> None:
        self.grad += a @ b

    def add_sum(self, a, axis: int = 0) -> None:
        self.grad += a.sum(axis=axis)

    def astype(self, dtype) -> None:
        raise TypeError("ParameterRow.astype: expected the parent parameter to be converted, got a row; convert the layer")

    def __repr__(self) -> str:
        return f"ParameterRow(row {self.index} of {self.parent!r})"
