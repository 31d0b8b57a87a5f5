"""explain(): every number of a neuron's trace agrees with backward and with finite differences."""

import copy
import json

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import neurolab as nl
from neurolab.gradcheck import numerical_gradient

from ..strategies import ELEMENTWISE_NAMES, KINKED, network_clear_of_kinks, seeds


def make_net(loss, hidden_activation="tanh", out_activation=None, seed=0, dtype=np.float64, dropout=False):
    n_out = 1 if loss == "binary_cross_entropy" else 3
    out_activation = out_activation or ("identity" if loss != "mse" else "sigmoid")
    rng = np.random.default_rng(seed)
    layers = [nl.Dense(4, 5, hidden_activation, rng=rng, dtype=dtype)]
    if dropout:
        layers.append(nl.Dropout(0.5, rng=rng))
    layers += [nl.Dense(5, 4, hidden_activation, rng=rng, dtype=dtype), nl.Dense(4, n_out, out_activation, rng=rng, dtype=dtype)]
    for layer in layers:
        if isinstance(layer, nl.Dense):
            layer.bias.value[...] = rng.uniform(-0.5, 0.5, layer.bias.value.shape)
    return nl.NeuralNetwork(layers, loss)


def data(loss, n, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 4))
    if loss == "cross_entropy":
        y = rng.integers(0, 3, n)
    elif loss == "binary_cross_entropy":
        y = rng.integers(0, 2, n).astype(float)
    else:
        y = rng.uniform(0, 1, (n, 3))
    return X, y


def reference_gradients(net, X, y, layer, j):
    """What the network's own backward computes for neuron j of layer (on a copy)."""
    net = copy.deepcopy(net).eval()
    out = net.forward(X)
    net.loss.forward(out, y)
    net.zero_grad()
    net.backward(net.loss.backward())
    neuron = net.layers[layer].neurons[j]
    return neuron.z.copy(), neuron.a.copy(), neuron.delta.copy(), neuron.grad_weights.copy(), float(neuron.grad_bias)


@pytest.mark.parametrize("loss", sorted(nl.losses.LOSSES))
@pytest.mark.parametrize("layer", [0, 1, 2])
@pytest.mark.parametrize("n", [1, 3])
def test_trace_agrees_with_backward_and_finite_differences(loss, layer, n):
    net = make_net(loss)
    X, y = data(loss, n)
    j = 0
    trace = net.explain(X if n > 1 else X[0], y if n > 1 else y[0], layer=layer, neuron=j)
    z, a, delta, grad_w, grad_b = reference_gradients(net, X[:n], y[:n], layer, j)
    np.testing.assert_array_equal(trace.z, z)
    np.testing.assert_array_equal(trace.a, a)
    np.testing.assert_array_equal(trace.delta, delta)
    np.testing.assert_array_equal(trace.grad_weights, grad_w)
    assert trace.grad_bias == grad_b
    # the equations hold on the trace's own numbers
    np.testing.assert_allclose(trace.delta, trace.grad_a * trace.f_prime, rtol=1e-12)  # BP1 / BP2
    assert trace.grad_bias == pytest.approx(trace.delta.sum(), rel=1e-12)  # BP3
    np.testing.assert_allclose(trace.grad_weights, trace.weight_terms.sum(axis=0), rtol=1e-12, atol=1e-15)  # BP4
    if trace.equation == "BP2":
        np.testing.assert_allclose(trace.next_terms.sum(axis=1), trace.grad_a, rtol=1e-12, atol=1e-15)
    # and against finite differences of the loss
    probe = copy.deepcopy(net).eval()
    params = probe.layers[layer]

    def loss_value():
        return probe.loss.forward(probe.forward(X[:n]), y[:n])

    numeric_w = numerical_gradient(loss_value, params.weight.value)[j]
    numeric_b = numerical_gradient(loss_value, params.bias.value)[j]
    np.testing.assert_allclose(trace.grad_weights, numeric_w, rtol=1e-5, atol=1e-8)
    assert trace.grad_bias == pytest.approx(numeric_b, rel=1e-5, abs=1e-8)


@given(seed=seeds, activation=st.sampled_from(ELEMENTWISE_NAMES), loss=st.sampled_from(sorted(nl.losses.LOSSES)), layer=st.integers(0, 2), j=st.integers(0, 2))
def test_trace_matches_backward_for_any_activation(seed, activation, loss, layer, j):
    net = make_net(loss, hidden_activation=activation, seed=seed)
    X, y = data(loss, 2, seed)
    if activation in KINKED:
        assume(network_clear_of_kinks(net, X))
    j = min(j, net.layers[layer].out_features - 1)
    trace = net.explain(X, y, layer=layer, neuron=j)
    _, _, delta, grad_w, grad_b = reference_gradients(net, X, y, layer, j)
    np.testing.assert_array_equal(trace.delta, delta)
    np.testing.assert_array_equal(trace.grad_weights, grad_w)
    assert trace.grad_bias == grad_b


