"""float32 stays float32 through forward, backward and an optimizer step."""

import numpy as np
import pytest

import neurolab as nl


@pytest.mark.parametrize("optimizer", [nl.optim.SGD(lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4), nl.optim.RMSprop(momentum=0.5), nl.optim.Adam(weight_decay=1e-4)], ids=repr)
@pytest.mark.parametrize("loss, outputs", [("cross_entropy", 3), ("binary_cross_entropy", 1), ("mse", 3)])
def test_float32_end_to_end(optimizer, loss, outputs):
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, (16, 5), dtype=np.uint8)  # converted per batch, not rescaled
    y = rng.integers(0, 3, 16) if loss != "binary_cross_entropy" else rng.integers(0, 2, 16)
    activations = ["relu", "sigmoid", "tanh", "leaky_relu"]
    layers = [nl.Dense(5, 4, activations[i], rng=i) for i in range(1)] + [
        nl.Dense(4, 4, a, rng=i) for i, a in enumerate(activations)
    ] + [nl.Dense(4, outputs, "identity", rng=9)]
    net = nl.NeuralNetwork(layers, loss)
    net.fit(X / np.float32(255), y, epochs=1, batch_size=8, optimizer=optimizer, rng=0)
    out = net.forward(X / np.float32(255))
    assert out.dtype == np.float32
    net.loss.forward(out, y)
    grad = net.loss.backward()
    assert grad.dtype == np.float32
    assert net.backward(grad).dtype == np.float32
    for layer in net.layers:
        assert layer.z.dtype == layer.a.dtype == layer.grad_z.dtype == np.float32
        for p in layer.parameters():
            assert p.value.dtype == p.grad.dtype == np.float32
    states = [array for state in optimizer.state.values() for array in state.values() if isinstance(array, np.ndarray)]
    assert states and all(array.dtype == np.float32 for array in states)


def test_uint8_batches_become_float32_in_the_first_layer():
    layer = nl.Dense(3, 2, rng=0)
    layer.forward(np.ones((2, 3), dtype=np.uint8))
    assert layer.x.dtype == np.float32
