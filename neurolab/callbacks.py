"""Callbacks: code that runs at fixed points of ``NeuralNetwork.fit``.

A callback subclasses :class:`Callback` and overrides any of its hooks. ``on_epoch_end``
may return True to stop training after that epoch. ``logs`` hold the epoch's ``loss`` and
``accuracy`` (and ``val_loss``, ``val_accuracy`` with validation data) and ``lr``.

Built in: :class:`EarlyStopping`, :class:`ModelCheckpoint`, learning-rate schedules
(:class:`StepLR`, :class:`CosineAnnealingLR`, :class:`LearningRateScheduler`), and
:class:`ProgressBar`, which ``fit(verbose=...)`` adds itself.
"""

from __future__ import annotations

import math
import sys
from typing import Callable

import numpy as np

from .validation import nonnegative_float, positive_int


class Callback:
    """Base class; every hook does nothing by default."""

    def on_train_begin(self, network, epochs: int) -> None:
        """Before the first epoch."""

    def on_epoch_begin(self, network, epoch: int) -> None:
        """Before epoch ``epoch`` (counted from 1)."""

    def on_batch_end(self, network, batch: int, logs: dict) -> None:
        """After each optimizer step; ``logs`` has the running ``loss`` and ``accuracy`` of the epoch."""

    def on_epoch_end(self, network, epoch: int, logs: dict) -> bool | None:
        """After each epoch; return True to stop training."""

    def on_train_end(self, network, history: dict) -> None:
        """After the last epoch, also when training stops early or fails."""


def _monitor_mode(monitor: str, mode: str, where: str) -> str:
    if mode == "auto":
        return "max" if "acc" in monitor else "min"
    if mode not in ("min", "max"):
        raise ValueError(f"{where}: expected mode 'auto', 'min' or 'max', got {mode!r}")
    return mode


def _monitored(logs: dict, monitor: str, where: str) -> float:
    if monitor not in logs:
        hint = "; pass validation_data or validation_split to fit" if monitor.startswith("val_") else ""
        raise KeyError(f"{where}: expected {monitor!r} in the epoch logs {sorted(logs)}, got none{hint}")
    return float(logs[monitor])


class EarlyStopping(Callback):
    """Stop when the monitored value has not improved for ``patience`` epochs.

    Parameters
    ----------
    monitor : str
        A key of the epoch logs, by default ``"val_loss"``.
    patience : int
        Epochs without improvement to wait before stopping.
    min_delta : float
        The least change that counts as an improvement.
    mode : "auto", "min" or "max"
        Whether lower or higher is better ("auto": higher for accuracies).
    restore_best_weights : bool
        When stopping (or at the end of training), put back the weights of the best epoch.

    Attributes
    ----------
    best, best_epoch, stopped_epoch
    """

    def __init__(self, monitor: str = "val_loss", patience: int = 5, min_delta: float = 0.0, mode: str = "auto", restore_best_weights: bool = True):
        self.monitor = monitor
        self.patience = positive_int(patience, "patience", "EarlyStopping")
        self.min_delta = nonnegative_float(min_delta, "min_delta", "EarlyStopping")
        self.mode = _monitor_mode(monitor, mode, "EarlyStopping")
        self.restore_best_weights = bool(restore_best_weights)

    def on_train_begin(self, network, epochs):
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch = self.stopped_epoch = None
        self.best_weights = None
        self.wait = 0

    def _improved(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, network, epoch, logs):
        value = _monitored(logs, self.monitor, "EarlyStopping")
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = [p.value.copy() for p in network.parameters()]
            return False
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            return True
        return False

    def on_train_end(self, network, history):
        if self.restore_best_weights and self.best_weights is not None:
            for p, value in zip(network.parameters(), self.best_weights):
                p.value[...] = value


class ModelCheckpoint(Callback):
    """Save the network to ``path`` after an epoch (atomically, so a crash never leaves half a file).

    Parameters
    ----------
    path : str or path-like
        The ``.npz`` file, rewritten in place; ``{epoch}`` in the name is replaced by the epoch.
    monitor, mode
        As for :class:`EarlyStopping`.
    save_best_only : bool
        Save only when the monitored value improves (default); otherwise every epoch.
    """

    def __init__(self, path, monitor: str = "val_loss", mode: str = "auto", save_best_only: bool = True):
        self.path = path
        self.monitor = monitor
        self.mode = _monitor_mode(monitor, mode, "ModelCheckpoint")
        self.save_best_only = bool(save_best_only)

    def on_train_begin(self, network, epochs):
        self.best = math.inf if self.mode == "min" else -math.inf

    def on_epoch_end(self, network, epoch, logs):
        if self.save_best_only:
            value = _monitored(logs, self.monitor, "ModelCheckpoint")
            better = value < self.best if self.mode == "min" else value > self.best
            if not better:
                return False
            self.best = value
        network.save(str(self.path).replace("{epoch}", str(epoch)))
        return False


