"""float32 forward and backward passes agree with float64 ones on the same numbers, and stay float32.

The gradient checker works on a float64 copy of whatever it is given, so on its own it never
runs the float32 code that ``fit`` runs by default (``Dense`` is float32 unless asked
otherwise). These tests close that gap: each object runs once in float32 and once as a
float64 copy (``astype(np.float64)``) on the float64 copy of the same float32 inputs,
parameters and upstream gradient, so the only difference between the two runs is the
precision of the arithmetic. The float64 run is the reference the gradient checks verify.

Tolerance policy
----------------
Every entry of every array compared (outputs, cached z, a and dL/dz, dL/dx, each parameter
gradient), and the loss value, must satisfy::

    |float32 - float64| <= RTOL * scale + TINY,     RTOL = 1e-5 (84 float32 eps), TINY = 1.2e-38

where ``scale`` is that entry's *term scale*: the same quantity computed in float64 from the
absolute values of what it is made of, so that no cancellation or saturation makes it small
(TINY, float32's smallest normal number, only covers underflow). float32 rounds each
operation to within eps/2 = 6e-8 *of its operands*, so an entry's error is a small multiple
of eps times its term scale, however small the entry itself: ``p - y`` with p close to y,
``1 - tanh(z)**2`` at a saturated unit (off by ~1e-7 absolutely, so by 1e-3 relatively) and
sums that cancel are all exact only to eps times their terms. A tolerance relative to the
results fails on them (``1e-6 + 1e-5 * max|float64|`` per array: a targeted search found a
network with a saturated tanh layer above large activations off by 2.5 times that), and an
absolute one loose enough for them would pass anything in small arrays.

Term scales, entry by entry, of a Dense layer ``Z = X @ W.T + b, A = f(Z)``, from those of its
input (``|X|`` for a given batch) and of its upstream gradient (``|dA|``)::

    scale(Z)  = scale(X) @ |W|.T + |b|
    scale(A)  = d * scale(Z) + |A|                 d  = sup |f'|
    scale(dZ) = scale(dA) * (d + d2 * scale(Z))    d2 = sup |f''|: how far f' moves when Z is rounded
    scale(dW) = scale(dZ).T @ scale(X),   scale(db) = scale(dZ).sum(0),   scale(dX) = scale(dZ) @ |W|

with (d, d2) = (1, 0) for identity and ReLU, (max(1, slope), 0) for LeakyReLU (away from the
kink), (1/4, 0.1) for sigmoid, (1, 0.77) for tanh and (2, 6) for softmax, whose units are
coupled, applied to each row's largest scale. For outputs of scale ``S`` and targets ``y``
(labels count as 1), ``scale(dL/dy_hat) = (1 + 2 rowmax(S) + |y|) / N`` bounds all three
losses (``y_hat - y``, ``p - y``, ``sigmoid(z) - y``) and ``scale(L) = sum(scale(dL/dy_hat) *
(1 + S + |y|))``. Rescale multiplies scales by ``|scale|`` (adding ``|offset|`` forward);
dropout's are ``|x| * mask``. A Conv2D is a Dense layer on every patch: its scales are its own
sums over absolute values (a float64 copy with ``|W|``, ``|b|`` and no activation, run on the
input's scale and then on ``scale(dZ)``). MaxPool2D, Flatten, Reshape and RandomShift only
move values, so their outputs must match exactly (scale 0); max pooling's dX adds the dY of
overlapping windows, so its scale is the same routing applied to ``|dY|``, and forward a
window's largest scale bounds that of its maximum. In these first-order bounds each operation counts once; no path
here has more than ~50 roundings (sums of <= 6 products, <= 3 layers forward and back, the
loss), so errors stay below ~50 * eps/2 = 3e-6 of the scale, a third of RTOL. A Conv2D's dW
is the longest sum, ``N * H_out * W_out`` products (at most 2 * 7 * 7 = 98 here, so its
cases keep padding <= 1), under 100 * eps/2 = 6e-6 of its scale, still below RTOL. Measured by
targeted searches over thousands of cases per test: at most 2.9 eps (3.4e-7). A float32 step
computed in float16 (eps ~ 1e-3), a wrong constant or a wrong formula in a float32-only branch
is off by 1e-4 of the scale or more.

Kinks: ReLU-like derivatives jump at z = 0, so a pre-activation within float32 rounding of 0
could take different branches in the two runs. Activations and losses are given the very
same float32 values in both runs, so they take the same branches and need no care. For Dense
layers and networks, where z is computed in each precision, the cases keep every ReLU-like
pre-activation at least KINK_MARGIN = 1e-3 from 0 in the float64 run
(``dense_clear_of_kinks``, ``network_clear_of_kinks``); the float32 error of z is below 1e-5
(measured: under 4e-6), so both runs are on the same side. Dropout masks are drawn differently
for each dtype (``Generator.random`` makes float32 and float64 numbers from different bits),
so dropout is compared against float64 arithmetic on the float32 run's own mask.

Besides the values, each float32 run must stay float32: outputs, dL/dx, the loss gradient,
every parameter gradient and what layers cache (x, z, a, grad_z), also when the input comes
as float64 (a float64 array in the middle of a float32 pass is a silent slowdown, and
``p.grad += float64`` would hide it by casting on the way in).
"""

