"""Parameter: lazy zeroing, in-place accumulation, and rows shared with neuron views."""

import numpy as np
import pytest

import neurolab as nl
from neurolab.parameter import Parameter, ParameterRow


def test_zero_grad_is_seen_by_every_reader():
    p = Parameter(np.ones((2, 3)))
    p.grad[...] = 5
    held = p.grad
    p.zero_grad()
    np.testing.assert_array_equal(p.grad, 0)
    assert p.grad is held  # the same array, zeroed in place


def test_add_matmul_and_add_sum_accumulate_and_write_directly_after_zero_grad():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((4, 2))
    p = Parameter(np.zeros((3, 2)))
    p.grad[...] = 1.0
    p.add_matmul(a, b)
    np.testing.assert_allclose(p.grad, 1.0 + a @ b)
    p.zero_grad()
    p.add_matmul(a, b)
    np.testing.assert_allclose(p.grad, a @ b)
    q = Parameter(np.zeros(4))
    q.add_sum(b.T, axis=0)
    q.add_sum(b.T, axis=0)
    np.testing.assert_allclose(q.grad, 2 * b.sum(axis=1))


def test_neuron_rows_honour_a_pending_zero_grad_of_the_layer():
    layer = nl.Dense(3, 2, "tanh", rng=0)
    x = np.ones((4, 3), dtype=np.float32)
    layer.forward(x)
    layer.backward(np.ones((4, 2), dtype=np.float32))
    neuron = layer.neurons[1]
    assert neuron.grad_weights.any()
    layer.zero_grad()
    np.testing.assert_array_equal(neuron.grad_weights, 0)
    assert neuron.grad_bias == 0
    assert np.shares_memory(neuron.grad_weights, layer.weight.grad)


def test_parameter_row_reads_and_writes_the_parent_row():
    parent = Parameter(np.arange(6.0).reshape(2, 3))
    row = ParameterRow(parent, 1)
    np.testing.assert_array_equal(row.value, [3, 4, 5])
    row.value = [7, 8, 9]
    np.testing.assert_array_equal(parent.value[1], [7, 8, 9])
    parent.grad[...] = 1
    row.zero_grad()
    np.testing.assert_array_equal(parent.grad, [[1, 1, 1], [0, 0, 0]])
    with pytest.raises(TypeError, match="convert the layer"):
        row.astype(np.float32)


def test_constructor_errors():
    with pytest.raises(TypeError, match="Parameter: expected value to be a numpy.ndarray, got list"):
        Parameter([1.0])
    with pytest.raises(ValueError, match=r"Parameter: expected grad of shape \(2,\) and dtype float64, got shape \(3,\)"):
        Parameter(np.zeros(2), grad=np.zeros(3))
