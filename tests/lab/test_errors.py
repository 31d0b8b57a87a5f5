"""Bad requests: each gets its 4xx and a JSON error in the library's style, and the server carries on."""

import http.client
import json
import socket

import numpy as np
import pytest

import neurolab as nl

from .conftest import Client

PIXELS = [0] * 784


@pytest.fixture(scope="module")
def server(trained_rescale, pixels):
    with nl.lab.serve(trained_rescale, port=0, data=pixels) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    return Client(server.url)


def check_refused(client, status, answer, expected_status, *fragments):
    """The status, a JSON ``{"error": ...}`` saying "expected ..., got ...", and a server still answering."""
    assert status == expected_status, answer
    assert set(answer) == {"error"}
    message = answer["error"]
    assert "expected" in message and "Traceback" not in message
    for fragment in fragments:
        assert fragment in message
    assert client.get("/api/model")[0] == 200


def body_with(**fields):
    return {"pixels": PIXELS, **fields}


BAD_BODIES = [
    # (path, body, status, fragments of the message)
    ("/api/predict", {"pixels": [0] * 783}, 400, ["POST /api/predict: expected pixels to be a list of 784 numbers, got 783"]),
    ("/api/predict", {"pixels": [0] * 785}, 400, ["got 785"]),
    ("/api/predict", {"pixels": [0] * 3 + ["a"] + [0] * 780}, 400, ['expected pixels to hold numbers, got a string "a" at index 3']),
    ("/api/predict", {"pixels": [0] * 5 + [True] + [0] * 778}, 400, ["got a boolean true at index 5"]),
    ("/api/predict", {"pixels": [0] * 6 + [None] + [0] * 777}, 400, ["got null at index 6"]),
    ("/api/predict", {"pixels": [0] * 7 + [[1]] + [0] * 776}, 400, ["got a list at index 7"]),
    ("/api/predict", {"pixels": [0] * 10 + [-1] + [0] * 773}, 400, ["expected pixels to hold numbers in [0, 255], got -1 at index 10"]),
    ("/api/predict", {"pixels": [0] * 11 + [255.5] + [0] * 772}, 400, ["got 255.5 at index 11"]),
    ("/api/predict", {"pixels": [10**400] + [0] * 783}, 400, ["got inf at index 0"]),
    ("/api/predict", {"pixels": "0,0,0"}, 400, ['expected pixels to be a list of 784 numbers, got a string "0,0,0"']),
    ("/api/predict", {"pixels": {"0": 1}}, 400, ["got an object"]),
    ("/api/predict", {}, 400, ["expected 'pixels' (784 numbers in [0, 255]) or 'inputs' (784 numbers), got neither"]),
    ("/api/predict", {"pixels": PIXELS, "inputs": PIXELS}, 400, ["got both"]),
    ("/api/predict", {"pixel": PIXELS}, 400, ["expected keys among ['activations', 'inputs', 'pixels'], got 'pixel'"]),
    ("/api/predict", b'{"inputs": [1e999' + b", 0" * 783 + b"]}", 400, ["expected inputs to hold finite numbers, got inf at index 0"]),
    ("/api/explain", body_with(layer=1), 400, ["POST /api/explain: expected 'neuron', got none"]),
    ("/api/explain", body_with(neuron=1), 400, ["expected 'layer', got none"]),
    ("/api/explain", body_with(layer=4, neuron=0), 400, ["expected layer in [-4, 4), got 4"]),
    ("/api/explain", body_with(layer=-5, neuron=0), 400, ["got -5"]),
    ("/api/explain", body_with(layer="1", neuron=0), 400, ['expected layer to be an integer, got a string "1"']),
    ("/api/explain", body_with(layer=1.0, neuron=0), 400, ["expected layer to be an integer, got 1.0"]),
    ("/api/explain", body_with(layer=0, neuron=0), 400, ["expected a Dense layer (one of layers [1, 3]), got layers[0] Rescale(scale=0.00392157)"]),
    ("/api/explain", body_with(layer=2, neuron=0), 400, ["got layers[2] Dropout(p=0.2)"]),
    ("/api/explain", body_with(layer=1, neuron=16), 400, ["expected neuron in [0, 16), got 16"]),
    ("/api/explain", body_with(layer=1, neuron=-1), 400, ["expected neuron in [0, 16), got -1"]),
    ("/api/explain", body_with(layer=1, neuron=True), 400, ["expected neuron to be an integer, got a boolean true"]),
    ("/api/explain", body_with(layer=3, neuron=0, target=10), 400, ["expected target in [0, 10), got 10"]),
    ("/api/explain", body_with(layer=3, neuron=0, target=-1), 400, ["got -1"]),
    ("/api/explain", body_with(layer=3, neuron=0, target=2.5), 400, ["expected target to be an integer, got 2.5"]),
    ("/api/explain", body_with(layer=3, neuron=0, top=0), 400, ["expected top in [1, 101), got 0"]),
    ("/api/explain", body_with(layer=3, neuron=0, extra=1), 400, ["got 'extra'"]),
    ("/api/explain", body_with(layer=3, neuron=0, text="yes"), 400, ['expected text to be true or false, got a string "yes"']),
    ("/api/train/start", {"epochs": 1}, 409, ["POST /api/train/start: expected training data, got none; serve the network with train_data=(X, y)"]),
    ("/api/train/stop", {"now": True}, 400, ["expected keys among [], got 'now'"]),
]


