"""Networks to serve, and a small HTTP client for the lab's API (the standard library's http.client)."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import numpy as np
import pytest

import neurolab as nl


class Client:
    """Requests to one lab server; each answer is ``(status, JSON body, headers)``.

    One connection per request (like ``urllib``), closed when the answer has been read.
    """

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            raw = response.read()
            data = json.loads(raw) if response.getheader("Content-Type", "").startswith("application/json") and raw else raw
            return response.status, data, dict(response.getheaders())
        finally:
            connection.close()

    def get(self, path: str, **headers):
        status, data, _ = self.request("GET", path, headers=headers)
        return status, data

    def post(self, path: str, payload, **headers):
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        status, data, _ = self.request("POST", path, body, {"Content-Type": "application/json", **headers})
        return status, data


def pixel_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 784-pixel images (uint8, holding both 0 and 255, as MNIST does) and labels 0..9."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, 784)).astype(np.uint8)
    X[:, 0], X[:, 1] = 0, 255
    return X, rng.integers(0, 10, size=n)


def rescale_net(seed: int = 0) -> nl.NeuralNetwork:
    """784 raw pixels -> Rescale(1/255) -> 16 ReLU -> Dropout -> 10 logits, untrained."""
    rng = np.random.default_rng(seed)
    layers = [nl.Rescale(1 / 255), nl.Dense(784, 16, "relu", rng=rng), nl.Dropout(0.2, rng=rng), nl.Dense(16, 10, "identity", rng=rng)]
    return nl.NeuralNetwork(layers, "cross_entropy")


def cnn_net(seed: int = 0) -> nl.NeuralNetwork:
    """784 raw pixels -> Rescale -> Reshape (1, 28, 28) -> Conv2D 8 -> MaxPool -> Conv2D 16 -> MaxPool -> Flatten -> 32 ReLU -> 10 logits."""
    rng = np.random.default_rng(seed)
    layers = [nl.Rescale(1 / 255), nl.Reshape((1, 28, 28)), nl.Conv2D(1, 8, 5, rng=rng), nl.MaxPool2D(2),
              nl.Conv2D(8, 16, 5, rng=rng), nl.MaxPool2D(2), nl.Flatten(), nl.Dense(256, 32, rng=rng),
              nl.Dense(32, 10, "identity", rng=rng)]
    return nl.NeuralNetwork(layers, "cross_entropy")


@pytest.fixture(scope="module")
def pixels():
    return pixel_data(120, seed=1)


@pytest.fixture(scope="module")
def trained_rescale(pixels):
    """A Rescale network trained one epoch on raw pixels: input_range (0, 255)."""
    net = rescale_net()
    net.fit(*pixels, epochs=1, batch_size=16, rng=0, verbose=0)
    return net


@pytest.fixture(scope="module")
def trained_unscaled(pixels):
    """A network without Rescale trained on pixels / 255: input_range (0, 1)."""
    X, y = pixels
    rng = np.random.default_rng(2)
    net = nl.NeuralNetwork([nl.Dense(784, 12, "sigmoid", rng=rng), nl.Dense(12, 10, "identity", rng=rng)], "cross_entropy")
    net.fit(X / 255, y, epochs=1, batch_size=16, rng=0, verbose=0)
    assert net.input_range == (0.0, 1.0)
    return net


@pytest.fixture(scope="module")
def trained_cnn(pixels):
    """The CNN of cnn_net trained one epoch on raw pixels (flat rows of 784): input_shape (784,)."""
    net = cnn_net()
    net.fit(*pixels, epochs=1, batch_size=16, rng=0, verbose=0)
    return net


@pytest.fixture(scope="module")
def vector_data():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 5))
    return X, (X[:, 0] > 0).astype(int) + (X[:, 1] > 0).astype(int)


@pytest.fixture(scope="module")
def trained_vector(vector_data):
    """5 features -> 8 tanh -> 3 logits: a network whose input is not pixels."""
    rng = np.random.default_rng(4)
    net = nl.NeuralNetwork([nl.Dense(5, 8, "tanh", rng=rng), nl.Dense(8, 3, "identity", rng=rng)], "cross_entropy")
    net.fit(*vector_data, epochs=3, batch_size=8, rng=0, verbose=0)
    return net


@pytest.fixture
def served():
    """``served(net, **kwargs)`` -> (server, client); every server is closed after the test."""
    servers = []

    def start(net, **kwargs):
        server = nl.lab.serve(net, port=0, **kwargs)
        servers.append(server)
        return server, Client(server.url)

    yield start
    for server in servers:
        server.close()
