"""fit reuses its arrays from batch to batch: same numbers, and nothing of the user's is overwritten."""

import numpy as np
import pytest

import neurolab as nl
from neurolab._buffers import FitArrays, consumable, reusable


def make_net(activation="relu", dtype=np.float32, loss="cross_entropy", outputs=3):
    rng = np.random.default_rng(0)
    return nl.NeuralNetwork(
        [
            nl.Rescale(1 / 255, dtype=dtype),
            nl.Dense(12, 9, activation, rng=rng, dtype=dtype),
            nl.Dense(9, 7, activation, rng=rng, dtype=dtype),
            nl.Dense(7, outputs, "identity", rng=rng, dtype=dtype),
        ],
        loss,
    )


def data(n=50, outputs=3, seed=1):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 12), dtype=np.uint8), rng.integers(0, outputs, n)


def manual_epoch(net, X, y, batch_size, optimizer, rng):
    """fit's epoch written with the public forward/backward (new arrays every call)."""
    order = rng.permutation(len(X)) if rng is not None else np.arange(len(X))
    params = net.parameters()
    for start in range(0, len(X), batch_size):
        index = order[start : start + batch_size]
        out = net.forward(X[index])
        net.loss.forward(out, y[index])
        net.zero_grad()
        net.backward(net.loss.backward())
        optimizer.step(params)


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fit_gives_bit_for_bit_the_weights_of_a_loop_without_reuse(activation, dtype):
    X, y = data()
    a, b = make_net(activation, dtype), make_net(activation, dtype)
    a.fit(X, y, epochs=3, batch_size=16, optimizer=nl.optim.SGD(0.1, momentum=0.9), rng=5, verbose=0)
    optimizer, rng = nl.optim.SGD(0.1, momentum=0.9), np.random.default_rng(5)
    for _ in range(3):  # batches of 16, 16, 16 and 2: the last one changes every shape
        manual_epoch(b, X, y, 16, optimizer, rng)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
        np.testing.assert_array_equal(p.grad, q.grad)  # the last batch's gradients survive the step


def test_caches_after_fit_hold_the_last_batch_and_nothing_else_is_held():
    X, y = data(n=32)
    net, twin = make_net(), make_net()
    net.fit(X, y, epochs=2, batch_size=32, optimizer=nl.optim.SGD(0.1), shuffle=False, verbose=0)
    assert all(not layer._arrays for layer in net.layers if hasattr(layer, "_arrays"))
    assert not net.loss._arrays
    # the twin: one step by hand, then the second pass, whose caches fit must have left
    manual_epoch(twin, X, y, 32, nl.optim.SGD(0.1), rng=None)
    twin.loss.forward(twin.forward(X), y)
    twin.zero_grad()
    twin.backward(twin.loss.backward())
    for layer, other in zip(net.layers[1:], twin.layers[1:]):
        for name in ("x", "z", "a", "grad_z"):
            np.testing.assert_array_equal(getattr(layer, name), getattr(other, name), err_msg=name)


def test_arrays_from_before_fit_are_never_written():
    X, y = data(n=48)
    net = make_net()
    kept = net.forward(X[:16])  # the same shape as fit's batches
    caches = [(layer.z, layer.a) for layer in net.layers[1:]]
    grad = net.backward(np.ones_like(kept))
    copies = [kept.copy(), grad.copy()] + [c.copy() for pair in caches for c in pair]
    net.fit(X, y, epochs=2, batch_size=16, optimizer="sgd", verbose=0)
    for before, now in zip(copies, [kept, grad] + [c for pair in caches for c in pair]):
        np.testing.assert_array_equal(before, now)


def test_outputs_of_a_previous_fit_call_are_not_written_by_the_next():
    X, y = data(n=48)
    net = make_net()
    net.fit(X, y, epochs=1, batch_size=16, optimizer="sgd", verbose=0)
    held = [layer.a for layer in net.layers[1:]]
    copies = [a.copy() for a in held]
    net.fit(X, y, epochs=1, batch_size=16, verbose=0)
    for before, now in zip(copies, held):
        np.testing.assert_array_equal(before, now)


def test_a_callback_sees_each_batch_in_the_caches_and_its_own_forward_gets_new_arrays():
    X, y = data(n=48)
    net = make_net()
    probe = X[:16]
    seen, probes = [], []

    class Watch(nl.callbacks.Callback):
        def on_batch_end(self, network, batch, logs):
            seen.append(network.layers[1].z.copy())
            probes.append(network.forward(probe))  # kept without a copy: must stay as it was

    net.fit(X, y, epochs=1, batch_size=16, optimizer="sgd", shuffle=False, callbacks=[Watch()], verbose=0)
    copies = [p.copy() for p in probes]
    net.fit(X, y, epochs=1, batch_size=16, shuffle=False, callbacks=[Watch()], verbose=0)
    for before, now in zip(copies, probes[:3]):
        np.testing.assert_array_equal(before, now)
    assert not np.array_equal(seen[0], seen[1])  # different batches, not one array seen three times


