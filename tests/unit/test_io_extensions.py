"""What users extend must round-trip: their own layers, activations, losses and optimizers.

One way to register each (``@nl.register``); a file ``save`` writes loads back as the same
network (predictions, optimizer state, training continued); and where it would not, ``save``
refuses before writing, saying what to do.
"""

import numpy as np
import pytest

import neurolab as nl


@pytest.fixture
def registry():
    """Registers classes for one test and removes them after it."""
    tables = [nl.io.LAYERS, nl.activations.ACTIVATIONS, nl.losses.LOSSES, nl.optim.OPTIMIZERS]
    before = [dict(table) for table in tables]
    yield nl.register
    for table, saved in zip(tables, before):
        table.clear()
        table.update(saved)


class Swish(nl.activations.Activation):
    """``f(z) = z * sigmoid(beta z)``."""

    name = "swish"

    def __init__(self, beta=1.0):
        self.beta = float(beta)

    def forward(self, z):
        return z * nl.activations.sigmoid(self.beta * z)

    def derivative(self, z, a):
        s = nl.activations.sigmoid(self.beta * z)
        return s + self.beta * z * s * (1 - s)

    def get_config(self):
        return {"beta": self.beta}


class Huber(nl.losses.MSE):
    """MSE's outputs and targets, with the Huber loss of width ``delta``."""

    name = "huber"

    def __init__(self, delta=1.0):
        super().__init__()
        self.delta = float(delta)

    def forward(self, prediction, target):
        prediction, target = self._checked(prediction, target, "forward")
        self.target = target
        self.diff = prediction - target.astype(prediction.dtype)
        small = np.abs(self.diff) <= self.delta
        loss = np.where(small, 0.5 * self.diff**2, self.delta * (np.abs(self.diff) - 0.5 * self.delta))
        return float(loss.sum() / len(prediction))

    def backward(self):
        return np.clip(self.diff, -self.delta, self.delta) / len(self.diff)

    def get_config(self):
        return {"delta": self.delta}


class SignSGD(nl.optim.Optimizer):
    """``w -= lr * sign(m)`` with ``m`` a running mean of gradients (state: ``m``)."""

    def __init__(self, lr=0.01, beta=0.9, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.beta = float(beta)

    def update(self, p, grad, state):
        m = state.setdefault("m", np.zeros_like(p.value))
        m *= self.beta
        m += (1 - self.beta) * grad
        p.value -= self.lr * np.sign(m)

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}


def make_shift():
    class Shift(nl.Layer):
        """``Y = X + s``, with ``s`` learned (features fixed at construction)."""

        def __init__(self, features, start=0.0):
            super().__init__()
            self.features, self.start = features, start
            self.shift = self.add_parameter("shift", np.full(features, start, dtype=np.float32))

        def forward(self, x):
            return x + self.shift.value

        def backward(self, grad_out):
            self.shift.grad += grad_out.sum(axis=0)
            return grad_out

        def get_config(self):
            return {"features": self.features, "start": self.start}

    return Shift


def data(seed=0, n=32):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 2))


def custom_net(shift_cls):
    return nl.NeuralNetwork([shift_cls(3), nl.Dense(3, 4, Swish(0.7), rng=1), nl.Dense(4, 2, "identity", rng=2)], Huber(0.5))