import copy

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import neurolab as nl
from neurolab.testing import float_arrays, layer_inputs

from ..strategies import (
    ACTIVATION_NAMES,
    ELEMENTWISE_NAMES,
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
    reshape_cases,
    seeds,
    shapes_2d,
    shift_cases,
)

RTOL = 1e-5
TINY = float(np.finfo(np.float32).tiny)  # 1.2e-38: below it float32 underflows, whatever the scale

# sup |f'| and sup |f''| of each activation (softmax: of a row, in its largest entry)
DERIVATIVE_BOUNDS = {"identity": (1.0, 0.0), "relu": (1.0, 0.0), "sigmoid": (0.25, 0.1), "tanh": (1.0, 0.77), "softmax": (2.0, 6.0)}


def derivative_bounds(activation) -> tuple:
    if activation.name == "leaky_relu":
        return max(1.0, activation.negative_slope), 0.0
    return DERIVATIVE_BOUNDS[activation.name]


def activation_scales(activation, z_scale, a, grad_a_scale):
    """Term scales of ``A = f(Z)`` and of ``dZ``, given those of ``Z`` and ``dA`` (module docstring)."""
    d, d2 = derivative_bounds(activation)
    if not activation.elementwise:  # softmax couples the units of a row: bound each by the row's largest
        z_scale = z_scale.max(axis=-1, keepdims=True)
        grad_a_scale = grad_a_scale.max(axis=-1, keepdims=True)
    a_scale = d * z_scale + np.abs(a)
    grad_z_scale = grad_a_scale * (d + d2 * z_scale)
    return np.broadcast_to(a_scale, a.shape), np.broadcast_to(grad_z_scale, a.shape)


def dense_scales(weight, bias, activation, a, x_scale, grad_a_scale) -> dict:
    """Term scales of a Dense layer's z, a, grad_z, weight.grad, bias.grad and dL/dx (float64 weight, bias, a)."""
    z_scale = x_scale @ np.abs(weight).T + np.abs(bias)
    a_scale, grad_z_scale = activation_scales(activation, z_scale, a, grad_a_scale)
    return {
        "z": z_scale,
        "a": a_scale,
        "grad_z": grad_z_scale,
        "weight": grad_z_scale.T @ x_scale,
        "bias": grad_z_scale.sum(axis=0),
        "input": grad_z_scale @ np.abs(weight),
    }


def loss_scales(output_scale, target, n_outputs) -> tuple:
    """Term scales of dL/d(output) ``(N, K)`` and of the loss value, for outputs of scale ``output_scale``."""
    n = output_scale.shape[0]
    if target.dtype.kind in "biu":  # class labels (or labels read as one-hot rows): entries of size <= 1
        target_scale = np.ones((n, n_outputs))
    else:
        target_scale = np.abs(target).reshape(n, n_outputs)
    grad_scale = (1 + 2 * output_scale.max(axis=1, keepdims=True) + target_scale) / n
    return grad_scale, float(np.sum(grad_scale * (1 + output_scale + target_scale)))


