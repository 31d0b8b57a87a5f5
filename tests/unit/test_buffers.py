"""fit reuses its arrays from batch to batch: same numbers, and nothing of the user's is overwritten."""

import numpy as np
import pytest

import neurolab as nl
from neurolab._buffers import NEW_ARRAYS, PAGE, BatchArrays, page_aligned


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
    held = [value for owner in net.layers + [net.loss] for value in vars(owner).values()]
    assert not any(isinstance(value, BatchArrays) for value in held)  # fit's arrays went with it
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


def test_batch_arrays_reuse_by_name_shape_and_dtype_and_new_arrays_give_none():
    arrays = BatchArrays()
    first = arrays.get("z", (2, 3), np.dtype(np.float32))
    assert arrays.get("z", (2, 3), np.dtype(np.float32)) is first
    assert arrays.get("z", (1, 3), np.dtype(np.float32)) is not first  # the last, smaller batch
    assert arrays.get("z", (2, 3), np.dtype(np.float32)) is first  # still kept for the next epoch's sizes
    assert arrays.get("a", (2, 3), np.dtype(np.float32)) is not first
    other = arrays.get("z", (2, 3), np.dtype(np.float64))  # a layer converted by astype during fit
    assert other.dtype == np.float64 and other is not first
    assert arrays.scratch is None
    grad_x = arrays.get("grad_x", (2, 3), np.dtype(np.float32), scratch=True)
    assert arrays.scratch is grad_x
    assert NEW_ARRAYS.get("z", (2, 3), np.dtype(np.float32), scratch=True) is None


def test_caches_seen_at_the_end_of_an_epoch_are_not_written_by_the_next():
    X, y = data(n=48)
    net = make_net()
    kept = []

    class Keep(nl.callbacks.Callback):
        def on_epoch_end(self, network, epoch, logs):
            kept.append([(layer.z, layer.a, layer.grad_z, layer.x) for layer in network.layers[1:]])

    net.fit(X, y, epochs=3, batch_size=16, optimizer="sgd", callbacks=[Keep()], verbose=0)
    copies = [[tuple(a.copy() for a in arrays) for arrays in epoch] for epoch in kept]
    for held, copied in zip(kept, copies):
        for arrays, copy in zip(held, copied):
            for array, before in zip(arrays, copy):
                np.testing.assert_array_equal(array, before)
    assert not np.array_equal(copies[0][0][0], copies[1][0][0])  # the epochs did differ


class SquashedDense(nl.Dense):
    """A subclass that rewrites forward and backward, each through the parent's."""

    calls = 0  # training-mode calls

    def forward(self, x):
        type(self).calls += self.training
        return super().forward(x) * 0.5

    def backward(self, grad_out):
        return super().backward(grad_out * 0.5)


def test_a_subclass_that_rewrites_forward_and_backward_is_what_fit_runs():
    X, y = data()

    def build():
        rng = np.random.default_rng(0)
        return nl.NeuralNetwork(
            [nl.Rescale(1 / 255), SquashedDense(12, 9, rng=rng), SquashedDense(9, 7, rng=rng), nl.Dense(7, 3, "identity", rng=rng)],
            "cross_entropy",
        )

    a, b = build(), build()
    SquashedDense.calls = 0
    a.fit(X, y, epochs=2, batch_size=16, optimizer=nl.optim.SGD(0.1, momentum=0.9), rng=5, verbose=0)
    assert SquashedDense.calls == 2 * 2 * 4  # two layers, two epochs of four batches
    optimizer, rng = nl.optim.SGD(0.1, momentum=0.9), np.random.default_rng(5)
    for _ in range(2):
        manual_epoch(b, X, y, 16, optimizer, rng)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)


def test_fit_hooks_follow_what_a_subclass_rewrites():
    assert nl.Dense._fit_forward is nl.Dense._forward and nl.Dense._fit_backward is nl.Dense._backward
    assert SquashedDense._fit_forward is nl.Layer._fit_forward
    assert SquashedDense._fit_backward is nl.Layer._fit_backward

    class OwnShortcut(nl.Dense):
        def backward_parameters(self, grad_out):
            super().backward_parameters(grad_out)

    assert OwnShortcut._fit_forward is nl.Dense._forward  # forward untouched: the fast path stays
    assert OwnShortcut._fit_backward is nl.Layer._fit_backward


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


@pytest.mark.parametrize("shape, dtype", [((), np.float32), ((5,), np.float64), ((128, 784), np.uint8), ((3, 0), np.float32)])
def test_page_aligned_arrays_start_on_a_page(shape, dtype):
    array = page_aligned(shape, dtype)
    assert array.shape == shape and array.dtype == dtype and array.flags.c_contiguous and array.flags.writeable
    assert array.ctypes.data % PAGE == 0 or array.size == 0  # an empty array has no memory to place


def test_what_training_streams_through_starts_on_pages():
    X, y = data(n=40)
    net = make_net()
    optimizer = nl.optim.SGD(0.1, momentum=0.9)
    seen = []

    class Watch(nl.callbacks.Callback):
        def on_batch_end(self, network, batch, logs):
            seen.extend(a for layer in network.layers[1:] for a in (layer.x, layer.z, layer.a, layer.grad_z))

    net.fit(X, y, epochs=1, batch_size=16, optimizer=optimizer, callbacks=[Watch()], verbose=0)
    block = net._block
    streamed = [block.value, block.grad, optimizer._block.flat["velocity"], optimizer._scratch[block.flat]] + seen
    assert all(a.ctypes.data % PAGE == 0 for a in streamed)