def test_neuron_views_read_during_fit_match_the_layer():
    X, y = data(n=48)
    net = make_net()
    rows = []

    class Watch(nl.callbacks.Callback):
        def on_batch_end(self, network, batch, logs):
            layer = network.layers[2]
            neuron = layer.neurons[3]
            rows.append((neuron.z.copy(), layer.z[:, 3].copy(), neuron.delta.copy(), layer.grad_z[:, 3].copy(),
                         neuron.a.copy()))

    net.fit(X, y, epochs=1, batch_size=16, optimizer="sgd", callbacks=[Watch()], verbose=0)
    for z_view, z_layer, delta_view, delta_layer, a_view in rows:
        np.testing.assert_array_equal(z_view, z_layer)
        np.testing.assert_array_equal(delta_view, delta_layer)
        np.testing.assert_array_equal(a_view, np.maximum(z_view, 0))  # z and a kept apart in the reused arrays
    assert any((z < 0).any() for z, *_ in rows)  # so the line above tells z from a


def test_a_custom_activation_without_out_trains_and_is_gradient_checked():
    class Square(nl.activations.Activation):
        name = "square"

        def forward(self, z):
            return z * z

        def derivative(self, z, a):
            return 2 * z

    z = np.arange(6.0).reshape(2, 3)
    assert np.array_equal(Square().forward(z, out=np.empty_like(z)), z * z)  # out accepted, ignored
    X, y = data()
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(12, 4, Square(), rng=0), nl.Dense(4, 3, "identity", rng=1)], "cross_entropy")
    net.fit(X, y, epochs=2, batch_size=16, optimizer="sgd", verbose=0)
    assert all(np.isfinite(p.value).all() for p in net.parameters())
    nl.gradcheck.check_layer(nl.Dense(3, 2, Square(), rng=0, dtype=np.float64), np.random.default_rng(0).normal(size=(4, 3)))


def test_reusable_outside_fit_is_none_and_inside_reuses_by_shape_and_dtype():
    arrays = {}
    assert reusable(arrays, "z", (2, 3), np.float32) is None and not arrays
    fit = FitArrays()
    with fit:
        first = reusable(arrays, "z", (2, 3), np.float32)
        assert reusable(arrays, "z", (2, 3), np.float32) is first
        assert reusable(arrays, "z", (1, 3), np.float32) is not first
        other = reusable(arrays, "x", (2, 3), np.float64, consumable=True)
        assert other.dtype == np.float64 and consumable(other) and not consumable(first)
    assert not consumable(other)  # only inside fit
    with FitArrays():  # another fit call: never the first call's arrays
        assert reusable(arrays, "x", (2, 3), np.float64) is not other
    fit.release()
    assert not fit.owners and not fit.consumable


def test_a_replaced_consumable_array_is_forgotten():
    arrays = {}
    with FitArrays() as fit:
        old = reusable(arrays, "grad_x", (4, 2), np.float32, consumable=True)
        new = reusable(arrays, "grad_x", (3, 2), np.float32, consumable=True)
        assert id(old) not in fit.consumable and consumable(new)


def test_dense_backward_outside_fit_leaves_grad_out_alone():
    layer = nl.Dense(3, 4, "relu", rng=0)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    layer.forward(x)
    grad_out = np.ones((5, 4), np.float32)
    layer.backward(grad_out)
    assert np.array_equal(grad_out, np.ones((5, 4), np.float32))


def test_a_static_forward_without_out_is_adapted_too():
    class Doubling(nl.activations.Activation):
        name = "doubling"

        @staticmethod
        def forward(z):  # no self: left alone, still callable as written
            return 2 * z

        def derivative(self, z, a):
            return np.full_like(z, 2.0)

    z = np.ones((2, 2))
    assert np.array_equal(Doubling.forward(z), 2 * z) and np.array_equal(Doubling().forward(z, out=None), 2 * z)
    assert np.array_equal(Doubling().backward(z, 2 * z, z, out=np.empty_like(z)), 2 * z)  # the base's, with out
    X, y = data()
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(12, 4, Doubling(), rng=0), nl.Dense(4, 3, "identity", rng=1)], "cross_entropy")
    net.fit(X, y, epochs=1, batch_size=16, optimizer=nl.optim.SGD(0.01), verbose=0)
    assert all(np.isfinite(p.value).all() for p in net.parameters())
