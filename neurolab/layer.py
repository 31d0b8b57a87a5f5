"""Layer: the base class to subclass, and Dense, the fully connected layer.

The subclassing contract
------------------------
============  ==========================================  ==============================
method        must                                        must not
============  ==========================================  ==============================
__init__      call ``super().__init__()``; register        draw from a global RNG
              parameters with ``add_parameter``
forward(x)    take ``(N, ...)``, return ``(N, ...)``:      mutate ``x``
              one entry per sample (``(N, in)`` to
              ``(N, out)`` for features, ``(N, C, H,
              W)`` for images); cache what ``backward``
              needs
backward(g)   **add** into each parameter's ``.grad``;     zero or overwrite grads,
              return dL/dx of ``x``'s shape                 redo the forward pass
============  ==========================================  ==============================

The last layer of a network returns ``(N, outputs)``, what the loss takes.
``neurolab.gradcheck.check_layer(layer, x)`` verifies a subclass against central finite
differences; ``neurolab.testing.assert_layer_gradients`` does it over random shapes and values.
"""

from __future__ import annotations

import keyword
from typing import Any

import numpy as np

from . import activations as _activations
from . import init as _init
from .neuron import NeuronViews
from .parameter import Parameter
from .validation import as_generator, feature_batch, float_dtype, positive_int


class Layer:
    """Base class of every layer: registered parameters, ``forward`` and ``backward``.

    A subclass calls ``super().__init__()``, registers each trainable array with
    :meth:`add_parameter` and implements :meth:`forward` and :meth:`backward`. ``forward``
    keeps what ``backward`` needs by assigning attributes (``self.x = x``): a network's
    ``predict`` and ``evaluate`` run shallow copies of its layers, so that the layers keep
    showing the last batch, which holds as long as no forward writes into an object the copy
    shares (a dict or list of the layer's, an array held from before).

    Examples
    --------
    A layer that scales each feature by a learned factor, ``Y = X * s``::

        class Scale(nl.Layer):
            def __init__(self, features):
                super().__init__()
                self.scale = self.add_parameter("scale", np.ones(features))

            def forward(self, x):                   # (N, F) -> (N, F)
                self.x = x
                return x * self.scale.value

            def backward(self, grad_out):           # dL/dY (N, F) -> dL/dX (N, F)
                self.scale.grad += (grad_out * self.x).sum(axis=0)
                return grad_out * self.scale.value
    """

    def __init__(self) -> None:
        self._parameters: dict[str, Parameter] = {}
        self.training = True  # set by NeuralNetwork.train()/eval(); read by layers such as Dropout

    def train(self, mode: bool = True) -> "Layer":
        """Set training mode (``mode=True``) or evaluation mode; return ``self``."""
        self.training = bool(mode)
        return self

    def eval(self) -> "Layer":
        """Set evaluation mode (``training = False``); return ``self``."""
        return self.train(False)

    def get_config(self) -> dict:
        """JSON-serialisable keyword arguments that rebuild this layer (without its learned values).

        ``NeuralNetwork.save`` stores them and ``neurolab.load`` calls ``type(layer)(**config)``
        before restoring the parameters; override it when ``__init__`` takes arguments.
        """
        return {}

    def _registry(self, method: str) -> dict[str, Parameter]:
        registry = self.__dict__.get("_parameters")
        if registry is None:
            cls = type(self).__name__
            raise RuntimeError(
                f"{cls}.{method}: expected Layer.__init__ to have run, got a layer without its "
                f"parameter registry; call super().__init__() first in {cls}.__init__"
            )
        return registry

    def add_parameter(self, name: str, value: np.ndarray) -> Parameter:
        """Register ``value`` (a float array, used as is) as the trainable parameter ``name``.

        Returns the new :class:`Parameter`; keep it as an attribute, for example
        ``self.weight = self.add_parameter("weight", w)``.
        """
        registry = self._registry("add_parameter")
        where = f"{type(self).__name__}.add_parameter"
        if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
            raise ValueError(f"{where}: expected the name to be a Python identifier, got {name!r}")
        if name in registry:
            raise ValueError(f"{where}: expected a new name, got {name!r}, already registered")
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{where}: expected a numpy.ndarray for {name!r}, got {type(value).__name__}")
        registry[name] = Parameter(value)
        return registry[name]

    def named_parameters(self) -> list[tuple[str, Parameter]]:
        """``(name, parameter)`` pairs in registration order."""
        return list(self._registry("named_parameters").items())

    def parameters(self) -> list[Parameter]:
        """The registered parameters, in registration order."""
        return list(self._registry("parameters").values())

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for p in self.parameters():
            p.zero_grad()

    def astype(self, dtype) -> "Layer":
        """Convert every parameter to ``dtype`` in place and return ``self``.

        New arrays replace the old ones (a float32 array cannot hold float64 numbers), so an
        array taken before (``w = layer.weight.value``) keeps the old numbers; neuron views
        read the layer afresh and follow. Override to convert other float state too.
        """
        dtype = float_dtype(dtype, f"{type(self).__name__}.astype")
        for p in self.parameters():
            p.astype(dtype)
        return self

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Map a batch ``x`` of shape ``(N, ...)`` (``(N, in)`` for features) to ``(N, ...)`` and cache what backward needs."""
        raise NotImplementedError(f"{type(self).__name__}.forward: subclasses of Layer implement forward")

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Add dL/d(parameter) into each ``.grad`` and return dL/dx, given dL/d(output)."""
        raise NotImplementedError(f"{type(self).__name__}.backward: subclasses of Layer implement backward")

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def extra_repr(self) -> str:
        """The text between the parentheses of ``repr(layer)``; override to describe the layer."""
        return ""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.extra_repr()})"


