"""What the neurons of a trained network do: their activations on data, and their weights over time.

* :func:`activations` — a layer's output ``A`` for a whole dataset ``(N, out)``;
* :func:`top_activating` — the samples that drive one neuron the hardest;
* :func:`dead_units` — ReLU neurons that never switch on, per layer;
* :class:`WeightHistory` — a callback for ``fit`` that keeps copies of chosen neurons'
  incoming weights as training goes.

Passes run on a copy of the network's layers in evaluation mode (no dropout), so the network
itself is left as it was: its layers' modes and their caches of the last batch (``x``, ``z``,
``a``, ``grad_z``, which ``neuron.z`` and ``explain`` read) are not touched. The pictures of
these numbers are in :mod:`neurolab.plots` (needs matplotlib).
"""

from __future__ import annotations

import numbers

import numpy as np

from .activations import LeakyReLU, ReLU
from .callbacks import Callback
from .conv import Conv2D
from .layer import Dense, Layer
from .network import NeuralNetwork, eval_copies
from .validation import finite, numeric_array, positive_int


def _check_network(network, where: str) -> NeuralNetwork:
    if not isinstance(network, NeuralNetwork):
        raise TypeError(f"{where}: expected a neurolab.NeuralNetwork, got {type(network).__name__}")
    return network


def _check_X(X, where: str) -> np.ndarray:
    X = numeric_array(X, "X", where)
    if X.ndim < 2:
        hint = "; for a single sample use X.reshape(1, -1)" if X.ndim == 1 else ""
        raise ValueError(f"{where}: expected X of shape (N, ...), one sample per row, got {X.shape}{hint}")
    finite(X, "X", where)
    return X


def _layer_index(network, layer, where: str) -> int:
    """The index in ``network.layers`` of ``layer``: an index (negative counts from the end) or the layer."""
    n = len(network.layers)
    if isinstance(layer, numbers.Integral) and not isinstance(layer, bool):
        index = int(layer)
        if not -n <= index < n:
            raise IndexError(f"{where}: expected a layer index in [-{n}, {n}), got {index}")
        return index % n
    for i, candidate in enumerate(network.layers):
        if candidate is layer:
            return i
    raise ValueError(f"{where}: expected a layer index or one of the network's layers, got {layer!r}")


def _layer_outputs(network, X: np.ndarray, indices, batch_size: int, where: str):
    """The outputs ``A`` of ``network.layers[i]`` for each ``i`` in ``indices``, and ``Z`` of the Dense ones.

    Returns two dicts ``{i: (N, ...)}``: the outputs, and the pre-activations of the layers
    among ``indices`` that are ``Dense`` or ``Conv2D``. Runs ``batch_size`` rows at a time through shallow
    copies of the layers (the same parameters, their own caches) in evaluation mode, so the
    network's own modes and caches stay as they were.
    """
    last = max(indices)
    layers = eval_copies(network.layers[: last + 1])
    a_parts: dict[int, list[np.ndarray]] = {i: [] for i in indices}
    z_parts: dict[int, list[np.ndarray]] = {i: [] for i in indices if isinstance(layers[i], (Dense, Conv2D))}
    n = X.shape[0]
    for start in range(0, max(n, 1), batch_size):  # an empty X still runs once, for the widths
        out = X[start : start + batch_size]
        for i, layer in enumerate(layers):
            rows = out.shape[0]
            out = layer.forward(out)
            if not isinstance(out, np.ndarray) or out.ndim < 2 or out.shape[0] != rows:
                raise ValueError(
                    f"{where}: expected layers[{i}] ({type(layer).__name__}).forward to return an "
                    f"array of shape ({rows}, ...), got {getattr(out, 'shape', type(out).__name__)}"
                )
            if i in a_parts:
                a_parts[i].append(out)
            if i in z_parts:
                z_parts[i].append(layer.z)  # the copy's cache of this chunk: Z = X @ W.T + b
    outputs = {i: np.concatenate(parts) for i, parts in a_parts.items()}
    pre_activations = {i: np.concatenate(parts) for i, parts in z_parts.items()}
    return outputs, pre_activations


