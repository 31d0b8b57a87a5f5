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

from .activations import log_softmax, sigmoid, softmax
from .validation import finite, from_table, numeric_array


class Loss:
    """Base class: ``forward(prediction, target) -> L`` and ``backward() -> dL/d(prediction)``.

    A subclass sets ``name`` and implements :meth:`check_target`, :meth:`forward` (which starts
    with ``prediction, target = self._checked(prediction, target, "forward")`` and keeps what
    ``backward`` needs) and :meth:`backward`. Besides the loss, a ``Loss`` says how to read the
    network's output: ``output`` maps it to probabilities or values (``predict_proba``),
    ``predict`` to decisions, and ``accuracy`` scores decisions against targets.
    """

    name = "loss"

    def __init__(self) -> None:
        self.target = None  # the last forward pass's target, as check_target returned it

    def forward(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """Return the loss ``L`` (a float) of ``prediction (N, K)`` against ``target``."""
        raise NotImplementedError(f"{type(self).__name__}.forward: subclasses of Loss implement forward")

    def backward(self) -> np.ndarray:
        """Return dL/d(prediction) ``(N, K)`` for the last ``forward``."""
        raise NotImplementedError(f"{type(self).__name__}.backward: subclasses of Loss implement backward")

    def __call__(self, prediction: np.ndarray, target: np.ndarray) -> float:
        return self.forward(prediction, target)

    def get_config(self) -> dict:
        """JSON-serialisable keyword arguments that rebuild this loss (for saving).

        Override it when ``__init__`` takes arguments; ``neurolab.load`` calls ``cls(**config)``.
        """
        return {}

    def output(self, prediction: np.ndarray) -> np.ndarray:
        """The network's output read as probabilities or values, ``(N, K)``."""
        return self._prediction(prediction, "output")

    def predict(self, prediction: np.ndarray) -> np.ndarray:
        """The decision for each sample."""
        return self._prediction(prediction, "predict")

    def accuracy(self, prediction: np.ndarray, target: np.ndarray) -> float:
        """The fraction of correct decisions (NaN where the loss is not a classification loss)."""
        self._checked(prediction, target, "accuracy")
        return float("nan")

    def check_target(self, target, n_outputs: int, n_samples: int | None = None) -> np.ndarray:
        """Validate ``target`` for outputs of width ``n_outputs``; return it as this loss uses it."""
        raise NotImplementedError(f"{type(self).__name__}.check_target: subclasses of Loss implement check_target")

    def _checked(self, prediction, target, method: str) -> tuple[np.ndarray, np.ndarray]:
        """``prediction`` as a float ``(N, K)`` array and ``target`` as :meth:`check_target` returns it."""
        prediction = self._prediction(prediction, method)
        return prediction, self.check_target(target, prediction.shape[1], prediction.shape[0])

    def _prediction(self, prediction, method: str) -> np.ndarray:
        prediction = np.asarray(prediction)
        if prediction.ndim != 2 or prediction.dtype.kind != "f":
            raise ValueError(
                f"{type(self).__name__}.{method}: expected prediction of shape (N, outputs) and a "
                f"float dtype, got shape {prediction.shape} and dtype {prediction.dtype}"
            )
        return prediction

    def _require_forward(self, cache) -> None:
        if cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward: expected a forward pass first, got none")

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
    if target.dtype.kind not in "biu":  # bool or integers
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

    def __init__(self) -> None:
        super().__init__()
        self.diff = None  # y_hat - y of the last forward pass (N, K)

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

    def forward(self, prediction, target):
        """Return ``L = sum((y_hat - y)^2) / (2N)``."""
        prediction, target = self._checked(prediction, target, "forward")
        self.target = target
        self.diff = prediction - target.astype(prediction.dtype, copy=False)  # y_hat - y   (N, K)
        with np.errstate(under="ignore"):  # the square of a tiny difference is 0: the right answer
            return float(0.5 * np.sum(self.diff * self.diff) / prediction.shape[0])

    def backward(self):
        """Return ``dL/dy_hat = (y_hat - y) / N``."""
        self._require_forward(self.diff)
        return self.diff / self.diff.shape[0]

    def accuracy(self, prediction, target):
        """For K > 1 outputs, the fraction of samples whose largest output is at the target's largest; NaN for one output."""
        prediction, target = self._checked(prediction, target, "accuracy")
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

    def __init__(self) -> None:
        super().__init__()
        self.p = None  # softmax(z) of the last forward pass (N, K)

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

    def forward(self, prediction, target):
        """Return ``L = -(1/N) sum_n sum_k y_nk log p_nk``, ``log p = z - logsumexp(z)`` row-wise."""
        z, y = self._checked(prediction, target, "forward")
        self.target = y
        n = z.shape[0]
        log_p = log_softmax(z)  # log p = z - logsumexp(z), finite even where p is 0
        self.p = softmax(z)  # p, for backward
        if y.ndim == 1:  # class labels: y_nk is 1 at k = y_n, so the sum picks log p[n, y_n]
            return float(-log_p[np.arange(n), y].sum() / n)
        return float(-np.sum(y * log_p) / n)

    def backward(self):
        """Return ``dL/dz = (p - y) / N``."""
        self._require_forward(self.p)
        p, y = self.p, self.target
        n = p.shape[0]
        if y.ndim == 1:
            grad = p.copy()
            grad[np.arange(n), y] -= 1  # p - y, with y one-hot at the labels
        else:
            grad = p - y.astype(p.dtype, copy=False)
        return grad / n

    def output(self, prediction):
        prediction = self._prediction(prediction, "output")
        return softmax(prediction)

    def predict(self, prediction):
        prediction = self._prediction(prediction, "predict")
        return prediction.argmax(axis=1)

    def accuracy(self, prediction, target):
        """The fraction of samples whose largest logit is at their class (the most probable class, for soft targets)."""
        prediction, target = self._checked(prediction, target, "accuracy")
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

    def __init__(self) -> None:
        super().__init__()
        self.z = self.y = None  # the last forward pass's logits and targets (N, K)

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

    def forward(self, prediction, target):
        """Return ``L = (1/N) sum(max(z, 0) - y z + log1p(exp(-|z|)))``."""
        z, y = self._checked(prediction, target, "forward")
        self.target = y
        self.z, self.y = z, y.astype(z.dtype, copy=False)
        with np.errstate(under="ignore"):  # exp(-|z|) of a large |z| is 0: the right answer
            softplus = np.maximum(z, 0) + np.log1p(np.exp(-np.abs(z)))  # log(1 + exp(z)), never overflows
        return float(np.sum(softplus - self.y * z) / z.shape[0])

    def backward(self):
        """Return ``dL/dz = (sigmoid(z) - y) / N``."""
        self._require_forward(self.z)
        return (sigmoid(self.z) - self.y) / self.z.shape[0]

    def output(self, prediction):
        prediction = self._prediction(prediction, "output")
        return sigmoid(prediction)

    def predict(self, prediction):
        prediction = self._prediction(prediction, "predict")
        decided = (prediction > 0).astype(np.int64)
        return decided[:, 0] if prediction.shape[1] == 1 else decided

    def accuracy(self, prediction, target):
        """The fraction of outputs (over samples and units) decided on the side of their target: z > 0 where y > 0.5."""
        prediction, target = self._checked(prediction, target, "accuracy")
        return np.count_nonzero((prediction > 0) == (target > 0.5)) / prediction.size


LOSSES: dict[str, type[Loss]] = {cls.name: cls for cls in (MSE, CrossEntropy, BinaryCrossEntropy)}


def get(loss: str | Loss) -> Loss:
    """Return the loss named ``loss`` (see ``LOSSES``), or the object itself."""
    return from_table(loss, LOSSES, Loss, "loss")