class Dense(Layer):
    """Fully connected layer: every neuron sees every input feature.

    Parameters
    ----------
    in_features, out_features : int
        Sizes of each input sample and each output sample.
    activation : str or Activation, default "relu"
        One of ``neurolab.activations.ACTIVATIONS`` or an ``Activation`` object.
    init : str or callable, optional
        Weight initialiser (``neurolab.init``); by default ``he_normal`` for relu and
        leaky_relu, ``xavier_uniform`` otherwise. Biases start at zero.
    rng : None, int or numpy.random.Generator
        Source of the initial weights.
    dtype : float32 (default) or float64

    Attributes
    ----------
    weight : Parameter, shape (out_features, in_features)
        Row ``i`` holds the incoming weights of neuron ``i``.
    bias : Parameter, shape (out_features,)
    x, z, a : ndarray or None
        The last batch's input ``X (N, in)``, pre-activation ``Z (N, out)`` and activation
        ``A (N, out)``.
    grad_z : ndarray or None
        The last backward pass's dL/dZ ``(N, out)``: the error (delta) of each neuron.
    neurons : sequence of Neuron
        ``neurons[i]`` is a view of neuron ``i``: its weights, bias, gradients and its column
        of ``z``, ``a`` and ``grad_z`` share memory with the layer.

    Notes
    -----
    With N samples per batch::

        forward   Z  = X @ W.T + b          (N, out)
                  A  = f(Z)                 (N, out)
        backward  dZ = dA * f'(Z)           (N, out)   the error (delta) of each neuron
                  dW = dZ.T @ X             (out, in)  added to weight.grad
                  db = dZ.sum(axis=0)       (out,)     added to bias.grad
                  dX = dZ @ W               (N, in)

    In the code, ``dZ`` is ``grad_z`` and ``dA`` is ``grad_a``; ``f'(Z)`` is taken by the
    activation's ``backward``, which for softmax (not elementwise) is a Jacobian product.
    """

    # What forward keeps of the last batch for backward and the views: an array after a
    # forward pass, None before (typed Any so that backward reads as its equations).
    x: Any
    z: Any
    a: Any
    grad_z: Any

    def __init__(
        self,
        in_features: int,
        out_features: int,
        activation="relu",
        *,
        init=None,
        rng=None,
        dtype=np.float32,
    ) -> None:
        super().__init__()
        self.in_features = positive_int(in_features, "in_features", "Dense")
        self.out_features = positive_int(out_features, "out_features", "Dense")
        self.activation = _activations.get(activation)
        dtype = float_dtype(dtype, "Dense")
        self.init = init if init is not None else _init.default_for(self.activation.name)
        shape = (self.out_features, self.in_features)
        weight = _init.initial_weight(self.init, shape, as_generator(rng, "Dense"), dtype, "Dense")
        self.weight = self.add_parameter("weight", weight)
        self.bias = self.add_parameter("bias", np.zeros(self.out_features, dtype=dtype))
        self.x = self.z = self.a = self.grad_z = None
        self.neurons = NeuronViews(self)

    @property
    def dtype(self) -> np.dtype:
        return self.weight.dtype

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``A = f(X @ W.T + b)`` of shape ``(N, out_features)`` for ``x`` of shape ``(N, in_features)``."""
        self.x = self._check_input(x, "forward")
        self.z = self.x @ self.weight.value.T + self.bias.value  # Z = X @ W.T + b
        self.a = self.activation.forward(self.z)  # A = f(Z)
        self.grad_z = None  # the errors of an earlier batch do not belong to this one
        return self.a

    def backward(self, grad_a: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:  # type: ignore[override]  # None only when asked, by input_grad=False
        """Add dL/dW and dL/db into the gradients; return dL/dX ``(N, in_features)``.

        ``input_grad=False`` skips the last product and returns None: a network passes it to
        its first layer with parameters, whose dL/dX nobody reads.
        """
        self._check_grad(grad_a)
        self.grad_z = self.activation.backward(self.z, self.a, grad_a)  # dZ = dA * f'(Z)
        self.weight.grad += self.grad_z.T @ self.x  # dW = dZ.T @ X
        self.bias.grad += self.grad_z.sum(axis=0)  # db = dZ.sum(axis=0)
        if not input_grad:
            return None
        return self.grad_z @ self.weight.value  # dX = dZ @ W

    def _check_grad(self, grad_a) -> None:
        if self.z is None:
            raise RuntimeError(f"{self!r}.backward: expected a forward pass first, got none")
        if getattr(grad_a, "shape", None) != self.z.shape:
            raise ValueError(
                f"{self!r}.backward: expected grad_a of shape {self.z.shape} (the last output), "
                f"got {getattr(grad_a, 'shape', type(grad_a).__name__)}"
            )

    def _check_input(self, x, method: str) -> np.ndarray:
        """Return ``x`` as a ``(N, in_features)`` array of the layer's dtype (no copy when it is one)."""
        return feature_batch(x, self.in_features, self.dtype, f"{self!r}.{method}")

    def astype(self, dtype) -> "Dense":
        super().astype(dtype)
        self.x = self.z = self.a = self.grad_z = None  # the last batch's arrays have the old dtype
        return self

    def get_config(self) -> dict:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "activation": _activations.spec(self.activation),
            "dtype": self.dtype.name,
        }

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, activation={_activations.short_repr(self.activation)}"