def test_output_layer_terms_for_cross_entropy_are_p_minus_y_over_n():
    net = make_net("cross_entropy")
    X, y = data("cross_entropy", 2)
    trace = net.explain(X, y, layer=-1, neuron=1)
    assert trace.equation == "BP1"
    p = nl.activations.softmax(copy.deepcopy(net).forward(X))[:, 1]
    np.testing.assert_allclose(trace.output_terms["p"], p, rtol=1e-12)
    np.testing.assert_allclose(trace.delta, (p - (y == 1)) / 2, rtol=1e-12)


def test_update_is_what_the_optimizer_applies_and_the_network_is_untouched():
    net = make_net("cross_entropy", dtype=np.float32)
    X, y = data("cross_entropy", 8)
    net.fit(X, y, epochs=2, batch_size=4, optimizer=nl.optim.SGD(lr=0.1, momentum=0.9), verbose=0, rng=0)
    before = [p.value.copy() for p in net.parameters()]
    state = {k: v.copy() for k, v in net.optimizer.state[net.layers[1].weight].items()}
    trace = net.explain(X[0], y[0], layer=1, neuron=2)
    for p, value in zip(net.parameters(), before):
        np.testing.assert_array_equal(p.value, value)
    np.testing.assert_array_equal(net.optimizer.state[net.layers[1].weight]["velocity"], state["velocity"])
    # by hand: v = m v + g; w -= lr v, row 2
    velocity = 0.9 * state["velocity"][2] + trace.grad_weights
    np.testing.assert_allclose(trace.update_weights, -0.1 * velocity, rtol=1e-5, atol=1e-7)
    assert "SGD(lr=0.1, momentum=0.9" in str(trace)


def test_without_an_optimizer_no_update_is_shown_and_one_can_be_given():
    net = make_net("mse")
    X, y = data("mse", 1)
    assert net.explain(X, y, layer=0, neuron=0).update_weights is None
    trace = net.explain(X, y, layer=0, neuron=0, optimizer=nl.optim.SGD(lr=0.5))
    np.testing.assert_allclose(trace.update_weights, -0.5 * trace.grad_weights, rtol=1e-12)
    assert trace.update_bias == pytest.approx(-0.5 * trace.grad_bias)


def test_dropout_between_layers_is_off_and_bp2_sees_through_it():
    net = make_net("cross_entropy", dropout=True)
    X, y = data("cross_entropy", 2)
    trace = net.explain(X, y, layer=0, neuron=1)
    assert trace.next_layer == 2
    np.testing.assert_allclose(trace.next_terms.sum(axis=1), trace.grad_a, rtol=1e-12, atol=1e-15)


def test_text_labels_every_equation_and_dict_is_json():
    net = make_net("cross_entropy")
    X, y = data("cross_entropy", 1)
    hidden, output = str(net.explain(X, y, layer=0, neuron=0)), str(net.explain(X, y, layer=2, neuron=0))
    for text in (hidden, output):
        assert "z = w . a^(l-1) + b" in text and "BP3" in text and "BP4" in text
    assert "BP2" in hidden and "largest terms" in hidden
    assert "BP1" in output and "(p - y) / N" in output
    data_dict = net.explain(X, y, layer=0, neuron=0).to_dict()
    assert json.loads(json.dumps(data_dict))["neuron"] == 0


def test_standalone_neuron_explain():
    neuron = nl.Neuron(3, "sigmoid", rng=0, dtype=np.float64)
    x, y = np.array([[0.5, -1.0, 2.0]]), np.array([1.0])
    trace = neuron.explain(x, y, loss="mse")
    a = 1 / (1 + np.exp(-(x @ neuron.weights + neuron.bias)))
    np.testing.assert_allclose(trace.a, a, rtol=1e-12)
    np.testing.assert_allclose(trace.delta, (a - 1) * a * (1 - a), rtol=1e-12)  # BP1 with N = 1
    np.testing.assert_allclose(trace.grad_weights, trace.delta[0] * x[0], rtol=1e-12)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"layer": 5, "neuron": 0}, IndexError, r"explain: expected a layer index in \[-3, 3\), got 5"),
        ({"layer": 0, "neuron": 9}, ValueError, r"explain: expected a neuron index in \[0, 5\) for layers\[0\], got 9"),
        ({"layer": nl.Dense(2, 2), "neuron": 0}, ValueError, "explain: expected a layer index or one of the network's layers"),
    ],
)
def test_errors(kwargs, error, message):
    net = make_net("cross_entropy")
    X, y = data("cross_entropy", 1)
    with pytest.raises(error, match=message):
        net.explain(X, y, **kwargs)


def test_softmax_layer_is_refused():
    net = nl.NeuralNetwork([nl.Dense(4, 3, "softmax", rng=0)], "mse")
    with pytest.raises(TypeError, match="explain: expected a Dense layer with an elementwise activation"):
        net.explain(np.ones(4), np.ones(3), layer=0, neuron=0)
