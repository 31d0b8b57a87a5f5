"""The lab's HTTP API against a real server on an ephemeral port: the answers equal the library's own."""

import base64
import json

import numpy as np
import pytest

import neurolab as nl
from neurolab.lab import model

from .conftest import Client, cnn_net, rescale_net


def as_json(value):
    """``value`` as it comes back from JSON (tuples become lists, floats stay exact)."""
    return json.loads(json.dumps(value))


# -- predict --------------------------------------------------------------------------------
@pytest.mark.parametrize("which", ["trained_rescale", "trained_unscaled"])
def test_predict_gives_net_predict_on_the_same_pixels(which, pixels, served, request):
    net = request.getfixturevalue(which)
    X, _ = pixels
    inputs = X if which == "trained_rescale" else X / 255  # what this network was trained on
    _, client = served(net)
    for i in range(8):
        status, answer = client.post("/api/predict", {"pixels": X[i].tolist()})
        assert status == 200
        assert set(answer) == {"label", "probabilities", "activations"}
        assert answer["label"] == net.predict(inputs[i : i + 1])[0]
        np.testing.assert_array_equal(answer["probabilities"], net.predict_proba(inputs[i : i + 1])[0])
        assert sum(answer["probabilities"]) == pytest.approx(1, abs=1e-6)
        assert len(answer["activations"]) == len(net.layers)
        for k, shown in enumerate(answer["activations"]):
            np.testing.assert_array_equal(shown, nl.analysis.activations(net, inputs[i : i + 1], k)[0])


def test_pixels_map_onto_the_recorded_input_range(served, pixels):
    # trained on pixels / 127.5 - 1: pixel 0 is -1, pixel 255 is +1
    X, y = pixels
    rng = np.random.default_rng(5)
    net = nl.NeuralNetwork([nl.Dense(784, 6, "tanh", rng=rng), nl.Dense(6, 10, "identity", rng=rng)], "cross_entropy")
    net.fit(X / 127.5 - 1, y, epochs=1, verbose=0, rng=0)
    assert net.input_range == (-1.0, 1.0)
    _, client = served(net)
    status, answer = client.post("/api/predict", {"pixels": X[3].tolist()})
    assert status == 200
    np.testing.assert_allclose(answer["activations"][0], nl.analysis.activations(net, X[3:4] / 127.5 - 1, 0)[0], rtol=1e-6)


@pytest.mark.parametrize(
    "layers, expected",
    [
        ("rescale", (0.0, 255.0, "rescale")),  # untrained, takes raw pixels
        ("dense", (0.0, 1.0, "default")),  # untrained, no Rescale: pixels / 255
    ],
)
def test_without_a_recorded_range_the_first_layer_decides(layers, expected):
    net = rescale_net() if layers == "rescale" else nl.NeuralNetwork([nl.Dense(784, 10, "identity", rng=0)], "cross_entropy")
    assert net.input_range is None
    assert model.pixel_range(net) == expected
    pixels = np.arange(256.0)
    inputs = model.pixels_to_inputs(net, pixels)
    np.testing.assert_array_equal(inputs, pixels if layers == "rescale" else pixels / 255)  # both ends exact
    np.testing.assert_array_equal(model.inputs_to_pixels(net, inputs), pixels)


def test_predict_on_a_blank_canvas_answers(trained_rescale, served):
    _, client = served(trained_rescale)
    status, answer = client.post("/api/predict", {"pixels": [0] * 784})
    assert status == 200 and answer["label"] in range(10)


def test_inputs_are_taken_as_they_are(trained_unscaled, pixels, served):
    X, _ = pixels
    _, client = served(trained_unscaled)
    status, answer = client.post("/api/predict", {"inputs": (X[0] / 255).tolist()})
    assert status == 200
    np.testing.assert_array_equal(answer["probabilities"], trained_unscaled.predict_proba(X[:1] / 255)[0])