def assert_float32_agrees(what: str, got, want, scale) -> None:
    """``got`` is a float32 array within ``RTOL * scale + TINY`` of the float64 ``want``, entry by entry."""
    got = np.asarray(got)
    want = np.asarray(want)
    assert got.dtype == np.float32, f"{what}: expected float32, got {got.dtype}"
    assert want.dtype == np.float64, f"{what}: expected a float64 reference, got {want.dtype}"
    assert got.shape == want.shape, f"{what}: expected shape {want.shape}, got {got.shape}"
    tol = RTOL * np.broadcast_to(scale, want.shape) + TINY
    error = np.abs(got.astype(np.float64) - want)
    if (error > tol).any():
        index = tuple(int(i) for i in np.unravel_index(np.argmax(error - tol), error.shape))
        raise AssertionError(
            f"{what}: float32 {float(got[index]):.9g} differs from float64 {float(want[index]):.17g} "
            f"at {index} by {error[index]:.3g} > RTOL {RTOL:g} * term scale {(tol[index] - TINY) / RTOL:.3g} + TINY"
        )


def assert_loss_agrees(what: str, got: float, want: float, scale: float) -> None:
    assert isinstance(got, float), f"{what}: expected a Python float, got {type(got).__name__}"
    assert abs(got - want) <= RTOL * scale + TINY, (
        f"{what}: float32 loss {got!r}, float64 {want!r}: |difference| > RTOL {RTOL:g} * term scale {scale:.3g}"
    )


def as_float32_values(x: np.ndarray) -> np.ndarray:
    """``x`` rounded to float32: the values both runs share."""
    return np.asarray(x, dtype=np.float32)


def upstream(seed: int, shape) -> np.ndarray:
    """A standard-normal upstream gradient dL/d(output) in float32 (not all ones: that hides transposes)."""
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def fed_as(data, x32: np.ndarray) -> np.ndarray:
    """The float32 values of ``x32``, handed over as float32 or as float64 (a layer converts its input)."""
    return x32.astype(np.float64) if data.draw(st.booleans(), label="given as float64") else x32


@pytest.mark.parametrize("name", ACTIVATION_NAMES)
@given(z=float_arrays(shapes_2d(), -6, 6), seed=seeds, data=st.data())
def test_activation_float32_matches_float64(name, z, seed, data):
    """f(z), f'(z) and dL/dz of each activation (settings drawn) in float32 match float64 and stay float32.

    Both runs see the same float32 z, so no kink needs avoiding.
    """
    activation = data.draw(configured_activations([name]), label="activation")
    z32 = as_float32_values(z)
    grad_a32 = upstream(seed, z.shape)
    a32 = activation.forward(z32.copy())
    grad_z32 = activation.backward(z32.copy(), a32, grad_a32.copy())
    z64, grad_a64 = z32.astype(np.float64), grad_a32.astype(np.float64)
    a64 = activation.forward(z64.copy())
    a_scale, grad_z_scale = activation_scales(activation, np.abs(z64), a64, np.abs(grad_a64))
    assert_float32_agrees(f"{activation!r}.forward", a32, a64, a_scale)
    assert_float32_agrees(f"{activation!r}.backward", grad_z32, activation.backward(z64.copy(), a64, grad_a64), grad_z_scale)
    if activation.elementwise:
        d, _ = derivative_bounds(activation)
        assert_float32_agrees(f"{activation!r}.derivative", activation.derivative(z32, a32), activation.derivative(z64, a64), d)


@given(case=loss_cases(), data=st.data())
def test_loss_float32_matches_float64(case, data):
    """Each loss, for each target form, gives in float32 the float64 value and a float32 gradient that matches.

    Float targets are rounded to float32 for both runs; the float32 run gets them as float32
    or as float64 (as a user's y usually is), and its gradient must be float32 either way.
    """
    loss32, prediction, target = case
    loss64 = copy.deepcopy(loss32)
    prediction32 = as_float32_values(prediction)
    if target.dtype.kind == "f":
        target = as_float32_values(target)
        target32 = fed_as(data, target)
        target64 = target.astype(np.float64)
    else:
        target32 = target64 = target
    value32 = loss32.forward(prediction32, target32)
    value64 = loss64.forward(prediction32.astype(np.float64), target64)
    grad_scale, value_scale = loss_scales(np.abs(prediction32.astype(np.float64)), target64, prediction.shape[1])
    assert_loss_agrees(f"{loss32!r}.forward", value32, value64, value_scale)
    assert_float32_agrees(f"{loss32!r}.backward", loss32.backward(), loss64.backward(), grad_scale)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@given(data=st.data(), seed=seeds)
