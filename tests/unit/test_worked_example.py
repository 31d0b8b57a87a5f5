"""A 2-2-1 sigmoid network worked out by hand, checked to the last digit.

These are the numbers of docs/backprop.md (the classic example of Matt Mazur's "A Step by
Step Backpropagation Example", with a single output unit). One sample, MSE loss
``L = 1/(2N) sum ||a - y||^2`` with N = 1, one step of SGD with lr = 0.5::

    x = (0.05, 0.10)                         y = 0.01
    hidden  W1 = [[0.15, 0.20],              b1 = (0.35, 0.35)     sigmoid
                  [0.25, 0.30]]
    output  W2 = [[0.40, 0.45]]              b2 = (0.60,)          sigmoid

Every value neurolab computes is compared three ways:

1. with ``by_hand()``: the scalar equations (forward, BP1-BP4, SGD) written out with
   Python floats and ``math.exp``, in the order Dense computes them, to a relative 1e-15
   (about 5 units in the last place; on a typical machine they agree bit for bit, but a
   BLAS with fused multiply-add or another ``exp`` may round one step differently);
2. with the same equations in 50-digit ``decimal`` arithmetic (the exact values for these
   float64 inputs), also to a relative 1e-15: float64 rounding never builds up past that;
3. with the literals printed in docs/backprop.md: the same 12 significant digits.

Finally the network is run again neuron by neuron (``Neuron.forward``/``backward``) and gives
the same numbers.
"""

import copy
import math
from decimal import Decimal, localcontext

import numpy as np
import pytest

import neurolab as nl

X = np.array([[0.05, 0.10]])
Y = np.array([[0.01]])
LR = 0.5


def by_hand(num=float, exp=math.exp) -> dict:
    """The worked example in scalars: ``num`` makes a number from a float, ``exp`` is e**z.

    Indices follow the code: ``w1[j][k]`` is the weight from input ``k`` to hidden neuron
    ``j`` (row ``j`` of ``W1``); ``w2[k]`` is the weight from hidden neuron ``k`` to the output.
    """
    x = [num(0.05), num(0.10)]
    w1 = [[num(0.15), num(0.20)], [num(0.25), num(0.30)]]
    b1 = [num(0.35), num(0.35)]
    w2 = [num(0.40), num(0.45)]
    b2 = num(0.60)
    y = num(0.01)
    lr = num(LR)
    n = 1  # samples in the batch

    def sigma(z):
        return 1 / (1 + exp(-z))

    # forward: z = sum_k w_jk x_k + b_j,  a = sigma(z)
    z1 = [x[0] * w1[j][0] + x[1] * w1[j][1] + b1[j] for j in range(2)]
    a1 = [sigma(z1[j]) for j in range(2)]
    z2 = a1[0] * w2[0] + a1[1] * w2[1] + b2
    a2 = sigma(z2)
    loss = (a2 - y) * (a2 - y) / 2 / n

    # BP1: delta of the output = dL/da * sigma'(z), with sigma'(z) = a (1 - a)
    grad_a2 = (a2 - y) / n
    delta2 = grad_a2 * (a2 * (1 - a2))
    # BP2: delta of hidden neuron j = (weight from j to the output * delta2) * sigma'(z1_j)
    delta1 = [w2[j] * delta2 * (a1[j] * (1 - a1[j])) for j in range(2)]
    # BP3: dL/db = delta.  BP4: dL/dw_jk = (input k of the layer) * delta_j
    grad_b2 = delta2
    grad_w2 = [a1[k] * delta2 for k in range(2)]
    grad_b1 = [delta1[j] for j in range(2)]
    grad_w1 = [[x[k] * delta1[j] for k in range(2)] for j in range(2)]
    # dL/dx_k = sum_j w_jk delta_j  (BP2 once more, one layer further down)
    grad_x = [w1[0][k] * delta1[0] + w1[1][k] * delta1[1] for k in range(2)]

    # one SGD step: w <- w - lr * dL/dw
    new_w1 = [[w1[j][k] - lr * grad_w1[j][k] for k in range(2)] for j in range(2)]
    new_b1 = [b1[j] - lr * grad_b1[j] for j in range(2)]
    new_w2 = [w2[k] - lr * grad_w2[k] for k in range(2)]
    new_b2 = b2 - lr * grad_b2

    return {
        "z1": z1, "a1": a1, "z2": z2, "a2": a2, "loss": loss,
        "grad_a2": grad_a2, "delta2": delta2, "delta1": delta1,
        "grad_w2": grad_w2, "grad_b2": grad_b2, "grad_w1": grad_w1, "grad_b1": grad_b1,
        "grad_x": grad_x, "new_w1": new_w1, "new_b1": new_b1, "new_w2": new_w2, "new_b2": new_b2,
    }


