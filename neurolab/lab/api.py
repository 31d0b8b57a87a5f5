"""The lab's HTTP API: each endpoint takes a request's fields and returns a JSON-ready dict.

``ROUTES`` maps each path to its method, the :class:`Lab` method that answers it, and the
status of a success. Every endpoint validates what it is given (see :mod:`.fields`) and
raises ``RequestError`` with a 4xx status for anything it refuses; it reads the network
through ``Lab.snapshots`` (see :mod:`.training`) and never changes it. The reference,
with every request and answer, is ``docs/lab.md``.
"""

from __future__ import annotations

import base64
import math
from typing import NamedTuple, cast

import numpy as np

from ..conv import Conv2D
from ..explain import explain as neuron_trace  # what net.explain calls
from ..layer import Dense
from ..network import NeuralNetwork
from . import model
from .fields import RequestError, boolean, integer, known_keys, number, query_fields, query_integer, vector
from .training import Busy, Progress, Snapshots, Trainer

MAX_BODY_BYTES = 1 << 20  # 1 MiB: 784 pixels take about 16 KiB of JSON
MAX_EPOCHS = 1000
SCAN_ROWS = 256  # samples per forward pass when looking for a misclassified one


class Route(NamedTuple):
    method: str
    handler: str  # the name of the Lab method
    status: int  # of a success


ROUTES = {
    "/api/model": Route("GET", "describe", 200),
    "/api/predict": Route("POST", "predict", 200),
    "/api/explain": Route("POST", "explain", 200),
    "/api/samples": Route("GET", "sample", 200),
    "/api/weights": Route("GET", "weights", 200),
    "/api/weight-images": Route("GET", "weight_images", 200),
    "/api/train/start": Route("POST", "train_start", 202),
    "/api/train/stop": Route("POST", "train_stop", 200),
    "/api/train/status": Route("GET", "train_status", 200),
}