def test_dense_float32_matches_float64(activation, data, seed):
    """A float32 Dense layer's output, dL/dX, dL/dW and dL/db match a float64 copy's, and all it keeps is float32."""
    layer32, x = data.draw(dense_cases(activations=[activation], dtype=np.float32))
    x32 = as_float32_values(x)
    assume(dense_clear_of_kinks(layer32, x32))
    layer64 = copy.deepcopy(layer32).astype(np.float64)
    grad_a32 = upstream(seed, (x.shape[0], layer32.out_features))

    a32 = layer32.forward(fed_as(data, x32))
    grad_x32 = layer32.backward(grad_a32.copy())
    x64 = x32.astype(np.float64)
    a64 = layer64.forward(x64)
    grad_x64 = layer64.backward(grad_a32.astype(np.float64))
    scale = dense_scales(
        layer64.weight.value, layer64.bias.value, layer64.activation, a64, np.abs(x64), np.abs(grad_a32.astype(np.float64))
    )

    where = repr(layer32)
    assert_float32_agrees(f"{where}.forward", a32, a64, scale["a"])
    assert_float32_agrees(f"{where} dL/dX", grad_x32, grad_x64, scale["input"])
    assert_float32_agrees(f"{where} weight.grad", layer32.weight.grad, layer64.weight.grad, scale["weight"])
    assert_float32_agrees(f"{where} bias.grad", layer32.bias.grad, layer64.bias.grad, scale["bias"])
    assert_float32_agrees(f"{where}.x", layer32.x, layer64.x, 0.0)
    for cached in ("z", "a", "grad_z"):
        assert_float32_agrees(f"{where}.{cached}", getattr(layer32, cached), getattr(layer64, cached), scale[cached])


@pytest.mark.parametrize("activation", ELEMENTWISE_NAMES)
@given(case=layer_inputs(), seed=seeds, data=st.data())
def test_standalone_neuron_float32_matches_float64(activation, case, seed, data):
    """A float32 Neuron (the scalar-unit equations, not the layer's) matches its float64 copy and stays float32."""
    in_features, x = case
    configured = data.draw(configured_activations([activation]), label="activation")
    neuron32 = nl.Neuron(in_features, configured, rng=seed, dtype=np.float32)
    neuron32.bias = np.random.default_rng(seed).standard_normal()
    x32 = as_float32_values(x)
    assume(dense_clear_of_kinks(neuron32.layer, x32))
    neuron64 = copy.deepcopy(neuron32).astype(np.float64)
    grad_a32 = upstream(seed, (x.shape[0],))

    a32 = neuron32.forward(fed_as(data, x32))
    grad_x32 = neuron32.backward(grad_a32.copy())
    x64 = x32.astype(np.float64)
    a64 = neuron64.forward(x64)
    grad_x64 = neuron64.backward(grad_a32.astype(np.float64))
    unit = neuron64.layer  # its storage: a one-unit layer, weight (1, in), bias (1,)
    scale = dense_scales(
        unit.weight.value, unit.bias.value, unit.activation, a64[:, None], np.abs(x64), np.abs(grad_a32.astype(np.float64))[:, None]
    )

    assert_float32_agrees("Neuron.forward", a32, a64, scale["a"][:, 0])
    assert_float32_agrees("Neuron dL/dx", grad_x32, grad_x64, scale["input"])
    assert_float32_agrees("Neuron.grad_weights", neuron32.grad_weights, neuron64.grad_weights, scale["weight"][0])
    assert_float32_agrees("Neuron.grad_bias", neuron32.grad_bias, neuron64.grad_bias, scale["bias"][0])
    assert_float32_agrees("Neuron.delta", neuron32.delta, neuron64.delta, scale["grad_z"][:, 0])


