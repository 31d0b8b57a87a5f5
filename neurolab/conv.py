"""Image layers: Conv2D, MaxPool2D, Flatten, Reshape and RandomShift.

Images are batches ``(N, C, H, W)``: N samples of C channels of H rows by W columns, the
layout (and the argument names) of PyTorch. A convolution is a Dense layer applied to every
patch of its input: :class:`Conv2D`'s Notes write this out, and its code follows them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import activations as _activations
from . import init as _init
from .layer import Layer
from .neuron import unit_view
from .parameter import Parameter
from .validation import as_generator, float_dtype, positive_int


def _pair(value, name: str, where: str, *, minimum: int = 1) -> tuple[int, int]:
    """``value`` as ``(rows, columns)``: an int ``k`` is ``(k, k)``; each at least ``minimum``."""
    items = value if isinstance(value, (tuple, list)) and len(value) == 2 else (value, value)
    for item in items:
        if isinstance(item, (bool, np.bool_)) or not isinstance(item, (int, np.integer)) or item < minimum:
            kind = "a positive int" if minimum == 1 else f"an int >= {minimum}"
            raise ValueError(f"{where}: expected {name} to be {kind} or a pair of them, got {value!r}")
    return int(items[0]), int(items[1])


def _image_batch(x, channels: int | None, dtype, where: str) -> np.ndarray:
    """``x`` as an ``(N, C, H, W)`` array of ``dtype`` (no copy when it is one), with ``C = channels`` if given."""
    x = np.asarray(x)
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        c = "C" if channels is None else channels
        hint = "; put nl.Reshape((C, H, W)) in front to make images of flat rows" if x.ndim == 2 else ""
        raise ValueError(f"{where}: expected input of shape (N, {c}, H, W), got {x.shape}{hint}")
    return x if dtype is None else x.astype(dtype, copy=False)


def _out_size(size: int, kernel: int, stride: int, padding: int, what: str, where: str) -> int:
    """Positions of a window of ``kernel`` moved by ``stride`` over ``size + 2 * padding`` (the last may not fit)."""
    padded = size + 2 * padding
    if padded < kernel:
        raise ValueError(
            f"{where}: expected the input's {what} ({size}{f' + 2 * {padding} padding' if padding else ''}) "
            f"to be at least the kernel's {kernel}, got {padded}"
        )
    return (padded - kernel) // stride + 1


def _windows(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int]) -> np.ndarray:
    """A view ``(N, C, H_out, W_out, kh, kw)`` of every window of ``x (N, C, H, W)``: no copy.

    ``[n, c, i, j]`` is the window whose top-left corner is ``(i * sh, j * sw)``; rows and
    columns that no whole window reaches are left out.
    """
    (kh, kw), (sh, sw) = kernel, stride
    return sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]


class Conv2D(Layer):
    """2-D convolution: each of ``out_channels`` filters slides over the image and sees one patch at a time.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels C of each input image and O of each output (one feature map per filter).
    kernel_size : int or (int, int)
        ``(kh, kw)``, the patch each filter sees.
    stride : int or (int, int), default 1
        ``(sh, sw)``, how far the patch moves between two outputs.
    padding : int or (int, int), default 0
        ``(ph, pw)`` zeros added on each side of the image (``padding=k // 2`` keeps the size
        for an odd kernel ``k`` and stride 1).
    activation : str or Activation, default "relu"
        Applied to each output; elementwise ones only (not softmax).
    init : str or callable, optional
        Weight initialiser (``neurolab.init``) with ``fan_in = C * kh * kw``; by default
        ``he_normal`` for relu and leaky_relu, ``xavier_uniform`` otherwise. Biases start at zero.
    rng : None, int or numpy.random.Generator
    dtype : float32 (default) or float64

    Attributes
    ----------
    weight : Parameter, shape (out_channels, in_channels, kh, kw)
        ``weight[o]`` is filter ``o``.
    bias : Parameter, shape (out_channels,)
    x : ndarray (N, C, H, W) or None
        The last batch's input.
    z, a, grad_z : ndarray (N, O, H_out, W_out) or None
        Pre-activations, activations (the feature maps) and the last backward's dL/dZ.
    neurons : sequence of Filter
        ``neurons[o]`` is filter ``o`` as a view: its weights ``(C, kh, kw)``, bias and
        gradients, and its feature maps ``z``, ``a`` and ``delta`` ``(N, H_out, W_out)``.

    Notes
    -----
    With ``Xp`` the input with its padding, each output is a neuron whose inputs are one
    patch, and every position shares the filter's weights::

        forward   Z[n,o,i,j] = b[o] + sum_{c,u,v} W[o,c,u,v] Xp[n,c, i*sh+u, j*sw+v]
                  A = f(Z)                                          (N, O, H_out, W_out)
        backward  dZ = dA * f'(Z)
                  dW[o,c,u,v] = sum_{n,i,j} dZ[n,o,i,j] Xp[n,c, i*sh+u, j*sw+v]
                  db[o]       = sum_{n,i,j} dZ[n,o,i,j]
                  dXp[n,c, i*sh+u, j*sw+v] += sum_o dZ[n,o,i,j] W[o,c,u,v]
                  dX = dXp without its padding

    with ``H_out = (H + 2 ph - kh) // sh + 1`` (likewise ``W_out``). Laying each patch out as
    a column (im2col: column ``(i, j, n)``, row ``(c, u, v)``) turns these sums into the Dense
    layer's matrix products, which is how the code computes them::

        P  = patches of Xp, one per column    (C*kh*kw, H_out*W_out*N)
        Wm = W.reshape(O, C*kh*kw)            (O, C*kh*kw)         row o: filter o
        Zm = Wm @ P + b[:, None]              (O, H_out*W_out*N)   Z is Zm reshaped
        dW = dZm @ P.T                        (O, C*kh*kw)         reshaped to W's shape
        db = dZm.sum(axis=1)                  (O,)
        dP = Wm.T @ dZm                       (C*kh*kw, H_out*W_out*N)
        dXp[window (i, j, n)] += dP[column (i, j, n)]             col2im: one add per (u, v)

    (The layout is chosen for speed, not for the maths: with patches as columns, and the
    sample ``n`` varying fastest, the ``(u, v)`` entries that col2im adds in one go lie in
    long runs of memory, and so do the inputs the copy into ``P`` reads when ``X`` comes from
    another Conv2D: against columns ``(n, i, j)``, the copy is 2.8 times and col2im 4 times
    faster, 17 ms of a 100 ms training step of the MNIST CNN; see benchmarks/conv_layout.py.)
    """

    # What forward keeps of the last batch for backward and the views: an array after a
    # forward pass, None before (typed Any so that backward reads as its equations).
    x: Any
    z: Any
    a: Any
    grad_z: Any
    patches: Any

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size,
        *,
        stride=1,
        padding=0,
        activation="relu",
        init=None,
        rng=None,
        dtype=np.float32,
    ) -> None:
        super().__init__()
        self.in_channels = positive_int(in_channels, "in_channels", "Conv2D")
        self.out_channels = positive_int(out_channels, "out_channels", "Conv2D")
        self.kernel_size = _pair(kernel_size, "kernel_size", "Conv2D")
        self.stride = _pair(stride, "stride", "Conv2D")
        self.padding = _pair(padding, "padding", "Conv2D", minimum=0)
        self.activation = _activations.get(activation)
        if not self.activation.elementwise:
            raise ValueError(
                f"Conv2D: expected an elementwise activation, got {self.activation.name!r}; "
                "softmax belongs after a Flatten and a Dense layer (or in the cross_entropy loss)"
            )
        dtype = float_dtype(dtype, "Conv2D")
        self.init = init if init is not None else _init.default_for(self.activation.name)
        shape = (self.out_channels, self.in_channels, *self.kernel_size)
        weight = _init.initial_weight(self.init, shape, as_generator(rng, "Conv2D"), dtype, "Conv2D")
        self.weight = self.add_parameter("weight", weight)
        self.bias = self.add_parameter("bias", np.zeros(self.out_channels, dtype=dtype))
        self.x = self.z = self.a = self.grad_z = None
        self.patches = None  # P of the last forward, kept for dW
        self.neurons = FilterViews(self)

    @property
    def dtype(self) -> np.dtype:
        return self.weight.dtype

    def output_shape(self, height: int, width: int) -> tuple[int, int, int]:
        """``(out_channels, H_out, W_out)`` of one output for an input image of ``height`` by ``width``."""
        where = f"{self!r}"
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        return (
            self.out_channels,
            _out_size(height, kh, sh, ph, "height", where),
            _out_size(width, kw, sw, pw, "width", where),
        )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``A = f(Z)`` of shape ``(N, out_channels, H_out, W_out)`` for ``x (N, in_channels, H, W)``."""
        self.x = _image_batch(x, self.in_channels, self.dtype, f"{self!r}.forward")
        n, _, height, width = self.x.shape
        o, h_out, w_out = self.output_shape(height, width)
        (ph, pw) = self.padding
        xp = np.pad(self.x, ((0, 0), (0, 0), (ph, ph), (pw, pw))) if ph or pw else self.x
        windows = _windows(xp, self.kernel_size, self.stride)[:, :, :h_out, :w_out]  # (N, C, H_out, W_out, kh, kw)
        # P: row (c, u, v), column (i, j, n); the one copy of the pass
        self.patches = windows.transpose(1, 4, 5, 2, 3, 0).reshape(math.prod(self.weight.shape[1:]), h_out * w_out * n)
        w = self.weight.value.reshape(o, -1)  # Wm (O, C*kh*kw)
        z = w @ self.patches + self.bias.value[:, None]  # Zm = Wm @ P + b
        self.z = z.reshape(o, h_out, w_out, n).transpose(3, 0, 1, 2)  # Z (N, O, H_out, W_out), a view of Zm
        self.a = self.activation.forward(self.z)  # A = f(Z)
        self.grad_z = None
        return self.a

    def backward(self, grad_a: np.ndarray) -> np.ndarray:
        """Add dL/dW and dL/db into the gradients; return dL/dX of the input's shape ``(N, C, H, W)``."""
        if self.z is None:
            raise RuntimeError(f"{self!r}.backward: expected a forward pass first, got none")
        if getattr(grad_a, "shape", None) != self.z.shape:
            raise ValueError(
                f"{self!r}.backward: expected grad_a of shape {self.z.shape} (the last output), "
                f"got {getattr(grad_a, 'shape', type(grad_a).__name__)}"
            )
        n, o, h_out, w_out = self.z.shape
        self.grad_z = self.activation.backward(self.z, self.a, grad_a)  # dZ = dA * f'(Z)
        grad_zm = self.grad_z.transpose(1, 2, 3, 0).reshape(o, -1)  # dZm, columns (i, j, n) like P's
        w = self.weight.value.reshape(o, -1)
        self.weight.grad += (grad_zm @ self.patches.T).reshape(self.weight.shape)  # dW = dZm @ P.T
        self.bias.grad += grad_zm.sum(axis=1)  # db = dZm.sum(axis=1)
        grad_p = w.T @ grad_zm  # dP = Wm.T @ dZm
        return self._col2im(grad_p.reshape(*self.weight.shape[1:], h_out, w_out, n))

    def _col2im(self, grad_p: np.ndarray) -> np.ndarray:
        """dX ``(N, C, H, W)`` from dP ``(C, kh, kw, H_out, W_out, N)``: each patch adds back where it was read."""
        n, c, height, width = self.x.shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel_size, self.stride, self.padding
        h_out, w_out = grad_p.shape[3:5]
        grad_xp = np.zeros((c, height + 2 * ph, width + 2 * pw, n), dtype=grad_p.dtype)  # axes in dP's order
        for u in range(kh):
            for v in range(kw):  # entry (u, v) of every patch: a strided grid of Xp
                grad_xp[:, u : u + sh * h_out : sh, v : v + sw * w_out : sw, :] += grad_p[:, u, v]
        return grad_xp[:, ph : ph + height, pw : pw + width, :].transpose(3, 0, 1, 2)

    def astype(self, dtype) -> "Conv2D":
        super().astype(dtype)
        self.x = self.z = self.a = self.grad_z = self.patches = None
        return self

    def get_config(self) -> dict:
        return {
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": list(self.kernel_size),
            "stride": list(self.stride),
            "padding": list(self.padding),
            "activation": _activations.spec(self.activation),
            "dtype": self.dtype.name,
        }

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={_short(self.kernel_size)}"
        if self.stride != (1, 1):
            text += f", stride={_short(self.stride)}"
        if self.padding != (0, 0):
            text += f", padding={_short(self.padding)}"
        return f"{text}, activation={_activations.short_repr(self.activation)}"


