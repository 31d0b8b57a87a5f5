"""Every backward pass against central finite differences (float64), over random shapes and values.

Tolerance policy (see neurolab/gradcheck.py): eps = 1e-6, |analytical - numerical| <=
1e-7 + 1e-5 |numerical|, inputs bounded (|x| <= 2, logits |z| <= 5), ReLU-like
pre-activations kept at least 1e-3 from the kink by the strategies, never by looser tolerances.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import neurolab as nl
from neurolab.gradcheck import check_activation, check_layer, check_loss, check_network
from neurolab.testing import assert_layer_gradients, away_from_kinks, float_arrays, layer_inputs

from ..strategies import (
    ACTIVATION_NAMES,
    ELEMENTWISE_NAMES,
    KINKED,
    clear_of_kinks,
    cnn_cases,
    configured_activations,
    conv_cases,
    dense_cases,
    dense_clear_of_kinks,
    layer_clear_of_kinks,
    loss_cases,
    network_cases,
    network_clear_of_kinks,
    pool_cases,
    randomize_bias,
    reshape_cases,
    seeds,
    shapes_2d,
    shift_cases,
)


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@given(z=float_arrays(shapes_2d(), -6, 6), seed=seeds, data=st.data())
def test_activation_backward(name, z, seed, data):
    """Each activation, with its settings drawn (LeakyReLU's slope), agrees with finite differences."""
    if name in KINKED:
        assume(clear_of_kinks(z))
    activation = data.draw(configured_activations([name]), label="activation")
    check_activation(activation, z, seed=seed % 1000)


@given(case=loss_cases())
def test_loss_backward(case):
    loss, prediction, target = case
    check_loss(loss, prediction, target)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@given(data=st.data())
def test_dense_backward(activation, data):
    layer, x = data.draw(dense_cases(activations=[activation]))
    assume(dense_clear_of_kinks(layer, x))
    check_layer(layer, x)


@pytest.mark.parametrize("activation", [n for n in ACTIVATION_NAMES if n != "softmax"])
@given(in_features=st.integers(1, 6), x_seed=seeds, seed=seeds, n=st.integers(1, 5), data=st.data())
def test_standalone_neuron_backward(activation, in_features, x_seed, seed, n, data):
    configured = data.draw(configured_activations([activation]), label="activation")
    neuron = nl.Neuron(in_features, configured, rng=seed)
    neuron.bias = np.random.default_rng(seed).standard_normal()
    x = np.random.default_rng(x_seed).uniform(-2, 2, (n, in_features))
    if activation in KINKED:
        assume(clear_of_kinks(x @ neuron.weights.astype(np.float64) + float(neuron.bias)))
    check_layer(neuron, x)


@given(data=st.data())
def test_neuron_view_backward(data):
    layer, x = data.draw(dense_cases(activations=[n for n in ACTIVATION_NAMES if n != "softmax"]))
    assume(dense_clear_of_kinks(layer, x))
    index = data.draw(st.integers(0, layer.out_features - 1))
    check_layer(layer.neurons[index], x)


@given(case=network_cases())
def test_network_backward(case):
    net, X, y = case
    assume(network_clear_of_kinks(net, X))
    check_network(net, X, y)


def test_assert_layer_gradients_accepts_dense():
    def make(in_features, rng):
        layer = nl.Dense(in_features, 3, "relu", rng=rng)
        randomize_bias(layer, rng)
        return layer

    assert_layer_gradients(make, where=away_from_kinks(), max_examples=20)


@given(p=st.floats(0.0, 0.9), seed=seeds, data=st.data())
def test_dropout_backward_in_training_mode(p, seed, data):
    layer = nl.Dropout(p, rng=seed)
    _, x = data.draw(layer_inputs())
    check_layer(layer, x)  # every forward starts from the same Generator state: the same mask


@given(scale=st.floats(-3, 3), offset=st.floats(-1, 1), data=st.data())
def test_rescale_backward(scale, offset, data):
    _, x = data.draw(layer_inputs())
    check_layer(nl.Rescale(scale, offset), x)


@given(case=network_cases(), p=st.floats(0.1, 0.7), seed=seeds)
def test_network_with_dropout_backward(case, p, seed):
    net, X, y = case
    layers = [net.layers[0], nl.Dropout(p, rng=seed), *net.layers[1:]]
    net = nl.NeuralNetwork(layers, net.loss)
    assume(network_clear_of_kinks(net, X))
    check_network(net, X, y)


# ---------------------------------------------------------------- image layers (neurolab.conv)


@given(case=conv_cases(activations=ELEMENTWISE_NAMES))
def test_conv2d_backward(case):
    """Random channels, kernels (non-square too), strides and paddings (ints and pairs), sizes that do not
    tile, and every elementwise activation with its settings drawn (one test: a case costs ~100 forward passes)."""
    layer, x = case
    assume(layer_clear_of_kinks(layer, x))
    check_layer(layer, x)


@given(case=pool_cases())
def test_maxpool2d_backward(case):
    """Overlapping windows, gaps between them and left-over rows included; the values have no ties
    (the maximum's choice jumps at a tie, like ReLU at 0: see pool_cases)."""
    layer, x = case
    check_layer(layer, x)


@given(case=reshape_cases(), flatten=st.booleans())
def test_reshape_and_flatten_backward(case, flatten):
    layer, x = case
    check_layer(nl.Flatten() if flatten else layer, x)


@given(case=shift_cases())
def test_random_shift_backward_in_training_mode(case):
    layer, x = case
    check_layer(layer, x)  # every forward starts from the same Generator state: the same shifts


@given(case=cnn_cases())
def test_cnn_backward(case):
    """[Reshape,] [RandomShift,] Conv2D, [MaxPool2D,] Flatten, Dense: dL/dX and every parameter."""
    net, X, y = case
    assume(network_clear_of_kinks(net, X))
    check_network(net, X, y)