class LearningRateScheduler(Callback):
    """Set the optimizer's ``lr`` to ``schedule(epoch)`` before each epoch (epochs from 1)."""

    def __init__(self, schedule: Callable[[int], float]):
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: expected a callable schedule(epoch), got {type(schedule).__name__}")
        self.schedule = schedule

    def on_epoch_begin(self, network, epoch):
        lr = self.schedule(epoch)
        network.optimizer.lr = nonnegative_float(lr, f"learning rate of epoch {epoch}", type(self).__name__, positive=True)


class StepLR(LearningRateScheduler):
    """``lr = lr0 * gamma ** ((epoch - 1) // step_size)``: decay by ``gamma`` every ``step_size`` epochs."""

    def __init__(self, step_size: int, gamma: float = 0.1):
        self.step_size = positive_int(step_size, "step_size", "StepLR")
        self.gamma = nonnegative_float(gamma, "gamma", "StepLR", positive=True)
        super().__init__(self._lr)

    def on_train_begin(self, network, epochs):
        self.base_lr = network.optimizer.lr

    def _lr(self, epoch: int) -> float:
        return self.base_lr * self.gamma ** ((epoch - 1) // self.step_size)


class CosineAnnealingLR(LearningRateScheduler):
    """Cosine decay from the initial ``lr`` to ``min_lr`` over the ``fit`` call's epochs.

    ``lr = min_lr + (lr0 - min_lr) * (1 + cos(pi * (epoch - 1) / epochs)) / 2``.
    """

    def __init__(self, min_lr: float = 0.0):
        self.min_lr = nonnegative_float(min_lr, "min_lr", "CosineAnnealingLR")
        super().__init__(self._lr)

    def on_train_begin(self, network, epochs):
        self.base_lr, self.epochs = network.optimizer.lr, epochs

    def _lr(self, epoch: int) -> float:
        progress = (epoch - 1) / self.epochs
        return self.min_lr + (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * progress)) / 2


def _format_logs(logs: dict) -> str:
    parts = []
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        if key in logs and not np.isnan(logs[key]):
            parts.append(f"{key} {logs[key]:.4f}")
    return "  ".join(parts)


class ProgressBar(Callback):
    """Report progress: a tqdm bar per epoch on a terminal, else one line per epoch.

    ``fit(verbose=1)`` adds one (bar when possible), ``verbose=2`` one line per epoch.
    """

    def __init__(self, bar: bool = True, file=None):
        self.file = file
        self.bar = bar

    def on_train_begin(self, network, epochs):
        self.epochs = epochs
        self.stream = self.file if self.file is not None else sys.stdout
        self.tqdm = None
        if self.bar and getattr(self.stream, "isatty", lambda: False)():
            try:
                from tqdm import tqdm
            except ImportError:
                tqdm = None
            self.tqdm = tqdm
        self.current = None

    def on_epoch_begin(self, network, epoch):
        self.batches = network._batches_per_epoch
        if self.tqdm is not None:
            width = len(str(self.epochs))
            self.current = self.tqdm(
                total=self.batches, desc=f"epoch {epoch:{width}d}/{self.epochs}", unit="batch",
                file=self.stream, leave=True, dynamic_ncols=True,
            )

    def on_batch_end(self, network, batch, logs):
        if self.current is not None:
            self.current.update(1)
            if batch % 20 == 0 or batch == self.batches:
                self.current.set_postfix_str(_format_logs(logs), refresh=False)

    def on_epoch_end(self, network, epoch, logs):
        if self.current is not None:
            self.current.set_postfix_str(_format_logs(logs))
            self.current.close()
            self.current = None
        else:
            width = len(str(self.epochs))
            print(f"epoch {epoch:{width}d}/{self.epochs}  {_format_logs(logs)}", file=self.stream, flush=True)
        return False

    def on_train_end(self, network, history):
        if self.current is not None:
            self.current.close()
            self.current = None