def test_every_extension_point_round_trips_and_training_resumes_exactly(tmp_path, registry):
    Shift = make_shift()
    for cls in (Shift, Swish, Huber, SignSGD):
        assert registry(cls) is cls
    X, y = data()
    first, straight = custom_net(Shift), custom_net(Shift)
    first.fit(X, y, epochs=2, batch_size=8, optimizer=SignSGD(lr=0.01, beta=0.8), rng=3, verbose=0)
    straight.fit(X, y, epochs=4, batch_size=8, optimizer=SignSGD(lr=0.01, beta=0.8), rng=3, verbose=0)

    loaded = nl.load(first.save(tmp_path / "custom.npz"))
    assert [type(layer) for layer in loaded.layers] == [Shift, nl.Dense, nl.Dense]
    assert loaded.layers[1].activation == Swish(0.7)
    assert type(loaded.loss) is Huber and loaded.loss.delta == 0.5
    assert type(loaded.optimizer) is SignSGD and loaded.optimizer.beta == 0.8
    np.testing.assert_array_equal(loaded.predict(X), first.predict(X))
    for p, q in zip(first.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(loaded.optimizer.state[q]["m"], first.optimizer.state[p]["m"])

    loaded.fit(X, y, epochs=2, batch_size=8, verbose=0)  # the same optimizer goes on
    for p, q in zip(straight.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(q.value, p.value)


@pytest.mark.parametrize("kind", ["layer", "activation", "loss", "optimizer"])
def test_an_unregistered_class_is_refused_before_writing(tmp_path, registry, kind):
    Shift = make_shift()
    for cls in {"layer": (Swish, Huber, SignSGD), "activation": (Shift, Huber, SignSGD),
                "loss": (Shift, Swish, SignSGD), "optimizer": (Shift, Swish, Huber)}[kind]:
        registry(cls)
    net = custom_net(Shift)
    net.fit(*data(), epochs=1, batch_size=8, optimizer=SignSGD(), verbose=0)
    what = {"layer": r"layers\[0\] of class .*Shift", "activation": r"layers\[1\].activation of class Swish",
            "loss": "the loss of class Huber", "optimizer": "the optimizer of class SignSGD"}[kind]
    with pytest.raises(TypeError, match=rf"NeuralNetwork.save: expected registered classes, got {what} .*; decorate the class with @neurolab.register"):
        net.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_register_refuses_what_it_cannot_store():
    with pytest.raises(TypeError, match="register: expected a subclass of neurolab.Layer, neurolab.activations.Activation, neurolab.losses.Loss or neurolab.optim.Optimizer, got <class 'int'>"):
        nl.register(int)
    with pytest.raises(TypeError, match="got <class 'neurolab.layer.Layer'>"):
        nl.register(nl.Layer)

    class Nameless(nl.activations.Activation):
        def forward(self, z):
            return z

    with pytest.raises(ValueError, match=r"register: expected Nameless to set its own name \(a class attribute name = '...', used in saved files\), got 'activation' from its base"):
        nl.register(Nameless)

    class MyReLU(nl.activations.ReLU):
        name = "relu"

    with pytest.raises(ValueError, match="register: expected a new activation name, got 'relu', already registered for neurolab.activations.ReLU"):
        nl.register(MyReLU)

    class Adam(nl.optim.SGD):
        pass

    with pytest.raises(ValueError, match="expected a new optimizer name, got 'adam', already registered for neurolab.optim.Adam"):
        nl.register(Adam)
    with pytest.raises(TypeError, match="register_layer: expected a subclass of neurolab.Layer, got <class 'tests.unit.test_io_extensions.Swish'>"):
        nl.register_layer(Swish)


def test_registering_the_same_class_twice_is_harmless(registry):
    assert registry(Swish) is Swish and registry(Swish) is Swish
    assert nl.activations.get("swish") == Swish()


# -- save refuses a file that would not load back the same ---------------------------------
def offset_layer(config=True, default=None):
    """A layer ``Y = X + offset`` whose ``offset`` is a setting; ``config=False`` forgets get_config."""

    class Offset(nl.Layer):
        if default is None:
            def __init__(self, offset):
                super().__init__()
                self.offset = offset
        else:
            def __init__(self, offset=default):
                super().__init__()
                self.offset = offset

        def forward(self, x):
            return x + self.offset

        def backward(self, grad_out):
            return grad_out

        if config:
            def get_config(self):
                return {"offset": self.offset}

    return Offset


def refused_before_writing(tmp_path, net, match):
    path = tmp_path / "m.npz"
    path.write_bytes(b"the previous file")
    with pytest.raises(ValueError, match=match) as info:
        net.save(path)
    assert "nothing was written" in str(info.value)
    assert path.read_bytes() == b"the previous file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_a_layer_with_arguments_but_no_get_config_is_refused(tmp_path, registry):
    Offset = registry(offset_layer(config=False))
    net = nl.NeuralNetwork([Offset(2.0), nl.Dense(3, 2, rng=0)], "mse")
    refused_before_writing(
        tmp_path, net,
        r"NeuralNetwork.save: expected a network that load rebuilds as it is, got a config that "
        r"Offset refuses for layers\[0\] \(TypeError: .*missing 1 required positional argument: 'offset'\)",
    )


def test_a_layer_whose_get_config_misses_an_argument_with_a_default_is_refused(tmp_path, registry):
    Offset = registry(offset_layer(config=False, default=0.0))
    net = nl.NeuralNetwork([Offset(2.0), nl.Dense(3, 2, rng=0)], "mse")
    refused_before_writing(tmp_path, net, r"layers\[0\] \(Offset\) with offset=2.0 rebuilt with offset=0.0; its get_config\(\) must return 'offset'")


def test_a_layer_whose_output_depends_on_state_outside_parameters_and_config_is_refused(tmp_path, registry):
    @registry
    class Projection(nl.Layer):
        """A fixed random projection drawn in __init__ (not a parameter, not in the config)."""

        def __init__(self, n_in=3, n_out=3):
            super().__init__()
            self.n_in, self.n_out = n_in, n_out
            self.matrix = np.random.default_rng().normal(size=(n_in, n_out)).astype(np.float32)

        def forward(self, x):
            return x @ self.matrix

        def backward(self, grad_out):
            return grad_out @ self.matrix.T

        def get_config(self):
            return {"n_in": self.n_in, "n_out": self.n_out}

    net = nl.NeuralNetwork([nl.Dense(3, 3, rng=0), Projection(), nl.Dense(3, 2, rng=1)], "mse")
    refused_before_writing(tmp_path, net, r"other outputs on a probe batch \(row \d+: .* before, .* after\); a layer keeps state outside its parameters and get_config\(\)")


def test_a_get_config_that_does_not_rebuild_itself_is_refused(tmp_path, registry):
    @registry
    class Clipped(nl.Layer):
        def __init__(self, limit=1.0):
            super().__init__()
            self.limit = min(float(limit), 5.0)  # the setting is changed on the way in

        def forward(self, x):
            return np.clip(x, -self.limit, self.limit)

        def backward(self, grad_out):
            return grad_out

        def get_config(self):
            return {"limit": self.limit * 2}

    net = nl.NeuralNetwork([Clipped(2.0), nl.Dense(3, 2, rng=0)], "mse")
    refused_before_writing(tmp_path, net, r"layers\[0\] \(Clipped\) rebuilt from get_config\(\) \{'limit': 4.0\} with get_config\(\) \{'limit': 8.0\}")


@pytest.mark.parametrize("kind", ["activation", "loss", "optimizer"])
def test_an_activation_loss_or_optimizer_whose_get_config_misses_a_setting_is_refused(tmp_path, registry, kind):
    class ForgetfulSwish(Swish):
        name = "forgetful_swish"

        def get_config(self):
            return {}

    class ForgetfulHuber(Huber):
        name = "forgetful_huber"

        def get_config(self):
            return {}

    class ForgetfulSignSGD(SignSGD):
        def get_config(self):
            return {"lr": self.lr}

    for cls in (ForgetfulSwish, ForgetfulHuber, ForgetfulSignSGD):
        registry(cls)
    activation = ForgetfulSwish(0.5) if kind == "activation" else "relu"
    loss = ForgetfulHuber(0.25) if kind == "loss" else "mse"
    net = nl.NeuralNetwork([nl.Dense(3, 2, activation, rng=0)], loss)
    if kind == "optimizer":
        net.fit(*data(), epochs=1, batch_size=8, optimizer=ForgetfulSignSGD(lr=0.1, beta=0.5), verbose=0)
    what = {"activation": r"layers\[0\].activation \(ForgetfulSwish\) with beta=0.5 rebuilt with beta=1.0",
            "loss": r"the loss \(ForgetfulHuber\) with delta=0.25 rebuilt with delta=1.0",
            "optimizer": r"the optimizer \(ForgetfulSignSGD\) with beta=0.5 rebuilt with beta=0.9"}[kind]
    refused_before_writing(tmp_path, net, what)


def test_a_config_that_is_not_json_is_refused_before_writing(tmp_path, registry):
    Offset = registry(offset_layer())
    for offset, problem in [(np.float32(2.0), "float32 is not JSON serializable"), (float("nan"), "Out of range float values are not JSON compliant")]:
        net = nl.NeuralNetwork([Offset(offset), nl.Dense(3, 2, rng=0)], "mse")
        with pytest.raises(TypeError, match=f"NeuralNetwork.save: expected JSON-serialisable configs of finite numbers, got .*{problem}"):
            net.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_config_nested_deeper_than_load_reads_is_refused_before_writing(tmp_path, registry):
    Offset = registry(offset_layer())
    deep = 0.0
    for _ in range(20):
        deep = [deep]
    net = nl.NeuralNetwork([Offset(deep), nl.Dense(3, 2, rng=0)], "mse")
    refused_before_writing(tmp_path, net, r"a description nested 2\d levels deep \(at most 16\)")


# -- any network of built-in pieces: save, load, the same network ---------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

ACTIVATIONS = ["identity", "relu", "sigmoid", "tanh", "softmax"]


@st.composite
def trained_networks(draw):
    """A network of built-in layers with drawn settings, trained a few steps with a drawn optimizer."""
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    loss = draw(st.sampled_from(["mse", "cross_entropy", "binary_cross_entropy"]))
    n_in = draw(st.integers(1, 4))
    n_out = {"mse": draw(st.integers(1, 3)), "cross_entropy": draw(st.integers(2, 4)), "binary_cross_entropy": 1}[loss]
    widths = [n_in] + draw(st.lists(st.integers(1, 5), max_size=2)) + [n_out]
    layers = []
    if draw(st.booleans()):
        layers.append(nl.Rescale(draw(st.floats(0.01, 2)), draw(st.floats(-1, 1)), dtype=dtype))
    for k, (a, b) in enumerate(zip(widths, widths[1:])):
        last = k == len(widths) - 2
        if last and loss != "mse":
            activation = "identity"
        else:
            activation = draw(st.sampled_from(ACTIVATIONS + ["leaky_relu"]))
            if activation == "leaky_relu":
                activation = nl.activations.LeakyReLU(draw(st.floats(0, 2)))
        layers.append(nl.Dense(a, b, activation, rng=draw(st.integers(0, 99)), dtype=dtype))
        if not last and draw(st.booleans()):
            layers.append(nl.Dropout(draw(st.floats(0, 0.9)), rng=draw(st.integers(0, 99))))
    optimizer = draw(st.sampled_from([
        lambda: nl.optim.SGD(lr=0.001, momentum=draw(st.sampled_from([0.0, 0.5])), weight_decay=draw(st.sampled_from([0.0, 1e-3]))),
        lambda: nl.optim.SGD(lr=0.001, momentum=0.9, nesterov=True),
        lambda: nl.optim.RMSprop(lr=0.01, alpha=draw(st.floats(0, 0.99)), momentum=draw(st.sampled_from([0.0, 0.3]))),
        lambda: nl.optim.Adam(lr=0.01, betas=(draw(st.floats(0, 0.99)), draw(st.floats(0, 0.999))), weight_decay=draw(st.sampled_from([0.0, 1e-2]))),
    ]))()
    net = nl.NeuralNetwork(layers, loss)
    rng = np.random.default_rng(draw(st.integers(0, 99)))
    X = rng.normal(size=(12, n_in)) * draw(st.sampled_from([1.0, 3.0]))
    y = rng.integers(0, 2 if loss == "binary_cross_entropy" else n_out, 12) if loss != "mse" else rng.normal(size=(12, n_out))
    net.fit(X, y, epochs=draw(st.integers(1, 2)), batch_size=draw(st.integers(1, 12)), optimizer=optimizer, rng=1, verbose=0)
    return net, X, y


@settings(max_examples=40, deadline=None)
@given(case=trained_networks())
def test_any_network_of_built_in_pieces_loads_back_the_same_and_trains_on_the_same(tmp_path_factory, case):
    net, X, y = case
    loaded = nl.load(net.save(tmp_path_factory.mktemp("m") / "m.npz"))
    assert nl.io._describe(loaded) == nl.io._describe(net)
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    for p, q in zip(net.parameters(), loaded.parameters()):
        a, b = net.optimizer.state.get(p, {}), loaded.optimizer.state.get(q, {})
        assert sorted(a) == sorted(b)
        for key in a:
            np.testing.assert_array_equal(b[key], a[key])
    net.fit(X, y, epochs=1, batch_size=5, verbose=0)
    loaded.fit(X, y, epochs=1, batch_size=5, verbose=0)
    for p, q in zip(net.parameters(), loaded.parameters()):
        np.testing.assert_array_equal(q.value, p.value)