def test_a_network_whose_input_is_not_pixels_serves_with_inputs(trained_vector, vector_data, served):
    X, y = vector_data
    _, client = served(trained_vector, data=(X, y))
    status, described = client.get("/api/model")
    assert status == 200
    assert described["input"] == {"features": 5, "shape": [5], "kind": "vector", "image_shape": None, "pixels": None}
    status, answer = client.post("/api/predict", {"inputs": X[2].tolist()})
    assert status == 200
    assert answer["label"] == trained_vector.predict(X[2:3])[0]
    np.testing.assert_array_equal(answer["probabilities"], trained_vector.predict_proba(X[2:3])[0])
    status, error = client.post("/api/predict", {"pixels": [0] * 784})
    assert status == 400 and "takes 5 features, not a 28x28 image" in error["error"]
    status, sample = client.get("/api/samples?pick=index&index=4")
    assert status == 200 and "pixels" not in sample
    assert sample["inputs"] == X[4].tolist() and sample["label"] == y[4]
    status, trace = client.post("/api/explain", {"inputs": X[2].tolist(), "layer": 0, "neuron": 7, "target": 1})
    assert status == 200
    assert trace == as_json(trained_vector.explain(X[2], 1, 0, 7).to_dict())


@pytest.mark.parametrize("loss, outputs, last", [("binary_cross_entropy", 1, "identity"), ("mse", 3, "sigmoid")])
def test_label_of_other_classifiers(loss, outputs, last, vector_data, served):
    X, y = vector_data
    targets = (y > 0).astype(int) if outputs == 1 else y
    rng = np.random.default_rng(6)
    net = nl.NeuralNetwork([nl.Dense(5, 4, "tanh", rng=rng), nl.Dense(4, outputs, last, rng=rng)], loss)
    net.fit(X, targets, epochs=2, verbose=0, rng=0)
    _, client = served(net, data=(X, targets))
    _, described = client.get("/api/model")
    assert described["classes"] == (2 if outputs == 1 else outputs)
    for i in range(5):
        _, answer = client.post("/api/predict", {"inputs": X[i].tolist()})
        decided = net.predict(X[i : i + 1])
        assert answer["label"] == (decided[0] if outputs == 1 else decided[0].argmax())  # MSE: the largest output
        _, trace = client.post("/api/explain", {"inputs": X[i].tolist(), "layer": 1, "neuron": 0})
        assert trace == as_json(net.explain(X[i], answer["label"], 1, 0).to_dict())  # the target: the predicted class


def test_a_network_whose_output_is_a_value_has_no_label(vector_data, served):
    X, _ = vector_data
    net = nl.NeuralNetwork([nl.Dense(5, 4, "tanh", rng=0), nl.Dense(4, 1, "identity", rng=1)], "mse")
    _, client = served(net)
    _, described = client.get("/api/model")
    assert described["classes"] is None and described["class_labels"] is None
    _, answer = client.post("/api/predict", {"inputs": X[0].tolist()})
    assert answer["label"] is None
    status, error = client.post("/api/explain", {"inputs": X[0].tolist(), "layer": 1, "neuron": 0})
    assert status == 400 and "expected target (a number" in error["error"]
    status, trace = client.post("/api/explain", {"inputs": X[0].tolist(), "layer": 1, "neuron": 0, "target": 0.5})
    assert status == 200 and trace == as_json(net.explain(X[0], 0.5, 1, 0).to_dict())


# -- explain --------------------------------------------------------------------------------
@pytest.mark.parametrize("layer, neuron, target", [(1, 3, 4), (3, 9, 0), (-1, 2, None), (1, 0, None)])
def test_explain_gives_net_explain_to_dict(layer, neuron, target, trained_rescale, pixels, served):
    X, _ = pixels
    _, client = served(trained_rescale)
    body = {"pixels": X[5].tolist(), "layer": layer, "neuron": neuron}
    if target is not None:
        body["target"] = target
    status, trace = client.post("/api/explain", body)
    assert status == 200
    expected_target = target if target is not None else trained_rescale.predict(X[5:6])[0]  # default: the predicted class
    expected = trained_rescale.explain(X[5], expected_target, layer, neuron).to_dict()
    assert trace == as_json(expected)
    assert trace["layer"] == layer % len(trained_rescale.layers)
    assert trace["optimizer"] == repr(trained_rescale.optimizer)  # the update of the network's own optimizer


def test_explain_top_and_text(trained_rescale, pixels, served):
    X, _ = pixels
    _, client = served(trained_rescale)
    body = {"pixels": X[0].tolist(), "layer": 1, "neuron": 0, "target": 1, "top": 12, "text": True}
    _, trace = client.post("/api/explain", body)
    expected = trained_rescale.explain(X[0], 1, 1, 0, top=12)
    assert trace["top"] == 12
    assert trace.pop("text") == str(expected)  # what print(net.explain(...)) shows, line for line
    assert trace == as_json(expected.to_dict())


