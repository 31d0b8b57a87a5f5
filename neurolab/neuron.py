"""Neuron: one unit ``a = f(w . x + b)``, on its own or as a view of a row of a Dense layer.

A layer stores and computes everything vectorised; ``layer.neurons[i]`` is a ``Neuron`` whose
arrays are views into that storage, so reading a neuron costs nothing and training never
goes through neuron objects. A standalone ``Neuron(in_features)`` keeps the same storage for
one unit (a ``(1, in_features)`` weight matrix, a ``(1,)`` bias), so both run the same code.
"""

from __future__ import annotations

import numpy as np

from . import activations as _activations
from . import init as _init
from .parameter import Parameter, ParameterRow
from .validation import as_generator, feature_batch, float_dtype, positive_int


class _Unit:
    """The storage of a standalone neuron, laid out as a one-unit Dense layer's: ``weight``
    ``(1, in)``, ``bias`` ``(1,)``, and the last batch's ``x``, ``z``, ``a``, ``grad_z``."""

    out_features = 1

    def __init__(self, in_features: int, activation, init, rng, dtype) -> None:
        self.in_features = positive_int(in_features, "in_features", "Neuron")
        self.activation = _activations.get(activation)
        dtype = float_dtype(dtype, "Neuron")
        init = init if init is not None else _init.default_for(self.activation.name)
        weight = _init.initial_weight(init, (1, self.in_features), as_generator(rng, "Neuron"), dtype, "Neuron")
        self.weight = Parameter(weight)
        self.bias = Parameter(np.zeros(1, dtype=dtype))
        self.x = self.z = self.a = self.grad_z = None

    @property
    def dtype(self) -> np.dtype:
        return self.weight.dtype

    def astype(self, dtype) -> None:
        dtype = float_dtype(dtype, "Neuron.astype")
        self.weight.astype(dtype)
        self.bias.astype(dtype)
        self.x = self.z = self.a = self.grad_z = None

    def __repr__(self) -> str:
        return f"Neuron({self.in_features}, activation={self.activation.name!r})"