def _short(pair: tuple[int, int]):
    """``k`` for ``(k, k)``, the pair otherwise: as the value was most likely written."""
    return pair[0] if pair[0] == pair[1] else pair


class Filter:
    """Filter ``index`` of a :class:`Conv2D` layer: the neuron shared by every position of one feature map.

    Like a Dense layer's :class:`~neurolab.Neuron`, it is a view: reading it copies nothing,
    and writing its ``weights`` or ``bias`` writes the layer's.

    Attributes
    ----------
    weights : ndarray (C, kh, kw)
        ``layer.weight.value[index]``.
    bias : ndarray (1,)
    grad_weights, grad_bias : ndarray
        The same views into the layer's gradients.
    z, a, delta : ndarray (N, H_out, W_out) or None
        This filter's feature map in the last batch: pre-activation, activation and error
        dL/dZ (read-only views).
    """

    def __init__(self, layer: Conv2D, index: int) -> None:
        self.layer = layer
        self.index = index

    def _part(self, parameter: Parameter, grad: bool):
        array = parameter.grad if grad else parameter.value
        return array[self.index] if parameter is self.layer.weight else array[self.index : self.index + 1]

    @property
    def weights(self) -> np.ndarray:
        return self._part(self.layer.weight, False)

    @weights.setter
    def weights(self, value) -> None:
        self.weights[...] = value

    @property
    def bias(self) -> np.ndarray:
        return self._part(self.layer.bias, False)

    @bias.setter
    def bias(self, value) -> None:
        self.bias[...] = value

    @property
    def grad_weights(self) -> np.ndarray:
        return self._part(self.layer.weight, True)

    @property
    def grad_bias(self) -> np.ndarray:
        return self._part(self.layer.bias, True)

    def _map(self, array):
        return unit_view(array, self.index)  # (N, H_out, W_out), read-only

    @property
    def z(self):
        return self._map(self.layer.z)

    @property
    def a(self):
        return self._map(self.layer.a)

    @property
    def delta(self):
        return self._map(self.layer.grad_z)

    def __repr__(self) -> str:
        return f"Filter({self.index} of {self.layer!r}, weights {self.weights.shape})"


