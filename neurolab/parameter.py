"""Parameter: a trainable array and the gradient of the loss with respect to it."""

from __future__ import annotations

import operator
from itertools import repeat

import numpy as np

from ._buffers import constant_row, page_aligned


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
        if axis == 0 and a.ndim == 2 and a.dtype is self._grad.dtype and a.dtype.char in "fd":
            ones = constant_row(a.shape[0], a.dtype, 1)
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


_value_base = operator.attrgetter("value.base")
_grad_base = operator.attrgetter("_grad.base")
_zeroed = operator.attrgetter("_zeroed")


class ParameterBlock:
    """Parameters stored back to back, so that an optimizer can update them all at once.

    The ``packed`` parameters (those of the given ones whose layer allows it, of one dtype) get
    their ``value`` and ``grad`` replaced by views of two flat arrays, ``value`` and ``grad`` of
    shape ``(total,)``, in order; their numbers are copied over. An elementwise optimizer then
    updates all of them with a few whole-array operations instead of a few per parameter, which
    for a small network is most of the step's time. The ``loose`` ones stay as they were.

    Iterating over a block gives every parameter (packed and loose) in the given order, so a
    block can be passed wherever a list of parameters can. Giving a packed parameter a new array
    (``astype``, ``p.grad = ...``) takes it out of the block: :meth:`intact` is then False and
    optimizers update parameter by parameter.

    Parameters
    ----------
    parameters : sequence of Parameter
    packable : sequence of bool, optional
        Which of them may be moved (default: all). ``NeuralNetwork`` packs the parameters of
        layers that read them through ``parameter.value`` at every call (``Dense``), not those
        of other layers, which may hold on to the arrays they registered.
    """

    def __init__(self, parameters, packable=None) -> None:
        self.parameters = tuple(parameters)
        packable = [True] * len(self.parameters) if packable is None else list(packable)
        candidates = [p for p, ok in zip(self.parameters, packable) if ok]
        dtype = candidates[0].dtype if candidates else np.dtype(np.float32)
        self.packed = tuple(p for p in candidates if p.dtype == dtype)
        self.loose = tuple(p for p in self.parameters if all(p is not q for q in self.packed))
        self._spans = []
        offset = 0
        for p in self.packed:
            self._spans.append((offset, p.size, p.shape))
            offset += p.size
        self.value = page_aligned(offset, dtype)
        self.grad = page_aligned(offset, dtype)
        for p, value, grad in zip(self.packed, self.views(self.value), self.views(self.grad)):
            value[...] = p.value
            grad[...] = p._grad  # as stored: a pending zero_grad stays pending
            p.value, p._grad = value, grad
        self.flat = Parameter(self.value, self.grad)  # the packed ones as one parameter

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        """``flat`` ``(total,)`` cut into arrays of the packed parameters' shapes (views)."""
        return [flat[start : start + size].reshape(shape) for start, size, shape in self._spans]

    def intact(self) -> bool:
        """Whether every packed parameter's value and grad are still views of the block."""
        # map() keeps these loops in C: this runs at every training step
        return all(map(operator.is_, map(_value_base, self.packed), repeat(self.value.base))) and all(
            map(operator.is_, map(_grad_base, self.packed), repeat(self.grad.base))
        )

    def write_pending_zeros(self) -> None:
        """Write the zeros of a ``zero_grad`` still pending (a parameter no backward reached)."""
        if any(map(_zeroed, self.packed)):
            for p in self.packed:
                p.grad  # noqa: B018 - the property writes pending zeros

    def __iter__(self):
        return iter(self.parameters)

    def __len__(self) -> int:
        return len(self.parameters)

    def __getitem__(self, index):
        return self.parameters[index]

    def __repr__(self) -> str:
        return f"ParameterBlock({len(self.packed)} packed, {len(self.loose)} loose, {self.value.size} values)"
