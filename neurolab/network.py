"""NeuralNetwork: a stack of layers and a loss, with forward, backward, fit and predict."""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from pathlib import Path

import numpy as np

from . import losses as _losses
from . import optim as _optim
from .callbacks import Callback, ProgressBar
from .diagnostics import InputRangeWarning, NonFiniteError, data_fault, far_from, largest, output_error, range_message
from .layer import Dense, Layer
from .validation import as_array, as_generator, finite, numeric_array, positive_int


class NeuralNetwork:
    """Layers applied in order, trained against a loss.

    Parameters
    ----------
    layers : sequence of Layer
        Applied first to last. Consecutive layers that declare ``in_features`` and
        ``out_features`` must chain. Inputs and the outputs between layers may have any rank
        ``(N, ...)`` (images are ``(N, C, H, W)``); the last layer gives ``(N, outputs)``.
    loss : str or Loss
        ``"mse"``, ``"cross_entropy"`` or ``"binary_cross_entropy"`` (see
        :mod:`neurolab.losses`), or a ``Loss`` object. The classification losses take
        logits, so the last layer's activation is ``"identity"``.

    Attributes
    ----------
    optimizer : Optimizer or None
        The optimizer of the last ``fit``; the next ``fit`` carries on with it and its state.
    shuffle_rng : numpy.random.Generator or None
        The Generator of the last ``fit``'s shuffling.
    input_range : (float, float) or None
        The smallest and largest input value over every ``fit`` so far (a resumed ``fit``
        widens it), None before the first. Assign a pair to restore it, None to stop the range
        check described below.
    input_shape : tuple of int or None
        The shape of one sample in the last ``fit`` (``(784,)`` for flat MNIST rows,
        ``(1, 28, 28)`` for images), None before the first; saved with the network, so that
        ``summary`` and ``save`` know the input of a network whose first layer does not say.

    Notes
    -----
    One training step, written out; ``fit`` runs exactly these calls for every batch::

        out  = net.forward(X)                      (N, outputs)
        L    = net.loss.forward(out, y)            float
        net.zero_grad()
        net.backward(net.loss.backward())          fills every .grad; returns dL/dX (N, features)
        optimizer.step(net.parameters())

    (``fit`` passes ``input_grad=False`` to ``backward``: it needs no dL/dX, which saves the
    first layer's largest matrix product and changes no gradient.)

    Inputs far from the training range: ``predict``, ``predict_proba`` and ``evaluate`` take
    the range ``[lo, hi]`` of their ``X`` and warn (:class:`InputRangeWarning`) when it is far
    from ``input_range = (low, high)``, whose span is ``s = high - low``::

        too wide     lo < low - 20 s   or   hi > high + 20 s
        too narrow   hi - lo < s / 20        (judged when X holds at least 100 values)

    Raw pixels (0 to 255) given to a network trained on scaled ones (0 to 1) are 254 spans
    too wide; scaled pixels given to one trained on raw pixels (``Rescale(1 / 255)`` inside)
    are 255 times too narrow; held-out data like the training data is neither. A network
    warns once, and again only after its ``input_range`` changes. A constant training input
    (``s = 0``) gives no scale to compare with, and a few values (one row of a few features)
    have no telling span, so neither is judged.
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
        self.optimizer: _optim.Optimizer | None = None
        self.shuffle_rng: np.random.Generator | None = None  # the Generator of the last fit's shuffling
        self._input_shapes: list[tuple[int, ...]] = []  # each layer's input shape in the last forward
        self._input_range: tuple[float, float] | None = None
        self._input_shape: tuple[int, ...] | None = None
        self._range_warned = False  # an InputRangeWarning was given for the current input_range

    @property
    def input_range(self) -> tuple[float, float] | None:
        """``(low, high)``: the smallest and largest input value of every ``fit`` so far; None before the first."""
        return self._input_range

    @input_range.setter
    def input_range(self, value) -> None:
        where = "NeuralNetwork.input_range"
        if value is not None:
            pair = list(value) if isinstance(value, (tuple, list, np.ndarray)) else None
            if pair is None or len(pair) != 2 or not all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in pair):
                raise TypeError(f"{where}: expected None or a pair (low, high) of numbers, got {value!r}")
            try:
                low, high = float(pair[0]), float(pair[1])
            except OverflowError:  # an int beyond float's range
                low, high = math.inf, math.inf
            if not (math.isfinite(low) and math.isfinite(high) and low <= high):
                raise ValueError(f"{where}: expected finite numbers with low <= high, got ({low}, {high})")
            value = (low, high)
        if value != self._input_range:  # a new range deserves its own warning
            self._range_warned = False
        self._input_range = value

    @property
    def input_shape(self) -> tuple[int, ...] | None:
        """The shape of one input sample in the last ``fit``: ``X.shape[1:]``; None before the first."""
        return self._input_shape

    @input_shape.setter
    def input_shape(self, value) -> None:
        if value is not None:
            dims = list(value) if isinstance(value, (tuple, list)) else None
            if not dims or len(dims) > 8 or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) and 1 <= d <= 2**31 for d in dims
            ):
                raise ValueError(
                    f"NeuralNetwork.input_shape: expected None or the shape of one sample, 1 to 8 sizes "
                    f"from 1 to 2**31, got {value!r}"
                )
            value = tuple(int(d) for d in dims)
        self._input_shape = value

    # -- parameters ---------------------------------------------------------------------
    def parameters(self) -> list:
        """Every layer's parameters, first layer first."""
        return [p for layer in self.layers for p in layer.parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's gradient to zero."""
        for layer in self.layers:
            layer.zero_grad()

    def astype(self, dtype) -> "NeuralNetwork":
        """Convert every layer, and the optimizer's state, to ``dtype`` in place; return ``self``.

        The optimizer stays (its momentum or moment estimates converted), so the next ``fit``
        carries on with it as it would have without the conversion.
        """
        for layer in self.layers:
            layer.astype(dtype)
        if self.optimizer is not None:  # its state arrays have each parameter's old dtype
            for state in self.optimizer.state.values():
                for key, value in state.items():
                    if isinstance(value, np.ndarray):
                        state[key] = value.astype(dtype)
        return self

    # -- forward and backward -----------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Return the last layer's output ``(N, outputs)`` for ``X`` of shape ``(N, ...)``: ``(N, features)`` or images ``(N, C, H, W)``.

        Every layer keeps this batch (``x``, ``z``, ``a``, ...) for ``backward`` and for
        reading its neurons.
        """
        out, self._input_shapes = _run(self.layers, self._check_X(X, "forward"))
        return out

    def backward(self, grad_output: np.ndarray, *, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate dL/d(output) through every layer (adding into each ``.grad``); return dL/dX.

        ``input_grad=False`` (what ``fit`` uses) stops at the first layer with parameters,
        since the layers before it have nothing to learn, and returns None: nothing computes
        the dL/dX that nobody reads. The gradients are the same either way.
        """
        if not self._input_shapes:
            raise RuntimeError("NeuralNetwork.backward: expected a forward pass first, got none")
        first = 0 if input_grad else self._first_trainable()
        if first is None:  # no parameters anywhere: nothing to backpropagate into
            return None
        grad = grad_output
        for i in range(len(self.layers) - 1, first - 1, -1):
            layer = self.layers[i]
            if not input_grad and i == first:
                if type(layer).backward is Dense.backward:
                    # Dense can skip dX = dZ @ W, one of its two products: 15-19% of an epoch on
                    # the reference MLP (benchmarks/first_layer_dx.py, results in benchmarks/README.md)
                    layer.backward(grad, input_grad=False)
                else:
                    layer.backward(grad)
                return None
            grad = layer.backward(grad)
            if getattr(grad, "shape", None) != self._input_shapes[i]:
                raise ValueError(
                    f"NeuralNetwork.backward: expected layers[{i}] ({type(layer).__name__}).backward to "
                    f"return dL/dx of the input's shape {self._input_shapes[i]}, got {getattr(grad, 'shape', type(grad).__name__)}"
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

        Each batch runs the step written out in the class's Notes: ``forward``, the loss's
        ``forward``, ``zero_grad``, ``backward`` and the optimizer's ``step``, then the
        callbacks' ``on_batch_end``. Nothing else touches the layers, so a loop of those
        public calls trains to the same numbers, bit for bit.

        Parameters
        ----------
        X : array (N, features) or (N, ...)
            Inputs (one sample per row of the first axis: flat rows, or images
            ``(N, C, H, W)`` for a network that starts with ``Conv2D``), of any real dtype; each batch is converted to the layers' dtype as it is
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
            finite loss. The samples used so far then run again with the weights this ``fit``
            started from, before any step: if one gives NaN or infinity in some layer, or holds
            an input whose square overflows the dtype, or the failing batch's loss is still not
            finite, the data is the cause, and the error is a :class:`NonFiniteError` naming
            the rows of ``X`` and, for an overflow, the layer and the quantity. Otherwise the
            steps diverged: the message gives the learning rate and how far they took the
            largest weight.
        KeyboardInterrupt
            Passed on after the layers' modes are restored and ``on_train_end`` has run; the
            network is usable (and can be saved) as it stands.
        """
        X = self._check_X(X, "fit")
        epochs = positive_int(epochs, "epochs", "NeuralNetwork.fit")
        batch_size = positive_int(batch_size, "batch_size", "NeuralNetwork.fit")
        if X.shape[0] == 0:
            raise ValueError("NeuralNetwork.fit: expected at least one sample, got X with 0 rows")
        y = self._check_y(y, X, self._output_width(X, "fit"), "fit")
        X, y, validation_data = self._split_validation(X, y, validation_data, validation_split)
        if verbose not in (0, 1, 2):
            raise ValueError(f"NeuralNetwork.fit: expected verbose 0, 1 or 2, got {verbose!r}")
        callbacks = _check_callbacks(callbacks) + ([ProgressBar(bar=verbose == 1)] if verbose else [])
        if optimizer is not None:
            self.optimizer = _optim.get(optimizer)
        elif self.optimizer is None:
            self.optimizer = _optim.Adam()
        if rng is not None:
            self.shuffle_rng = as_generator(rng, "NeuralNetwork.fit")
        elif self.shuffle_rng is None:
            self.shuffle_rng = np.random.default_rng()

        self._widen_input_range(X)
        self.input_shape = X.shape[1:]
        self._batches_per_epoch = -(-X.shape[0] // batch_size)  # for the progress bar
        history: dict[str, list[float]] = {"loss": [], "accuracy": [], "lr": []}
        if validation_data is not None:
            history.update(val_loss=[], val_accuracy=[])
        was_training = [layer.training for layer in self.layers]
        fit_start = [p.value.copy() for p in self.parameters()]  # to tell bad data from divergence, should the loss overflow
        begun = []  # on_train_end goes to each callback whose on_train_begin ran, even if a later one raised
        try:
            for callback in callbacks:
                callback.on_train_begin(self, epochs)
                begun.append(callback)
            for epoch in range(1, epochs + 1):
                for callback in callbacks:
                    callback.on_epoch_begin(self, epoch)
                logs = self._train_epoch(X, y, epoch, batch_size, shuffle, callbacks, fit_start, self.optimizer, self.shuffle_rng)
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
            for callback in begun:
                callback.on_train_end(self, history)
        return history

    def _train_epoch(self, X, y, epoch: int, batch_size: int, shuffle: bool, callbacks, fit_start, optimizer, shuffle_rng) -> dict:
        """One pass over ``(X, y)`` in training mode, one optimizer step per batch; return the epoch's logs.

        If the loss stops being finite, the weights and optimizer state of the epoch's start
        (the last known to be good) are put back and a FloatingPointError is raised (see
        :meth:`_failed`, which also reads ``fit_start``, the weights the ``fit`` call started
        from; nothing beyond the loss is checked until then).
        """
        params = self.parameters()
        start_values = [p.value.copy() for p in params]
        start_state = copy.deepcopy(optimizer.state, memo={id(p): p for p in params})  # keys stay the parameters
        n = X.shape[0]
        order = shuffle_rng.permutation(n) if shuffle else np.arange(n)
        self.train()
        loss_sum = correct = 0.0
        for batch, start in enumerate(range(0, n, batch_size), start=1):
            index = order[start : start + batch_size]
            x, target = X[index], y[index]
            with np.errstate(under="ignore"):  # tiny gradients becoming 0 is harmless, even under np.errstate(all="raise")
                out = self.forward(x)
                loss = self.loss.forward(out, target)
                if not math.isfinite(loss):
                    raise self._failed(
                        f"a finite loss, got {loss} at epoch {epoch}, batch {batch}; the weights and "
                        f"optimizer state from the start of epoch {epoch}",
                        params, optimizer, start_values, start_state, fit_start,
                        X, order[: start + len(index)] if epoch == 1 else order, (x, target),
                    )
                self.zero_grad()
                self.backward(self.loss.backward(), input_grad=False)
                optimizer.step(params)
            loss_sum += loss * len(index)
            correct += self.loss.accuracy(out, target) * len(index)
            seen = start + len(index)
            for callback in callbacks:
                callback.on_batch_end(self, batch, {"loss": loss_sum / seen, "accuracy": correct / seen})
        if not all(np.isfinite(p.value).all() for p in params):  # the last step may have overflowed
            raise self._failed(
                f"finite weights, got non-finite ones after epoch {epoch}; the weights and optimizer state from its start",
                params, optimizer, start_values, start_state, fit_start, X, order, None,
            )
        return {"loss": loss_sum / n, "accuracy": correct / n, "lr": getattr(optimizer, "lr", float("nan"))}

    def _failed(self, problem: str, params, optimizer, values, state, fit_start, X, seen, batch) -> FloatingPointError:
        """Put back the weights and optimizer state of an epoch's start; return the error saying what went wrong.

        ``optimizer`` is the one taking the steps, ``values`` and ``state`` the epoch's start,
        ``fit_start`` the weights the ``fit`` call started from, ``seen`` the rows of ``X`` it
        has used, and ``batch`` the ``(x, target)`` whose loss was not finite (None when the weights were found non-finite
        at the epoch's end). Runs only once training has failed: the loop pays nothing for it.
        """
        reached = largest(p.value for p in params)
        for p, value in zip(params, values):
            p.value[...] = value
        optimizer.state.clear()
        optimizer.state.update(state)
        text = f"NeuralNetwork.fit: expected {problem} were restored."
        cause = data_fault(self, fit_start, X, seen, batch)
        if cause is not None:
            return NonFiniteError(f"{text} The training data, not the learning rate, is the cause: {cause}")
        return FloatingPointError(
            f"{text} Try a smaller learning rate (now {getattr(optimizer, 'lr', '?')}): the samples used "
            f"give finite values with the weights this fit started from, and its steps took the largest "
            f"|weight| from {largest(fit_start):g} to {reached:g}"
        )

    def _widen_input_range(self, X: np.ndarray) -> None:
        """Widen ``input_range`` to take in the values of ``X`` (one pass for min, one for max)."""
        low, high = float(X.min()), float(X.max())
        if self._input_range is not None:
            low, high = min(low, self._input_range[0]), max(high, self._input_range[1])
        self.input_range = (low, high)

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
            return X, y, (X_val, self._check_y(validation_data[1], X_val, self._output_width(X_val, "fit"), "fit"))
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
    def _outputs(self, X: np.ndarray, batch_size: int, method: str, *, watch_range: bool = True) -> np.ndarray:
        """The network's output ``(N, outputs)`` for X in evaluation mode, computed ``batch_size`` rows at a time.

        It runs on shallow copies of the layers (the same parameters, their own caches, in
        evaluation mode), so that the layers and their neurons keep showing the batch of the
        last ``forward`` or ``fit``, and no layer's mode changes. This also makes inference
        from another thread safe while ``fit`` runs: it reads the weights as they are then.

        ``watch_range``: warn when X is far outside ``input_range`` (see the class's Notes).
        An output holding NaN or infinity raises :class:`NonFiniteError`.
        """
        X = self._check_X(X, method)
        batch_size = positive_int(batch_size, "batch_size", f"NeuralNetwork.{method}")
        if watch_range:
            self._warn_if_far(X, method)
        layers = eval_copies(self.layers)
        starts = range(0, X.shape[0], batch_size) if X.shape[0] else [0]  # no samples: one empty batch gives the width
        out = np.concatenate([_run(layers, X[i : i + batch_size])[0] for i in starts])
        if not np.isfinite(out).all():  # one pass over the small result: NaN never leaves as an answer
            raise output_error(layers, X, batch_size, out, method)
        return out

    def _warn_if_far(self, X: np.ndarray, method: str) -> None:
        """Warn (InputRangeWarning, once per ``input_range``) when X is far outside ``input_range``."""
        if self._input_range is None or self._range_warned or X.size == 0:
            return
        seen = (float(X.min()), float(X.max()))  # one pass each, no larger than the finiteness check
        how = far_from(self._input_range, seen, X.size)
        if how is not None:
            self._range_warned = True
            warnings.warn(
                range_message(self.layers, f"NeuralNetwork.{method}", self._input_range, seen, how),
                InputRangeWarning,
                stacklevel=4,  # the user's call: _warn_if_far <- _outputs <- predict, predict_proba or evaluate
            )

    def _output_width(self, X: np.ndarray, method: str) -> int:
        """The number of outputs: the last layer's ``out_features``, or, for a last layer that
        does not declare it, the width of the output for the first sample of X (on copies)."""
        width = getattr(self.layers[-1], "out_features", None)
        return width if isinstance(width, int) else self._outputs(X[:1], 1, method, watch_range=False).shape[1]

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The loss's decision per sample: class labels ``(N,)`` for ``cross_entropy``; 0/1 labels
        ``(N,)`` (one output) or ``(N, K)`` for ``binary_cross_entropy``; outputs ``(N, K)`` for ``mse``.

        Raises :class:`NonFiniteError` (naming the rows, the layer and what overflowed) when an
        output would be NaN or infinite, rather than answer from it, and warns once
        (:class:`InputRangeWarning`) for X far outside ``input_range``; the same holds for
        ``predict_proba`` and ``evaluate``.
        """
        return self.loss.predict(self._outputs(X, batch_size, "predict"))

    def predict_proba(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The output read through the loss ``(N, K)``: softmax probabilities, sigmoid
        probabilities, or the raw outputs for ``mse``. Checked as in :meth:`predict`."""
        return self.loss.output(self._outputs(X, batch_size, "predict_proba"))

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """Return ``{"loss": L, "accuracy": fraction correct}`` on ``(X, y)`` (accuracy NaN for regression).

        Like ``predict``, it leaves the layers (and the loss) holding the last ``forward``, and
        its outputs are checked as there. (The outputs are finite; the loss can still be
        ``inf``, when it exceeds the dtype's largest value.)
        """
        out = self._outputs(X, batch_size, "evaluate")
        y = self._check_y(y, X, out.shape[1], "evaluate")
        loss = copy.copy(self.loss)  # its own cache: the loss keeps the last forward's for backward
        return {"loss": loss.forward(out, y), "accuracy": loss.accuracy(out, y)}

    def explain(self, x, y, layer, neuron: int, *, optimizer=None, top: int = 5):
        """The backpropagation of one neuron on ``(x, y)``, equation by equation.

        See :func:`neurolab.explain.explain`; ``print`` the returned trace to read it.
        """
        from .explain import explain  # a study tool, above the core: imported when used

        return explain(self, x, y, layer, neuron, optimizer=optimizer, top=top)

    # -- saving and describing ----------------------------------------------------------
    def save(self, path) -> Path:
        """Write the network (architecture, parameters, optimizer state) to ``path`` (``.npz``) atomically.

        See :mod:`neurolab.io`: no pickle, and the previous file survives a failed save.
        """
        from .io import save  # io imports this module: imported when used

        return save(self, path)

    @classmethod
    def load(cls, path) -> "NeuralNetwork":
        """Read a network written by :meth:`save`; same as ``neurolab.load(path)``."""
        from .io import load  # io imports this module: imported when used

        return load(path)

    def summary(self, input_shape=None, print_fn=print) -> None:
        """Print each layer with its output shape and parameter count, and the totals.

        Output shapes come from a forward pass of one zero sample through copies of the
        layers, so they are exact for any layer. The shape of one input sample is
        ``input_shape`` (an int for flat rows, or a tuple such as ``(1, 28, 28)``), else the
        first layer's ``(in_features,)``, else :attr:`input_shape` (recorded by ``fit`` and
        saved), else that of the last batch the network saw; without any of them, shapes show
        as "?".
        """
        if input_shape is not None:
            input_shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else input_shape
            if not isinstance(input_shape, (tuple, list)) or not input_shape or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1 for d in input_shape
            ):
                raise ValueError(
                    f"NeuralNetwork.summary: expected input_shape as an int or a tuple of positive ints "
                    f"such as (1, 28, 28), got {input_shape!r}"
                )
        sample = tuple(input_shape) if input_shape is not None else self._sample_shape()
        shapes = ["?"] * len(self.layers)
        if sample is not None:
            probe = eval_copies(self.layers)  # as _outputs: the layers keep their batch
            out, inputs = _run(probe, np.zeros((1, *sample), dtype=np.float32))
            for i, shape in enumerate(inputs[1:] + [out.shape]):
                shapes[i] = f"(N, {', '.join(str(d) for d in shape[1:])})"
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

    def _sample_shape(self) -> tuple[int, ...] | None:
        """The shape of one input sample: the first layer's ``(in_features,)``, else ``input_shape``,
        else that of the last batch seen, else None."""
        width = getattr(self.layers[0], "in_features", None)
        if isinstance(width, int):
            return (width,)
        if self._input_shape is not None:
            return self._input_shape
        return self._input_shapes[0][1:] if self._input_shapes else None

    # -- validation ---------------------------------------------------------------------
    def _check_X(self, X, method: str) -> np.ndarray:
        where = f"NeuralNetwork.{method}"
        X = numeric_array(X, "X", where)
        first = self.layers[0]
        features, channels = getattr(first, "in_features", None), getattr(first, "in_channels", None)
        if X.ndim < 2:
            hint = "; for a single sample use X.reshape(1, -1)" if X.ndim == 1 else ""
            expected = f"(N, {features})" if isinstance(features, int) else "(N, C, H, W)" if isinstance(channels, int) else "(N, ...)"
            raise ValueError(f"{where}: expected X of shape {expected}, one sample per row, got {X.shape}{hint}")
        if isinstance(features, int) and (X.ndim != 2 or X.shape[1] != features):
            hint = "; flatten each sample with X.reshape(len(X), -1)" if X.ndim > 2 and np.prod(X.shape[1:]) == features else ""
            raise ValueError(
                f"{where}: expected X of shape (N, {features}) (the in_features of layers[0], "
                f"{first!r}), got {X.shape}{hint}"
            )
        if isinstance(channels, int) and (X.ndim != 4 or X.shape[1] != channels):
            hint = f"; for flat rows of pixels put nl.Reshape(({channels}, H, W)) first" if X.ndim == 2 else ""
            raise ValueError(
                f"{where}: expected X of shape (N, {channels}, H, W) (the in_channels of layers[0], "
                f"{first!r}), got {X.shape}{hint}"
            )
        finite(X, "X", where)
        return X

    def _check_y(self, y, X: np.ndarray, n_outputs: int, method: str) -> np.ndarray:
        """All of ``y``, checked once as the loss uses it, for ``n_outputs`` outputs."""
        y = as_array(y, "y", f"NeuralNetwork.{method}")
        if y.ndim == 0 or y.shape[0] != X.shape[0]:
            raise ValueError(
                f"NeuralNetwork.{method}: expected as many targets as samples ({X.shape[0]}), got y of shape {y.shape}"
            )
        return self.loss.check_target(y, n_outputs, X.shape[0])

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"NeuralNetwork({inner}\n  loss={self.loss!r}\n)"


def _check_callbacks(callbacks) -> list:
    """``callbacks`` as a list, every item a ``Callback`` (a TypeError naming the first that is not)."""
    where = "NeuralNetwork.fit"
    if isinstance(callbacks, Callback):
        raise TypeError(
            f"{where}: expected callbacks to be a list of Callback objects, got one {type(callbacks).__name__}; "
            "pass it in a list: callbacks=[...]"
        )
    try:
        callbacks = list(callbacks)
    except TypeError:
        raise TypeError(f"{where}: expected callbacks to be a list of Callback objects, got {type(callbacks).__name__}") from None
    for i, callback in enumerate(callbacks):
        if not isinstance(callback, Callback):
            raise TypeError(
                f"{where}: expected callbacks[{i}] to be a neurolab.callbacks.Callback, got {type(callback).__name__}"
            )
    return callbacks


def eval_copies(layers) -> list:
    """Shallow copies of ``layers`` in evaluation mode: the same parameters, caches of their own.

    A pass through them leaves the layers' last batch (``x``, ``z``, ``a``, ``grad_z``, and so
    the neuron views) and their modes as they were.
    """
    return [copy.copy(layer).eval() for layer in layers]


def _run(layers, x: np.ndarray) -> tuple[np.ndarray, list[tuple[int, ...]]]:
    """Apply ``layers`` in order to the batch ``x``; return the output and each layer's input shape.

    Checks that every layer returns an array with one entry per sample ``(N, ...)``, and the
    last one ``(N, outputs)`` for the loss, naming the layer if not.
    """
    n = x.shape[0]
    shapes = []
    for i, layer in enumerate(layers):
        shapes.append(x.shape)
        x = layer.forward(x)
        if not isinstance(x, np.ndarray) or x.ndim < 2 or x.shape[0] != n:
            raise ValueError(
                f"NeuralNetwork.forward: expected layers[{i}] ({type(layer).__name__}).forward to "
                f"return an array of shape ({n}, ...), got {getattr(x, 'shape', type(x).__name__)}"
            )
    if x.ndim != 2:
        raise ValueError(
            f"NeuralNetwork.forward: expected the last layer, layers[{len(layers) - 1}] "
            f"({type(layers[-1]).__name__}), to return ({n}, outputs) for the loss, got {x.shape}; "
            "put nl.Flatten() and a Dense layer at the end"
        )
    return x, shapes