@given(p=st.floats(0.0, 0.9), seed=seeds, case=layer_inputs())
def test_dropout_float32_matches_float64_arithmetic_on_its_mask(p, seed, case):
    """Training-mode dropout in float32 keeps float32 and scales by 1/(1-p) as float64 arithmetic does.

    The float64 reference applies the float32 run's own keep pattern (a float64 layer would
    draw a different mask from the same seed).
    """
    _, x = case
    x32 = as_float32_values(x)
    layer = nl.Dropout(p, rng=seed)
    grad_y32 = upstream(seed, x.shape)
    y32 = layer.forward(x32)
    grad_x32 = layer.backward(grad_y32)
    kept = np.ones(x.shape, dtype=bool) if layer.mask is None else layer.mask != 0  # p = 0: no mask
    mask64 = kept / (1 - p)
    x64, grad_y64 = x32.astype(np.float64), grad_y32.astype(np.float64)
    assert_float32_agrees(f"{layer!r}.forward", y32, x64 * mask64, np.abs(x64) * mask64)
    assert_float32_agrees(f"{layer!r}.backward", grad_x32, grad_y64 * mask64, np.abs(grad_y64) * mask64)


@given(scale=st.floats(-3, 3), offset=st.floats(-1, 1), case=layer_inputs(), as_pixels=st.booleans(), seed=seeds)
def test_rescale_float32_matches_float64(scale, offset, case, as_pixels, seed):
    """Rescale(dtype=float32) gives float32 outputs and gradients matching Rescale(dtype=float64), from floats or uint8 pixels."""
    _, x = case
    x = (np.abs(x) * 127).astype(np.uint8) if as_pixels else as_float32_values(x)
    grad_y32 = upstream(seed, x.shape)
    rescale32 = nl.Rescale(scale, offset, dtype=np.float32)
    rescale64 = nl.Rescale(scale, offset, dtype=np.float64)
    x64, grad_y64 = x.astype(np.float64), grad_y32.astype(np.float64)
    assert_float32_agrees(
        f"{rescale32!r}.forward", rescale32.forward(x), rescale64.forward(x if as_pixels else x64), np.abs(x64 * scale) + abs(offset)
    )
    assert_float32_agrees(f"{rescale32!r}.backward", rescale32.backward(grad_y32), rescale64.backward(grad_y64), np.abs(grad_y64 * scale))


def conv_scales(layer64, a, x_scale, grad_a_scale) -> dict:
    """Term scales of a Conv2D's z, a, grad_z, weight.grad, bias.grad and dL/dx (module docstring).

    Its sums taken over absolute values, by a float64 copy of the layer with ``|W|``, ``|b|``
    and no activation: a tolerance, not a reference (the float64 run is the reference, which
    the gradient checks and tests/unit/test_conv.py's loops verify).
    """
    absolute = copy.deepcopy(layer64)
    absolute.activation = nl.activations.get("identity")
    absolute.weight.value[...] = np.abs(layer64.weight.value)
    absolute.bias.value[...] = np.abs(layer64.bias.value)
    absolute.zero_grad()
    z_scale = absolute.forward(x_scale)
    a_scale, grad_z_scale = activation_scales(layer64.activation, z_scale, a, grad_a_scale)
    input_scale = absolute.backward(np.array(grad_z_scale))  # identity: dZ = dA, so dW, db and dX take scale(dZ)
    return {
        "z": z_scale,
        "a": a_scale,
        "grad_z": grad_z_scale,
        "weight": absolute.weight.grad,
        "bias": absolute.bias.grad,
        "input": input_scale,
    }


def weighted_scales(layer64, x_scale, grad_a_scale) -> dict:
    """Term scales of a Dense or Conv2D layer's arrays, from its float64 run's weights and activations."""
    if isinstance(layer64, nl.Conv2D):
        return conv_scales(layer64, layer64.a, x_scale, grad_a_scale)
    return dense_scales(layer64.weight.value, layer64.bias.value, layer64.activation, layer64.a, x_scale, grad_a_scale)


def forward_scale(layer64, x_scale):
    """Term scale of a layer's output, from that of its input (and its float64 run)."""
    if isinstance(layer64, nl.Rescale):
        return x_scale * abs(layer64.scale) + abs(layer64.offset)
    if isinstance(layer64, (nl.Dense, nl.Conv2D)):
        return weighted_scales(layer64, x_scale, np.zeros(layer64.a.shape))["a"]
    if isinstance(layer64, nl.MaxPool2D):  # the largest scale of a window bounds its maximum's
        return nl.MaxPool2D(layer64.kernel_size, layer64.stride).forward(x_scale)
    if isinstance(layer64, (nl.Flatten, nl.Reshape)):
        return copy.copy(layer64).forward(x_scale)
    raise TypeError(f"forward_scale: expected a layer of this file's networks, got {layer64!r}")