class Dropout(Layer):
    """Inverted dropout: in training, zero each input with probability ``p`` and scale the rest.

    Parameters
    ----------
    p : float in [0, 1)
        Probability of dropping each input.
    rng : None, int or numpy.random.Generator
        Source of the masks (its state advances with every training batch).

    Notes
    -----
    In training mode, with ``M`` a fresh mask per batch::

        forward   M  = (U >= p) / (1 - p),  U ~ Uniform[0, 1)   (N, F)
                  Y  = X * M                                    (N, F)
        backward  dX = dY * M                                   (N, F)

    In evaluation mode (``layer.eval()``; ``predict`` and ``evaluate`` use it) ``Y = X``:
    the scaling in training keeps the expected activation the same in both modes.
    """

    mask: Any  # M of the last training batch, None in evaluation mode

    def __init__(self, p: float = 0.5, *, rng=None) -> None:
        super().__init__()
        if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p < 1:
            raise ValueError(f"Dropout: expected p in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = as_generator(rng, "Dropout")
        self.mask = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``X * M`` in training mode, ``X`` in evaluation mode."""
        if not self.training or self.p == 0:
            self.mask = None
            return x
        dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float32
        keep = self.rng.random(x.shape, dtype=dtype) >= self.p  # U >= p
        self.mask = keep.astype(dtype) * (1 / (1 - self.p))  # M = (U >= p) / (1 - p)
        return x * self.mask  # Y = X * M

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``dX = dY * M`` (``dY`` in evaluation mode)."""
        if self.mask is None:
            return grad_out
        return grad_out * self.mask  # dX = dY * M

    def get_config(self) -> dict:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Rescale(Layer):
    """``Y = X * scale + offset`` in a float dtype: turns raw pixels into network inputs.

    Keeping a dataset as uint8 and putting ``Rescale(1 / 255)`` first converts each batch as it
    is used (a quarter of the memory of a float32 copy), and a saved model then takes raw
    images. It has no parameters.

    Notes
    -----
    ::

        forward   Y  = X * scale + offset     (N, F)
        backward  dX = dY * scale             (N, F)
    """

    def __init__(self, scale: float, offset: float = 0.0, *, dtype=np.float32) -> None:
        super().__init__()
        for name, value in (("scale", scale), ("offset", offset)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise ValueError(f"Rescale: expected {name} to be a finite number, got {value!r}")
        self.scale = float(scale)
        self.offset = float(offset)
        self.dtype = float_dtype(dtype, "Rescale")

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Return ``Y = X * scale + offset``, computed in the layer's dtype."""
        y = np.multiply(x, self.scale, dtype=self.dtype)  # X * scale: uint8 pixels become floats in this one pass
        return y + self.offset if self.offset else y

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """Return ``dX = dY * scale``."""
        return grad_out * self.scale

    def astype(self, dtype) -> "Rescale":
        self.dtype = float_dtype(dtype, "Rescale.astype")
        return self

    def get_config(self) -> dict:
        return {"scale": self.scale, "offset": self.offset, "dtype": self.dtype.name}

    def extra_repr(self) -> str:
        offset = f", offset={self.offset}" if self.offset else ""
        return f"scale={self.scale:g}{offset}"
