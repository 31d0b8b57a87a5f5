"""Parameter: a trainable array and the gradient of the loss with respect to it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array ``value`` and its gradient ``grad``, of one shape and dtype.

    ``grad`` holds dL/d(value), summed over the layer's ``backward`` calls since the last
    :meth:`zero_grad`: ``backward`` only ever *adds* into it, and optimizers update ``value``
    in place, so views of either array (for example a :class:`~neurolab.Neuron`'s weights)
    stay valid for the life of the parameter.

    Parameters
    ----------
    value : ndarray
        The initial value. It is used as it is (not copied), so a layer can register an
        array it already holds.
    grad : ndarray, optional
        An existing gradient array of ``value``'s shape and dtype to use; by default a new
        zero array.
    """

    __slots__ = ("value", "grad")

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
        self.grad = grad

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
        """Set ``grad`` to zero in place."""
        self.grad.fill(0)

    def astype(self, dtype) -> None:
        """Convert ``value`` and ``grad`` to ``dtype`` (new arrays; existing views detach)."""
        self.value = self.value.astype(dtype)
        self.grad = self.grad.astype(dtype)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.value.shape}, dtype={self.value.dtype})"
