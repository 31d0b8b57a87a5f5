"""Loss functions: a per-sample loss, averaged over the batch.

Every loss here is ``L = (1/N) sum_n loss_n``, where ``loss_n`` sums over the sample's
outputs, and takes the network's raw output (logits for the classification losses).
``forward(prediction, target)`` returns ``L`` as a float and caches what ``backward()``
needs; ``backward()`` returns dL/d(prediction), of the prediction's shape and dtype.

=========================  ===========================================  ==================
name                       per-sample loss                               dL/d(prediction)
=========================  ===========================================  ==================
``mse``                    ``1/2 ||y_hat - y||^2``                       ``(y_hat - y) / N``
``cross_entropy``          ``-log softmax(z)[y]``                        ``(p - y) / N``
``binary_cross_entropy``   ``sum_k softplus(z_k) - y_k z_k``             ``(sigmoid(z) - y) / N``
=========================  ===========================================  ==================
"""

from __future__ import annotations

import numpy as np

from ._buffers import NEW_ARRAYS, BatchArrays, constant_row
from .activations import quiet_underflow, sigmoid, softmax
from .validation import finite, from_table, numeric_array


class Loss:
    """Base class: ``forward(prediction, target) -> float`` and ``backward() -> dL/dprediction``.

    Besides the loss, a ``Loss`` says how to read the network's output: ``output`` maps it to
    probabilities or values (``predict_proba``), ``predict`` to decisions, and ``accuracy``
    scores decisions against targets.
    """

    name = "loss"

    def __init__(self) -> None:
        self._cache = None
        self.target = None  # the last forward pass's target, as check_target returned it

    @quiet_underflow
    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """Return the loss ``L`` (a float) of ``prediction (N, K)`` against ``target``; cache for ``backward``."""
        prediction = self._prediction(prediction, "forward")
        return self._forward(prediction, self.check_target(target, prediction.shape[1], prediction.shape[0]))

    def _forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """``forward`` for a prediction and a target already checked (``fit`` checks ``y`` once)."""
        raise NotImplementedError

    def backward(self) -> np.ndarray:
        raise NotImplementedError

    def _fit_forward(self, prediction: np.ndarray, target: np.ndarray, arrays: BatchArrays) -> float:
        """``_forward`` as ``fit`` runs it (see ``Layer._fit_forward``). Default: ``_forward``."""
        return self._forward(prediction, target)

    def _fit_backward(self, arrays: BatchArrays) -> np.ndarray:
        """``backward`` as ``fit`` runs it. Default: ``backward``."""
        return self.backward()

    def __call__(self, prediction: np.ndarray, target: np.ndarray) -> float:
        return self.forward(prediction, target)

    def output(self, prediction: np.ndarray) -> np.ndarray:
        """The network's output read as probabilities or values, ``(N, K)``."""
        return self._prediction(prediction, "output")

    def predict(self, prediction: np.ndarray) -> np.ndarray:
        """The decision for each sample."""
        return self._prediction(prediction, "predict")

    def accuracy(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """The fraction of correct decisions (NaN where the loss is not a classification loss)."""
        prediction = self._prediction(prediction, "accuracy")
        return self._accuracy(prediction, self.check_target(target, prediction.shape[1], prediction.shape[0]))

    def _accuracy(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """``accuracy`` for a target already checked by ``check_target``."""
        return float("nan")

    def check_target(self, target, n_outputs: int, n_samples: int | None = None) -> np.ndarray:
        """Validate ``target`` for outputs of width ``n_outputs``; return it as this loss uses it."""
        raise NotImplementedError

    def _prediction(self, prediction, method: str) -> np.ndarray:
        prediction = np.asarray(prediction)
        if prediction.ndim != 2 or not np.issubdtype(prediction.dtype, np.floating):
            raise ValueError(
                f"{type(self).__name__}.{method}: expected prediction of shape (N, outputs) and a "
                f"float dtype, got shape {prediction.shape} and dtype {prediction.dtype}"
            )
        return prediction

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _labels_or_matrix(loss: Loss, target, n_outputs: int, n_samples) -> np.ndarray:
    """Shared target checks: the sample count, the (N, 1) column mistake, finite values."""
    where = f"{type(loss).__name__}"
    target = numeric_array(target, "target", where)
    if n_samples is not None and (target.ndim == 0 or target.shape[0] != n_samples):
        raise ValueError(
            f"{where}: expected {n_samples} targets (one per sample), got shape {target.shape}"
        )
    if target.ndim not in (1, 2):
        raise ValueError(f"{where}: expected targets of shape (N,) or (N, {n_outputs}), got {target.shape}")
    finite(target, "target", where)
    return target


def _class_labels(loss: Loss, target: np.ndarray, n_outputs: int) -> np.ndarray:
    """Integer class labels in [0, n_outputs), as intp."""
    where = type(loss).__name__
    if not (np.issubdtype(target.dtype, np.integer) or target.dtype == bool):
        hint = "; convert them with y.astype(int)" if np.all(np.mod(target, 1) == 0) else ""
        raise TypeError(f"{where}: expected integer class labels, got dtype {target.dtype}{hint}")
    if target.size and (target.min() < 0 or target.max() >= n_outputs):
        bad = target[(target < 0) | (target >= n_outputs)][0]
        raise ValueError(
            f"{where}: expected class labels in [0, {n_outputs - 1}] for {n_outputs} outputs, got {bad}"
        )
    return target.astype(np.intp, copy=False)


class MSE(Loss):
    """Mean over the batch of half the squared error: ``L = 1/(2N) sum_n ||y_hat_n - y_n||^2``.

    The 1/2 makes ``dL/dy_hat = (y_hat - y) / N``: the per-sample gradient is ``a - y``, as in
    Nielsen's BP1. (PyTorch's ``MSELoss`` averages over every element without the 1/2, which
    is this loss times ``2 / K`` for K outputs.)

    Targets: ``(N, K)`` values; ``(N,)`` values when K = 1; or ``(N,)`` integer class labels
    when K > 1, read as one-hot rows.
    """

    name = "mse"

    def check_target(self, target, n_outputs, n_samples=None):
        target = _labels_or_matrix(self, target, n_outputs, n_samples)
        if target.ndim == 1 and n_outputs > 1:
            labels = _class_labels(self, target, n_outputs)
            one_hot = np.zeros((labels.shape[0], n_outputs), dtype=np.float64)
            one_hot[np.arange(labels.shape[0]), labels] = 1
            return one_hot
        if target.ndim == 1:
            return target.reshape(-1, 1)
        if target.shape[1] != n_outputs:
            raise ValueError(f"MSE: expected targets of shape (N, {n_outputs}), got {target.shape}")
        return target

    @quiet_underflow
    def _forward(self, prediction, target):
        """Return ``L = sum((y_hat - y)^2) / (2N)``."""
        self.target = target
        diff = prediction - target.astype(prediction.dtype, copy=False)
        self._cache = diff
        return float(0.5 * np.sum(diff * diff) / prediction.shape[0])

    @quiet_underflow
    def backward(self):
        """Return ``dL/dy_hat = (y_hat - y) / N``."""
        if self._cache is None:
            raise RuntimeError("MSE.backward: expected a forward pass first, got none")
        diff = self._cache
        return diff / diff.shape[0]

    def _accuracy(self, prediction, target):
        if prediction.shape[1] == 1:
            return float("nan")
        return np.count_nonzero(prediction.argmax(axis=1) == target.argmax(axis=1)) / len(prediction)


class CrossEntropy(Loss):
    """Softmax cross-entropy from logits, averaged over the batch.

    ``L = -(1/N) sum_n sum_k y_nk log p_nk`` with ``p = softmax(z)`` row-wise, computed as
    ``log p = z - logsumexp(z)`` (stable for any finite logits). The gradient is
    ``dL/dz = (p - y) / N``.

    Targets: ``(N,)`` integer class labels in ``[0, K)``, or ``(N, K)`` rows of class
    probabilities (one-hot or soft; non-negative, summing to 1).
    """

    name = "cross_entropy"

    def check_target(self, target, n_outputs, n_samples=None):
        if n_outputs < 2:
            raise ValueError(
                f"CrossEntropy: expected at least 2 outputs (one logit per class), got {n_outputs}; "
                "for one output unit use loss='binary_cross_entropy'"
            )
        target = _labels_or_matrix(self, target, n_outputs, n_samples)
        if target.ndim == 1:
            return _class_labels(self, target, n_outputs)
        if target.shape[1] != n_outputs:
            hint = "; flatten a column of labels with y.ravel()" if target.shape[1] == 1 else ""
            raise ValueError(
                f"CrossEntropy: expected class labels of shape (N,) or one-hot targets of shape "
                f"(N, {n_outputs}), got {target.shape}{hint}"
            )
        if target.size and (target.min() < 0 or not np.allclose(target.sum(axis=1), 1, atol=1e-4)):
            raise ValueError(
                "CrossEntropy: expected (N, K) targets to be probabilities (non-negative rows "
                "summing to 1), got rows that are not"
            )
        return target

    @quiet_underflow
    def _forward(self, prediction, target):
        """Return ``L = -(1/N) sum_n log softmax(z_n)[y_n]``."""
        return self._fit_forward(prediction, target, NEW_ARRAYS)

    def _fit_forward(self, prediction, target, arrays: BatchArrays):
        z, y = prediction, target
        self.target = target
        n = z.shape[0]
        row_max = np.maximum.reduce(z, axis=1, keepdims=True)
        shifted = np.subtract(z, row_max, out=arrays.get("p", z.shape, z.dtype))
        if y.ndim == 1:  # log p[y] = shifted[y] - log(total), without forming log p
            picked = np.add.reduce(shifted[np.arange(n), y])
            exp = np.exp(shifted, out=shifted)  # shifted is not needed again: p takes its place
            total = np.dot(exp, constant_row(exp.shape[1], exp.dtype, 1)).reshape(n, 1)  # row sums (BLAS: 4x faster)
            loss = (np.add.reduce(np.log(total), axis=None) - picked) / n
        else:
            exp = np.exp(shifted)
            total = exp.sum(axis=1, keepdims=True)
            loss = -np.sum(y * (shifted - np.log(total))) / n
        self._cache = (np.divide(exp, total, out=exp), y)  # p = softmax(z), for backward
        return float(loss)

    @quiet_underflow
    def backward(self):
        """Return ``dL/dz = (p - y) / N``."""
        return self._fit_backward(NEW_ARRAYS)

    def _fit_backward(self, arrays: BatchArrays):
        if self._cache is None:
            raise RuntimeError("CrossEntropy.backward: expected a forward pass first, got none")
        p, y = self._cache
        n = p.shape[0]
        if y.ndim == 1:
            grad = np.positive(p, out=arrays.get("grad", p.shape, p.dtype))  # a copy of p
            grad[np.arange(n), y] -= 1
        else:
            grad = np.subtract(p, y.astype(p.dtype, copy=False), out=arrays.get("grad", p.shape, p.dtype))
        grad /= n
        return grad

    def output(self, prediction):
        prediction = self._prediction(prediction, "output")
        return softmax(prediction)

    def predict(self, prediction):
        prediction = self._prediction(prediction, "predict")
        return prediction.argmax(axis=1)

    def _accuracy(self, prediction, target):
        labels = target if target.ndim == 1 else target.argmax(axis=1)
        return np.count_nonzero(prediction.argmax(axis=1) == labels) / len(prediction)


class BinaryCrossEntropy(Loss):
    """Sigmoid cross-entropy from logits, summed over outputs and averaged over the batch.

    ``L = (1/N) sum_n sum_k [softplus(z_nk) - y_nk z_nk]``, computed as
    ``max(z, 0) - y z + log1p(exp(-|z|))`` (stable for any finite logits); this equals
    ``-y log sigmoid(z) - (1 - y) log(1 - sigmoid(z))``. The gradient is
    ``dL/dz = (sigmoid(z) - y) / N``.

    Targets: values in [0, 1] of shape ``(N, K)``, or ``(N,)`` when K = 1.
    """

    name = "binary_cross_entropy"

    def check_target(self, target, n_outputs, n_samples=None):
        target = _labels_or_matrix(self, target, n_outputs, n_samples)
        if target.ndim == 1:
            if n_outputs != 1:
                raise ValueError(
                    f"BinaryCrossEntropy: expected targets of shape (N, {n_outputs}) for "
                    f"{n_outputs} outputs, got {target.shape}; for class labels use loss='cross_entropy'"
                )
            target = target.reshape(-1, 1)
        elif target.shape[1] != n_outputs:
            raise ValueError(f"BinaryCrossEntropy: expected targets of shape (N, {n_outputs}), got {target.shape}")
        if target.size and (target.min() < 0 or target.max() > 1):
            bad = target[(target < 0) | (target > 1)][0]
            raise ValueError(f"BinaryCrossEntropy: expected targets in [0, 1], got {bad}")
        return target

    @quiet_underflow
    def _forward(self, prediction, target):
        """Return ``L = (1/N) sum(max(z, 0) - y z + log1p(exp(-|z|)))``."""
        z, y = prediction, target
        self.target = target
        y = y.astype(z.dtype, copy=False)
        loss = np.sum(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z)))) / z.shape[0]
        self._cache = (z, y)
        return float(loss)

    @quiet_underflow
    def backward(self):
        """Return ``dL/dz = (sigmoid(z) - y) / N``."""
        if self._cache is None:
            raise RuntimeError("BinaryCrossEntropy.backward: expected a forward pass first, got none")
        z, y = self._cache
        grad = sigmoid(z) - y
        grad /= z.shape[0]
        return grad

    def output(self, prediction):
        prediction = self._prediction(prediction, "output")
        return sigmoid(prediction)

    def predict(self, prediction):
        prediction = self._prediction(prediction, "predict")
        decided = (prediction > 0).astype(np.int64)
        return decided[:, 0] if prediction.shape[1] == 1 else decided

    def _accuracy(self, prediction, target):
        return np.count_nonzero((prediction > 0) == (target > 0.5)) / prediction.size


LOSSES = {cls.name: cls for cls in (MSE, CrossEntropy, BinaryCrossEntropy)}


def get(loss: str | Loss) -> Loss:
    """Return the loss named ``loss`` (see ``LOSSES``), or the object itself."""
    return from_table(loss, LOSSES, Loss, "loss")
