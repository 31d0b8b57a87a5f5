"""Hypothesis strategies shared by the tests (public ones live in neurolab.testing)."""

import copy

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import neurolab as nl
from neurolab.testing import float_arrays, layer_inputs

ACTIVATION_NAMES = sorted(nl.activations.ACTIVATIONS)
ELEMENTWISE_NAMES = [n for n in ACTIVATION_NAMES if nl.activations.get(n).elementwise]
KINKED = {"relu", "leaky_relu"}
KINK_MARGIN = 1e-3  # a thousand finite-difference steps (eps = 1e-6) away from the kink

seeds = st.integers(0, 2**32 - 1)
sizes = st.integers(1, 6)
batch_sizes = st.integers(1, 5)

# The settings of each activation that takes any, drawn wherever activations are, so that no
# property test sees only the defaults. LeakyReLU accepts any finite negative_slope >= 0: 0 (a
# ReLU), small leaks, the default, 1 (the identity) and steeper slopes, drawn up to 2: steeper
# ones test nothing new and only grow the outputs of a stack, layer after layer.
ACTIVATION_OPTIONS = {
    "leaky_relu": {"negative_slope": st.sampled_from([0.0, 0.01, 1.0, 2.0]) | st.floats(0.0, 2.0)},
}


@st.composite
def configured_activations(draw, names=ACTIVATION_NAMES):
    """An ``Activation`` named one of ``names``, its settings drawn from ``ACTIVATION_OPTIONS``."""
    name = draw(st.sampled_from(names))
    options = draw(st.fixed_dictionaries(ACTIVATION_OPTIONS.get(name, {})))
    return nl.activations.get({"name": name, **options})


def shapes_2d(max_side=6):
    return st.tuples(st.integers(1, max_side), st.integers(1, max_side))


def clear_of_kinks(z) -> bool:
    return bool(np.all(np.abs(z) > KINK_MARGIN))


def randomize_bias(layer, rng) -> None:
    """Give a Dense layer non-zero biases, so a zero input row does not sit on the ReLU kink."""
    layer.bias.value[...] = rng.standard_normal(layer.bias.value.shape)


@st.composite
def dense_cases(draw, activations=ACTIVATION_NAMES, dtype=np.float32):
    """``(layer, x)``: a Dense layer with random weights, biases and activation settings, and an input batch."""
    activation = draw(configured_activations(activations))
    in_features, x = draw(layer_inputs())
    out = draw(sizes)
    rng = np.random.default_rng(draw(seeds))
    layer = nl.Dense(in_features, out, activation, rng=rng, dtype=dtype)
    randomize_bias(layer, rng)
    return layer, x


@st.composite
def classification_targets(draw, n, k):
    """Integer labels ``(n,)`` in [0, k) or probability rows ``(n, k)``."""
    if draw(st.booleans()):
        return np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)), dtype=np.int64)
    logits = draw(float_arrays((n, k), -3, 3))
    return nl.activations.softmax(logits)


