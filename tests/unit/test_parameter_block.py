"""Parameters stored back to back: one optimizer update for all, the same numbers as one by one."""

import copy

import numpy as np
import pytest

import neurolab as nl
from neurolab.parameter import Parameter, ParameterBlock

OPTIMIZERS = [
    lambda: nl.optim.SGD(0.1),
    lambda: nl.optim.SGD(0.1, momentum=0.9),
    lambda: nl.optim.SGD(0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    lambda: nl.optim.RMSprop(0.01, momentum=0.5, weight_decay=0.001),
    lambda: nl.optim.Adam(0.01),
    lambda: nl.optim.Adam(0.01, weight_decay=0.01),
]


def make_net(seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    return nl.NeuralNetwork(
        [nl.Dense(6, 5, "tanh", rng=rng, dtype=dtype), nl.Dense(5, 4, "relu", rng=rng, dtype=dtype),
         nl.Dense(4, 3, "identity", rng=rng, dtype=dtype)],
        "cross_entropy",
    )


def data(n=40, seed=1):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 6)), rng.integers(0, 3, n)


@pytest.mark.parametrize("make_optimizer", OPTIMIZERS)
def test_fit_updates_the_block_as_one_by_one_updates_would_bit_for_bit(make_optimizer):
    X, y = data()
    a, b = make_net(), make_net()
    opt_a, opt_b = make_optimizer(), make_optimizer()
    a.fit(X, y, epochs=3, batch_size=8, optimizer=opt_a, rng=3, verbose=0)
    assert opt_a._block is not None and opt_a._block.block is a._block  # the block path ran
    order_rng = np.random.default_rng(3)
    for _ in range(3):
        order = order_rng.permutation(len(X))
        for start in range(0, len(X), 8):
            index = order[start : start + 8]
            b.loss.forward(b.forward(X[index]), y[index])
            b.zero_grad()
            b.backward(b.loss.backward())
            opt_b.step(b.parameters())  # a list: one update per parameter
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
        assert set(opt_a.state[p]) == set(opt_b.state[q])
        for key, value in opt_a.state[p].items():
            np.testing.assert_array_equal(value, opt_b.state[q][key], err_msg=key)


def test_block_packs_dense_parameters_as_views_and_keeps_their_numbers():
    net_layers = [nl.Dense(3, 2, rng=0), nl.Dense(2, 2, "identity", rng=1)]
    before = [p.value.copy() for layer in net_layers for p in layer.parameters()]
    net = nl.NeuralNetwork(net_layers, "mse")
    block = net._block
    assert len(block.packed) == 4 and not block.loose and block.intact()
    assert list(block) == net.parameters()
    for p, value in zip(net.parameters(), before):
        np.testing.assert_array_equal(p.value, value)
        assert np.shares_memory(p.value, block.value) and np.shares_memory(p.grad, block.grad)
    net.layers[0].weight.value[0, 0] = 7.0  # a write through a parameter shows in the block
    assert block.value[0] == 7.0
    assert block.value.size == 3 * 2 + 2 + 2 * 2 + 2


def test_parameters_of_other_layers_and_other_dtypes_stay_loose():
    class Scale(nl.Layer):  # holds the array it registered, as the Layer docs allow
        def __init__(self):
            super().__init__()
            self.s = np.ones(2)
            self.add_parameter("s", self.s)

        def forward(self, x):
            self.x = x
            return x * self.s

        def backward(self, grad_out):
            self.parameters()[0].grad += (grad_out * self.x).sum(axis=0)
            return grad_out * self.s

    scale = Scale()
    held = scale.s
    net = nl.NeuralNetwork([nl.Dense(3, 2, rng=0), scale, nl.Dense(2, 2, "identity", rng=1, dtype=np.float64)], "mse")
    block = net._block
    assert [p.shape for p in block.packed] == [(2, 3), (2,)]
    assert block.loose == (scale.parameters()[0], net.layers[2].weight, net.layers[2].bias)
    X, y = np.random.default_rng(0).normal(size=(16, 3)), np.zeros((16, 2))
    net.fit(X, y, epochs=2, batch_size=4, optimizer=nl.optim.SGD(0.1, momentum=0.9), verbose=0)
    assert scale.parameters()[0].value is held and not np.array_equal(held, np.ones(2))  # trained in place


def test_a_converted_or_regraded_parameter_leaves_the_block_and_fit_repacks():
    X, y = data()
    net = make_net()
    net.fit(X, y, epochs=1, batch_size=8, optimizer=nl.optim.Adam(0.01), verbose=0)
    old = net._block
    net.layers[1].astype(np.float64)  # new arrays for two parameters
    assert not old.intact()
    net.layers[1].astype(np.float32)
    net.fit(X, y, epochs=1, batch_size=8, verbose=0)
    assert net._block is not old and net._block.intact() and len(net._block.packed) == 6
    assert all(np.isfinite(p.value).all() for p in net.parameters())