def activations(network, X: np.ndarray, layer, batch_size: int = 1024, *, pre_activation: bool = False) -> np.ndarray:
    """The output ``A`` of one layer for every sample of ``X``, in evaluation mode.

    Parameters
    ----------
    network : NeuralNetwork
        Left untouched: the pass runs on a copy of its layers (their modes and their caches
        of the last batch stay as they were).
    X : array (N, features)
        Inputs, as the network takes them (raw pixels if its first layer is ``Rescale``).
    layer : int or Layer
        Index in ``network.layers`` (negative counts from the end) or the layer itself.
    batch_size : int
        Rows per forward pass; only the outputs are kept, so memory stays small.
    pre_activation : bool
        Return the pre-activation ``Z`` instead of ``A = f(Z)`` (``Dense`` and ``Conv2D``
        layers only).

    Returns
    -------
    ndarray (N, out), or (N, ...) for a layer with other outputs
        Row ``n`` is the layer's output for sample ``n``; for a ``Dense`` layer, column ``j``
        is neuron ``j``'s activation ``a = f(z)`` (or ``z``); for a ``Conv2D`` layer,
        ``[:, j]`` is filter ``j``'s feature map ``(N, H_out, W_out)``.
    """
    where = "activations"
    network = _check_network(network, where)
    X = _check_X(X, where)
    index = _layer_index(network, layer, where)
    batch_size = positive_int(batch_size, "batch_size", where)
    if pre_activation and not isinstance(network.layers[index], (Dense, Conv2D)):
        raise TypeError(
            f"{where}: expected a Dense or Conv2D layer for pre_activation=True, got layers[{index}] {network.layers[index]!r}"
        )
    outputs, pre_activations = _layer_outputs(network, X, [index], batch_size, where)
    return pre_activations[index] if pre_activation else outputs[index]


def top_activating(network, X: np.ndarray, layer, neuron: int, k: int = 9, batch_size: int = 1024) -> np.ndarray:
    """Indices of the ``k`` samples of ``X`` on which a neuron's activation is largest, largest first.

    Ties in ``a`` are broken by the larger ``z`` (for a ``Dense`` layer), then by the lower
    index: a saturated sigmoid rounds many activations to exactly 1.0 in float32, and ``z``
    still tells those samples apart. For a layer with image outputs (``Conv2D``), ``neuron``
    is a channel (a filter), and a sample's activation is the largest of its feature map:
    how strongly the filter found its pattern anywhere in the image.

    Parameters
    ----------
    network, X, layer, batch_size
        As for :func:`activations`.
    neuron : int
        The neuron's index in the layer (a column of the layer's output).
    k : int
        How many samples; all ``N`` when ``X`` has fewer.

    Returns
    -------
    ndarray (min(k, N),) of int64
        Row indices into ``X``.
    """
    where = "top_activating"
    network = _check_network(network, where)
    X = _check_X(X, where)
    index = _layer_index(network, layer, where)
    k = positive_int(k, "k", where)
    batch_size = positive_int(batch_size, "batch_size", where)
    if isinstance(neuron, bool) or not isinstance(neuron, numbers.Integral) or neuron < 0:
        raise ValueError(f"{where}: expected a non-negative neuron index, got {neuron!r}")
    width = getattr(network.layers[index], "out_features", None)
    if width is None:  # a layer without out_features: its width shows in its output
        width = _layer_outputs(network, X[:0], [index], 1, where)[0][index].shape[1]
    if neuron >= width:
        raise ValueError(f"{where}: expected a neuron index in [0, {width}) for layers[{index}], got {neuron}")
    outputs, pre_activations = _layer_outputs(network, X, [index], batch_size, where)
    a = outputs[index][:, int(neuron)].reshape(len(X), -1).max(axis=1)  # a feature map's strongest response
    z = pre_activations[index][:, int(neuron)].reshape(len(X), -1).max(axis=1) if index in pre_activations else np.zeros_like(a)
    order = np.lexsort((np.arange(len(a)), -z, -a))  # the last key sorts first: a, then z, then index
    return order[:k].astype(np.int64)


def dead_units(network, X: np.ndarray, batch_size: int = 1024) -> dict[int, int]:
    """How many neurons of each ReLU-family ``Dense`` layer are never active on ``X``.

    A ReLU neuron with ``z <= 0`` on every sample outputs 0 everywhere and gets no gradient
    (``f'(z) = 0``), so training cannot revive it: it is dead. A leaky ReLU neuron still gets
    ``negative_slope`` of its gradient, but one that is never active contributes nothing
    positive either, so it is counted too.

    Parameters
    ----------
    network, X, batch_size
        As for :func:`activations`; ``X`` needs at least one sample.

    Returns
    -------
    dict
        ``{layer index: number of neurons with a <= 0 on every sample}`` for each ``Dense``
        layer with a ``relu`` or ``leaky_relu`` activation (an empty dict when there is none).
    """
    where = "dead_units"
    network = _check_network(network, where)
    X = _check_X(X, where)
    batch_size = positive_int(batch_size, "batch_size", where)
    if X.shape[0] == 0:
        raise ValueError(f"{where}: expected at least one sample, got X with 0 rows")
    relu_layers = [
        i for i, layer in enumerate(network.layers)
        if isinstance(layer, Dense) and isinstance(layer.activation, (ReLU, LeakyReLU))
    ]
    if not relu_layers:
        return {}
    outputs, _ = _layer_outputs(network, X, relu_layers, batch_size, where)
    return {i: int(np.count_nonzero((outputs[i] <= 0).all(axis=0))) for i in relu_layers}


