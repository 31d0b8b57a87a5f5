"""neurolab.export: networks to PyTorch and ONNX and back, with equal outputs and gradients.

The tests that need torch or onnx skip, saying so, where the package is missing (``pip install
-e ".[test]"`` installs both).
"""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import neurolab as nl
from neurolab import export

from ..strategies import ACTIVATION_NAMES, cnn_cases, network_cases, randomize_bias, seeds


def needs(name: str):
    install = "pip install onnxruntime" if name == "onnxruntime" else f"pip install neurolab-nn[{name}]"  # onnxruntime: no extra of ours
    return pytest.importorskip(name, reason=f"{name} is not installed: {install}")


def assert_close(got, want, rtol=1e-5):
    """Equal within ``rtol`` relative to each value, or to the largest one for values near 0."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * max(1.0, float(np.abs(want).max(initial=0))))


def assert_same_labels(net, got, out) -> None:
    """For a classifier, the labels of ``got`` are those of ``out`` wherever rounding cannot change them."""
    if net.loss.name != "mse":
        clear = clear_labels(net, out)
        assert np.array_equal(net.loss.predict(got)[clear], net.loss.predict(out)[clear])


def clear_labels(net, out) -> np.ndarray:
    """The samples whose predicted label no rounding can change (top two logits, or a logit and 0, 1e-4 apart)."""
    if net.loss.name == "binary_cross_entropy":
        return np.all(np.abs(out) > 1e-4, axis=1)
    top = np.sort(out, axis=1)
    return top[:, -1] - top[:, -2] > 1e-4 if out.shape[1] > 1 else np.ones(len(out), bool)


@st.composite
def export_cases(draw):
    """``(net, X, y)``: a float32 network of every supported layer: an MLP or a CNN of
    ``tests.strategies``, maybe a Rescale in front, a Dropout before its last Dense, and a
    softmax Dense at the end (mse)."""
    net, X, y = draw(network_cases() | cnn_cases())
    layers = list(net.layers)
    rng = np.random.default_rng(draw(seeds))
    if draw(st.booleans()):
        layers.insert(len(layers) - 1, nl.Dropout(draw(st.sampled_from([0.0, 0.5])), rng=rng))
    if draw(st.booleans()):
        layers.insert(0, nl.Rescale(draw(st.sampled_from([1 / 255, 0.5, -2.0])), draw(st.sampled_from([0.0, 0.1]))))
    if net.loss.name == "mse" and draw(st.booleans()):
        width = layers[-1].out_features
        last = nl.Dense(width, width, draw(st.sampled_from(ACTIVATION_NAMES)), rng=rng)
        randomize_bias(last, rng)
        layers.append(last)
    return nl.NeuralNetwork(layers, net.loss.name), X.astype(np.float32), y


def every_layer_network(dtype=np.float32):
    """``(net, X)``: one network of every layer and every activation, with unequal paddings, strides and kernels."""
    rng = np.random.default_rng(0)
    layers = [
        nl.Rescale(1 / 255, -0.5, dtype=dtype),
        nl.Reshape((2, 7, 6)),
        nl.RandomShift(1, rng=1),
        nl.Conv2D(2, 3, (3, 2), stride=(2, 1), padding=(1, 2), activation={"name": "leaky_relu", "negative_slope": 0.3}, rng=2, dtype=dtype),
        nl.MaxPool2D((2, 3), stride=(1, 2)),
        nl.Conv2D(3, 4, (2, 3), padding=(0, 1), activation="sigmoid", rng=3, dtype=dtype),
        nl.Flatten(),
        nl.Dropout(0.5, rng=4),
        nl.Dense(4 * 2 * 4, 9, "relu", rng=5, dtype=dtype),
        nl.Dense(9, 8, "tanh", rng=6, dtype=dtype),
        nl.Dense(8, 7, "identity", rng=7, dtype=dtype),
        nl.Dense(7, 5, "softmax", rng=8, dtype=dtype),
    ]
    for layer in layers:
        if isinstance(layer, (nl.Dense, nl.Conv2D)):
            randomize_bias(layer, rng)
            layer.weight.value *= 2  # outputs spread wide: a wrong softmax axis or padding shows
    X = rng.integers(0, 256, (6, 2 * 7 * 6)).astype(dtype)
    return nl.NeuralNetwork(layers, "mse"), X


def configs(net):
    return [(type(layer).__name__, layer.get_config()) for layer in net.layers], net.loss.name


def torch_target(torch, net, y):
    """``y`` as the PyTorch loss takes it, and the factor from the PyTorch loss to neurolab's (export's table)."""
    if net.loss.name == "cross_entropy":
        return torch.from_numpy(y if y.ndim == 1 else y.astype(np.float64)), 1.0
    k = net.layers[-1].out_features
    y = torch.from_numpy(np.asarray(y, dtype=np.float64).reshape(-1, k))
    return y, (k if net.loss.name == "binary_cross_entropy" else k / 2)


# -- without the extras ----------------------------------------------------------------------
def test_importing_neurolab_and_export_imports_neither_torch_nor_onnx():
    code = "import sys, neurolab, neurolab.export; print(sorted({'torch', 'onnx'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("missing, call", [
    ("torch", lambda net: export.to_torch(net)),
    ("torch", lambda net: export.from_torch(None, "mse")),
    ("torch", lambda net: export.torch_loss(net)),
    ("onnx", lambda net: export.to_onnx(net, "model.onnx")),
])
def test_an_exporter_without_its_package_says_which_extra_to_install(monkeypatch, missing, call):
    monkeypatch.setitem(sys.modules, missing, None)  # import torch (or onnx) now raises ImportError
    net = nl.NeuralNetwork([nl.Dense(2, 1, "identity", rng=0)], "mse")
    with pytest.raises(ImportError, match=rf"install it with pip install neurolab-nn\[{missing}\]$"):
        call(net)


def test_custom_layers_and_activations_are_refused_with_how_to_export_them():
    class Scale(nl.Layer):
        def forward(self, x):
            return x

    net = nl.NeuralNetwork([nl.Dense(2, 2, rng=0), Scale()], "mse")
    message = (
        "to_onnx: expected built-in layers (Dense, Conv2D, MaxPool2D, Flatten, Reshape, Rescale, Dropout, "
        "RandomShift), got layers[1] (Scale), a layer of your own; write the PyTorch module (or ONNX "
        "nodes) for it yourself and convert the built-in layers around it"
    )
    with pytest.raises(TypeError) as caught:
        export.to_onnx(net, "never-written.onnx")
    assert str(caught.value) == message

    class Square(nl.activations.Activation):
        name = "square"

        def forward(self, z):
            return z * z

    net = nl.NeuralNetwork([nl.Dense(2, 2, Square(), rng=0)], "mse")
    with pytest.raises(TypeError, match=r"^to_onnx: expected one of the activations \['identity', 'leaky_relu', "
                       r"'relu', 'sigmoid', 'softmax', 'tanh'\], got 'square' in layers\[0\] \(Dense\), an "
                       r"activation of your own$"):
        export.to_onnx(net, "never-written.onnx")


def test_to_onnx_needs_an_input_shape_it_can_find():
    needs("onnx")
    net = nl.NeuralNetwork([nl.Conv2D(1, 2, 3, rng=0), nl.Flatten(), nl.Dense(8, 2, "identity", rng=1)], "cross_entropy")
    with pytest.raises(ValueError) as caught:
        export.to_onnx(net, "never-written.onnx")
    assert str(caught.value) == (
        "to_onnx: expected the shape of one input sample, got none: the first layer (Conv2D) does not say it "
        "and the network has not been fitted; pass input_shape, e.g. to_onnx(net, path, input_shape=(1, 28, 28))"
    )
    with pytest.raises(ValueError, match=r"^to_onnx: expected input_shape \(1, 5, 5\) to fit the network, got: "):
        export.to_onnx(net, "never-written.onnx", input_shape=(1, 5, 5))  # 3 * 3 * 2 features, not 8


# -- PyTorch ---------------------------------------------------------------------------------
@settings(max_examples=25)
@given(export_cases())
def test_to_torch_computes_the_same_outputs_and_labels(case):
    torch = needs("torch")
    net, X, _ = case
    module = export.to_torch(net).eval()
    out = net.eval().forward(X)
    got = module(torch.from_numpy(X)).detach().numpy()
    assert_close(got, out)
    assert_same_labels(net, got, out)


@settings(max_examples=25)
@given(export_cases())
def test_to_torch_backward_gives_neurolabs_gradients(case):
    torch = needs("torch")
    net, X, y = case
    net = net.astype(np.float64).eval()  # float64: the two sums in different orders agree to 1e-10
    X = X.astype(np.float64)
    module = export.to_torch(net).eval()
    x = torch.from_numpy(X).requires_grad_()
    target, factor = torch_target(torch, net, y)
    loss = export.torch_loss(net)(module(x), target) * factor
    loss.backward()
    out = net.forward(X)
    assert loss.item() == pytest.approx(net.loss.forward(out, y), rel=1e-10)
    net.zero_grad()
    grad_x = net.backward(net.loss.backward())
    assert_close(x.grad.numpy(), grad_x, rtol=1e-8)
    parameters = list(module.parameters())
    assert len(parameters) == len(net.parameters())
    for mine, theirs in zip(net.parameters(), parameters):
        assert_close(theirs.grad.numpy(), mine.grad, rtol=1e-8)


@settings(max_examples=25)
@given(export_cases(), st.sampled_from([np.float32, np.float64]))
def test_from_torch_of_to_torch_gives_the_network_back(case, dtype):
    torch = needs("torch")
    net, X, _ = case
    net = net.astype(dtype)
    module = export.to_torch(net)
    assert {p.dtype for p in module.parameters()} == {torch.float32 if dtype is np.float32 else torch.float64}
    back = export.from_torch(module, net.loss.name)
    assert configs(back) == configs(net)
    for mine, theirs in zip(net.parameters(), back.parameters()):
        assert np.array_equal(mine.value, theirs.value) and mine.value.dtype == theirs.value.dtype
    assert np.array_equal(back.eval().forward(X), net.eval().forward(X))


def test_from_torch_folds_activations_and_reads_torch_losses():
    torch = needs("torch")
    nn = torch.nn
    module = nn.Sequential(nn.Linear(3, 4, bias=False), nn.LeakyReLU(0.2), nn.Linear(4, 2), nn.Identity())
    net = export.from_torch(module, nn.BCEWithLogitsLoss())
    assert configs(net) == ([
        ("Dense", {"in_features": 3, "out_features": 4, "activation": {"name": "leaky_relu", "negative_slope": 0.2}, "dtype": "float32"}),
        ("Dense", {"in_features": 4, "out_features": 2, "activation": "identity", "dtype": "float32"}),
    ], "binary_cross_entropy")
    assert not net.layers[0].bias.value.any()
    X = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    assert_close(net.forward(X), module(torch.from_numpy(X)).detach().numpy())


SUPPORTED = (
    "Linear, Conv2d, MaxPool2d, Flatten, Unflatten, Dropout, neurolab.torch_modules.Rescale and RandomShift, "
    "and the activations ReLU, LeakyReLU, Sigmoid, Tanh, Softmax(dim=1) and Identity after a Linear or Conv2d"
)


@pytest.mark.parametrize("build, message", [
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)),
     f"from_torch: expected one of {SUPPORTED}; got module [1] (BatchNorm1d)"),
    (lambda nn: nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), nn.ReLU()),
     "from_torch: expected module [2] (ReLU) right after a Linear or Conv2d, whose activation it becomes, got it "
     "after module [1] (MaxPool2d); neurolab applies activations only inside Dense and Conv2D layers"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh()),
     "from_torch: expected module [2] (Tanh) right after a Linear or Conv2d, whose activation it becomes, got it "
     "after module [1] (ReLU); neurolab applies activations only inside Dense and Conv2D layers"),
    (lambda nn: nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2)),
     "from_torch: expected module [0] (Conv2d) to have dilation=1 (what neurolab computes), got dilation=(2, 2)"),
    (lambda nn: nn.Sequential(nn.Conv2d(1, 2, 3, padding="same")),
     "from_torch: expected module [0] (Conv2d) to have padding given in pixels, got padding='same'; write the "
     "number of pixels, e.g. padding=k // 2"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=0)),
     "from_torch: expected Softmax(dim=1) at module [1], got dim=0"),
    (lambda nn: nn.Sequential(nn.Linear(2, 3).half()),
     "from_torch: expected float32 or float64, got torch.float16 in module [0]; convert the module with module.float() first"),
])
def test_from_torch_refuses_what_neurolab_cannot_compute_naming_the_module(build, message):
    torch = needs("torch")
    with pytest.raises(TypeError) as caught:
        export.from_torch(build(torch.nn), "mse")
    assert str(caught.value) == message


def test_torch_random_shift_moves_images_as_neurolab_does():
    torch = needs("torch")
    from neurolab import torch_modules

    layer = nl.RandomShift(2, rng=0)
    images = np.random.default_rng(1).standard_normal((6, 2, 5, 4)).astype(np.float32)
    moved = layer.forward(images)  # training mode: layer.shifts holds each image's (dy, dx)
    module = torch_modules.RandomShift(2)
    got = module.shift(torch.from_numpy(images), torch.from_numpy(layer.shifts))
    assert np.array_equal(got.numpy(), moved)
    assert module.eval()(torch.from_numpy(images)) is not None and np.array_equal(module(torch.from_numpy(images)).numpy(), images)


def test_every_layer_and_activation_in_torch_and_back():
    torch = needs("torch")
    net, X = every_layer_network()
    module = export.to_torch(net).eval()
    out = net.eval().forward(X)
    assert_close(module(torch.from_numpy(X)).detach().numpy(), out)
    back = export.from_torch(module, "mse")
    assert configs(back) == configs(net)
    assert np.array_equal(back.eval().forward(X), out)


# -- ONNX ------------------------------------------------------------------------------------
@settings(max_examples=25)
@given(export_cases())
def test_to_onnx_computes_the_same_outputs_and_labels(tmp_path_factory, case):
    onnx = needs("onnx")
    from onnx.reference import ReferenceEvaluator

    net, X, _ = case
    path = export.to_onnx(net, tmp_path_factory.mktemp("onnx") / "net.onnx", input_shape=X.shape[1:])
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    assert [d.dim_param or d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim] == ["N", *X.shape[1:]]
    out = net.eval().forward(X)
    got = ReferenceEvaluator(model).run(None, {"input": X})[0]
    assert_close(got, out)
    assert_same_labels(net, got, out)


def test_every_layer_and_activation_in_onnx(tmp_path):
    needs("onnx")
    from onnx.reference import ReferenceEvaluator

    net, X = every_layer_network()
    got = ReferenceEvaluator(str(export.to_onnx(net, tmp_path / "net.onnx"))).run(None, {"input": X})[0]
    assert_close(got, net.eval().forward(X))


def test_to_onnx_writes_float64_and_runs_in_onnxruntime_when_installed(tmp_path):
    needs("onnx")
    net = nl.NeuralNetwork([nl.Dense(3, 4, "sigmoid", rng=0, dtype=np.float64), nl.Dense(4, 2, "identity", rng=1, dtype=np.float64)], "mse")
    X = np.random.default_rng(0).standard_normal((5, 3))
    path = export.to_onnx(net, tmp_path / "net.onnx")
    assert [p.name for p in tmp_path.iterdir()] == ["net.onnx"]  # written atomically: no temporary file left
    from onnx.reference import ReferenceEvaluator

    assert_close(ReferenceEvaluator(str(path)).run(None, {"input": X})[0], net.forward(X), rtol=1e-12)
    ort = needs("onnxruntime")
    assert_close(ort.InferenceSession(str(path)).run(None, {"input": X})[0], net.forward(X), rtol=1e-12)


# -- a trained model -------------------------------------------------------------------------
def test_a_trained_digit_classifier_exports_with_the_same_labels(tmp_path):
    """An MLP trained on 8x8 digit-like images: the three engines agree on every label."""
    torch = needs("torch")
    needs("onnx")
    from onnx.reference import ReferenceEvaluator

    rng = np.random.default_rng(0)
    prototypes = rng.integers(0, 256, (10, 64))
    labels = rng.integers(0, 10, 600)
    X = np.clip(prototypes[labels] + rng.normal(0, 60, (600, 64)), 0, 255).astype(np.uint8)
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(64, 32, rng=1), nl.Dropout(0.2, rng=2),
                            nl.Dense(32, 10, "identity", rng=3)], "cross_entropy")
    net.fit(X, labels, epochs=3, batch_size=32, optimizer=nl.optim.Adam(lr=1e-2), rng=0, verbose=0)
    assert net.evaluate(X, labels)["accuracy"] > 0.9
    X = X.astype(np.float32)
    out = net.predict_proba(X)
    predicted = net.predict(X)
    module = export.to_torch(net).eval()
    logits = module(torch.from_numpy(X)).detach()
    assert_close(torch.softmax(logits, dim=1).numpy(), out)
    assert np.array_equal(logits.argmax(dim=1).numpy(), predicted)
    got = ReferenceEvaluator(str(export.to_onnx(net, tmp_path / "digits.onnx"))).run(None, {"input": X})[0]
    assert np.array_equal(got.argmax(axis=1), predicted)


@pytest.mark.slow
def test_the_trained_mnist_mlp_exports_with_the_same_labels(mnist_dir, tmp_path):
    """Real MNIST (NEUROLAB_DATA): an MLP on raw pixels, trained for one epoch on 10,000 digits."""
    torch = needs("torch")
    needs("onnx")
    from onnx.reference import ReferenceEvaluator

    (x_train, y_train), (x_test, y_test) = nl.datasets.load_mnist(mnist_dir, download=False)
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(784, 64, rng=1), nl.Dense(64, 10, "identity", rng=2)],
                           "cross_entropy")
    net.fit(x_train[:10_000].reshape(-1, 784), y_train[:10_000], epochs=1, batch_size=64,
            optimizer=nl.optim.Adam(lr=1e-3), rng=0, verbose=0)
    X = x_test[:2000].reshape(-1, 784).astype(np.float32)
    assert net.evaluate(X, y_test[:2000])["accuracy"] > 0.85
    out = net.predict_proba(X)
    predicted = net.predict(X)
    logits = export.to_torch(net).eval()(torch.from_numpy(X)).detach()
    assert_close(torch.softmax(logits, dim=1).numpy(), out)
    assert np.array_equal(logits.argmax(dim=1).numpy(), predicted)
    got = ReferenceEvaluator(str(export.to_onnx(net, tmp_path / "mnist.onnx"))).run(None, {"input": X})[0]
    assert np.array_equal(got.argmax(axis=1), predicted)