def _exact() -> dict:
    """``by_hand`` in 50-digit decimals from the exact float64 inputs, rounded once to float."""
    with localcontext() as context:
        context.prec = 50
        exact = by_hand(Decimal, lambda z: z.exp())
    return {name: np.asarray(value, dtype=object).astype(float).tolist() for name, value in exact.items()}


HAND = by_hand()
EXACT = _exact()

# The numbers printed in docs/backprop.md, to 12 significant digits.
LITERALS = {
    "z1": [0.3775, 0.3925],
    "a1": [0.593269992107, 0.596884378260],
    "z2": 1.10590596706,
    "a2": 0.751365069552,
    "loss": 0.274811083176,
    "grad_a2": 0.741365069552,
    "delta2": 0.138498561629,
    "delta1": [0.0133679204229, 0.0149960754889],
    "grad_w2": [0.0821670405642, 0.0826676278475],
    "grad_b2": 0.138498561629,
    "grad_w1": [[0.000668396021144, 0.00133679204229], [0.000749803774445, 0.00149960754889]],
    "grad_b1": [0.0133679204229, 0.0149960754889],
    "grad_x": [0.00575420693566, 0.00717240673125],
    "new_w1": [[0.149665801989, 0.199331603979], [0.249625098113, 0.299250196226]],
    "new_b1": [0.343316039789, 0.342501962256],
    "new_w2": [0.358916479718, 0.408666186076],
    "new_b2": 0.530750719186,
}


def check(actual, name: str) -> None:
    """``actual`` equals the hand-computed ``name`` to the last digit, and the printed literal."""
    actual = np.asarray(actual, dtype=np.float64)
    assert actual.shape == np.shape(HAND[name]), f"{name}: shape {actual.shape}"
    np.testing.assert_allclose(actual, HAND[name], rtol=1e-15, atol=0, err_msg=f"{name} vs by_hand()")
    np.testing.assert_allclose(actual, EXACT[name], rtol=1e-15, atol=0, err_msg=f"{name} vs exact arithmetic")
    printed = [f"{value:.12g}" for value in actual.ravel()]
    assert printed == [f"{value:.12g}" for value in np.ravel(LITERALS[name])], f"{name} vs docs/backprop.md"


def build_network() -> nl.NeuralNetwork:
    hidden = nl.Dense(2, 2, "sigmoid", dtype=np.float64)
    output = nl.Dense(2, 1, "sigmoid", dtype=np.float64)
    hidden.weight.value[...] = [[0.15, 0.20], [0.25, 0.30]]
    hidden.bias.value[...] = [0.35, 0.35]
    output.neurons[0].weights = [0.40, 0.45]  # the same storage, through the neuron view
    output.neurons[0].bias = 0.60
    return nl.NeuralNetwork([hidden, output], loss="mse")


@pytest.fixture
def run():
    """A network after one forward and backward pass: ``(net, loss, grad_x, grad_a2)``."""
    net = build_network()
    out = net.forward(X)
    loss = net.loss.forward(out, Y)
    net.zero_grad()
    grad_a2 = net.loss.backward()
    grad_x = net.backward(grad_a2)
    return net, loss, grad_x, grad_a2


def test_the_hand_computation_is_exact_to_float64_precision():
    for name in HAND:
        np.testing.assert_allclose(HAND[name], EXACT[name], rtol=1e-15, atol=0, err_msg=name)


