"""NeuralNetwork: a stack of layers and a loss, with forward, backward, fit and predict."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np

from . import losses as _losses
from . import optim as _optim
from ._buffers import BatchArrays, page_aligned
from .activations import quiet_underflow
from .layer import Layer
from .parameter import ParameterBlock
from .validation import as_generator, finite, numeric_array, positive_int


class NeuralNetwork:
    """Layers applied in order, trained against a loss.

    Parameters
    ----------
    layers : sequence of Layer
        Applied first to last. Consecutive layers that declare ``in_features`` and
        ``out_features`` must chain.
    loss : str or Loss
        ``"mse"``, ``"cross_entropy"`` or ``"binary_cross_entropy"`` (see
        :mod:`neurolab.losses`), or a ``Loss`` object. The classification losses take
        logits, so the last layer's activation is ``"identity"``.

    Notes
    -----
    One training step, written out (``fit`` runs it per batch)::

        out  = net.forward(X)                      (N, outputs)
        L    = net.loss.forward(out, y)            float
        net.zero_grad()
        dX   = net.backward(net.loss.backward())   (N, features); fills every .grad
        optimizer.step(net.parameters())

    The network stores the weights and biases of its ``Dense`` layers back to back in one
    array (and their gradients in another; see :class:`~neurolab.parameter.ParameterBlock`),
    so that ``fit``'s optimizer step is a few whole-array operations. Building the network
    copies them there: take ``layer.weight.value`` (or a neuron view) after building it, not
    before, to see the weights it trains.
    """

    def __init__(self, layers, loss) -> None:
        if isinstance(layers, Layer) or not isinstance(layers, (list, tuple)):
            raise TypeError(f"NeuralNetwork: expected a list of layers, got {type(layers).__name__}")
        if not layers:
            raise ValueError("NeuralNetwork: expected at least one layer, got an empty list")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(
                    f"NeuralNetwork: expected layers[{i}] to be a neurolab.Layer, got {type(layer).__name__}"
                )
        if len({id(layer) for layer in layers}) != len(layers):
            raise ValueError(
                "NeuralNetwork: expected distinct layer objects, got the same layer twice; "
                "a layer caches its last batch, so make a new layer for each position"
            )
        for i in range(1, len(layers)):
            gives = getattr(layers[i - 1], "out_features", None)
            takes = getattr(layers[i], "in_features", None)
            if isinstance(gives, int) and isinstance(takes, int) and gives != takes:
                raise ValueError(
                    f"NeuralNetwork: expected layers[{i}] ({type(layers[i]).__name__}) to take the "
                    f"{gives} features that layers[{i - 1}] gives, got in_features={takes}"
                )
        self.layers = list(layers)
        self.loss = _losses.get(loss)
        last = getattr(self.layers[-1], "activation", None)
        squashing = {"cross_entropy": "softmax", "binary_cross_entropy": "sigmoid"}.get(self.loss.name)
        if squashing is not None and getattr(last, "name", None) == squashing:
            raise ValueError(
                f"NeuralNetwork: expected logits from the last layer for loss {self.loss.name!r}, got "
                f"activation {squashing!r}; use activation='identity' on the last layer (the loss "
                f"applies {squashing} itself, stably)"
            )
        self.optimizer = None
        self.shuffle_rng: np.random.Generator | None = None  # the Generator of the last fit's shuffling
        self._input_shapes: list[tuple[int, ...]] = []
        self._block = self._pack()

    def _pack(self) -> ParameterBlock:
        """Store the parameters of the layers that allow it (``Dense``) back to back (see
        :class:`~neurolab.parameter.ParameterBlock`): an optimizer step is then a few
        whole-array operations. Their numbers are copied into the block."""
        packable = [getattr(layer, "_packable", False) for layer in self.layers for _ in layer.parameters()]
        return ParameterBlock(self.parameters(), packable)

    # -- parameters ---------------------------------------------------------------------
    def parameters(self) -> list:
        """Every layer's parameters, first layer first."""
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        for layer in self.layers:
            layer.zero_grad()

    def astype(self, dtype) -> "NeuralNetwork":
        """Convert every layer to ``dtype`` in place; return ``self``."""
        for layer in self.layers:
            layer.astype(dtype)
        self.optimizer = None  # its state had the old dtype
        self._block = self._pack()
        return self

    # -- forward and backward -----------------------------------------------------------
    @quiet_underflow
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Return the last layer's output ``(N, outputs)`` for ``X`` of shape ``(N, features)``."""
        return self._forward(self._check_X(X, "forward"))

    def _forward(self, X: np.ndarray, arrays: list[BatchArrays] | None = None) -> np.ndarray:
        """Run the layers, through their ``_fit_forward`` with ``arrays`` (one per layer) in fit."""
        n = X.shape[0]
        shapes = self._input_shapes = []
        out = X
        for i, layer in enumerate(self.layers):
            shapes.append(out.shape)
            out = layer.forward(out) if arrays is None else layer._fit_forward(out, arrays[i])
            if not isinstance(out, np.ndarray) or out.ndim != 2 or out.shape[0] != n:
                raise ValueError(
                    f"NeuralNetwork.forward: expected layers[{i}] ({type(layer).__name__}).forward to "
                    f"return an array of shape ({n}, outputs), got {getattr(out, 'shape', type(out).__name__)}"
                )
        return out

    @quiet_underflow
    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Backpropagate dL/d(output) through every layer (adding into each ``.grad``); return dL/dX."""
        if not self._input_shapes:
            raise RuntimeError("NeuralNetwork.backward: expected a forward pass first, got none")
        return self._backward_layers(grad_output, stop=0)

    def _backward_layers(self, grad: np.ndarray, stop: int, arrays: list[BatchArrays] | None = None):
        """Run the layers' ``backward`` from the last down to ``layers[stop]``, checking each dL/dx's shape.

        In ``fit`` (``arrays``: one per layer) it runs their ``_fit_backward`` instead, down to
        ``layers[stop]``, the first layer with parameters, which skips dL/dx (as
        ``backward_parameters``): the layers before it have nothing to learn. It then returns None.
        """
        layers, shapes = self.layers, self._input_shapes
        writable = False  # the loss's gradient is not scratch
        for i in range(len(layers) - 1, stop - 1, -1):
            layer = layers[i]
            if arrays is None:
                grad = layer.backward(grad)
            else:
                grad = layer._fit_backward(grad, arrays[i], i > stop, writable)
                if i == stop:
                    return None
                writable = grad is arrays[i].scratch
            if getattr(grad, "shape", None) != shapes[i]:
                raise ValueError(
                    f"NeuralNetwork.backward: expected layers[{i}] ({type(layer).__name__}).backward to "
                    f"return dL/dx of the input's shape {shapes[i]}, got {getattr(grad, 'shape', type(grad).__name__)}"
                )
        return grad

    def _first_trainable(self) -> int | None:
        """Index of the first layer with parameters (None if there is none)."""
        return next((i for i, layer in enumerate(self.layers) if layer.parameters()), None)

    # -- modes ----------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "NeuralNetwork":
        """Put every layer in training mode (``mode=True``) or evaluation mode; return ``self``."""
        for layer in self.layers:
            layer.train(mode)
        return self

    def eval(self) -> "NeuralNetwork":
        """Put every layer in evaluation mode (dropout off); return ``self``."""
        return self.train(False)

    # -- training -----------------------------------------------------------------------
    @quiet_underflow
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epochs: int = 1,
        batch_size: int = 32,
        optimizer=None,
        shuffle: bool = True,
        rng=None,
        *,
        validation_data=None,
        validation_split: float = 0.0,
        callbacks=(),
        verbose: int = 1,
    ) -> dict[str, list[float]]:
        """Train with mini-batch gradient descent; return the history.

        Parameters
        ----------
        X : array (N, features)
            Inputs, of any real dtype; each batch is converted to the layers' dtype as it is
            used (integers are not rescaled: put a ``Rescale`` layer first for raw pixels).
        y : array (N,) or (N, outputs)
            Targets as the loss takes them.
        epochs, batch_size : int
        optimizer : Optimizer or str, optional
            Defaults to the optimizer of the previous ``fit`` (its state carries on), or a
            new ``Adam()`` on the first call.
        shuffle : bool
            Visit the samples in a new random order each epoch.
        rng : None, int or numpy.random.Generator
            Source of the shuffling order. None continues the Generator of the previous
            ``fit`` (saved with the network, so a resumed run shuffles as an uninterrupted
            one would), or starts a fresh unseeded one.
        validation_data : (X_val, y_val), optional
            Evaluated after each epoch (in evaluation mode) into ``val_loss`` and ``val_accuracy``.
        validation_split : float in [0, 1)
            Instead of ``validation_data``, hold out this fraction of the samples, taken from
            the end of ``X`` and ``y`` before any shuffling.
        callbacks : sequence of Callback
            See :mod:`neurolab.callbacks`; ``on_epoch_end`` returning True stops training.
        verbose : 0, 1 or 2
            0 silent; 1 a progress bar per epoch on a terminal (one line per epoch otherwise,
            or without tqdm); 2 one line per epoch.

        Returns
        -------
        dict
            Per epoch: ``loss`` and ``accuracy`` (means over the epoch's batches, weighted by
            batch size, while the weights were changing; accuracy is NaN for regression),
            ``lr``, and with validation ``val_loss`` and ``val_accuracy``.

        Raises
        ------
        FloatingPointError
            When the loss stops being finite. The weights and the optimizer's state are
            restored to those at the start of that epoch, the last ones known to give a
            finite loss.
        KeyboardInterrupt
            Passed on after the layers' modes are restored and ``on_train_end`` has run; the
            network is usable (and can be saved) as it stands.
        """
        from .callbacks import ProgressBar

        X = self._check_X(X, "fit")
        epochs = positive_int(epochs, "epochs", "NeuralNetwork.fit")
        batch_size = positive_int(batch_size, "batch_size", "NeuralNetwork.fit")
        if X.shape[0] == 0:
            raise ValueError("NeuralNetwork.fit: expected at least one sample, got X with 0 rows")
        y = self._check_y(y, X, "fit")
        X, y, validation_data = self._split_validation(X, y, validation_data, validation_split)
        if verbose not in (0, 1, 2):
            raise ValueError(f"NeuralNetwork.fit: expected verbose 0, 1 or 2, got {verbose!r}")
        callbacks = list(callbacks) + ([ProgressBar(bar=verbose == 1)] if verbose else [])
        if optimizer is not None:
            self.optimizer = _optim.get(optimizer)
        elif self.optimizer is None:
            self.optimizer = _optim.Adam()
        if rng is not None:
            self.shuffle_rng = as_generator(rng, "NeuralNetwork.fit")
        elif self.shuffle_rng is None:
            self.shuffle_rng = np.random.default_rng()
        gen = self.shuffle_rng  # kept (and saved) so that a later fit continues the same stream

        n = X.shape[0]
        self._batches_per_epoch = -(-n // batch_size)
        history: dict[str, list[float]] = {"loss": [], "accuracy": [], "lr": []}
        if validation_data is not None:
            history.update(val_loss=[], val_accuracy=[])
        was_training = [layer.training for layer in self.layers]
        for callback in callbacks:
            callback.on_train_begin(self, epochs)
        try:
            for epoch in range(1, epochs + 1):
                for callback in callbacks:
                    callback.on_epoch_begin(self, epoch)
                logs = self._train_epoch(X, y, epoch, batch_size, shuffle, gen, callbacks)
                if validation_data is not None:
                    scores = self.evaluate(*validation_data)
                    logs.update(val_loss=scores["loss"], val_accuracy=scores["accuracy"])
                for key, value in logs.items():
                    history[key].append(value)
                stop = [callback.on_epoch_end(self, epoch, logs) for callback in callbacks]
                if any(stop):
                    break
        finally:
            for layer, mode in zip(self.layers, was_training):
                layer.train(mode)
            for callback in callbacks:
                callback.on_train_end(self, history)
        return history

    def _train_epoch(self, X, y, epoch, batch_size, shuffle, gen, callbacks) -> dict:
        """One pass over (X, y) in training mode; return the epoch's logs."""
        optimizer, params, first = self.optimizer, self.parameters(), self._first_trainable()
        if self._block.parameters != tuple(params) or not self._block.intact():
            self._block = self._pack()  # layers were changed or converted since the last pack
        snapshot = [p.value.copy() for p in params]  # the last weights known good, once per epoch
        optimizer_snapshot = {p: copy.deepcopy(state) for p, state in optimizer.state.items()}  # values only: keys stay the parameters
        n = X.shape[0]
        order = gen.permutation(n) if shuffle else np.arange(n)
        gathered = page_aligned((min(batch_size, n),) + X.shape[1:], X.dtype)  # each batch's rows of X
        self.train()
        # each batch writes over the last one's arrays (see _buffers.py): one set per layer and the loss
        arrays = [BatchArrays() for _ in self.layers], BatchArrays()
        loss_sum = correct = seen = 0.0
        for batch, start in enumerate(range(0, n, batch_size), start=1):
            index = order[start : start + batch_size]
            m = len(index)
            x_batch = np.take(X, index, axis=0, out=gathered[:m], mode="clip")  # index is in range
            loss, accuracy = self._train_batch(x_batch, y[index], params, first, arrays)
            if not math.isfinite(loss):
                self._restore(params, snapshot, optimizer_snapshot)
                raise FloatingPointError(
                    f"NeuralNetwork.fit: expected a finite loss, got {loss} at epoch {epoch}, "
                    f"batch {batch}; the weights and optimizer state from the start of epoch {epoch} "
                    f"were restored. Try a smaller learning rate (now {getattr(optimizer, 'lr', '?')})"
                )
            seen += m
            loss_sum += loss * m
            correct += accuracy * m
            if callbacks:
                batch_logs = {"loss": loss_sum / seen, "accuracy": correct / seen}
                for callback in callbacks:
                    callback.on_batch_end(self, batch, batch_logs)
        if not all(np.isfinite(p.value).all() for p in params):  # the last step may have overflowed
            self._restore(params, snapshot, optimizer_snapshot)
            raise FloatingPointError(
                f"NeuralNetwork.fit: expected finite weights, got non-finite ones after epoch {epoch}; "
                f"the weights and optimizer state from its start were restored. Try a smaller "
                f"learning rate (now {getattr(optimizer, 'lr', '?')})"
            )
        return {"loss": loss_sum / n, "accuracy": correct / n, "lr": getattr(optimizer, "lr", float("nan"))}

    def _train_batch(self, x, y, params, first, arrays) -> tuple[float, float]:
        """Forward, loss, backward and optimizer step on one batch; return its loss and accuracy.

        ``y`` was checked by ``fit``. A non-finite loss returns at once, before any gradient or
        step. ``arrays``: the layers' and the loss's :class:`BatchArrays` for this epoch.
        """
        layer_arrays, loss_arrays = arrays
        out = self._forward(x, layer_arrays)
        loss = self.loss._fit_forward(out, y, loss_arrays)
        if not math.isfinite(loss):
            return loss, float("nan")
        for p in params:  # zero_grad, without walking the layers each batch
            p.zero_grad()
        grad = self.loss._fit_backward(loss_arrays)
        if first is not None:
            self._backward_layers(grad, first, layer_arrays)
        self.optimizer.step(self._block)  # the same parameters as params, stored back to back
        return loss, self.loss._accuracy(out, y)

    def _restore(self, params, snapshot, optimizer_snapshot) -> None:
        """Put back the weights and optimizer state saved at the start of an epoch."""
        for p, value in zip(params, snapshot):
            p.value[...] = value
        self.optimizer.state.clear()
        self.optimizer.state.update(optimizer_snapshot)

    def _split_validation(self, X, y, validation_data, validation_split):
        where = "NeuralNetwork.fit"
        split = validation_split
        if isinstance(split, bool) or not isinstance(split, (int, float)) or not 0 <= split < 1:
            raise ValueError(f"{where}: expected validation_split in [0, 1), got {split!r}")
        if validation_data is not None:
            if split:
                raise ValueError(f"{where}: expected validation_data or validation_split, got both")
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise TypeError(f"{where}: expected validation_data as a pair (X_val, y_val), got {type(validation_data).__name__}")
            X_val = self._check_X(validation_data[0], "fit")
            return X, y, (X_val, self._check_y(validation_data[1], X_val, "fit"))
        if not split:
            return X, y, None
        n_val = int(round(X.shape[0] * split))
        if n_val == 0 or n_val == X.shape[0]:
            raise ValueError(
                f"{where}: expected validation_split to leave samples on both sides, got {split} "
                f"of {X.shape[0]} samples ({n_val} for validation)"
            )
        cut = X.shape[0] - n_val
        return X[:cut], y[:cut], (X[cut:], y[cut:])

    # -- inference ----------------------------------------------------------------------
    @quiet_underflow
    def _outputs(self, X: np.ndarray, batch_size: int) -> np.ndarray:
        """The network's output for X in evaluation mode, computed ``batch_size`` rows at a time."""
        X = self._check_X(X, "predict")
        batch_size = positive_int(batch_size, "batch_size", "NeuralNetwork.predict")
        was_training = [layer.training for layer in self.layers]
        self.eval()
        try:
            chunks = [self._forward(X[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)]
            if not chunks:  # no samples: run one empty batch to get the output width
                return self._forward(X)
            return np.concatenate(chunks)
        finally:
            for layer, mode in zip(self.layers, was_training):
                layer.train(mode)

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The loss's decision per sample: class labels ``(N,)`` for ``cross_entropy``; 0/1 labels
        ``(N,)`` (one output) or ``(N, K)`` for ``binary_cross_entropy``; outputs ``(N, K)`` for ``mse``."""
        return self.loss.predict(self._outputs(X, batch_size))

    def predict_proba(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The output read through the loss ``(N, K)``: softmax probabilities, sigmoid
        probabilities, or the raw outputs for ``mse``."""
        return self.loss.output(self._outputs(X, batch_size))

    @quiet_underflow
    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """Return ``{"loss": L, "accuracy": fraction correct}`` on ``(X, y)`` (accuracy NaN for regression)."""
        out = self._outputs(X, batch_size)
        y = self._check_y(y, X, "evaluate")
        return {"loss": self.loss.forward(out, y), "accuracy": self.loss.accuracy(out, y)}

    def explain(self, x, y, layer, neuron: int, *, optimizer=None, top: int = 5):
        """The backpropagation of one neuron on ``(x, y)``, equation by equation.

        See :func:`neurolab.explain.explain`; ``print`` the returned trace to read it.
        """
        from .explain import explain

        return explain(self, x, y, layer, neuron, optimizer=optimizer, top=top)

    # -- saving and describing ----------------------------------------------------------
    def save(self, path) -> Path:
        """Write the network (architecture, parameters, optimizer state) to ``path`` (``.npz``) atomically.

        See :mod:`neurolab.io`: no pickle, and the previous file survives a failed save.
        """
        from .io import save

        return save(self, path)

    @classmethod
    def load(cls, path) -> "NeuralNetwork":
        """Read a network written by :meth:`save`; same as ``neurolab.load(path)``."""
        from .io import load

        return load(path)

    def summary(self, input_features: int | None = None, print_fn=print) -> None:
        """Print each layer with its output shape and parameter count, and the totals.

        Output shapes come from a forward pass of one zero sample through a copy of the
        network, so they are exact for any layer. The input width is ``input_features``, else
        the first layer's ``in_features``, else the width of the last batch the network saw;
        without any of them, shapes show as "?".
        """
        width = input_features or getattr(self.layers[0], "in_features", None)
        if width is None and self._input_shapes:
            width = self._input_shapes[0][1]
        shapes = ["?"] * len(self.layers)
        if isinstance(width, int):
            probe = copy.deepcopy(self).eval()
            out = np.zeros((1, width), dtype=np.float32)
            for i, layer in enumerate(probe.layers):
                out = layer.forward(out)
                shapes[i] = f"(N, {', '.join(str(d) for d in out.shape[1:])})"
        rows = [("layer", "output shape", "parameters")]
        for i, layer in enumerate(self.layers):
            count = sum(p.size for p in layer.parameters())
            rows.append((f"({i}) {layer!r}", shapes[i], f"{count:,}"))
        total = sum(p.size for p in self.parameters())
        widths = [max(len(row[c]) for row in rows) for c in range(3)]
        rule = "-" * (sum(widths) + 4)
        lines = [f"{rows[0][0]:<{widths[0]}}  {rows[0][1]:<{widths[1]}}  {rows[0][2]:>{widths[2]}}", rule]
        lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:>{widths[2]}}" for a, b, c in rows[1:]]
        lines += [rule, f"total parameters: {total:,}   loss: {self.loss.name}"]
        print_fn("\n".join(lines))

    # -- validation ---------------------------------------------------------------------
    def _check_X(self, X, method: str) -> np.ndarray:
        where = f"NeuralNetwork.{method}"
        X = numeric_array(X, "X", where)
        if X.ndim != 2:
            hint = "; for a single sample use X.reshape(1, -1)" if X.ndim == 1 else ""
            if X.ndim > 2:
                hint = "; flatten each sample with X.reshape(len(X), -1)"
            raise ValueError(f"{where}: expected X of shape (N, features), got {X.shape}{hint}")
        finite(X, "X", where)
        return X

    def _check_y(self, y, X: np.ndarray, method: str) -> np.ndarray:
        where = f"NeuralNetwork.{method}"
        y = np.asarray(y)
        if y.ndim == 0 or y.shape[0] != X.shape[0]:
            raise ValueError(f"{where}: expected as many targets as samples ({X.shape[0]}), got y of shape {y.shape}")
        n_outputs = self._outputs(X[:1], 1).shape[1]  # in evaluation mode: no dropout draws
        return self.loss.check_target(y, n_outputs, X.shape[0])  # all of y once, as the loss uses it

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"NeuralNetwork({inner}\n  loss={self.loss!r}\n)"
