"""NeuralNetwork: construction checks, forward/backward, fit, predict, evaluate."""

import numpy as np
import pytest

import neurolab as nl


def blobs(n=60, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = rng.standard_normal((n, 2)) * 0.5 + np.array([[0, 3], [3, 0], [-3, -3]])[y]
    return X.astype(np.float32), y


def small_net(loss="cross_entropy", outputs=3, seed=0):
    return nl.NeuralNetwork(
        [nl.Dense(2, 8, "tanh", rng=seed), nl.Dense(8, outputs, "identity", rng=seed + 1)], loss=loss
    )


def test_construction_errors():
    with pytest.raises(TypeError, match="NeuralNetwork: expected a list of layers, got Dense"):
        nl.NeuralNetwork(nl.Dense(2, 2), "mse")
    with pytest.raises(ValueError, match="expected at least one layer, got an empty list"):
        nl.NeuralNetwork([], "mse")
    with pytest.raises(TypeError, match=r"expected layers\[1\] to be a neurolab.Layer, got builtin_function_or_method"):
        nl.NeuralNetwork([nl.Dense(2, 2), print], "mse")
    layer = nl.Dense(2, 2)
    with pytest.raises(ValueError, match="expected distinct layer objects, got the same layer twice"):
        nl.NeuralNetwork([layer, layer], "mse")
    with pytest.raises(ValueError, match=r"expected layers\[1\] \(Dense\) to take the 16 features that layers\[0\] gives, got in_features=30"):
        nl.NeuralNetwork([nl.Dense(784, 16), nl.Dense(30, 10)], "mse")
    with pytest.raises(ValueError, match=r"loss: expected one of \['binary_cross_entropy', 'cross_entropy', 'mse'\], got 'hinge'"):
        nl.NeuralNetwork([nl.Dense(2, 2)], "hinge")


@pytest.mark.parametrize("loss, activation", [("cross_entropy", "softmax"), ("binary_cross_entropy", "sigmoid")])
def test_squashing_before_a_logit_loss_is_refused_with_the_fix(loss, activation):
    with pytest.raises(ValueError, match=rf"expected logits .* got activation '{activation}'; use activation='identity'"):
        nl.NeuralNetwork([nl.Dense(2, 3, activation)], loss)


def test_forward_input_errors():
    net = small_net()
    with pytest.raises(ValueError, match=r"NeuralNetwork.forward: expected X of shape \(N, 2\), one sample per row, got \(2,\); for a single sample use X.reshape\(1, -1\)"):
        net.forward(np.zeros(2))
    with pytest.raises(ValueError, match=r"got \(5, 1, 2\); flatten each sample with X.reshape\(len\(X\), -1\)$"):
        net.forward(np.zeros((5, 1, 2)))
    with pytest.raises(ValueError, match=r"got \(5, 2, 2\)$"):  # 4 values per sample: flattening would not help
        net.forward(np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match=r"NeuralNetwork.forward: expected X of shape \(N, 2\) \(the in_features of layers\[0\], Dense\(2, 8, activation='tanh'\)\), got \(5, 3\)"):
        net.forward(np.zeros((5, 3)))
    with pytest.raises(ValueError, match=r"NeuralNetwork.forward: expected X to be finite, got nan at index \(1, 0\)"):
        net.forward(np.array([[0.0, 1.0], [np.nan, 0.0]]))
    with pytest.raises(TypeError, match="expected X to hold real numbers, got dtype <U1"):
        net.forward(np.array([["a", "b"]]))


def test_layer_returning_the_wrong_shape_is_named():
    class Broken(nl.Layer):
        def forward(self, x):
            return x[0]

        def backward(self, grad_out):
            return grad_out

    net = nl.NeuralNetwork([nl.Dense(2, 2), Broken()], "mse")
    with pytest.raises(ValueError, match=r"expected layers\[1\] \(Broken\).forward to return an array of shape \(4, ...\), got \(2,\)"):
        net.forward(np.zeros((4, 2)))


def test_backward_shape_check_names_the_layer():
    class DropsAColumn(nl.Layer):
        def forward(self, x):
            return x

        def backward(self, grad_out):
            return grad_out[:, 1:]

    net = nl.NeuralNetwork([nl.Dense(2, 3), DropsAColumn()], "mse")
    net.forward(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"expected layers\[1\] \(DropsAColumn\).backward to return dL/dx of the input's shape \(4, 3\), got \(4, 2\)"):
        net.backward(np.zeros((4, 3)))
    with pytest.raises(RuntimeError, match="NeuralNetwork.backward: expected a forward pass first"):
        small_net().backward(np.zeros((1, 3)))


def test_backward_returns_input_gradient_and_fills_every_grad():
    net = small_net()
    X, y = blobs(8)
    net.zero_grad()
    out = net.forward(X)
    net.loss.forward(out, y)
    grad_X = net.backward(net.loss.backward())
    assert grad_X.shape == X.shape
    assert all(p.grad.any() for p in net.parameters())


def test_fit_learns_and_reports_history():
    X, y = blobs()
    net = small_net()
    history = net.fit(X, y, epochs=30, batch_size=16, optimizer=nl.optim.SGD(lr=0.1, momentum=0.9), rng=0)
    assert set(history) == {"loss", "accuracy", "lr"}
    assert len(history["loss"]) == len(history["accuracy"]) == len(history["lr"]) == 30
    assert history["lr"] == [0.1] * 30
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    assert net.evaluate(X, y)["accuracy"] == 1.0


def test_fit_is_reproducible_and_ignores_global_random_state():
    X, y = blobs()
    np.random.seed(0)
    first = small_net(seed=3)
    first.fit(X, y, epochs=3, batch_size=8, rng=5)
    np.random.seed(1)
    second = small_net(seed=3)
    second.fit(X, y, epochs=3, batch_size=8, rng=5)
    for a, b in zip(first.parameters(), second.parameters()):
        np.testing.assert_array_equal(a.value, b.value)


def test_fit_keeps_its_optimizer_between_calls():
    X, y = blobs()
    net = small_net()
    net.fit(X, y, epochs=1, optimizer=nl.optim.Adam(lr=0.01), rng=0)
    optimizer = net.optimizer
    net.fit(X, y, epochs=1, rng=0)
    assert net.optimizer is optimizer
    assert optimizer.state[net.parameters()[0]]["step"] == 2 * int(np.ceil(len(X) / 32))


def test_fit_argument_errors():
    X, y = blobs(10)
    net = small_net()
    with pytest.raises(ValueError, match=r"NeuralNetwork.fit: expected as many targets as samples \(10\), got y of shape \(9,\)"):
        net.fit(X, y[:9])
    with pytest.raises(ValueError, match="NeuralNetwork.fit: expected at least one sample, got X with 0 rows"):
        net.fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="NeuralNetwork.fit: expected batch_size to be a positive int, got 0"):
        net.fit(X, y, batch_size=0)
    with pytest.raises(ValueError, match="expected epochs to be a positive int, got -1"):
        net.fit(X, y, epochs=-1)
    with pytest.raises(ValueError, match=r"CrossEntropy: expected class labels in \[0, 2\] for 3 outputs, got 7"):
        net.fit(X, np.where(np.arange(10) == 9, 7, y))
    with pytest.raises(ValueError, match=r"optimizer: expected one of \['adam', 'rmsprop', 'sgd'\], got 'lbfgs'"):
        net.fit(X, y, optimizer="lbfgs")


