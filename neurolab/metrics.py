"""Classification metrics on predicted and true labels."""

from __future__ import annotations

import numpy as np

from .validation import positive_int


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """Count how often each true class (row) was predicted as each class (column).

    Parameters
    ----------
    y_true, y_pred : int arrays (N,)
        Class labels in ``[0, num_classes)``.
    num_classes : int, optional
        Defaults to ``max(y_true.max(), y_pred.max()) + 1``.

    Returns
    -------
    ndarray (num_classes, num_classes) of int64
        ``C[i, j]`` = number of samples of class ``i`` predicted as ``j``; the diagonal holds
        the correct predictions, ``C.trace() / C.sum()`` is the accuracy.
    """
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.shape != y_true.shape:
        raise ValueError(
            f"confusion_matrix: expected y_true and y_pred of the same shape (N,), got {y_true.shape} and {y_pred.shape}"
        )
    for name, labels in (("y_true", y_true), ("y_pred", y_pred)):
        if labels.size and (not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0):
            raise ValueError(f"confusion_matrix: expected {name} to hold non-negative integer labels, got {labels.dtype} with min {labels.min()}")
    if num_classes is None:
        num_classes = int(max(y_true.max(initial=0), y_pred.max(initial=0))) + 1
    num_classes = positive_int(num_classes, "num_classes", "confusion_matrix")
    if y_true.size and max(y_true.max(), y_pred.max()) >= num_classes:
        raise ValueError(f"confusion_matrix: expected labels below num_classes={num_classes}, got {max(y_true.max(), y_pred.max())}")
    counts = np.bincount(y_true.astype(np.int64) * num_classes + y_pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)
