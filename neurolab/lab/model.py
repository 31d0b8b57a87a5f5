"""What the page sees of a network: its layers, its input, and one forward pass through all of them.

Everything here reads the network and changes nothing in it: forward passes run on shallow
copies of the layers in evaluation mode (as ``predict`` does), so the layers keep their
last batch and their modes, and nothing random is drawn.

The input
---------
The lab takes one sample as a flat list of numbers and gives it the shape of one input
sample of the network (:func:`input_shape`), in C order: a flat row ``(784,)`` as it is, or
``(1, 28, 28)`` for a network whose first layer is a ``Conv2D``.

Pixels and inputs
-----------------
A network whose input is 784 pixels (a flat row, a 28x28 image or one channel of one) is
shown as a 28x28 image, and the page speaks in pixels from 0 (black) to 255 (white ink). A
pixel ``p`` becomes the input::

    x = low + p * (high - low) / 255

where ``(low, high)`` is, first found of:

1. ``net.input_range``, the smallest and largest input value ``fit`` saw (MNIST's images
   hold both 0 and 255, so this is the training scale: ``(0, 255)`` for a network with
   ``Rescale(1 / 255)`` inside, which takes raw pixels; ``(0, 1)`` for one trained on
   pixels divided by 255; ``(-1, 1)`` for one trained on ``pixels / 127.5 - 1``);
2. ``(0, 255)`` when ``layers[0]`` is a ``Rescale`` (a network that takes raw pixels);
3. ``(0, 1)`` otherwise.

Both ends are exact: ``(0, 255)`` gives ``x = p`` and ``(0, 1)`` gives ``x = p / 255``.
"""

from __future__ import annotations

import math

import numpy as np

from ..analysis import _layer_outputs
from ..conv import Conv2D, Reshape
from ..layer import Dense, Rescale
from ..network import NeuralNetwork

PIXELS = 784  # a network with this many inputs, in one of IMAGE_INPUTS, is shown as an image
IMAGE_SHAPE = (28, 28)
IMAGE_INPUTS = ((784,), (28, 28), (1, 28, 28))  # one sample's shapes that hold a 28x28 image, pixels in C order


def input_shape(network: NeuralNetwork, given: int | None, where: str) -> tuple[int, ...]:
    """The shape of one input sample, first found of:

    1. ``(given,)``, the width passed as ``input_features``;
    2. the network's own, ``network._sample_shape()``: its first layer's ``(in_features,)``,
       else the shape ``fit`` recorded (``net.input_shape``), else its last batch's;
    3. for a network never run, the width the first layer that says so takes: a ``Dense``
       layer's ``in_features``, a ``Reshape``'s size (the layers before it are taken to keep
       the width; a layer that takes images, such as ``Conv2D``, stops the search: it does
       not say their height and width).

    The shape is checked by running one zero sample through copies of the layers, so a
    layer before the first ``Dense`` that changes the width is caught here, with a fix.
    """
    shape = (given,) if given is not None else network._sample_shape()
    if shape is None:
        shape = (_declared_width(network, where),)
    try:
        layer_shapes(network, shape)
    except Exception as error:  # any layer's own error: say which shape was tried, and the fix
        tried = f"{shape[0]} features" if len(shape) == 1 else f"shape {shape}"
        raise ValueError(
            f"{where}: expected one sample of {tried} to pass through the network, got "
            f"{type(error).__name__}: {error}; pass input_features=... with the width it takes, "
            "or set net.input_shape to the shape of one sample"
        ) from None
    return tuple(shape)


def _declared_width(network: NeuralNetwork, where: str) -> int:
    """The input width the first layer that declares one takes (Dense: ``in_features``; Reshape: its size)."""
    for i, layer in enumerate(network.layers):
        width = getattr(layer, "in_features", None)
        if isinstance(width, int) and not isinstance(width, bool):
            return width
        if isinstance(layer, Reshape):
            return math.prod(layer.shape)
        channels = getattr(layer, "in_channels", None)
        if isinstance(channels, int):
            raise ValueError(
                f"{where}: expected the shape of one input sample, got none: layers[{i}] {layer!r} takes images "
                f"(N, {channels}, H, W) of any size, and the network has not been trained; set "
                f"net.input_shape = ({channels}, 28, 28) (the shape of one sample) first"
            )
    raise ValueError(
        f"{where}: expected a layer that declares in_features (such as Dense), got none in "
        f"{[type(layer).__name__ for layer in network.layers]}; pass input_features=..."
    )


def is_image(shape: tuple[int, ...]) -> bool:
    """Whether one sample of this shape is a 28x28 image of pixels (the page's drawing pad)."""
    return tuple(shape) in IMAGE_INPUTS