@st.composite
def loss_cases(draw):
    """``(loss, prediction, target)`` for every built-in loss and each target form it accepts."""
    name = draw(st.sampled_from(sorted(nl.losses.LOSSES)))
    n = draw(batch_sizes)
    k = draw(st.integers(2, 5)) if name == "cross_entropy" else draw(st.integers(1, 5))
    prediction = draw(float_arrays((n, k), -5, 5))
    if name == "cross_entropy":
        target = draw(classification_targets(n, k))
    elif name == "binary_cross_entropy":
        target = draw(float_arrays((n, k), 0, 1))
    elif k > 1 and draw(st.booleans()):
        target = np.array(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    else:
        target = draw(float_arrays((n, k), -3, 3))
    if k == 1 and name != "cross_entropy" and draw(st.booleans()):
        target = target.reshape(-1)  # (N,) targets for a single output
    return nl.losses.get(name), prediction, target


@st.composite
def network_cases(draw, max_layers=3):
    """``(net, X, y)``: a float32 Dense stack with random sizes, activations (and their settings) and loss."""
    loss = draw(st.sampled_from(sorted(nl.losses.LOSSES)))
    depth = draw(st.integers(1, max_layers))
    widths = [draw(sizes) for _ in range(depth)]
    n_out = draw(st.integers(2, 4)) if loss == "cross_entropy" else draw(st.integers(1, 3))
    widths[-1] = n_out
    in_features, X = draw(layer_inputs())
    rng = np.random.default_rng(draw(seeds))
    layers = []
    fan_in = in_features
    for i, width in enumerate(widths):
        last = i == depth - 1
        hidden = [n for n in ELEMENTWISE_NAMES if n != "identity"] + ["identity"]
        activation = "identity" if last and loss != "mse" else draw(configured_activations(hidden))
        layer = nl.Dense(fan_in, width, activation, rng=rng)
        randomize_bias(layer, rng)
        layers.append(layer)
        fan_in = width
    y = draw(network_targets(loss, X.shape[0], n_out))
    return nl.NeuralNetwork(layers, loss=loss), X, y


@st.composite
def network_targets(draw, loss, n, n_out):
    """Targets ``y`` for ``n`` samples and ``n_out`` outputs, as ``loss`` takes them."""
    if loss == "cross_entropy":
        return draw(classification_targets(n, n_out))
    if loss == "binary_cross_entropy":
        return (draw(float_arrays((n, n_out), 0, 1)) > 0.5).astype(np.float64)
    return draw(float_arrays((n, n_out), -2, 2))


def dense_clear_of_kinks(layer, x) -> bool:
    """True unless ``layer`` is ReLU-like with a pre-activation within KINK_MARGIN of 0 (in float64)."""
    if layer.activation.name not in KINKED:
        return True
    w = layer.weight.value.astype(np.float64)
    b = layer.bias.value.astype(np.float64)
    return clear_of_kinks(np.asarray(x, dtype=np.float64) @ w.T + b)


def network_clear_of_kinks(net, X) -> bool:
    """True unless, for ``X`` (in float64), some ReLU-like layer of ``net`` has a pre-activation near 0
    or some MaxPool2D window a near tie (a maximum is a kink too: see ``pool_clear_of_ties``)."""
    net64 = copy.deepcopy(net).astype(np.float64)
    net64.forward(np.asarray(X, dtype=np.float64))
    return all(
        (getattr(getattr(layer, "activation", None), "name", None) not in KINKED or clear_of_kinks(layer.z))
        and (not isinstance(layer, nl.MaxPool2D) or pool_clear_of_ties(layer, layer.x))
        for layer in net64.layers
    )


def layer_clear_of_kinks(layer, x) -> bool:
    """True unless ``layer`` (a Conv2D, say) is ReLU-like with a pre-activation ``z`` within KINK_MARGIN
    of 0 for ``x``, computed by a float64 copy of the layer."""
    if layer.activation.name not in KINKED:
        return True
    layer64 = copy.deepcopy(layer).astype(np.float64)
    layer64.forward(np.asarray(x, dtype=np.float64))
    return clear_of_kinks(layer64.z)


# -- image layers (neurolab.conv) -------------------------------------------------------------
# Images are (N, C, H, W). Sizes stay small (a gradient check runs two forward passes per input
# and parameter entry) but cover what the code treats separately: several samples and
# channels, non-square kernels, strides > 1, paddings > 0, each given as an int or a pair, and
# sizes where the last window does not fit, so that rows and columns are left out.


def as_pair(value) -> tuple:
    """``(k, k)`` for an int ``k``, the pair itself otherwise: how the layers read their arguments."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def ints_or_pairs(low, high):
    """An int in [low, high] or a pair of them (kernel sizes, strides, paddings take both)."""
    return st.integers(low, high) | st.tuples(st.integers(low, high), st.integers(low, high))


@st.composite
def conv_arguments(draw, max_channels=3, max_kernel=3, max_stride=3, max_padding=2):
    """Keyword arguments of a Conv2D: channels, kernel size, stride and padding (each an int or a pair)."""
    return {
        "in_channels": draw(st.integers(1, max_channels)),
        "out_channels": draw(st.integers(1, max_channels)),
        "kernel_size": draw(ints_or_pairs(1, max_kernel)),
        "stride": draw(ints_or_pairs(1, max_stride)),
        "padding": draw(ints_or_pairs(0, max_padding)),
    }


@st.composite
def image_batches(draw, channels, min_size=(1, 1), max_side=6, max_batch_size=3, low=-2.0, high=2.0):
    """float64 images ``(N, channels, H, W)`` with ``H, W`` at least ``min_size`` and at most ``max_side``
    (``min_size`` wins if larger), values in [low, high]."""
    n = draw(st.integers(1, max_batch_size))
    height = draw(st.integers(min_size[0], max(min_size[0], max_side)))
    width = draw(st.integers(min_size[1], max(min_size[1], max_side)))
    return draw(float_arrays((n, channels, height, width), low, high))


@st.composite
def conv_cases(draw, activations=ELEMENTWISE_NAMES, dtype=np.float32, max_batch_size=2, max_side=5, max_padding=2):
    """``(layer, x)``: a Conv2D (channels, kernel, stride, padding, weights, biases and activation
    settings drawn) and images ``x`` it can take: at least one window fits once padded, and
    the input may be smaller than the kernel when padding makes room."""
    arguments = draw(conv_arguments(max_padding=max_padding))
    (kh, kw), (ph, pw) = as_pair(arguments["kernel_size"]), as_pair(arguments["padding"])
    smallest = (max(1, kh - 2 * ph), max(1, kw - 2 * pw))
    x = draw(image_batches(arguments["in_channels"], smallest, max_side, max_batch_size))
    activation = draw(configured_activations(activations))
    rng = np.random.default_rng(draw(seeds))
    layer = nl.Conv2D(**arguments, activation=activation, rng=rng, dtype=dtype)
    randomize_bias(layer, rng)  # windows that see only padding (or zeros) then sit at the bias, off the kink
    return layer, x


def distinct_values(rng, shape, low=-2.0, high=2.0) -> np.ndarray:
    """float64 values of ``shape`` in [low, high], all different, at least 4 / size apart (> 1e-2
    for the sizes drawn here): no window has a tie or a near tie."""
    size = int(np.prod(shape))
    steps = rng.permutation(size).reshape(shape)
    return low + (high - low) * (steps + 0.5) / size


@st.composite
def pool_cases(draw, ties=False, max_batch_size=2, max_side=6, max_kernel=3, max_stride=3):
    """``(layer, x)``: a MaxPool2D (kernel an int or a pair, stride None, an int or a pair) and images.

    ``ties=False``: all values differ, by far more than the kink margin (gradient checks);
    ``ties=True``: values from {-2, -1, 0, 1, 2}, so windows hold ties (the first maximum wins).
    """
    kernel = draw(ints_or_pairs(1, max_kernel))
    stride = draw(st.none() | ints_or_pairs(1, max_stride))
    (kh, kw) = as_pair(kernel)
    channels = draw(st.integers(1, 3))
    n = draw(st.integers(1, max_batch_size))
    shape = (n, channels, draw(st.integers(kh, max(kh, max_side))), draw(st.integers(kw, max(kw, max_side))))
    if ties:
        x = draw(arrays(np.int64, shape, elements=st.integers(-2, 2))).astype(np.float64)
    else:
        x = distinct_values(np.random.default_rng(draw(seeds)), shape)
    return nl.MaxPool2D(kernel, stride), x


def pool_clear_of_ties(layer, x) -> bool:
    """True unless a window of the MaxPool2D ``layer`` over ``x`` has its two largest entries within
    KINK_MARGIN: there the maximum's choice, and so the gradient, jumps.

    Equal zeros are the one tie allowed: after a ReLU they are its flat side (``z`` itself is
    kept off the kink), which no finite-difference step moves.
    """
    (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
    x = np.asarray(x, dtype=np.float64)
    if kh * kw == 1:
        return True
    windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
    ordered = np.sort(windows.reshape(*windows.shape[:4], kh * kw), axis=-1)
    first, second = ordered[..., -1], ordered[..., -2]
    return bool(np.all((first - second > KINK_MARGIN) | ((first == 0) & (second == 0))))


@st.composite
def shift_cases(draw, max_shift=3, max_batch_size=3, max_side=5):
    """``(layer, x)``: a RandomShift (``max_shift`` from 0, possibly beyond the image's side, seeded) and images."""
    layer = nl.RandomShift(draw(st.integers(0, max_shift)), rng=draw(seeds))
    x = draw(image_batches(draw(st.integers(1, 2)), (1, 1), max_side, max_batch_size))
    return layer, x


@st.composite
def reshape_cases(draw):
    """``(layer, x)``: a Reshape to a random regrouping of each sample's sizes, and a batch ``x`` of any rank."""
    dims = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    n = draw(st.integers(1, 3))
    x = draw(float_arrays((n, *dims)))
    size = int(np.prod(dims))
    divisors = [d for d in range(1, size + 1) if size % d == 0]
    first = draw(st.sampled_from(divisors))
    shape = draw(st.sampled_from([(size,), (first, size // first), (size // first, 1, first)]))
    return nl.Reshape(shape), x


@st.composite
def cnn_cases(draw, shift=True):
    """``(net, X, y)``: a small float32 CNN: [Reshape,] [RandomShift,] Conv2D, [MaxPool2D,] Flatten, Dense.

    X comes as images, or as flat rows behind a Reshape; the convolution's sizes, activation
    (settings drawn) and the loss are random; ``shift=False`` leaves out RandomShift.
    """
    loss = draw(st.sampled_from(sorted(nl.losses.LOSSES)))
    arguments = draw(conv_arguments(max_channels=2, max_padding=1))
    (kh, kw), (ph, pw) = as_pair(arguments["kernel_size"]), as_pair(arguments["padding"])
    images = draw(image_batches(arguments["in_channels"], (max(1, kh - 2 * ph), max(1, kw - 2 * pw)), 4, 2))
    rng = np.random.default_rng(draw(seeds))
    hidden = [n for n in ELEMENTWISE_NAMES if n != "identity"] + ["identity"]
    conv = nl.Conv2D(**arguments, activation=draw(configured_activations(hidden)), rng=rng)
    randomize_bias(conv, rng)
    n, c, height, width = images.shape
    layers, X = [conv], images
    if shift and draw(st.booleans()):
        layers.insert(0, nl.RandomShift(draw(st.integers(1, 2)), rng=draw(seeds)))
    if draw(st.booleans()):
        layers.insert(0, nl.Reshape((c, height, width)))
        X = images.reshape(n, -1)
    out_shape = conv.output_shape(height, width)
    if draw(st.booleans()):
        kernel = (draw(st.integers(1, min(2, out_shape[1]))), draw(st.integers(1, min(2, out_shape[2]))))
        pool = nl.MaxPool2D(kernel, draw(st.none() | st.integers(1, 2)))
        layers.append(pool)
        out_shape = pool.forward(np.zeros((1, *out_shape))).shape[1:]
    n_out = 2 if loss == "cross_entropy" else draw(st.integers(1, 2))  # the Dense weights dominate a check's cost
    last = "identity" if loss != "mse" else draw(st.sampled_from(["identity", "tanh"]))
    dense = nl.Dense(int(np.prod(out_shape)), n_out, last, rng=rng)
    randomize_bias(dense, rng)
    layers += [nl.Flatten(), dense]
    return nl.NeuralNetwork(layers, loss=loss), X, draw(network_targets(loss, n, n_out))
