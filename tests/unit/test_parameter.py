"""Parameter: arrays made once and written in place, checked assignment, rows shared with neuron views."""

import numpy as np
import pytest

import neurolab as nl
from neurolab.parameter import Parameter, ParameterRow


def test_zero_grad_is_seen_by_every_reader():
    p = Parameter(np.ones((2, 3)))
    p.grad[...] = 5
    held = p.grad
    p.zero_grad()
    np.testing.assert_array_equal(held, 0)
    assert p.grad is held  # the same array, zeroed in place


def test_in_place_arithmetic_keeps_the_arrays():
    p = Parameter(np.ones((2, 3)))
    value, grad = p.value, p.grad
    p.value -= 0.5
    p.grad += np.full((2, 3), 2.0)
    assert p.value is value and p.grad is grad
    np.testing.assert_array_equal(value, 0.5)
    np.testing.assert_array_equal(grad, 2.0)


def test_assignment_copies_into_the_same_array_so_views_follow():
    p = Parameter(np.zeros((2, 3), dtype=np.float32))
    view = p.value[1]  # taken before the assignment, like a neuron's weights
    p.value = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.testing.assert_array_equal(view, [3, 4, 5])
    grad = p.grad
    p.grad = np.ones((2, 3), dtype=np.float32)
    assert p.grad is grad and (grad == 1).all()


@pytest.mark.parametrize(
    "name, array, error, message",
    [
        ("value", np.zeros((3, 2), np.float32), ValueError, r"Parameter.value: expected an array of shape \(2, 3\), got shape \(3, 2\)"),
        ("value", np.zeros((2, 3)), TypeError, r"Parameter.value: expected an array of dtype float32, got dtype float64; convert it with .astype\(np.float32\)"),
        ("grad", np.zeros(6, np.float32), ValueError, r"Parameter.grad: expected an array of shape \(2, 3\), got shape \(6,\)"),
        ("value", [[0.0] * 3] * 2, TypeError, r"Parameter.value: expected a numpy.ndarray of shape \(2, 3\) and dtype float32, got list; assign into it with p.value\[...\] = ..."),
    ],
)
def test_assignment_of_a_wrong_array_is_refused_and_changes_nothing(name, array, error, message):
    p = Parameter(np.ones((2, 3), dtype=np.float32))
    before = getattr(p, name).copy()
    with pytest.raises(error, match=message):
        setattr(p, name, array)
    np.testing.assert_array_equal(getattr(p, name), before)


def test_astype_makes_new_arrays_of_the_new_dtype():
    p = Parameter(np.ones(3, dtype=np.float32))
    old = p.value
    p.astype(np.float64)
    assert p.value.dtype == p.grad.dtype == np.float64 and p.value is not old
    np.testing.assert_array_equal(p.value, old)


def test_neuron_rows_see_a_zero_grad_of_the_layer():
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
    assert row.shape == (3,) and row.dtype == np.float64 and row.size == 3
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
    with pytest.raises(TypeError, match="Parameter: expected a float32 or float64 value, got dtype int64"):
        Parameter(np.zeros(2, dtype=np.int64))