class WeightHistory(Callback):
    """Keep copies of chosen neurons' incoming weights while ``fit`` trains.

    Parameters
    ----------
    layer : int or Dense
        The layer, by index in ``network.layers`` (negative counts from the end) or itself;
        it must be a ``Dense`` layer of the network being trained.
    neurons : sequence of int, optional
        The neurons (rows of ``weight``) to follow; all of the layer's by default.
    every : "epoch" or int
        When to copy: after each epoch, or after every ``every``-th optimizer step (counted
        across the epochs of a ``fit`` call).

    Attributes
    ----------
    snapshots : list of (epoch, batch, ndarray (len(neurons), in_features))
        The weights after ``batch`` steps of epoch ``epoch`` (both counted from 1, as in
        ``fit``); the first entry, ``(0, 0, ...)``, holds the weights before training. A
        second ``fit`` with the same callback appends to the list (its epochs count from 1
        again).
    neurons : list of int
        The rows recorded, in the order of each snapshot's rows (set when training starts).

    Examples
    --------
    ::

        history = nl.analysis.WeightHistory(layer=1, neurons=[0, 5], every=100)
        net.fit(X, y, epochs=3, callbacks=[history])
        history.weights.shape           # (snapshots, 2, in_features)
    """

    def __init__(self, layer, neurons=None, every="epoch") -> None:
        if isinstance(layer, bool) or not isinstance(layer, (numbers.Integral, Layer)):
            raise TypeError(f"WeightHistory: expected layer to be an index or a Dense layer, got {type(layer).__name__}")
        if isinstance(layer, Layer) and not isinstance(layer, Dense):
            raise TypeError(f"WeightHistory: expected a Dense layer, got {layer!r}")
        if neurons is not None:
            if isinstance(neurons, (str, bytes)) or not hasattr(neurons, "__iter__"):
                raise TypeError(f"WeightHistory: expected neurons to be a sequence of ints, got {type(neurons).__name__}")
            neurons = list(neurons)
            bad = [j for j in neurons if isinstance(j, bool) or not isinstance(j, numbers.Integral) or j < 0]
            if not neurons or bad:
                raise ValueError(
                    f"WeightHistory: expected neurons to be a non-empty sequence of non-negative ints, got {neurons!r}"
                )
            if len(set(neurons)) != len(neurons):
                raise ValueError(f"WeightHistory: expected distinct neurons, got {neurons!r}")
            neurons = [int(j) for j in neurons]
        if every != "epoch":
            if isinstance(every, bool) or not isinstance(every, numbers.Integral) or every < 1:
                raise ValueError(f"WeightHistory: expected every to be 'epoch' or a positive int (batches), got {every!r}")
            every = int(every)
        self.layer = layer
        self._requested = neurons
        self.neurons = neurons
        self.every = every
        self.snapshots: list[tuple[int, int, np.ndarray]] = []

    @property
    def weights(self) -> np.ndarray:
        """The snapshots' weights stacked: ``(len(snapshots), len(neurons), in_features)``."""
        if not self.snapshots:
            raise RuntimeError("WeightHistory.weights: expected snapshots, got none; pass the callback to fit first")
        return np.stack([w for _, _, w in self.snapshots])

    def _record(self, epoch: int, batch: int) -> None:
        self.snapshots.append((epoch, batch, self._dense.weight.value[self.neurons].copy()))

    def on_train_begin(self, network, epochs):
        where = "WeightHistory.on_train_begin"
        index = _layer_index(network, self.layer, where)
        dense = network.layers[index]
        if not isinstance(dense, Dense):
            raise TypeError(f"{where}: expected layers[{index}] to be a Dense layer, got {dense!r}")
        neurons = self._requested if self._requested is not None else list(range(dense.out_features))
        if max(neurons) >= dense.out_features:
            raise ValueError(
                f"{where}: expected neurons in [0, {dense.out_features}) for layers[{index}] {dense!r}, got {neurons!r}"
            )
        if self.snapshots and self.snapshots[-1][2].shape != (len(neurons), dense.in_features):
            raise ValueError(
                f"{where}: expected the layer recorded so far ({self.snapshots[-1][2].shape[0]} neurons of "
                f"{self.snapshots[-1][2].shape[1]} inputs), got layers[{index}] {dense!r}; use a new WeightHistory"
            )
        self._dense, self.neurons = dense, neurons
        self._epoch = self._batch = self._steps = 0
        if not self.snapshots:
            self._record(0, 0)

    def on_epoch_begin(self, network, epoch):
        self._epoch = epoch

    def on_batch_end(self, network, batch, logs):
        self._batch = batch
        self._steps += 1
        if self.every != "epoch" and self._steps % self.every == 0:
            self._record(self._epoch, batch)

    def on_epoch_end(self, network, epoch, logs):
        if self.every == "epoch":
            self._record(epoch, self._batch)
        return False

    def __repr__(self) -> str:
        return f"WeightHistory(layer={self.layer!r}, neurons={self._requested!r}, every={self.every!r})"