def layer_shapes(network: NeuralNetwork, shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """The shape of one sample of every layer's output, from a forward pass of one zero sample of ``shape``."""
    outputs = forward(network, np.zeros((1, *shape)))
    return [out.shape[1:] for out in outputs]


def forward(network: NeuralNetwork, X: np.ndarray) -> list[np.ndarray]:
    """Every layer's output ``A`` ``(N, ...)`` for ``X`` ``(N, ...)``, first layer first, in evaluation mode.

    The same pass as ``nl.analysis.activations`` (and ``predict``): shallow copies of the
    layers, so the network's caches, modes and random generators are not touched.
    """
    indices = range(len(network.layers))
    outputs, _ = _layer_outputs(network, X, indices, max(X.shape[0], 1), "lab")
    return [outputs[i] for i in indices]


def output(network: NeuralNetwork, X: np.ndarray) -> np.ndarray:
    """The last layer's output ``(N, K)`` for ``X``: the same pass as :func:`forward`, keeping only its end."""
    last = len(network.layers) - 1
    outputs, _ = _layer_outputs(network, X, [last], max(X.shape[0], 1), "lab")
    return outputs[last]


def true_labels(y: np.ndarray) -> np.ndarray:
    """The class of each target ``(N,)``: the labels themselves, or of ``(N, K)`` targets the largest entry of each row (K > 1) or the column (K = 1)."""
    if y.ndim == 1:
        return y
    return y[:, 0] if y.shape[1] == 1 else y.argmax(axis=1)


def decisions(network: NeuralNetwork, out: np.ndarray) -> np.ndarray | None:
    """The class each row of the output ``out`` ``(N, K)`` stands for, or None for a network that does not classify.

    The labels of ``net.predict`` where the loss gives labels (``cross_entropy``;
    ``binary_cross_entropy`` with one output); otherwise the largest of several outputs (how
    ``examples/mnist.py`` reads the digit of an MSE network); None for one output read as a value.
    """
    decided = np.asarray(network.loss.predict(out))
    if decided.ndim == 1:
        return decided.astype(np.int64)
    if out.shape[1] > 1:
        return out.argmax(axis=1)
    return None


def pixel_range(network: NeuralNetwork) -> tuple[float, float, str]:
    """``(low, high, source)``: the inputs that pixels 0 and 255 stand for, and which rule gave them."""
    recorded = getattr(network, "input_range", None)
    if recorded is not None and recorded[1] > recorded[0]:
        return float(recorded[0]), float(recorded[1]), "input_range"
    if isinstance(network.layers[0], Rescale):
        return 0.0, 255.0, "rescale"
    return 0.0, 1.0, "default"


def pixels_to_inputs(network: NeuralNetwork, pixels: np.ndarray) -> np.ndarray:
    """``x = low + p * (high - low) / 255`` (see the module's docstring)."""
    low, high, _ = pixel_range(network)
    return low + pixels * (high - low) / 255


def inputs_to_pixels(network: NeuralNetwork, inputs: np.ndarray) -> np.ndarray:
    """``p = (x - low) * 255 / (high - low)``, the inverse of :func:`pixels_to_inputs`."""
    low, high, _ = pixel_range(network)
    return (np.asarray(inputs, dtype=np.float64) - low) * 255 / (high - low)


def describe_layers(network: NeuralNetwork, shape: tuple[int, ...]) -> list[dict]:
    """One entry per layer of ``network.layers``: what the page needs to draw it."""
    described = []
    for i, (layer, out_shape) in enumerate(zip(network.layers, layer_shapes(network, shape))):
        activation = getattr(layer, "activation", None)
        dense = isinstance(layer, Dense)
        described.append({
            "index": i,
            "class": type(layer).__name__,
            "repr": repr(layer),
            "units": math.prod(out_shape),
            "shape": list(out_shape),  # of one sample's output: (C, H, W) for a stack of feature maps
            "activation": getattr(activation, "name", None),
            "neurons": dense,  # Dense layers have neurons (layer.neurons[j]) to click and explain
            "explainable": dense and layer.activation.elementwise,
            "filters": isinstance(layer, Conv2D),  # a Conv2D's maps: filter j's weights from GET /api/weights
            "in_features": layer.in_features if dense else None,
            "parameters": int(sum(p.size for p in layer.parameters())),
            "dtype": dtype_name(layer),
        })
    return described


def dtype_name(layer) -> str | None:
    """The name of the float type the layer computes in (``"float32"``), or None for a layer that does not say.

    The page needs it to redo a product the way the layer does: in float32, ``w * delta`` is
    rounded to float32, and its sixth digit can differ from the float64 product's.
    """
    try:
        return np.dtype(getattr(layer, "dtype")).name
    except (AttributeError, TypeError):
        return None


def check_data(network: NeuralNetwork, data, shape: tuple[int, ...], name: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``data = (X, y)`` checked as the network takes it: ``X`` ``(N, *shape)`` of finite numbers, ``y`` its targets."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{where}: expected {name} as a pair (X, y), got {type(data).__name__}")
    X, y = np.asarray(data[0]), np.asarray(data[1])
    if X.dtype.kind not in "biuf" or X.shape[1:] != tuple(shape) or X.shape[0] == 0:
        raise ValueError(
            f"{where}: expected {name} X of shape (N, {', '.join(map(str, shape))}) holding numbers, N >= 1, got shape "
            f"{X.shape} and dtype {X.dtype}"
        )
    if not np.isfinite(X).all():
        raise ValueError(f"{where}: expected {name} X to hold finite numbers, got NaN or infinity")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"{where}: expected {name} y with one target per sample ({X.shape[0]}), got shape {y.shape}")
    outputs = layer_shapes(network, shape)[-1][0]
    try:
        network.loss.check_target(y, outputs, X.shape[0])
    except (TypeError, ValueError) as error:
        raise type(error)(f"{where}: expected {name} y as the loss takes it: {error}") from None
    return X, y