# -- model ----------------------------------------------------------------------------------
def test_model_describes_every_layer(trained_rescale, pixels, served):
    _, client = served(trained_rescale, data=pixels, train_data=pixels)
    status, described = client.get("/api/model")
    assert status == 200
    assert [layer["class"] for layer in described["layers"]] == ["Rescale", "Dense", "Dropout", "Dense"]
    assert [layer["units"] for layer in described["layers"]] == [784, 16, 16, 10]
    assert [layer["repr"] for layer in described["layers"]] == [repr(layer) for layer in trained_rescale.layers]
    assert [layer["activation"] for layer in described["layers"]] == [None, "relu", None, "identity"]
    assert [layer["neurons"] for layer in described["layers"]] == [False, True, False, True]
    assert [layer["explainable"] for layer in described["layers"]] == [False, True, False, True]
    assert [layer["in_features"] for layer in described["layers"]] == [None, 784, None, 16]
    assert [layer["dtype"] for layer in described["layers"]] == ["float32", "float32", None, "float32"]
    assert described["input"] == {
        "features": 784, "shape": [784], "kind": "pixels", "image_shape": [28, 28],
        "pixels": {"low": 0.0, "high": 255.0, "rule": "input_range"},
    }
    assert [layer["shape"] for layer in described["layers"]] == [[784], [16], [16], [10]]
    assert [layer["filters"] for layer in described["layers"]] == [False] * 4
    assert described["outputs"] == 10 and described["classes"] == 10
    assert described["class_labels"] == [str(k) for k in range(10)]
    assert described["loss"] == "cross_entropy" and described["optimizer"] == repr(trained_rescale.optimizer)
    assert described["samples"] == {"count": 120} and described["training"] == {"samples": 120}
    assert described["numpy"] == np.__version__


def test_model_names_each_layers_float_type(served):
    net = nl.NeuralNetwork([nl.Dense(5, 3, "tanh", rng=0), nl.Dropout(0.1, rng=1), nl.Dense(3, 2, "identity", rng=2)],
                           "cross_entropy").astype(np.float64)
    _, client = served(net)
    _, described = client.get("/api/model")
    assert [layer["dtype"] for layer in described["layers"]] == ["float64", None, "float64"]


def test_model_without_samples_or_training(trained_rescale, served):
    _, client = served(trained_rescale)
    _, described = client.get("/api/model")
    assert described["samples"] is None and described["training"] is None
    status, error = client.get("/api/samples?pick=next")
    assert status == 404 and "serve the network with data=(X, y)" in error["error"]


def test_a_softmax_layer_is_shown_but_not_explained(served, vector_data):
    X, _ = vector_data
    rng = np.random.default_rng(7)
    net = nl.NeuralNetwork([nl.Dense(5, 4, "softmax", rng=rng), nl.Dense(4, 3, "identity", rng=rng)], "cross_entropy")
    _, client = served(net)
    _, described = client.get("/api/model")
    assert [layer["explainable"] for layer in described["layers"]] == [False, True]
    status, error = client.post("/api/explain", {"inputs": X[0].tolist(), "layer": 0, "neuron": 0})
    assert status == 400 and "elementwise activation" in error["error"]


# -- samples --------------------------------------------------------------------------------
def test_samples_index_next_previous_random(trained_rescale, pixels, served):
    X, y = pixels
    _, client = served(trained_rescale, data=pixels)
    for query, index in [("pick=index&index=7", 7), ("pick=next&index=7", 8), ("pick=next", 0),
                         ("pick=previous&index=0", 119), ("pick=next&index=119", 0), ("index=3", 3)]:
        status, sample = client.get(f"/api/samples?{query}")
        assert status == 200 and sample["index"] == index, query
        assert sample["count"] == 120
        assert sample["label"] == y[index]
        assert sample["predicted"] == trained_rescale.predict(X[index : index + 1])[0]
        assert sample["inputs"] == X[index].tolist() and sample["pixels"] == X[index].tolist()
    for _ in range(5):
        status, sample = client.get("/api/samples?pick=random")
        assert status == 200 and sample["inputs"] == X[sample["index"]].tolist()