@pytest.mark.parametrize("path, body, status, fragments", BAD_BODIES, ids=[f"{p}-{i}" for i, (p, *_) in enumerate(BAD_BODIES)])
def test_bad_fields_are_refused(client, path, body, status, fragments):
    check_refused(client, *client.post(path, body), status, *fragments)


BAD_JSON = [
    (b'{"pixels": [NaN' + b", 0" * 783 + b"]}", ["expected a JSON object, got invalid JSON (NaN is not a JSON number)"]),
    (b'{"pixels": [Infinity' + b", 0" * 783 + b"]}", ["(Infinity is not a JSON number)"]),
    (b'{"pixels": [0, 0', ["got invalid JSON"]),
    (b"", ["got invalid JSON"]),
    (b"[0, 0]", ["expected a JSON object {...}, got list"]),
    (b'"pixels"', ["got str"]),
    (b'{"pixels": [], "pixels": []}', ["repeated key 'pixels'"]),
    (b'{"pixels": "\xff"}', ["expected a UTF-8 JSON body, got bytes that are not UTF-8"]),
    (b"[" * 100_000 + b"]" * 100_000, ["nested too deeply"]),
]


@pytest.mark.parametrize("body, fragments", BAD_JSON, ids=range(len(BAD_JSON)))
def test_bad_json_is_refused(client, body, fragments):
    check_refused(client, *client.post("/api/predict", body), 400, *fragments)


BAD_QUERIES = [
    ("/api/samples?pick=bogus", 400, ["GET /api/samples: expected pick in ['index', 'next', 'previous', 'random', 'misclassified'], got 'bogus'"]),
    ("/api/samples?pick=index", 400, ["expected index (an integer in [0, 120)) with pick=index, got none"]),
    ("/api/samples?index=120", 400, ["expected index in [0, 120), got 120"]),
    ("/api/samples?index=-1", 400, ["expected index in [0, 120), got -1"]),
    ("/api/samples?pick=next&index=-2", 400, ["expected index in [-1, 120), got -2"]),
    ("/api/samples?index=abc", 400, ["expected index to be an integer, got 'abc'"]),
    ("/api/samples?index=1e3", 400, ["got '1e3'"]),
    ("/api/samples?index=99999999999999999999999", 400, ["to be an integer"]),
    ("/api/samples?index=1&index=2", 400, ["expected each query parameter once, got 'index' 2 times"]),
    ("/api/samples?pick=random&index=3", 400, ["expected no index with pick=random"]),
    ("/api/samples?seed=1", 400, ["expected query parameters among ['index', 'pick'], got 'seed'"]),
    ("/api/weights?layer=1", 400, ["GET /api/weights: expected 'neuron', got none"]),
    ("/api/weights?layer=0&neuron=0", 400, ["expected a Dense or Conv2D layer (one of layers [1, 3]), got layers[0]"]),
    ("/api/weights?layer=1&neuron=16", 400, ["expected neuron in [0, 16), got 16"]),
    ("/api/weights?layer=9&neuron=0", 400, ["expected layer in [-4, 4), got 9"]),
    ("/api/weight-images?layer=1&count=0", 400, ["expected count in [1, 17), got 0"]),
    ("/api/weight-images?layer=1&start=16", 400, ["expected start in [0, 16), got 16"]),
    ("/api/weight-images", 400, ["expected 'layer', got none"]),
    ("/api/train/status?since=-1", 400, ["expected since in [0,"]),
    ("/api/model?verbose=1", 400, ["expected query parameters among [], got 'verbose'"]),
]