class Lab:
    """A network, the data it is shown with, and the answers to the page's requests.

    Parameters
    ----------
    network : NeuralNetwork
    data : (X, y), optional
        Samples the page can pick (``GET /api/samples``), as ``net.predict`` takes them.
    train_data : (X, y), optional
        What ``POST /api/train/start`` trains on.
    input_features : int, optional
        The width of one input, for networks that cannot say it (see :func:`.model.input_shape`).

    Attributes
    ----------
    shape : tuple of int
        One input sample's shape (:func:`.model.input_shape`): requests send it flat, in C order.
    features : int
        How many numbers that is.
    """

    def __init__(self, network, *, data=None, train_data=None, input_features=None) -> None:
        where = "lab.serve"
        if not isinstance(network, NeuralNetwork):
            raise TypeError(f"{where}: expected a neurolab.NeuralNetwork, got {type(network).__name__}")
        self.shape = model.input_shape(network, input_features, where)
        self.features = math.prod(self.shape)
        self.kind = "pixels" if model.is_image(self.shape) else "vector"
        self.data: tuple[np.ndarray, np.ndarray] | None = None if data is None else model.check_data(network, data, self.shape, "data", where)
        self.snapshots = Snapshots(network)
        self.progress = Progress()
        self.trainer = None
        if train_data is not None:
            X, y = model.check_data(network, train_data, self.shape, "train_data", where)
            self.trainer = Trainer(self.snapshots, self.progress, X, y)
        self.max_body = max(MAX_BODY_BYTES, 32 * self.features)
        self._rng = np.random.default_rng()  # for pick=random; a Generator serialises its callers

    # -- the model ------------------------------------------------------------------------
    def describe(self, query: dict) -> dict:
        """``GET /api/model``: the layers, the input, the outputs, and what else the lab offers."""
        query_fields(query, (), "GET /api/model")
        with self.snapshots.reading() as (net, version):
            layers = model.describe_layers(net, self.shape)
            outputs = layers[-1]["units"]
            classes = _classes(net, outputs)
            low, high, rule = model.pixel_range(net)
            return {
                "layers": layers,
                "input": {
                    "features": self.features,
                    "shape": list(self.shape),
                    "kind": self.kind,
                    "image_shape": list(model.IMAGE_SHAPE) if self.kind == "pixels" else None,
                    "pixels": {"low": low, "high": high, "rule": rule} if self.kind == "pixels" else None,
                },
                "outputs": outputs,
                "classes": classes,
                "class_labels": None if classes is None else [str(k) for k in range(classes)],
                "loss": net.loss.name,
                "optimizer": None if net.optimizer is None else repr(net.optimizer),
                "samples": None if self.data is None else {"count": len(self.data[0])},
                "training": None if self.trainer is None else {"samples": len(self.trainer.X)},
                "max_body_bytes": self.max_body,
                "numpy": np.__version__,  # the page redoes a few float32 sums as this NumPy does them (docs/lab.md)
                "version": version,
            }

    # -- one input ----------------------------------------------------------------------
    def predict(self, body: dict) -> dict:
        """``POST /api/predict``: the label, the output read through the loss, and every layer's activations.

        Each layer's output for the input, flattened in C order (a ``(C, H, W)`` stack of
        feature maps: map by map, row by row): a list of numbers, or with ``"activations":
        "base64"`` its bytes (little-endian, of its float type) in base64, which is many times
        faster to write than JSON numbers (a CNN's maps hold tens of thousands).
        """
        where = "POST /api/predict"
        known_keys(body, ("pixels", "inputs", "activations"), where)
        encoding = body.get("activations", "lists")
        if encoding not in ("lists", "base64"):
            raise RequestError(400, f"{where}: expected activations to be \"lists\" or \"base64\", got {str(encoding)[:40]!r}")
        with self.snapshots.reading() as (net, _):
            x = self._input(body, net, where)
            outputs = model.forward(net, x[None])
            out = _finite(outputs[-1], where)
            label = model.decisions(net, out)
            rows = [a[0].reshape(-1) for a in outputs]  # C order, whatever the array's memory order
            return {
                "label": None if label is None else int(label[0]),
                "probabilities": net.loss.output(out)[0].tolist(),
                "activations": [_encoded(row, where) for row in rows] if encoding == "base64" else [row.tolist() for row in rows],
            }

    def explain(self, body: dict) -> dict:
        """``POST /api/explain``: ``net.explain(x, target, layer, neuron).to_dict()`` for one input.

        With ``"text": true``, also ``"text"``: the trace as ``print(net.explain(...))`` shows it.
        """
        where = "POST /api/explain"
        known_keys(body, ("pixels", "inputs", "target", "layer", "neuron", "top", "text"), where)
        _required(body, ("layer", "neuron"), where)
        with self.snapshots.reading() as (net, _):
            x = self._input(body, net, where)
            index, dense = _dense_layer(net, body["layer"], where, integer)
            if not dense.activation.elementwise:
                raise RequestError(
                    400, f"{where}: expected a layer with an elementwise activation, got layers[{index}] {dense!r}; "
                    f"its neurons' f'(z) is not defined one by one"
                )
            neuron = integer(body["neuron"], "neuron", where, 0, dense.out_features)
            top = integer(body.get("top", 5), "top", where, 1, 101)
            text = boolean(body.get("text", False), "text", where)
            target = self._target(body, net, x, where)
            trace = neuron_trace(net, x[None], target[None], index, neuron, top=top)  # one sample, (1, ...)
            return {**trace.to_dict(), "text": str(trace)} if text else trace.to_dict()

    def _input(self, body: dict, net, where: str) -> np.ndarray:
        """One input sample of the model's shape, from ``pixels`` (mapped by ``model.pixels_to_inputs``) or ``inputs``, flat in C order."""
        given = [key for key in ("pixels", "inputs") if key in body]
        if len(given) != 1:
            pixels = f"'pixels' ({model.PIXELS} numbers in [0, 255]) or " if self.kind == "pixels" else ""
            raise RequestError(
                400, f"{where}: expected {pixels}'inputs' ({self.features} numbers), got "
                f"{'both' if given else 'neither'}"
            )
        if given == ["inputs"]:
            return vector(body["inputs"], "inputs", self.features, where).reshape(self.shape)
        if self.kind != "pixels":
            raise RequestError(
                400, f"{where}: expected 'inputs' ({self.features} numbers), got 'pixels'; this network "
                f"takes {self.features} features, not a 28x28 image"
            )
        return model.pixels_to_inputs(net, vector(body["pixels"], "pixels", model.PIXELS, where, 0, 255)).reshape(self.shape)

    def _target(self, body: dict, net, x: np.ndarray, where: str) -> np.ndarray:
        """The target ``explain`` is given: ``body["target"]``, by default the predicted class."""
        out = _finite(model.output(net, x[None]), where)
        label, classes = model.decisions(net, out), _classes(net, out.shape[1])
        if label is None or classes is None:  # one output read as a value: its target is a number
            if "target" not in body:
                raise RequestError(400, f"{where}: expected target (a number: this network's output is a value, not a class), got none")
            return np.array(number(body["target"], "target", where))
        target = integer(body["target"], "target", where, 0, classes) if "target" in body else int(label[0])
        if net.loss.name == "binary_cross_entropy" and out.shape[1] > 1:  # one 0/1 target per output
            return np.eye(out.shape[1])[target]
        return np.array(target)

    # -- samples ------------------------------------------------------------------------
    def sample(self, query: dict) -> dict:
        """``GET /api/samples?pick=...&index=...``: one of the samples, its label and the network's."""
        where = "GET /api/samples"
        fields = query_fields(query, ("pick", "index"), where)
        if self.data is None:
            raise RequestError(
                404, f"{where}: expected samples, got none; serve the network with data=(X, y) "
                "(neurolab lab: MNIST's test set, from --data-dir or NEUROLAB_DATA)"
            )
        X, y = self.data
        n = len(X)
        pick = fields.get("pick", "index")
        picks = ("index", "next", "previous", "random", "misclassified")
        if pick not in picks:
            raise RequestError(400, f"{where}: expected pick in {list(picks)}, got {pick[:40]!r}")
        if pick == "random" and "index" in fields:
            raise RequestError(400, f"{where}: expected no index with pick=random, got index={fields['index'][:40]!r}")
        if pick == "index" and "index" not in fields:
            raise RequestError(400, f"{where}: expected index (an integer in [0, {n})) with pick=index, got none")
        low = 0 if pick == "index" else -1  # next and misclassified start after index; -1 starts at sample 0
        index = query_integer(fields["index"], "index", where, low, n) if "index" in fields else -1
        with self.snapshots.reading() as (net, _):
            if pick == "misclassified":
                i, out = self._misclassified_after(net, X, y, index, where)
            else:
                given = {"index": index, "next": index + 1, "previous": index - 1}.get(pick)  # None: random
                i = int(self._rng.integers(n)) if given is None else given % n
                out = _finite(model.output(net, X[i : i + 1]), where)[0]
            predicted = model.decisions(net, out[None])
            answer = {
                "index": i,
                "count": n,
                "label": model.true_labels(y[i : i + 1])[0].item(),
                "predicted": None if predicted is None else int(predicted[0]),
                "inputs": X[i].reshape(-1).tolist(),  # flat, in C order, as requests send them
            }
            if self.kind == "pixels":
                answer["pixels"] = model.inputs_to_pixels(net, X[i].reshape(-1)).tolist()
            return answer

    def _misclassified_after(self, net, X: np.ndarray, y: np.ndarray, index: int, where: str) -> tuple[int, np.ndarray]:
        """The first sample of ``(X, y)`` after ``index`` (wrapping around) whose predicted class is not its label, and its output."""
        n = len(X)
        truth = model.true_labels(y)
        for start in range(0, n, SCAN_ROWS):
            rows = (index + 1 + start + np.arange(min(SCAN_ROWS, n - start))) % n
            out = _finite(model.output(net, X[rows]), where)
            predicted = model.decisions(net, out)
            if predicted is None:
                raise RequestError(400, f"{where}: expected a network that classifies for pick=misclassified, got one whose output is a value")
            wrong = np.flatnonzero(predicted != truth[rows])
            if wrong.size:
                return int(rows[wrong[0]]), out[wrong[0]]
        raise RequestError(404, f"{where}: expected a misclassified sample, got none: the network classifies all {n} correctly")

    # -- weights ------------------------------------------------------------------------
    def weights(self, query: dict) -> dict:
        """``GET /api/weights?layer=L&neuron=J``: neuron J's incoming weights and bias, in full precision.

        For a ``Conv2D`` layer, filter J's: ``weight[J]`` ``(C, kh, kw)``, flattened in C order.
        """
        where = "GET /api/weights"
        fields = query_fields(query, ("layer", "neuron"), where)
        _required(fields, ("layer", "neuron"), where)
        with self.snapshots.reading() as (net, version):
            index, layer = _layer(net, fields["layer"], where, query_integer, filters=True)
            neuron = query_integer(fields["neuron"], "neuron", where, 0, layer.weight.shape[0])
            weights = layer.weight.value[neuron]
            return {
                "layer": index,
                "neuron": neuron,
                "weights": weights.reshape(-1).tolist(),
                "shape": list(weights.shape),  # (in_features,), or a filter's (C, kh, kw)
                "bias": float(layer.bias.value[neuron]),
                "image_shape": list(model.IMAGE_SHAPE) if weights.shape == (model.PIXELS,) else None,
                "version": version,
            }

    def weight_images(self, query: dict) -> dict:
        """``GET /api/weight-images?layer=L&start=S&count=C``: many neurons' weights, one signed byte each.

        Row ``j`` holds ``q = round(127 * w / scale[j])`` with ``scale[j] = max|w|`` of that
        neuron (1 for all-zero weights), so ``w ~ q * scale[j] / 127``: each picture keeps
        its own symmetric colour range, as in ``nl.plots.plot_weights``.
        """
        where = "GET /api/weight-images"
        fields = query_fields(query, ("layer", "start", "count"), where)
        _required(fields, ("layer",), where)
        with self.snapshots.reading() as (net, version):
            index, dense = _dense_layer(net, fields["layer"], where, query_integer)
            start = query_integer(fields.get("start", "0"), "start", where, 0, dense.out_features)
            count = query_integer(fields.get("count", str(dense.out_features)), "count", where, 1, dense.out_features + 1)
            rows = _finite(dense.weight.value[start : start + count], where)
            scale = np.abs(rows).max(axis=1)
            scale[scale == 0] = 1
            q = np.rint(rows / scale[:, None] * 127).astype(np.int8)
            return {
                "layer": index,
                "start": start,
                "count": len(rows),
                "in_features": dense.in_features,
                "image_shape": list(model.IMAGE_SHAPE) if dense.in_features == model.PIXELS else None,
                "scale": scale.tolist(),
                "data": base64.b64encode(q.tobytes()).decode("ascii"),
                "version": version,
            }

    # -- training -----------------------------------------------------------------------
    def train_start(self, body: dict) -> dict:
        """``POST /api/train/start``: ``fit`` on the training data, on the lab's training thread."""
        where = "POST /api/train/start"
        known_keys(body, ("epochs", "batch_size", "lr", "seed"), where)
        if self.trainer is None:
            raise RequestError(
                409, f"{where}: expected training data, got none; serve the network with train_data=(X, y) "
                "(neurolab lab: MNIST's training set, from --data-dir or NEUROLAB_DATA)"
            )
        epochs = integer(body.get("epochs", 1), "epochs", where, 1, MAX_EPOCHS + 1)
        batch_size = integer(body.get("batch_size", 32), "batch_size", where, 1, len(self.trainer.X) + 1)
        lr = None if body.get("lr") is None else number(body["lr"], "lr", where, positive=True)
        seed = None if body.get("seed") is None else integer(body["seed"], "seed", where, 0, 2**63)
        try:
            self.trainer.start(epochs, batch_size, lr, seed)
        except Busy as busy:
            raise RequestError(409, f"{where}: {busy}") from None
        return self.train_status({})

    def train_stop(self, body: dict) -> dict:
        """``POST /api/train/stop``: the page's run stops after the current batch, a watched fit after its epoch."""
        known_keys(body, (), "POST /api/train/stop")
        stopping = self.progress.request_stop()
        return {"stopping": stopping, **self.train_status({})}

    def train_status(self, query: dict) -> dict:
        """``GET /api/train/status?since=K``: where training is, and the curves' points from batch point K on."""
        where = "GET /api/train/status"
        fields = query_fields(query, ("since",), where)
        since = query_integer(fields.get("since", "0"), "since", where, 0, 2**62)
        return {
            "available": self.trainer is not None,
            "version": self.snapshots.version,
            **self.progress.status(since),
        }


