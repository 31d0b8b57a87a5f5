"""Hypothesis strategies shared by the tests (public ones live in neurolab.testing)."""

import numpy as np
from hypothesis import strategies as st

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
    n = X.shape[0]
    if loss == "cross_entropy":
        y = draw(classification_targets(n, n_out))
    elif loss == "binary_cross_entropy":
        y = (draw(float_arrays((n, n_out), 0, 1)) > 0.5).astype(np.float64)
    else:
        y = draw(float_arrays((n, n_out), -2, 2))
    return nl.NeuralNetwork(layers, loss=loss), X, y


def dense_clear_of_kinks(layer, x) -> bool:
    """True unless ``layer`` is ReLU-like with a pre-activation within KINK_MARGIN of 0 (in float64)."""
    if layer.activation.name not in KINKED:
        return True
    w = layer.weight.value.astype(np.float64)
    b = layer.bias.value.astype(np.float64)
    return clear_of_kinks(np.asarray(x, dtype=np.float64) @ w.T + b)


def network_clear_of_kinks(net, X) -> bool:
    """True unless some ReLU-like layer of ``net`` has a pre-activation near 0 for ``X`` (in float64)."""
    import copy

    net64 = copy.deepcopy(net).astype(np.float64)
    net64.forward(np.asarray(X, dtype=np.float64))
    return all(
        getattr(getattr(layer, "activation", None), "name", None) not in KINKED or clear_of_kinks(layer.z)
        for layer in net64.layers
    )
