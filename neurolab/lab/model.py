"""What the page sees of a network: its layers, its input, and one forward pass through all of them.

Everything here reads the network and changes nothing in it: forward passes run on shallow
copies of the layers in evaluation mode (as ``predict`` does), so the layers keep their
last batch and their modes, and nothing random is drawn.

Pixels and inputs
-----------------
A network whose input is 784 features is shown as a 28x28 image, and the page speaks in
pixels from 0 (black) to 255 (white ink). A pixel ``p`` becomes the input::

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

import numpy as np

from ..analysis import _layer_outputs
from ..layer import Dense, Rescale
from ..network import NeuralNetwork

PIXELS = 784  # a network with this many inputs is shown as an image
IMAGE_SHAPE = (28, 28)


def input_features(network: NeuralNetwork, given: int | None, where: str) -> int:
    """The width of one input sample: ``given``, else the first ``in_features`` a layer declares.

    The width is checked by running one zero sample through copies of the layers, so a
    layer before the first ``Dense`` that changes the width is caught here, with a fix.
    """
    width = given
    if width is None:
        declared = (getattr(layer, "in_features", None) for layer in network.layers)
        width = next((w for w in declared if isinstance(w, int) and not isinstance(w, bool)), None)
    if width is None:
        raise ValueError(
            f"{where}: expected a layer that declares in_features (such as Dense), got none in "
            f"{[type(layer).__name__ for layer in network.layers]}; pass input_features=..."
        )
    try:
        layer_widths(network, width)
    except Exception as error:  # any layer's own error: say which width was tried, and the fix
        raise ValueError(
            f"{where}: expected one sample of {width} features to pass through the network, got "
            f"{type(error).__name__}: {error}; pass input_features=... with the width it takes"
        ) from None
    return width


def layer_widths(network: NeuralNetwork, width: int) -> list[int]:
    """The output width of every layer, from a forward pass of one zero sample."""
    outputs = forward(network, np.zeros((1, width)))
    return [out.shape[1] for out in outputs]


def forward(network: NeuralNetwork, X: np.ndarray) -> list[np.ndarray]:
    """Every layer's output ``A`` for ``X`` ``(N, features)``, first layer first, in evaluation mode.

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


def describe_layers(network: NeuralNetwork, width: int) -> list[dict]:
    """One entry per layer of ``network.layers``: what the page needs to draw it."""
    widths = layer_widths(network, width)
    described = []
    for i, (layer, units) in enumerate(zip(network.layers, widths)):
        activation = getattr(layer, "activation", None)
        dense = isinstance(layer, Dense)
        described.append({
            "index": i,
            "class": type(layer).__name__,
            "repr": repr(layer),
            "units": units,
            "activation": getattr(activation, "name", None),
            "neurons": dense,  # Dense layers have neurons (layer.neurons[j]) to click and explain
            "explainable": dense and layer.activation.elementwise,
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


def check_data(network: NeuralNetwork, data, width: int, name: str, where: str) -> tuple[np.ndarray, np.ndarray]:
    """``data = (X, y)`` checked as the network takes it: ``X`` ``(N, width)`` of finite numbers, ``y`` its targets."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{where}: expected {name} as a pair (X, y), got {type(data).__name__}")
    X, y = np.asarray(data[0]), np.asarray(data[1])
    if X.dtype.kind not in "biuf" or X.ndim != 2 or X.shape[1] != width or X.shape[0] == 0:
        raise ValueError(
            f"{where}: expected {name} X of shape (N, {width}) holding numbers, N >= 1, got shape "
            f"{X.shape} and dtype {X.dtype}"
        )
    if not np.isfinite(X).all():
        raise ValueError(f"{where}: expected {name} X to hold finite numbers, got NaN or infinity")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise ValueError(f"{where}: expected {name} y with one target per sample ({X.shape[0]}), got shape {y.shape}")
    outputs = layer_widths(network, width)[-1]
    try:
        network.loss.check_target(y, outputs, X.shape[0])
    except (TypeError, ValueError) as error:
        raise type(error)(f"{where}: expected {name} y as the loss takes it: {error}") from None
    return X, y