def test_samples_of_a_network_trained_on_scaled_pixels_come_back_as_pixels(trained_unscaled, pixels, served):
    X, y = pixels
    _, client = served(trained_unscaled, data=(X / 255, y))
    _, sample = client.get("/api/samples?index=2")
    assert sample["inputs"] == (X[2] / 255).tolist()
    np.testing.assert_allclose(sample["pixels"], X[2], atol=1e-9)
    _, answer = client.post("/api/predict", {"pixels": sample["pixels"]})
    assert answer["label"] == sample["predicted"]


def test_misclassified_finds_the_next_one_after_index(trained_rescale, pixels, served):
    X, y = pixels
    wrong = np.flatnonzero(trained_rescale.predict(X) != y)
    assert 2 <= len(wrong) < len(X)
    _, client = served(trained_rescale, data=pixels)
    _, sample = client.get("/api/samples?pick=misclassified")
    assert sample["index"] == wrong[0] and sample["predicted"] != sample["label"]
    _, sample = client.get(f"/api/samples?pick=misclassified&index={wrong[0]}")
    assert sample["index"] == wrong[1]
    _, sample = client.get(f"/api/samples?pick=misclassified&index={wrong[-1]}")
    assert sample["index"] == wrong[0]  # wraps around


def test_misclassified_when_every_sample_is_right(trained_rescale, pixels, served):
    X, _ = pixels
    _, client = served(trained_rescale, data=(X[:10], trained_rescale.predict(X[:10])))
    status, error = client.get("/api/samples?pick=misclassified")
    assert status == 404 and "classifies all 10 correctly" in error["error"]


# -- weights --------------------------------------------------------------------------------
def test_weights_of_one_neuron(trained_rescale, served):
    _, client = served(trained_rescale)
    status, answer = client.get("/api/weights?layer=1&neuron=5")
    assert status == 200
    dense = trained_rescale.layers[1]
    assert answer["weights"] == dense.weight.value[5].tolist()
    assert answer["bias"] == float(dense.bias.value[5])
    assert answer["image_shape"] == [28, 28]
    _, answer = client.get("/api/weights?layer=-1&neuron=0")
    assert answer["layer"] == 3 and answer["image_shape"] is None
    assert answer["weights"] == trained_rescale.layers[3].weight.value[0].tolist()


def test_weight_images_are_each_neurons_weights_in_signed_bytes(trained_rescale, served):
    _, client = served(trained_rescale)
    status, answer = client.get("/api/weight-images?layer=1&start=2&count=5")
    assert status == 200
    assert (answer["start"], answer["count"], answer["in_features"], answer["image_shape"]) == (2, 5, 784, [28, 28])
    q = np.frombuffer(base64.b64decode(answer["data"]), dtype=np.int8).reshape(5, 784)
    w = trained_rescale.layers[1].weight.value[2:7]
    scale = np.abs(w).max(axis=1)
    np.testing.assert_array_equal(answer["scale"], scale)
    assert (np.abs(q).max(axis=1) == 127).all()
    np.testing.assert_allclose(q * scale[:, None] / 127, w, atol=scale.max() / 254 + 1e-7)
    _, every = client.get("/api/weight-images?layer=1")
    assert every["count"] == 16
    _, tail = client.get("/api/weight-images?layer=1&start=14&count=10")
    assert tail["count"] == 2