class FilterViews:
    """The filters of a Conv2D layer as a read-only sequence of :class:`Filter` views."""

    def __init__(self, layer: Conv2D) -> None:
        self.layer = layer

    def __len__(self) -> int:
        return self.layer.out_channels

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"neurons: expected an int index or a slice, got {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"neurons: expected an index in [-{n}, {n}), got {index} ({self.layer!r} has {n} filters)")
        return Filter(self.layer, int(index) % n)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<{len(self)} filters of {self.layer!r}>"


class MaxPool2D(Layer):
    """Max pooling: each output is the largest value of one window of one channel.

    Parameters
    ----------
    kernel_size : int or (int, int)
        ``(kh, kw)``.
    stride : int or (int, int), optional
        Defaults to ``kernel_size`` (windows side by side, as in PyTorch). Rows and columns
        that no whole window reaches are left out.

    Notes
    -----
    ::

        forward   Y[n,c,i,j] = max_{u,v} X[n,c, i*sh+u, j*sw+v]           (N, C, H_out, W_out)
        backward  dX[n,c, i*sh+u*, j*sw+v*] += dY[n,c,i,j]                 (N, C, H, W)

    where ``(u*, v*)`` is the window's largest entry (the first, in row-major order, of equal
    ones): the maximum passes its gradient to the input it came from, and every other input
    of the window gets none. Overlapping windows (stride < kernel) add up. The code visits
    the ``kh * kw`` entries of all windows at once: entry ``(u, v)`` of every window is the
    strided view ``X[:, :, u::sh, v::sw]``, so no window is ever copied.
    """

    # What forward keeps of the last batch for backward and the views: an array after a
    # forward pass, None before (typed Any so that backward reads as its equations).
    x: Any
    argmax: Any

    def __init__(self, kernel_size, stride=None) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size, "kernel_size", "MaxPool2D")
        if self.kernel_size[0] * self.kernel_size[1] > 127:
            raise ValueError(f"MaxPool2D: expected a window of at most 127 entries, got kernel_size={kernel_size!r}")
        self.stride = self.kernel_size if stride is None else _pair(stride, "stride", "MaxPool2D")
        self.x = self.argmax = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the maximum of each window: ``(N, C, H_out, W_out)`` for ``x (N, C, H, W)``."""
        self.x = x = _image_batch(x, None, None, f"{self!r}.forward")
        entries = self._entries(x)  # entry (u, v) of every window, the k-th with k = u * kw + v
        y = next(entries).copy(order="K")  # in x's memory order, which the passes below then read in step
        self.argmax = np.zeros_like(y, dtype=np.int8)
        for k, entry in enumerate(entries, start=1):
            larger = entry > y  # strictly: among equal entries the first stays the maximum
            np.maximum(self.argmax, larger.view(np.int8) * np.int8(k), out=self.argmax)  # k grows: k where larger
            np.maximum(y, entry, out=y)
        return y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return dL/dX ``(N, C, H, W)``: each window's gradient goes to its largest input."""
        if self.argmax is None:
            raise RuntimeError(f"{self!r}.backward: expected a forward pass first, got none")
        if getattr(grad_out, "shape", None) != self.argmax.shape:
            raise ValueError(
                f"{self!r}.backward: expected grad_out of shape {self.argmax.shape} (the last output), "
                f"got {getattr(grad_out, 'shape', type(grad_out).__name__)}"
            )
        grad_x = np.zeros_like(self.x, dtype=grad_out.dtype)  # in x's memory order, like argmax
        for k, entry in enumerate(self._entries(grad_x)):  # views into grad_x: adding to one adds to grad_x
            entry += grad_out * (self.argmax == k)  # windows whose largest entry is k pass dY there
        return grad_x

    def _entries(self, x: np.ndarray):
        """Views ``(N, C, H_out, W_out)`` of ``x``, one per window entry ``(u, v)``: ``x[:, :, i*sh+u, j*sw+v]``."""
        (kh, kw), (sh, sw) = self.kernel_size, self.stride
        h_out = _out_size(x.shape[2], kh, sh, 0, "height", f"{self!r}.forward")
        w_out = _out_size(x.shape[3], kw, sw, 0, "width", f"{self!r}.forward")
        for u in range(kh):
            for v in range(kw):
                yield x[:, :, u : u + sh * h_out : sh, v : v + sw * w_out : sw]

    def get_config(self) -> dict:
        return {"kernel_size": list(self.kernel_size), "stride": list(self.stride)}

    def extra_repr(self) -> str:
        stride = "" if self.stride == self.kernel_size else f", stride={_short(self.stride)}"
        return f"kernel_size={_short(self.kernel_size)}{stride}"


