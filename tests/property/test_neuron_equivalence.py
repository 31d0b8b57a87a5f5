"""Running a Dense layer neuron by neuron gives exactly the vectorised layer's results."""

import copy

import numpy as np
from hypothesis import given

from ..strategies import ELEMENTWISE_NAMES, dense_cases, seeds


@given(case=dense_cases(activations=ELEMENTWISE_NAMES, dtype=np.float64), seed=seeds)
def test_neuron_by_neuron_equals_vectorised(case, seed):
    layer, x = case
    by_neuron = copy.deepcopy(layer)
    grad_a = np.random.default_rng(seed).standard_normal((x.shape[0], layer.out_features))

    a = layer.forward(x)
    grad_x = layer.backward(grad_a)

    a_n = np.stack([neuron.forward(x) for neuron in by_neuron.neurons], axis=1)
    grad_x_n = sum(neuron.backward(grad_a[:, j]) for j, neuron in enumerate(by_neuron.neurons))

    # Same equations, different summation order in BLAS: equal to float64 rounding.
    tol = dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(a_n, a, **tol)
    np.testing.assert_allclose(by_neuron.z, layer.z, **tol)
    np.testing.assert_allclose(by_neuron.grad_z, layer.grad_z, **tol)
    np.testing.assert_allclose(by_neuron.weight.grad, layer.weight.grad, **tol)
    np.testing.assert_allclose(by_neuron.bias.grad, layer.bias.grad, **tol)
    np.testing.assert_allclose(grad_x_n, grad_x, **tol)
    for j, neuron in enumerate(by_neuron.neurons):
        np.testing.assert_allclose(neuron.delta, layer.neurons[j].delta, **tol)