def test_forward_values(run):
    net, _, _, _ = run
    hidden, output = net.layers
    check(hidden.z[0], "z1")
    check(hidden.a[0], "a1")
    check(output.z[0, 0], "z2")
    check(output.a[0, 0], "a2")
    check([neuron.z[0] for neuron in hidden.neurons], "z1")
    check([neuron.a[0] for neuron in hidden.neurons], "a1")
    for j, neuron in enumerate(hidden.neurons):  # views of the layer's cache: the same numbers
        assert neuron.z[0] == hidden.z[0, j] and neuron.a[0] == hidden.a[0, j]
    check(output.neurons[0].z[0], "z2")
    check(output.neurons[0].a[0], "a2")


def test_loss_value_and_its_gradient(run):
    _, loss, _, grad_a2 = run
    check(loss, "loss")
    check(grad_a2[0, 0], "grad_a2")  # MSE.backward: (a - y) / N


def test_deltas_bp1_bp2(run):
    net, _, _, _ = run
    hidden, output = net.layers
    check(output.grad_z[0, 0], "delta2")  # BP1
    check(output.neurons[0].delta[0], "delta2")
    check(hidden.grad_z[0], "delta1")  # BP2
    for j, neuron in enumerate(hidden.neurons):
        assert neuron.delta[0] == hidden.grad_z[0, j]


def test_parameter_gradients_bp3_bp4(run):
    net, _, _, _ = run
    hidden, output = net.layers
    check(output.bias.grad[0], "grad_b2")  # BP3
    check(output.weight.grad[0], "grad_w2")  # BP4
    check(hidden.bias.grad, "grad_b1")
    check(hidden.weight.grad, "grad_w1")
    for j, neuron in enumerate(hidden.neurons):  # row j of the layer's gradients
        assert np.array_equal(neuron.grad_weights, hidden.weight.grad[j])
        assert neuron.grad_bias == hidden.bias.grad[j]


def test_input_gradient(run):
    _, _, grad_x, _ = run
    assert grad_x.shape == X.shape
    check(grad_x[0], "grad_x")


def test_one_sgd_step(run):
    net, _, _, _ = run
    hidden, output = net.layers
    nl.optim.SGD(lr=LR).step(net.parameters())
    check(hidden.weight.value, "new_w1")
    check(hidden.bias.value, "new_b1")
    check(output.weight.value[0], "new_w2")
    check(output.bias.value[0], "new_b2")


def test_neuron_by_neuron_gives_the_same_numbers():
    net = copy.deepcopy(build_network())
    hidden, output = net.layers

    # forward, one neuron at a time: each returns its activation for the batch, shape (N,)
    a1 = np.column_stack([neuron.forward(X) for neuron in hidden.neurons])
    a2 = np.column_stack([neuron.forward(a1) for neuron in output.neurons])
    loss = net.loss.forward(a2, Y)
    net.zero_grad()

    # backward: each neuron takes dL/d(its a), adds its gradients, returns its share of dL/dx
    grad_a2 = net.loss.backward()
    grad_a1 = sum(neuron.backward(grad_a2[:, j]) for j, neuron in enumerate(output.neurons))
    grad_x = sum(neuron.backward(grad_a1[:, j]) for j, neuron in enumerate(hidden.neurons))

    check(a1[0], "a1")
    check(hidden.z[0], "z1")  # the neurons wrote their columns of the layer's cache
    check(output.z[0, 0], "z2")
    check(a2[0, 0], "a2")
    check(loss, "loss")
    check(output.neurons[0].delta[0], "delta2")
    check([neuron.delta[0] for neuron in hidden.neurons], "delta1")
    check(output.neurons[0].grad_weights, "grad_w2")
    check(output.neurons[0].grad_bias, "grad_b2")
    check([neuron.grad_weights for neuron in hidden.neurons], "grad_w1")
    check([neuron.grad_bias for neuron in hidden.neurons], "grad_b1")
    check(grad_x[0], "grad_x")

    nl.optim.SGD(lr=LR).step(net.parameters())
    check([neuron.weights for neuron in hidden.neurons], "new_w1")
    check(output.neurons[0].weights, "new_w2")
    check(output.neurons[0].bias, "new_b2")