def test_diverging_fit_stops_with_finite_weights_and_says_where():
    X, y = blobs()
    net = nl.NeuralNetwork([nl.Dense(2, 8, "relu", rng=0), nl.Dense(8, 1, "identity", rng=1)], "mse")
    with pytest.raises(FloatingPointError, match=r"expected a finite loss, got (inf|nan) at epoch 1, batch \d+; .*restored. Try a smaller learning rate \(now 1000000.0\)"):
        with np.errstate(all="ignore"):
            net.fit(X * 100, y * 1e3, epochs=5, batch_size=4, optimizer=nl.optim.SGD(lr=1e6), rng=0)
    start = [nl.Dense(2, 8, "relu", rng=0), nl.Dense(8, 1, "identity", rng=1)]
    for p, q in zip(net.parameters(), [p for layer in start for p in layer.parameters()]):
        np.testing.assert_array_equal(p.value, q.value)  # restored to the epoch's start


def test_predict_outputs_per_loss():
    X, y = blobs(10)
    ce = small_net("cross_entropy", 3)
    assert ce.predict(X).shape == (10,) and ce.predict(X).dtype.kind == "i"
    np.testing.assert_allclose(ce.predict_proba(X).sum(axis=1), 1, rtol=1e-6)
    bce = small_net("binary_cross_entropy", 1)
    assert bce.predict(X).shape == (10,) and set(np.unique(bce.predict(X))) <= {0, 1}
    assert bce.predict_proba(X).shape == (10, 1)
    mse = small_net("mse", 2)
    np.testing.assert_array_equal(mse.predict(X), mse.forward(X))


def test_predict_on_zero_samples_is_empty():
    net = small_net()
    assert net.predict(np.zeros((0, 2))).shape == (0,)
    assert net.predict_proba(np.zeros((0, 2))).shape == (0, 3)


def test_predict_in_chunks_equals_one_pass():
    X, _ = blobs(50)
    net = small_net()
    # BLAS may round differently for other batch sizes: equal to float32 precision.
    np.testing.assert_allclose(net.predict_proba(X, batch_size=7), net.predict_proba(X, batch_size=1000), rtol=1e-6)


def test_evaluate():
    X, y = blobs(20)
    net = small_net()
    result = net.evaluate(X, y)
    assert set(result) == {"loss", "accuracy"}
    assert result["loss"] == pytest.approx(nl.losses.CrossEntropy()(net.forward(X), y), rel=1e-6)
    assert result["accuracy"] == pytest.approx(np.mean(net.predict(X) == y))


def test_repr_lists_layers_and_loss():
    assert repr(small_net()) == (
        "NeuralNetwork(\n  (0): Dense(2, 8, activation='tanh')\n  (1): Dense(8, 3, activation='identity')\n"
        "  loss=CrossEntropy()\n)"
    )