@pytest.mark.parametrize("path, status, fragments", BAD_QUERIES, ids=[q for q, *_ in BAD_QUERIES])
def test_bad_queries_are_refused(client, path, status, fragments):
    check_refused(client, *client.get(path), status, *fragments)


# -- the door: Host, Origin, size, type, paths and methods --------------------------------
@pytest.mark.parametrize("host", ["evil.example:{port}", "127.0.0.1:{other}", "localhost", "127.0.0.1", "attacker.test"])
def test_a_foreign_host_is_refused(client, server, host):
    host = host.format(port=server.port, other=server.port + 1)
    status, answer = client.get("/api/model", Host=host)
    check_refused(client, status, answer, 403, "expected the Host header to be one of", repr(host))
    status, answer = client.post("/api/predict", {"pixels": PIXELS}, Host=host)
    assert status == 403
    status, _, _ = client.request("GET", "/", headers={"Host": host})
    assert status == 403  # the page too


@pytest.mark.parametrize("host", ["localhost:{port}", "127.0.0.1:{port}", "LOCALHOST:{port}"])
def test_this_machines_names_are_accepted(client, server, host):
    assert client.get("/api/model", Host=host.format(port=server.port))[0] == 200


def test_a_request_without_host_is_refused(client, server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("GET", "/api/model", skip_host=True)
        connection.endheaders()
        response = connection.getresponse()
        check_refused(client, response.status, json.loads(response.read()), 403, "got 'none'")
    finally:
        connection.close()


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://127.0.0.1:{port}"])
def test_another_sites_origin_is_refused(client, server, origin):
    status, answer = client.post("/api/predict", {"pixels": PIXELS}, Origin=origin.format(port=server.port))
    check_refused(client, status, answer, 403, "expected requests from this server's own page")


def test_the_pages_own_origin_is_accepted(client, server):
    assert client.post("/api/predict", {"pixels": PIXELS}, Origin=f"http://127.0.0.1:{server.port}")[0] == 200
    assert client.post("/api/predict", {"pixels": PIXELS}, Origin=f"http://localhost:{server.port}")[0] == 200


def test_a_body_over_the_cap_is_refused_unread(client, server):
    cap = server.lab.max_body
    big = b'{"pixels": [' + b"0, " * (cap // 3) + b"0]}"
    assert len(big) > cap
    check_refused(client, *client.post("/api/predict", big), 413, f"expected a body of at most {cap} bytes, got {len(big)}")


def test_a_huge_declared_length_is_refused_before_any_body(client, server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.putrequest("POST", "/api/predict")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(10**12))
        connection.endheaders()  # no body is sent: the answer comes from the headers alone
        response = connection.getresponse()
        check_refused(client, response.status, json.loads(response.read()), 413, f"got {10**12}")
        assert response.getheader("Connection") == "close"
    finally:
        connection.close()


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_post_needs_json_content_type(client, content_type):
    headers = {} if content_type is None else {"Content-Type": content_type}
    status, answer, _ = client.request("POST", "/api/predict", json.dumps({"pixels": PIXELS}).encode(), headers)
    check_refused(client, status, answer, 415, "expected Content-Type application/json")


def test_post_needs_a_content_length(client, server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("POST", "/api/predict", body=iter([b'{"pixels": []}']),
                           headers={"Content-Type": "application/json"}, encode_chunked=True)
        response = connection.getresponse()
        check_refused(client, response.status, json.loads(response.read()), 411, "expected a body with a Content-Length")
    finally:
        connection.close()


def test_post_takes_no_query(client):
    check_refused(client, *client.post("/api/predict?pixels=1", {"pixels": PIXELS}), 400, "got a query string")


@pytest.mark.parametrize("path", ["/api/nope", "/api", "/api/model/", "/etc/passwd", "/static/", "/static/missing.js",
                                  "/static/../server.py", "/static/%2e%2e/api.py", "/static//etc/passwd",
                                  "/static/..%2fserver.py", "/index.html", "/neurolab/lab/server.py"])
def test_unknown_paths_are_404(client, path):
    status, answer, _ = client.request("GET", path)
    check_refused(client, status, answer, 404, "expected one of the lab's paths")


@pytest.mark.parametrize("method, path, allowed", [
    ("GET", "/api/predict", "POST"), ("GET", "/api/explain", "POST"), ("GET", "/api/train/start", "POST"),
    ("POST", "/api/model", "GET"), ("POST", "/api/samples", "GET"), ("PUT", "/api/predict", "POST"),
    ("DELETE", "/api/model", "GET"), ("PATCH", "/api/weights", "GET"), ("OPTIONS", "/api/predict", "POST"),
    ("POST", "/", "GET"), ("DELETE", "/static/lab.js", "GET"),
])
def test_wrong_methods_are_405(client, method, path, allowed):
    body = json.dumps({"pixels": PIXELS}).encode() if method in ("POST", "PUT", "PATCH") else None
    status, answer, headers = client.request(method, path, body, {"Content-Type": "application/json"})
    check_refused(client, status, answer, 405, f"expected method {allowed}, got {method}")
    assert headers["Allow"] == allowed


def test_head_gets_headers_only(client, server):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request("HEAD", "/api/model")
        response = connection.getresponse()
        assert response.status == 405 and response.read() == b""
        connection.request("GET", "/api/model")  # the connection is still in step
        assert connection.getresponse().status == 200
    finally:
        connection.close()


@pytest.mark.parametrize("raw", [b"GARBAGE\r\n\r\n", b"GET /api/model HTTP/9.9\r\n\r\n", b"FROB /api/model HTTP/1.1\r\nHost: x\r\n\r\n"])
def test_malformed_requests_get_json(client, server, raw):
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    if answer.startswith(b"HTTP/"):
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split()[1] in (b"400", b"501", b"505") and b"application/json" in head
    else:  # no readable version: http.server answers as to HTTP/0.9, the body alone
        body = answer
    assert "expected a well-formed HTTP request" in json.loads(body)["error"]
    assert client.get("/api/model")[0] == 200


def test_a_fault_inside_the_lab_is_a_500_without_a_traceback(client, server, monkeypatch, capsys):
    def broken(self, query):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(type(server.lab), "describe", broken)
    status, answer = client.get("/api/model")
    assert status == 500
    assert answer == {"error": "GET /api/model: the lab failed to answer (the error is in the server's log)"}
    logged = capsys.readouterr().err
    assert "ZeroDivisionError: a bug" in logged and "Traceback" in logged
    monkeypatch.undo()
    assert client.get("/api/model")[0] == 200


def test_nan_weights_give_a_422(served, pixels):
    X, y = pixels
    rng = np.random.default_rng(0)
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(784, 4, "relu", rng=rng), nl.Dense(4, 10, "identity", rng=rng)], "cross_entropy")
    net.layers[2].weight.value[0, 0] = np.nan
    _, client = served(net, data=pixels)
    check_refused(client, *client.post("/api/predict", {"pixels": X[0].tolist()}), 422, "got NaN or infinity")
    check_refused(client, *client.post("/api/explain", {"pixels": X[0].tolist(), "layer": 1, "neuron": 0}), 422)
    check_refused(client, *client.get("/api/samples?index=0"), 422)
    check_refused(client, *client.get("/api/weight-images?layer=2"), 422)


def test_the_server_survives_a_burst_of_bad_requests(client):
    for i in range(50):
        assert client.post("/api/predict", {"pixels": [i]})[0] == 400
        assert client.request("GET", f"/api/nope{i}")[0] == 404
    status, answer = client.post("/api/predict", {"pixels": PIXELS})
    assert status == 200 and answer["label"] in range(10)
