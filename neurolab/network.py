"""NeuralNetwork: a stack of layers and a loss, with forward, backward, fit and predict."""

from __future__ import annotations

import numpy as np

from . import losses as _losses
from . import optim as _optim
from .layer import Layer
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
        self._input_shapes: list[tuple[int, ...]] = []

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
        return self

    # -- forward and backward -----------------------------------------------------------
    def forward(self, X: np.ndarray) -> np.ndarray:
        """Return the last layer's output ``(N, outputs)`` for ``X`` of shape ``(N, features)``."""
        return self._forward(self._check_X(X, "forward"))

    def _forward(self, X: np.ndarray) -> np.ndarray:
        shapes = self._input_shapes = []
        out = X
        for i, layer in enumerate(self.layers):
            shapes.append(out.shape)
            out = layer.forward(out)
            if not isinstance(out, np.ndarray) or out.ndim != 2 or out.shape[0] != shapes[-1][0]:
                raise ValueError(
                    f"NeuralNetwork.forward: expected layers[{i}] ({type(layer).__name__}).forward to "
                    f"return an array of shape ({shapes[-1][0]}, outputs), got "
                    f"{getattr(out, 'shape', type(out).__name__)}"
                )
        return out

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """Backpropagate dL/d(output) through every layer (adding into each ``.grad``); return dL/dX."""
        if not self._input_shapes:
            raise RuntimeError("NeuralNetwork.backward: expected a forward pass first, got none")
        grad = grad_output
        for i in reversed(range(len(self.layers))):
            layer = self.layers[i]
            grad = layer.backward(grad)
            if getattr(grad, "shape", None) != self._input_shapes[i]:
                raise ValueError(
                    f"NeuralNetwork.backward: expected layers[{i}] ({type(layer).__name__}).backward to "
                    f"return dL/dx of the input's shape {self._input_shapes[i]}, got "
                    f"{getattr(grad, 'shape', type(grad).__name__)}"
                )
        return grad

    # -- training -----------------------------------------------------------------------
    def fit(
        self,
        X: np.ndarray,
        y: np.ndarray,
        epochs: int = 1,
        batch_size: int = 32,
        optimizer=None,
        shuffle: bool = True,
        rng=None,
    ) -> dict[str, list[float]]:
        """Train with mini-batch gradient descent; return the history.

        Parameters
        ----------
        X : array (N, features)
            Inputs, of any real dtype; each batch is converted to the layers' dtype as it is
            used (integers are not rescaled).
        y : array (N,) or (N, outputs)
            Targets as the loss takes them.
        epochs, batch_size : int
        optimizer : Optimizer or str, optional
            Defaults to the optimizer of the previous ``fit`` (its state carries on), or a
            new ``Adam()`` on the first call.
        shuffle : bool
            Visit the samples in a new random order each epoch.
        rng : None, int or numpy.random.Generator
            Source of the shuffling order.

        Returns
        -------
        dict
            ``{"loss": [...], "accuracy": [...]}``: per epoch, the mean over the epoch's
            batches (weighted by batch size) while the weights were changing. ``accuracy``
            is NaN for regression (``mse`` with one output).

        Raises
        ------
        FloatingPointError
            When the loss stops being finite. The weights are restored to those at the start
            of that epoch, the last ones known to give a finite loss.
        """
        X = self._check_X(X, "fit")
        epochs = positive_int(epochs, "epochs", "NeuralNetwork.fit")
        batch_size = positive_int(batch_size, "batch_size", "NeuralNetwork.fit")
        n = X.shape[0]
        if n == 0:
            raise ValueError("NeuralNetwork.fit: expected at least one sample, got X with 0 rows")
        y = self._check_y(y, X, "fit")
        if optimizer is not None:
            self.optimizer = _optim.get(optimizer)
        elif self.optimizer is None:
            self.optimizer = _optim.Adam()
        optimizer = self.optimizer
        gen = as_generator(rng, "NeuralNetwork.fit")
        params = self.parameters()
        history: dict[str, list[float]] = {"loss": [], "accuracy": []}
        for epoch in range(1, epochs + 1):
            snapshot = [p.value.copy() for p in params]
            order = gen.permutation(n) if shuffle else np.arange(n)
            loss_sum = correct = 0.0
            for batch, start in enumerate(range(0, n, batch_size), start=1):
                index = order[start : start + batch_size]
                out = self._forward(X[index])
                loss = self.loss.forward(out, y[index])
                if not np.isfinite(loss):
                    for p, value in zip(params, snapshot):
                        p.value[...] = value
                    raise FloatingPointError(
                        f"NeuralNetwork.fit: expected a finite loss, got {loss} at epoch {epoch}, "
                        f"batch {batch}; the weights from the start of epoch {epoch} were restored. "
                        f"Try a smaller learning rate (now {getattr(optimizer, 'lr', '?')})"
                    )
                self.zero_grad()
                self.backward(self.loss.backward())
                optimizer.step(params)
                loss_sum += loss * len(index)
                correct += self.loss.accuracy(out, y[index]) * len(index)
            history["loss"].append(loss_sum / n)
            history["accuracy"].append(correct / n)
        return history

    # -- inference ----------------------------------------------------------------------
    def _outputs(self, X: np.ndarray, batch_size: int) -> np.ndarray:
        X = self._check_X(X, "predict")
        chunks = [self._forward(X[i : i + batch_size]) for i in range(0, X.shape[0], batch_size)]
        if not chunks:  # no samples: run one empty batch to get the output width
            return self._forward(X)
        return np.concatenate(chunks)

    def predict(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The loss's decision per sample: class labels ``(N,)`` for ``cross_entropy``; 0/1 labels
        ``(N,)`` (one output) or ``(N, K)`` for ``binary_cross_entropy``; outputs ``(N, K)`` for ``mse``."""
        return self.loss.predict(self._outputs(X, batch_size))

    def predict_proba(self, X: np.ndarray, batch_size: int = 1024) -> np.ndarray:
        """The output read through the loss ``(N, K)``: softmax probabilities, sigmoid
        probabilities, or the raw outputs for ``mse``."""
        return self.loss.output(self._outputs(X, batch_size))

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 1024) -> dict[str, float]:
        """Return ``{"loss": L, "accuracy": fraction correct}`` on ``(X, y)`` (accuracy NaN for regression)."""
        out = self._outputs(X, batch_size)
        y = self._check_y(y, X, "evaluate")
        return {"loss": self.loss.forward(out, y), "accuracy": self.loss.accuracy(out, y)}

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
        n_outputs = self._forward(X[:1]).shape[1]
        self.loss.check_target(y, n_outputs, X.shape[0])  # the whole of y once, before any batch
        return y

    def __repr__(self) -> str:
        inner = "".join(f"\n  ({i}): {layer!r}" for i, layer in enumerate(self.layers))
        return f"NeuralNetwork({inner}\n  loss={self.loss!r}\n)"