class Neuron:
    """One unit: ``z = w . x + b``, ``a = f(z)``.

    Parameters
    ----------
    in_features : int
        Number of inputs ``x_k``.
    activation : str or Activation, default "sigmoid"
        An elementwise activation (``softmax`` couples units, so it has no single-neuron form).
    init, rng, dtype
        As for :class:`~neurolab.Dense`.

    Attributes
    ----------
    weights : ndarray (in_features,)        the incoming weights ``w_k`` (writable view)
    bias : ndarray ()                       the bias ``b`` (writable 0-d view)
    grad_weights : ndarray (in_features,)   dL/dw, accumulated by backward
    grad_bias : ndarray ()                  dL/db
    x : ndarray (N, in_features) or None    the last batch's inputs
    z, a : ndarray (N,) or None             the last batch's pre-activation and activation
    delta : ndarray (N,) or None            the last backward pass's error dL/dz
    layer, index                            the layer this neuron is row ``index`` of (for a
                                            standalone neuron, its own one-unit storage)

    ``z``, ``a`` and ``delta`` are read-only views of the layer's last pass (whether the
    layer or the neuron ran it). Each pass makes new arrays, so a view kept from one batch
    still shows that batch after the next.

    Notes
    -----
    The scalar-unit equations, for each of N samples::

        forward   z   = x . w + b            (N,)
                  a   = f(z)                 (N,)
        backward  dz  = da * f'(z)           (N,)      the neuron's error delta
                  dw  = dz @ x               (in,)     sum over the batch of x_k * delta
                  db  = sum(dz)              ()
                  dx  = outer(dz, w)         (N, in)   this neuron's share of dL/dx

    ``backward`` adds ``dw`` and ``db`` into the gradients, which are rows of the layer's
    gradients: running every neuron of a layer gives exactly the layer's gradients, and the
    sum of their ``dx`` is the layer's dL/dX.
    """

    def __init__(self, in_features: int, activation="sigmoid", *, init=None, rng=None, dtype=np.float32):
        unit = _Unit(in_features, activation, init, rng, dtype)
        if not unit.activation.elementwise:
            raise ValueError(
                f"Neuron: expected an elementwise activation, got {unit.activation.name!r}, which "
                "couples the units of a layer; use Dense(in_features, out_features, 'softmax')"
            )
        self._bind(unit, 0)

    @classmethod
    def _view(cls, layer, index: int) -> "Neuron":
        """Neuron ``index`` of ``layer`` (a Dense layer), as a view."""
        neuron = cls.__new__(cls)
        neuron._bind(layer, index)
        return neuron

    def _bind(self, layer, index: int) -> None:
        self.layer = layer
        self.index = index
        # Rows of the layer's parameters: zero-copy views, read afresh at each access.
        self._weight = ParameterRow(layer.weight, index)
        self._bias = ParameterRow(layer.bias, index)

    @property
    def standalone(self) -> bool:
        """True for a ``Neuron(in_features)`` of its own, False for a view of a layer's row."""
        return isinstance(self.layer, _Unit)

    # -- parameters ---------------------------------------------------------------------
    @property
    def in_features(self) -> int:
        return self.layer.in_features

    @property
    def activation(self):
        return self.layer.activation

    @property
    def weights(self) -> np.ndarray:
        return self._weight.value

    @weights.setter
    def weights(self, value) -> None:
        self._weight.value[...] = value

    @property
    def bias(self) -> np.ndarray:
        return self._bias.value

    @bias.setter
    def bias(self, value) -> None:
        self._bias.value[...] = value

    @property
    def grad_weights(self) -> np.ndarray:
        return self._weight.grad

    @property
    def grad_bias(self) -> np.ndarray:
        return self._bias.grad

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``[("weights", ...), ("bias", ...)]``: parameters whose arrays are views of the layer's."""
        return [("weights", self._weight), ("bias", self._bias)]

    def parameters(self) -> list[Parameter]:
        return [self._weight, self._bias]

    def zero_grad(self) -> None:
        self._weight.zero_grad()
        self._bias.zero_grad()

    def astype(self, dtype) -> "Neuron":
        """Convert the neuron's layer to ``dtype`` (the whole layer) and return ``self``."""
        self.layer.astype(dtype)
        return self

    # -- the last pass ------------------------------------------------------------------
    def _column(self, array):
        return unit_view(array, self.index)

    @property
    def x(self):
        return self.layer.x

    @property
    def z(self):
        return self._column(self.layer.z)

    @property
    def a(self):
        return self._column(self.layer.a)

    @property
    def delta(self):
        return self._column(self.layer.grad_z)

    # -- forward and backward -----------------------------------------------------------
    def _where(self, method: str) -> str:
        return f"Neuron.{method}" if self.standalone else f"{self.layer!r}.neurons[{self.index}].{method}"

    def _require_elementwise(self, method: str) -> None:
        if not self.activation.elementwise:
            raise TypeError(
                f"Neuron.{method}: expected an elementwise activation, got "
                f"{self.activation.name!r}, whose units are coupled; run the whole layer instead"
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``a = f(x . w + b)`` of shape ``(N,)`` for ``x`` of shape ``(N, in_features)``."""
        self._require_elementwise("forward")
        x = feature_batch(x, self.in_features, self.layer.dtype, self._where("forward"))
        z = x @ self.weights + self.bias  # z = x . w + b
        a = self.activation.forward(z)  # a = f(z)
        self._record(x, z, a)
        return a

    def backward(self, grad_a: np.ndarray) -> np.ndarray:
        """Add dL/dw and dL/db into the gradients; return this neuron's dL/dx ``(N, in_features)``."""
        self._require_elementwise("backward")
        layer = self.layer
        if layer.z is None:
            raise RuntimeError("Neuron.backward: expected a forward pass first, got none")
        n = layer.z.shape[0]
        if getattr(grad_a, "shape", None) != (n,):
            raise ValueError(
                f"Neuron.backward: expected grad_a of shape ({n},) (one value per sample), "
                f"got {getattr(grad_a, 'shape', type(grad_a).__name__)}"
            )
        x, z, a = layer.x, self.z, self.a
        if np.isnan(z).any():
            raise RuntimeError(
                f"Neuron.backward: expected neuron {self.index} to have run forward on this batch, "
                "got none (its column of the layer's z is unset); call its forward first"
            )
        delta = self.activation.backward(z, a, grad_a)  # dz = da * f'(z)
        self._weight.grad += delta @ x  # dw = dz @ x
        self._bias.grad += delta.sum()  # db = sum(dz)
        self._record_delta(delta)
        return np.outer(delta, self.weights)  # dx = outer(dz, w)

    def _record(self, x, z, a) -> None:
        """Write this neuron's z and a into its column of the layer's last pass (new arrays for a new ``x``)."""
        layer = self.layer
        same_batch = layer.x is not None and (
            layer.x is x or (layer.x.shape == x.shape and np.array_equal(layer.x, x))
        )
        if not same_batch:
            shape = (x.shape[0], layer.out_features)
            layer.x = x
            layer.z = np.full(shape, np.nan, dtype=layer.dtype)
            layer.a = np.full(shape, np.nan, dtype=layer.dtype)
        layer.z[:, self.index] = z
        layer.a[:, self.index] = a
        layer.grad_z = None  # as after Dense.forward: errors of an earlier pass are stale

    def _record_delta(self, delta) -> None:
        layer = self.layer
        if layer.grad_z is None or layer.grad_z.shape != layer.z.shape:
            layer.grad_z = np.full(layer.z.shape, np.nan, dtype=layer.dtype)
        layer.grad_z[:, self.index] = delta

    def explain(self, x, y, loss="mse", *, optimizer=None, top: int = 5):
        """The backpropagation of this standalone neuron as an output unit trained with ``loss``.

        ``y`` holds one target per sample. Returns a :class:`neurolab.explain.NeuronTrace`
        (BP1, BP3, BP4 on real numbers); for a neuron of a network use ``network.explain``.
        """
        if not self.standalone:
            raise TypeError(
                "Neuron.explain: expected a standalone neuron, got a view of a row of "
                f"{self.layer!r}; use network.explain(x, y, layer, neuron={self.index})"
            )
        from .explain import explain_neuron  # a study tool, above the core: imported when used

        return explain_neuron(self, x, y, loss, optimizer=optimizer, top=top)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def __repr__(self) -> str:
        act = self.activation.name
        if self.standalone:
            return f"Neuron({self.in_features}, activation={act!r})"
        return f"Neuron({self.in_features}, activation={act!r}, view of row {self.index} of {self.layer!r})"


def unit_view(array, index: int):
    """``array[:, index]``, one unit's values in each sample of a batch, as a read-only view (None stays None).

    A neuron's column of ``z``, ``a`` and ``delta``, and a Conv2D filter's feature maps.
    """
    if array is None:
        return None
    view = array[:, index]
    view.flags.writeable = False
    return view


class NeuronViews:
    """The neurons of a Dense layer as a read-only sequence of :class:`Neuron` views.

    A view is made on first access (two small array views) and kept, so reading a neuron in
    every batch costs a dictionary lookup.
    """

    def __init__(self, layer) -> None:
        self.layer = layer
        self._made: dict[int, Neuron] = {}  # each view is made on first access, then kept

    def __len__(self) -> int:
        return self.layer.out_features

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if isinstance(index, (bool, np.bool_)) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"neurons: expected an int index or a slice, got {type(index).__name__}")
        n = len(self)
        if not -n <= index < n:
            raise IndexError(f"neurons: expected an index in [-{n}, {n}), got {index} ({self.layer!r} has {n} neurons)")
        row = int(index) % n
        neuron = self._made.get(row)
        if neuron is None:
            neuron = self._made[row] = Neuron._view(self.layer, row)
        return neuron

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        return f"<{len(self)} neurons of {self.layer!r}>"