def test_network_astype_repacks_in_the_new_dtype():
    net = make_net().astype(np.float64)
    assert net._block.value.dtype == np.float64 and net._block.intact() and len(net._block.packed) == 6


def test_a_layer_shared_by_two_networks_trains_in_both():
    X, y = data()
    shared = nl.Dense(6, 3, "identity", rng=0)
    one = nl.NeuralNetwork([shared], "cross_entropy")
    two = nl.NeuralNetwork([shared], "cross_entropy")  # takes the parameters into its own block
    assert not one._block.intact()
    one.fit(X, y, epochs=1, batch_size=8, optimizer="sgd", verbose=0)  # repacks: now two's is stale
    trained = shared.weight.value.copy()
    two.fit(X, y, epochs=1, batch_size=8, optimizer="sgd", verbose=0)
    assert not np.array_equal(shared.weight.value, trained)
    assert one.predict(X[:3]).tolist() == two.predict(X[:3]).tolist()


def test_loaded_or_restored_state_is_gathered_again(tmp_path):
    X, y = data()
    net = make_net()
    net.fit(X, y, epochs=2, batch_size=8, optimizer=nl.optim.SGD(0.1, momentum=0.9), rng=0, verbose=0)
    path = net.save(tmp_path / "m.npz")
    loaded = nl.load(path)
    loaded.fit(X, y, epochs=1, batch_size=8, verbose=0)
    net.fit(X, y, epochs=1, batch_size=8, verbose=0)
    for p, q in zip(net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
        np.testing.assert_array_equal(net.optimizer.state[p]["velocity"], loaded.optimizer.state[q]["velocity"])
    velocity = loaded.optimizer.state[loaded.parameters()[0]]["velocity"]
    assert np.shares_memory(velocity, loaded.optimizer._block.flat["velocity"])  # views of the flat state again


def test_parameters_with_states_of_different_kinds_are_updated_one_by_one():
    X, y = data()
    net = make_net()
    optimizer = nl.optim.SGD(0.1, momentum=0.9)
    first = net.parameters()[0]
    optimizer.state[first] = {"velocity": np.ones_like(first.value)}  # only this one has a state yet
    net.fit(X, y, epochs=1, batch_size=40, optimizer=optimizer, shuffle=False, verbose=0)
    assert optimizer._block is None  # could not gather: went parameter by parameter
    assert all("velocity" in optimizer.state[p] for p in net.parameters())


def test_an_optimizer_that_is_not_elementwise_gets_each_parameter():
    class CountingSGD(nl.optim.SGD):
        elementwise = False  # e.g. a per-layer norm rule must see each parameter whole
        calls = 0

        def update(self, p, grad, state, scratch):
            type(self).calls += 1
            super().update(p, grad, state, scratch)

    X, y = data()
    net = make_net()
    net.fit(X, y, epochs=1, batch_size=40, optimizer=CountingSGD(0.1), verbose=0)
    assert CountingSGD.calls == len(net.parameters())


def test_pending_zero_grad_is_written_before_a_block_step():
    block = ParameterBlock([Parameter(np.ones(3, np.float32)), Parameter(np.ones(2, np.float32))])
    block.grad[:] = 5.0  # stale numbers under a pending zero_grad
    for p in block:
        p.zero_grad()
    nl.optim.SGD(1.0).step(block)
    np.testing.assert_array_equal(block.value, np.ones(5, np.float32))  # a zero gradient moves nothing


def test_a_copied_network_trains_on_its_own_copy():
    X, y = data()
    net = make_net()
    net.fit(X, y, epochs=1, batch_size=8, optimizer=nl.optim.SGD(0.1, momentum=0.9), verbose=0)
    twin = copy.deepcopy(net)
    before = [p.value.copy() for p in net.parameters()]
    twin.fit(X, y, epochs=1, batch_size=8, verbose=0)
    for p, value in zip(net.parameters(), before):
        np.testing.assert_array_equal(p.value, value)
    assert twin._block.intact()


def test_a_step_after_a_parameter_left_the_block_updates_the_parameter_itself():
    X, y = data()
    net = make_net()
    net.fit(X, y, epochs=1, batch_size=8, optimizer=nl.optim.SGD(0.1, momentum=0.9), verbose=0)
    layer = net.layers[0]
    layer.astype(np.float32)  # new arrays: out of the block, which the cached state still matches
    layer.weight.grad[...] = 1.0
    before = layer.weight.value.copy()
    net.optimizer.step(net._block)
    assert not np.array_equal(layer.weight.value, before)  # the per-parameter path ran