class Flatten(Layer):
    """``(N, d1, d2, ...) -> (N, d1 * d2 * ...)``: each sample becomes one row, in C order.

    Notes
    -----
    ::

        forward   Y  = X.reshape(N, -1)
        backward  dX = dY.reshape(X.shape)
    """

    x: Any

    def __init__(self) -> None:
        super().__init__()
        self.x = None  # the last input, whose shape backward gives back

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` as ``(N, d1 * d2 * ...)`` (a view when it can be)."""
        self.x = x = np.asarray(x)
        if x.ndim < 2:
            raise ValueError(f"Flatten.forward: expected input of shape (N, ...), got {x.shape}")
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))  # not -1, which an empty batch leaves undetermined

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``dY`` in the shape of the last input."""
        if self.x is None:
            raise RuntimeError("Flatten.backward: expected a forward pass first, got none")
        return np.reshape(grad_out, self.x.shape)


class Reshape(Layer):
    """``(N, ...) -> (N, *shape)``: gives each sample the shape ``shape``, e.g. flat pixels to ``(1, 28, 28)``.

    Parameters
    ----------
    shape : tuple of int
        The shape of one output sample; its size must be that of one input sample.

    Notes
    -----
    ::

        forward   Y  = X.reshape(N, *shape)
        backward  dX = dY.reshape(X.shape)
    """

    x: Any

    def __init__(self, shape) -> None:
        super().__init__()
        items = tuple(shape) if isinstance(shape, (tuple, list)) else None
        if not items or not all(isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) and d >= 1 for d in items):
            raise ValueError(f"Reshape: expected the shape of one sample, a tuple of positive ints such as (1, 28, 28), got {shape!r}")
        self.shape = tuple(int(d) for d in items)
        self.x = None  # the last input, whose shape backward gives back

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``x`` as ``(N, *shape)`` (a view when it can be)."""
        x = np.asarray(x)
        size = math.prod(self.shape)
        if x.ndim < 2 or math.prod(x.shape[1:]) != size:
            raise ValueError(
                f"{self!r}.forward: expected input of shape (N, ...) with {size} values per sample, got {x.shape}"
            )
        self.x = x
        return x.reshape(x.shape[0], *self.shape)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``dY`` in the shape of the last input."""
        if self.x is None:
            raise RuntimeError(f"{self!r}.backward: expected a forward pass first, got none")
        return np.reshape(grad_out, self.x.shape)

    def get_config(self) -> dict:
        return {"shape": list(self.shape)}

    def extra_repr(self) -> str:
        return f"{self.shape}"


class RandomShift(Layer):
    """Data augmentation: in training, move each image by up to ``max_shift`` pixels, filling with zeros.

    Each image gets its own shift ``(dy, dx)``, each drawn uniformly from ``-max_shift`` to
    ``max_shift``, fresh for every batch from the layer's own Generator. In evaluation mode
    (``predict``, ``evaluate``) it is the identity, like :class:`~neurolab.Dropout`. An MLP
    uses it on images: ``Reshape((1, 28, 28)), RandomShift(2), Flatten()``.

    Parameters
    ----------
    max_shift : int, default 2
    rng : None, int or numpy.random.Generator
        Source of the shifts.

    Notes
    -----
    Image ``n`` moves ``dy_n`` rows down and ``dx_n`` columns right; values from outside the
    image are 0::

        forward   Y[n, :, h, w]  = X[n, :, h - dy_n, w - dx_n]          (N, C, H, W)
        backward  dX[n, :, h, w] = dY[n, :, h + dy_n, w + dx_n]         the shift undone

    A pixel moved out of the image is dropped, so its gradient is zero.
    """

    shifts: Any

    def __init__(self, max_shift: int = 2, *, rng=None) -> None:
        super().__init__()
        if isinstance(max_shift, (bool, np.bool_)) or not isinstance(max_shift, (int, np.integer)) or max_shift < 0:
            raise ValueError(f"RandomShift: expected max_shift to be an int >= 0, got {max_shift!r}")
        self.max_shift = int(max_shift)
        self.rng = as_generator(rng, "RandomShift")
        self.shifts = None  # (N, 2): each image's (dy, dx) in the last training batch

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return the shifted images in training mode, ``x`` itself in evaluation mode."""
        x = _image_batch(x, None, None, f"{self!r}.forward")
        if not self.training or self.max_shift == 0:
            self.shifts = None
            return x
        m = self.max_shift
        self.shifts = self.rng.integers(-m, m + 1, size=(x.shape[0], 2))
        return _shift(x, self.shifts, m)  # Y[n, :, h, w] = X[n, :, h - dy, w - dx]

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return dL/dX: each image's gradient shifted back."""
        if self.shifts is None:
            return grad_out
        return _shift(grad_out, -self.shifts, self.max_shift)  # dX[n, :, h, w] = dY[n, :, h + dy, w + dx]

    def get_config(self) -> dict:
        return {"max_shift": self.max_shift}

    def extra_repr(self) -> str:
        return f"max_shift={self.max_shift}"


def _shift(images: np.ndarray, shifts: np.ndarray, m: int) -> np.ndarray:
    """``images (N, C, H, W)`` with image ``n`` moved by ``shifts[n] = (dy, dx)`` (each within ``m``), 0 filled in."""
    n, _, height, width = images.shape
    padded = np.pad(images, ((0, 0), (0, 0), (m, m), (m, m)))
    windows = sliding_window_view(padded, (height, width), axis=(2, 3))  # (N, C, 2m+1, 2m+1, H, W), no copy
    return windows[np.arange(n), :, m - shifts[:, 0], m - shifts[:, 1]]  # window (m - dy, m - dx) of each image