def _required(fields: dict, names, where: str) -> None:
    for name in names:
        if name not in fields:
            raise RequestError(400, f"{where}: expected {name!r}, got none")


def _layer(net, given, where: str, read, *, filters: bool = False) -> tuple[int, Dense | Conv2D]:
    """``net.layers[given]`` (negative counts from the end, as in ``net.explain``), which must be Dense (or, with ``filters``, Conv2D).

    ``read`` is ``integer`` for a JSON field, ``query_integer`` for a query parameter.
    """
    n = len(net.layers)
    index = read(given, "layer", where, -n, n) % n
    layer = net.layers[index]
    kinds = (Dense, Conv2D) if filters else (Dense,)
    if not isinstance(layer, kinds):
        names = " or ".join(kind.__name__ for kind in kinds)
        choices = [i for i, candidate in enumerate(net.layers) if isinstance(candidate, kinds)]
        why = ""
        if isinstance(layer, Conv2D):  # as net.explain says it, and where to look instead
            why = (f"; a Conv2D filter is shared by every position of its feature map, so it has no trace of its own: "
                   f"GET /api/weights?layer={index}&neuron=J gives filter J's weights (net.layers[{index}].neurons[J] in Python)")
        raise RequestError(400, f"{where}: expected a {names} layer (one of layers {choices}), got layers[{index}] {layer!r}{why}")
    return index, layer