def backward_scale(layer64, grad_scale):
    """Term scale of dL/dx of a layer without parameters, from that of dL/d(output)."""
    if isinstance(layer64, nl.Rescale):
        return grad_scale * abs(layer64.scale)
    if isinstance(layer64, (nl.MaxPool2D, nl.Flatten, nl.Reshape)):  # the float64 run's routing, on |dY|
        return copy.copy(layer64).backward(grad_scale)
    raise TypeError(f"backward_scale: expected a layer of this file's networks, got {layer64!r}")


def network_scales(net64, X64, y64) -> tuple:
    """Term scales of every layer's arrays (a dict per layer with parameters), dL/dX, dL/d(output),
    the output and the loss value.

    Reads the float64 network's weights and the activations its last forward pass cached.
    """
    x_scales = [np.abs(X64)]
    for layer in net64.layers:  # forward: the scale of each layer's input
        x_scales.append(forward_scale(layer, x_scales[-1]))
    output_scale = x_scales[-1]
    grad_out_scale, loss_scale = loss_scales(output_scale, np.asarray(y64), output_scale.shape[1])
    per_layer = [None] * len(net64.layers)
    grad_scale = grad_out_scale
    for i in range(len(net64.layers) - 1, -1, -1):  # backward, from the loss down
        layer = net64.layers[i]
        if isinstance(layer, (nl.Dense, nl.Conv2D)):
            per_layer[i] = weighted_scales(layer, x_scales[i], grad_scale)
            grad_scale = per_layer[i]["input"]
        else:
            grad_scale = backward_scale(layer, grad_scale)
    return per_layer, grad_scale, grad_out_scale, output_scale, loss_scale


@given(case=network_cases(), rescale=st.none() | st.floats(0.25, 2.0), data=st.data())
def test_network_float32_matches_float64(case, rescale, data):
    """A float32 network (optionally behind a Rescale) gives the float64 copy's output, loss, dL/dX and every
    parameter gradient, keeping everything it computes float32."""
    net32, X, y = case
    if rescale is not None:
        net32 = nl.NeuralNetwork([nl.Rescale(rescale), *net32.layers], net32.loss)
    assert_network_float32_agrees(net32, X, y, data)


@given(case=cnn_cases(shift=False), data=st.data())
def test_cnn_float32_matches_float64(case, data):
    """The same for [Reshape,] Conv2D, [MaxPool2D,] Flatten, Dense networks (RandomShift's own test shows
    it moves float32 values exactly)."""
    assert_network_float32_agrees(*case, data)


def assert_network_float32_agrees(net32, X, y, data) -> None:
    X32 = as_float32_values(X)
    assume(network_clear_of_kinks(net32, X32))
    net64 = copy.deepcopy(net32).astype(np.float64)
    if y.dtype.kind == "f":  # float targets rounded to float32 for both runs, like X
        y = as_float32_values(y)
        y32, y64 = fed_as(data, y), y.astype(np.float64)
    else:
        y32 = y64 = y

    out32 = net32.forward(fed_as(data, X32))
    loss32 = net32.loss.forward(out32, y32)
    grad_out32 = net32.loss.backward()
    grad_X32 = net32.backward(grad_out32)
    X64 = X32.astype(np.float64)
    out64 = net64.forward(X64)
    loss64 = net64.loss.forward(out64, y64)
    grad_out64 = net64.loss.backward()
    grad_X64 = net64.backward(grad_out64)
    per_layer, grad_X_scale, grad_out_scale, out_scale, loss_scale = network_scales(net64, X64, y64)

    assert_float32_agrees("output", out32, out64, out_scale)
    assert_loss_agrees("loss", loss32, loss64, loss_scale)
    assert_float32_agrees("dL/d(output)", grad_out32, grad_out64, grad_out_scale)
    assert_float32_agrees("dL/dX", grad_X32, grad_X64, grad_X_scale)
    for i, (layer32, layer64, scale) in enumerate(zip(net32.layers, net64.layers, per_layer)):
        for (name, p32), (_, p64) in zip(layer32.named_parameters(), layer64.named_parameters()):
            assert_float32_agrees(f"layers[{i}] ({layer32!r}).{name}.grad", p32.grad, p64.grad, scale[name])
        if isinstance(layer32, (nl.Dense, nl.Conv2D)):
            for cached in ("z", "a", "grad_z"):
                assert_float32_agrees(f"layers[{i}] ({layer32!r}).{cached}", getattr(layer32, cached), getattr(layer64, cached), scale[cached])