# -- the page -------------------------------------------------------------------------------
def test_the_page_and_its_files_are_served(trained_rescale, served):
    _, client = served(trained_rescale)
    files = sorted(entry.name for entry in model_static().iterdir() if entry.is_file())
    assert {"index.html", "lab.js", "lab.css"} <= set(files)
    status, page, headers = client.request("GET", "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert page == (model_static() / "index.html").read_bytes()
    assert "script-src 'self'" in headers["Content-Security-Policy"] and headers["X-Frame-Options"] == "DENY"
    for name in files:
        status, content, headers = client.request("GET", f"/static/{name}")
        assert status == 200 and content == (model_static() / name).read_bytes()
        assert headers["X-Content-Type-Options"] == "nosniff"


def model_static():
    from importlib import resources

    return resources.files("neurolab.lab") / "static"


def test_keep_alive_connection_answers_several_requests(trained_rescale, pixels, served):
    import http.client

    server, _ = served(trained_rescale)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for i in range(3):
            body = json.dumps({"pixels": pixels[0][i].tolist()})
            connection.request("POST", "/api/predict", body=body, headers={"Content-Type": "application/json"})
            response = connection.getresponse()
            assert response.status == 200 and json.loads(response.read())["label"] in range(10)
        connection.request("GET", "/api/nope")  # an error keeps the connection too
        response = connection.getresponse()
        assert response.status == 404
        response.read()
        connection.request("POST", "/api/nope", body=b'{"pixels": []}', headers={"Content-Type": "application/json"})
        response = connection.getresponse()  # the body nobody needed was read: the next request starts in step
        assert response.status == 404
        response.read()
        connection.request("GET", "/api/model")
        assert connection.getresponse().status == 200
    finally:
        connection.close()


def test_keep_alive_answers_do_not_wait_for_a_delayed_ack(trained_vector, served):
    """Headers and body leave at once: with Nagle's algorithm on, each answer waited ~40 ms for the client's ACK."""
    import http.client
    import statistics
    import time

    server, _ = served(trained_vector)
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    times = []
    try:
        for _ in range(15):
            start = time.perf_counter()
            connection.request("GET", "/api/model")
            connection.getresponse().read()
            times.append(time.perf_counter() - start)
    finally:
        connection.close()
    assert statistics.median(times) < 0.02


# -- convolutional networks -----------------------------------------------------------------
CNN_SHAPES = [[784], [1, 28, 28], [8, 24, 24], [8, 12, 12], [16, 8, 8], [16, 4, 4], [256], [32], [10]]


@pytest.mark.parametrize("trained", [True, False], ids=["trained", "untrained"])
def test_a_cnn_takes_784_pixels_and_describes_each_layers_output_shape(trained, trained_cnn, served):
    # The first in_features a layer declares is Dense(256, ...)'s: the input is what fit saw
    # (input_shape), or for a network never trained the size its Reshape takes.
    net = trained_cnn if trained else cnn_net()
    assert (net.input_shape is not None) == trained
    _, client = served(net)
    status, described = client.get("/api/model")
    assert status == 200
    assert described["input"] == {
        "features": 784, "shape": [784], "kind": "pixels", "image_shape": [28, 28],
        "pixels": {"low": 0.0, "high": 255.0, "rule": "input_range" if trained else "rescale"},
    }
    layers = described["layers"]
    assert [layer["shape"] for layer in layers] == CNN_SHAPES
    assert [layer["units"] for layer in layers] == [int(np.prod(shape)) for shape in CNN_SHAPES]
    assert [layer["filters"] for layer in layers] == [False, False, True, False, True, False, False, False, False]
    assert [layer["neurons"] for layer in layers] == [False] * 7 + [True, True]
    assert [layer["explainable"] for layer in layers] == [False] * 7 + [True, True]
    assert [layer["parameters"] for layer in layers] == [sum(p.size for p in layer.parameters()) for layer in net.layers]


def test_predict_on_a_cnn_gives_net_predict_and_every_layer_flattened_in_c_order(trained_cnn, pixels, served):
    X, _ = pixels
    _, client = served(trained_cnn)
    for i in range(4):
        status, answer = client.post("/api/predict", {"pixels": X[i].tolist()})
        assert status == 200
        assert answer["label"] == trained_cnn.predict(X[i : i + 1])[0]
        np.testing.assert_array_equal(answer["probabilities"], trained_cnn.predict_proba(X[i : i + 1])[0])
        assert [len(a) for a in answer["activations"]] == [int(np.prod(shape)) for shape in CNN_SHAPES]
        for k, shown in enumerate(answer["activations"]):
            expected = nl.analysis.activations(trained_cnn, X[i : i + 1], k)[0]  # (C, H, W) for a stack of maps
            np.testing.assert_array_equal(np.reshape(shown, expected.shape), expected)  # C order: map by map, row by row
        # As the page asks: the same numbers, as bytes
        status, packed = client.post("/api/predict", {"pixels": X[i].tolist(), "activations": "base64"})
        assert status == 200 and packed["label"] == answer["label"] and packed["probabilities"] == answer["probabilities"]
        for shown, encoded in zip(answer["activations"], packed["activations"]):
            assert encoded["dtype"] == "float32"
            np.testing.assert_array_equal(np.frombuffer(base64.b64decode(encoded["data"]), dtype="<f4"), shown)
    status, error = client.post("/api/predict", {"pixels": X[0].tolist(), "activations": "bytes"})
    assert status == 400 and error["error"] == "POST /api/predict: expected activations to be \"lists\" or \"base64\", got 'bytes'"


def test_explain_refuses_a_conv2d_layer_and_says_why(trained_cnn, pixels, served):
    X, _ = pixels
    with pytest.raises(TypeError, match="a Conv2D filter is shared by every position of its feature map"):
        trained_cnn.explain(X[0], 3, 2, 0)  # what the library says
    _, client = served(trained_cnn)
    status, error = client.post("/api/explain", {"pixels": X[0].tolist(), "layer": 2, "neuron": 0})
    assert status == 400
    assert error["error"] == (
        "POST /api/explain: expected a Dense layer (one of layers [7, 8]), got layers[2] "
        f"{trained_cnn.layers[2]!r}; a Conv2D filter is shared by every position of its feature map, so it has no "
        "trace of its own: GET /api/weights?layer=2&neuron=J gives filter J's weights (net.layers[2].neurons[J] in Python)"
    )
    status, error = client.post("/api/explain", {"pixels": X[0].tolist(), "layer": 3, "neuron": 0})
    assert status == 400 and error["error"].startswith("POST /api/explain: expected a Dense layer (one of layers [7, 8]), got layers[3] MaxPool2D")
    status, trace = client.post("/api/explain", {"pixels": X[0].tolist(), "layer": 7, "neuron": 4, "target": 3})
    assert status == 200 and trace == as_json(trained_cnn.explain(X[0], 3, 7, 4).to_dict())  # a Dense layer after the maps


def test_weights_of_a_conv2d_filter(trained_cnn, served):
    _, client = served(trained_cnn)
    for layer, j in [(2, 5), (4, 15)]:
        status, answer = client.get(f"/api/weights?layer={layer}&neuron={j}")
        assert status == 200
        fil = trained_cnn.layers[layer].neurons[j]
        assert answer["shape"] == list(fil.weights.shape) == [trained_cnn.layers[layer].in_channels, 5, 5]
        assert answer["weights"] == fil.weights.reshape(-1).tolist()  # C order: channel by channel, row by row
        assert answer["bias"] == float(fil.bias[0]) and answer["image_shape"] is None
    status, error = client.get("/api/weights?layer=2&neuron=8")
    assert status == 400 and error["error"] == "GET /api/weights: expected neuron in [0, 8), got 8"
    status, error = client.get("/api/weights?layer=3&neuron=0")
    assert status == 400 and "expected a Dense or Conv2D layer (one of layers [2, 4, 7, 8]), got layers[3]" in error["error"]


def test_a_network_taking_images_gets_pixels_reshaped(pixels, served):
    X, y = pixels
    images = X.reshape(-1, 1, 28, 28)  # (N, 1, 28, 28): Conv2D first, no Reshape
    rng = np.random.default_rng(8)
    net = nl.NeuralNetwork([nl.Conv2D(1, 4, 5, rng=rng), nl.MaxPool2D(2), nl.Flatten(), nl.Dense(4 * 12 * 12, 10, "identity", rng=rng)],
                           "cross_entropy")
    with pytest.raises(ValueError, match=r"lab.serve: expected the shape of one input sample, got none: layers\[0\] Conv2D\(1, 4, "
                                         r".*takes images \(N, 1, H, W\) of any size.*set net.input_shape = \(1, 28, 28\)"):
        nl.lab.serve(net, port=0)  # never trained: its height and width are unknown
    net.fit(images, y, epochs=1, batch_size=16, rng=0, verbose=0)
    assert net.input_shape == (1, 28, 28) and net.input_range == (0.0, 255.0)
    _, client = served(net, data=(images, y))
    _, described = client.get("/api/model")
    assert described["input"]["shape"] == [1, 28, 28] and described["input"]["kind"] == "pixels"
    assert described["input"]["features"] == 784
    status, answer = client.post("/api/predict", {"pixels": X[3].tolist()})  # flat, reshaped in C order
    assert status == 200 and answer["label"] == net.predict(images[3:4])[0]
    np.testing.assert_array_equal(answer["probabilities"], net.predict_proba(images[3:4])[0])
    np.testing.assert_array_equal(answer["activations"][0], nl.analysis.activations(net, images[3:4], 0)[0].reshape(-1))
    _, sample = client.get("/api/samples?index=3")
    assert sample["inputs"] == sample["pixels"] == X[3].tolist()  # flat, as requests send them
    _, again = client.post("/api/predict", {"inputs": sample["inputs"]})
    assert again["probabilities"] == answer["probabilities"] and sample["predicted"] == answer["label"]
    status, trace = client.post("/api/explain", {"inputs": sample["inputs"], "layer": 3, "neuron": 2, "target": 5})
    assert status == 200 and trace == as_json(net.explain(images[3:4], np.array([5]), 3, 2).to_dict())
    with pytest.raises(ValueError, match=r"lab.serve: expected data X of shape \(N, 1, 28, 28\) holding numbers, N >= 1, got shape \(120, 784\)"):
        nl.lab.serve(net, port=0, data=(X, y))


# -- serving --------------------------------------------------------------------------------
def test_serve_returns_a_running_server_that_closes(trained_rescale):
    with nl.lab.serve(trained_rescale, port=0) as server:
        assert server.url == f"http://127.0.0.1:{server.port}/"
        assert Client(server.url).get("/api/model")[0] == 200
    with pytest.raises(OSError):
        Client(server.url).get("/api/model")
    server.close()  # idempotent


def test_serve_refuses_what_it_cannot_show(trained_rescale, pixels):
    X, y = pixels
    with pytest.raises(TypeError, match=r"lab.serve: expected a neurolab.NeuralNetwork, got list"):
        nl.lab.serve([trained_rescale], port=0)
    with pytest.raises(ValueError, match=r"lab.serve: expected data X of shape \(N, 784\)"):
        nl.lab.serve(trained_rescale, port=0, data=(X[:, :700], y))
    with pytest.raises(ValueError, match=r"lab.serve: expected train_data y as the loss takes it: .*class labels in \[0, 9\]"):
        nl.lab.serve(trained_rescale, port=0, train_data=(X, y + 5))
    with pytest.raises(ValueError, match=r"lab.serve: expected data X to hold finite numbers"):
        nl.lab.serve(trained_rescale, port=0, data=(np.full((2, 784), np.nan), y[:2]))
    with pytest.raises(TypeError, match=r"lab.serve: expected data as a pair \(X, y\), got ndarray"):
        nl.lab.serve(trained_rescale, port=0, data=X)


def test_serve_on_a_port_in_use_raises(trained_rescale):
    with nl.lab.serve(trained_rescale, port=0) as first:
        with pytest.raises(OSError):
            nl.lab.serve(trained_rescale, port=first.port)


def test_serving_beyond_this_machine_warns(trained_rescale):
    with pytest.warns(UserWarning, match="serving on 0.0.0.0, which other machines may reach"):
        server = nl.lab.serve(trained_rescale, port=0, host="0.0.0.0")
    with server:
        client = Client(f"http://127.0.0.1:{server.port}/")
        assert client.get("/api/model")[0] == 200  # 127.0.0.1 is one of this machine's addresses
        status, error = client.get("/api/model", Host=f"evil.example:{server.port}")
        assert status == 403


def test_a_custom_first_layer_needs_input_features(served, vector_data):
    X, y = vector_data

    class Double(nl.Layer):
        def forward(self, x):
            return np.concatenate([x, x], axis=1)

        def backward(self, grad_out):
            half = grad_out.shape[1] // 2
            return grad_out[:, :half] + grad_out[:, half:]

    net = nl.NeuralNetwork([Double(), nl.Dense(10, 3, "identity", rng=0)], "cross_entropy")
    with pytest.raises(ValueError, match=r"lab.serve: expected one sample of 10 features to pass through the network, got ValueError: .*pass input_features="):
        nl.lab.serve(net, port=0)
    _, client = served(net, input_features=5, data=(X, y))
    status, answer = client.post("/api/predict", {"inputs": X[0].tolist()})
    assert status == 200 and answer["label"] == net.predict(X[:1])[0]
    net.fit(X, y, epochs=1, verbose=0, rng=0)  # now the network knows its input: the shape fit saw
    _, client = served(net, data=(X, y))
    status, described = client.get("/api/model")
    assert status == 200 and described["input"]["features"] == 5


def test_the_package_stays_numpy_only():
    import subprocess
    import sys

    code = "import sys, neurolab; print('neurolab.lab' in sys.modules, 'http.server' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