def _dense_layer(net, given, where: str, read) -> tuple[int, Dense]:
    """:func:`_layer` without filters: a Dense layer, or the same 400 answer."""
    index, layer = _layer(net, given, where, read)
    return index, cast(Dense, layer)  # _layer refuses anything else when filters are not asked for


def _encoded(values: np.ndarray, where: str) -> dict:
    """``values`` (flat) as ``{"dtype", "data"}``: float32 (float64 for any other type) bytes, little-endian, in base64.

    NaN and infinity are refused, as JSON numbers refuse them.
    """
    dtype = np.dtype("<f4") if values.dtype == np.float32 else np.dtype("<f8")
    _finite(values, where)
    return {"dtype": dtype.name, "data": base64.b64encode(values.astype(dtype, copy=False).tobytes()).decode("ascii")}


def _classes(net, outputs: int) -> int | None:
    """How many classes the network's decision can name: None for one output read as a value."""
    if model.decisions(net, np.zeros((1, outputs))) is None:
        return None
    return 2 if outputs == 1 else outputs


def _finite(values: np.ndarray, where: str) -> np.ndarray:
    """``values``, if all finite; else the answer would hold NaN or infinity: a 422."""
    if not np.isfinite(values).all():
        raise RequestError(
            422, f"{where}: expected finite numbers from the network, got NaN or infinity; its weights "
            "hold NaN or infinity, or overflow on this input"
        )
    return values