# ---------------------------------------------------------------- image layers (neurolab.conv)


@given(case=conv_cases(max_padding=1), seed=seeds, data=st.data())
def test_conv2d_float32_matches_float64(case, seed, data):
    """A float32 Conv2D (every elementwise activation, settings drawn) matches a float64 copy in its output,
    dL/dX, dL/dW, dL/db and what it caches, and all it keeps is float32."""
    layer32, x = case
    x32 = as_float32_values(x)
    assume(layer_clear_of_kinks(layer32, x32))
    layer64 = copy.deepcopy(layer32).astype(np.float64)

    a32 = layer32.forward(fed_as(data, x32))
    grad_a32 = upstream(seed, a32.shape)
    grad_x32 = layer32.backward(grad_a32.copy())
    x64 = x32.astype(np.float64)
    a64 = layer64.forward(x64)
    grad_x64 = layer64.backward(grad_a32.astype(np.float64))
    scale = conv_scales(layer64, a64, np.abs(x64), np.abs(grad_a32.astype(np.float64)))

    where = repr(layer32)
    assert_float32_agrees(f"{where}.forward", a32, a64, scale["a"])
    assert_float32_agrees(f"{where} dL/dX", grad_x32, grad_x64, scale["input"])
    assert_float32_agrees(f"{where} weight.grad", layer32.weight.grad, layer64.weight.grad, scale["weight"])
    assert_float32_agrees(f"{where} bias.grad", layer32.bias.grad, layer64.bias.grad, scale["bias"])
    assert_float32_agrees(f"{where}.x", layer32.x, layer64.x, 0.0)
    assert_float32_agrees(f"{where}.patches", layer32.patches, layer64.patches, 0.0)
    for cached in ("z", "a", "grad_z"):
        assert_float32_agrees(f"{where}.{cached}", getattr(layer32, cached), getattr(layer64, cached), scale[cached])


@given(case=pool_cases() | pool_cases(ties=True), seed=seeds)
def test_maxpool2d_float32_matches_float64(case, seed):
    """Max pooling picks the same entries in float32 (ties too: both runs compare the same values), so its
    output is exact; dX adds the dY of overlapping windows. Both stay float32."""
    layer32, x = case
    x32 = as_float32_values(x)
    layer64 = copy.deepcopy(layer32)
    y32 = layer32.forward(x32)
    grad_y32 = upstream(seed, y32.shape)
    grad_x32 = layer32.backward(grad_y32)
    y64 = layer64.forward(x32.astype(np.float64))
    grad_y64 = grad_y32.astype(np.float64)
    grad_x64 = layer64.backward(grad_y64)
    assert_float32_agrees(f"{layer32!r}.forward", y32, y64, 0.0)
    assert_float32_agrees(f"{layer32!r}.backward", grad_x32, grad_x64, copy.copy(layer64).backward(np.abs(grad_y64)))


@given(case=reshape_cases(), seed=seeds)
def test_reshape_and_flatten_float32_are_exact(case, seed):
    reshape, x = case
    x32 = as_float32_values(x)
    for layer in (reshape, nl.Flatten()):
        y32 = layer.forward(x32)
        assert_float32_agrees(f"{layer!r}.forward", y32, copy.copy(layer).forward(x32.astype(np.float64)), 0.0)
        grad_y32 = upstream(seed, y32.shape)
        assert_float32_agrees(f"{layer!r}.backward", layer.backward(grad_y32), layer.backward(grad_y32.astype(np.float64)), 0.0)


@given(case=shift_cases(), seed=seeds)
def test_random_shift_float32_is_exact(case, seed):
    """RandomShift draws the same integer shifts for either dtype and only moves values."""
    layer32, x = case
    x32 = as_float32_values(x)
    layer64 = copy.deepcopy(layer32)
    y32 = layer32.forward(x32)
    y64 = layer64.forward(x32.astype(np.float64))
    assert_float32_agrees(f"{layer32!r}.forward", y32, y64, 0.0)
    grad_y32 = upstream(seed, y32.shape)
    assert_float32_agrees(f"{layer32!r}.backward", layer32.backward(grad_y32), layer64.backward(grad_y32.astype(np.float64)), 0.0)
