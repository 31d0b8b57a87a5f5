"""Training while the page watches: what requests read, the run's progress, and the threads that train.

Threads
-------
Requests are answered on threads of the HTTP server; ``fit`` runs on another thread (the
page's training, :class:`Trainer`) or on the user's own (a ``fit`` given a :class:`Watch`).
A request never touches a network that is training:

* while nothing trains, requests read the network itself. Reading is all they do: forward
  passes run on shallow copies of the layers, and ``explain`` on a deep copy;
* while ``fit`` runs, requests read a *snapshot*, a deep copy of the network made by the
  training thread itself between two batches, where weights and optimizer state agree.
  A new snapshot replaces it every ``SNAPSHOT_SECONDS`` while the page is open (a request
  came in the last ``LOOKED_SECONDS``); with nobody looking, training makes none.

So a request cannot change what training computes, and training cannot change a network a
request is reading: the training run gives the same numbers, bit for bit, with or without
the page (``tests/lab/test_training.py`` checks it).
"""

from __future__ import annotations

import copy
import math
import sys
import threading
import time
import traceback
from contextlib import contextmanager

import numpy as np

from ..callbacks import Callback
from ..optim import Adam

SNAPSHOT_SECONDS = 0.5  # a fresh snapshot at most this often (one of the 784-512-256-10 network: about 4 ms, under 1%)
LOOKED_SECONDS = 2.0  # the page counts as open this long after its last request


class Busy(RuntimeError):
    """Training was asked to start while the network is already training."""


class StopTraining(Exception):
    """Raised between two batches of the page's training when its stop button was pressed.

    ``fit`` lets it through after restoring the layers' modes and calling ``on_train_end``,
    leaving the network as the last completed step left it.
    """


class Snapshots:
    """The network as requests see it: itself while idle, a copy made between batches while it trains."""

    def __init__(self, network) -> None:
        self.network = network
        self.version = 0  # counts the weights requests have seen: +1 at each snapshot and when training ends
        self._condition = threading.Condition()
        self._copy = None  # the snapshot while training, else None
        self._readers = 0  # requests reading the network itself
        self._published = -math.inf
        self._looked = -math.inf

    def touch(self) -> None:
        """Note that the page asked for something (it is open: keep snapshots fresh)."""
        self._looked = time.monotonic()

    @contextmanager
    def reading(self):
        """``with snapshots.reading() as (network, version):`` the network to answer a request from.

        Read it, never change it. ``version`` numbers the weights it holds (see ``version``).
        """
        with self._condition:
            snapshot, version = self._copy, self.version
            if snapshot is None:
                self._readers += 1
        if snapshot is not None:  # a snapshot is never changed once made: no lock needed to read it
            yield snapshot, version
            return
        try:
            yield self.network, version
        finally:
            with self._condition:
                self._readers -= 1
                self._condition.notify_all()

    def freeze(self) -> None:
        """Called by the training thread before the first step: requests move to a snapshot.

        Returns once the requests still reading the network itself are done, so no step
        happens under them.
        """
        snapshot = snapshot_of(self.network)
        with self._condition:
            self._publish(snapshot)
            self._condition.wait_for(lambda: self._readers == 0)

    def refresh(self) -> None:
        """Called by the training thread between batches: a new snapshot, if one is due and the page is open."""
        now = time.monotonic()
        if now - self._published < SNAPSHOT_SECONDS or now - self._looked > LOOKED_SECONDS:
            return
        snapshot = snapshot_of(self.network)
        with self._condition:
            self._publish(snapshot)

    def thaw(self) -> None:
        """Called by the training thread after the last step: requests read the network itself again."""
        with self._condition:
            self._copy = None
            self.version += 1

    def _publish(self, snapshot) -> None:
        self._copy = snapshot
        self._published = time.monotonic()
        self.version += 1


LAST_BATCH = ("x", "z", "a", "grad_z", "patches", "argmax", "mask", "shifts")  # what layers keep of a batch


def snapshot_of(network):
    """A deep copy of ``network`` without what its layers keep of the last batch (``LAST_BATCH``).

    Requests compute their own passes (on copies of the layers), so a snapshot needs the
    parameters, settings and optimizer state, not the batch: for the MNIST CNN the batch's
    patches and maps are most of what a full copy would copy.
    """
    memo = {
        id(value): None
        for layer in network.layers
        for name, value in vars(layer).items()
        if name in LAST_BATCH and isinstance(value, np.ndarray)
    }
    return copy.deepcopy(network, memo)


class Progress:
    """A training run as the page shows it: where it is, its loss and accuracy curves, its stop button.

    Thread-safe: the training thread writes, request threads read. The curves of every run
    are kept, one after the other; ``step`` counts optimizer steps over all of them.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = False
        self.source: str | None = None  # "page" (POST /api/train/start) or "python" (a fit given lab.watch())
        self.runs = 0
        self.epoch = self.epochs = self.batch = self.batches = self.steps = 0
        self.stop_requested = False
        self.error: str | None = None
        self.batch_points: list[list] = []  # [step, epoch, loss, accuracy]: the epoch's running means after each batch
        self.epoch_points: list[dict] = []  # the logs of each epoch, with its run and step

    def claim(self, source: str, epochs: int) -> None:
        """Mark a run as started by ``source``; raise :class:`Busy` if one is running."""
        with self._lock:
            if self.running:
                raise Busy(f"expected no training running, got one started from {self._from(self.source)}; stop it first")
            self.running, self.source, self.stop_requested, self.error = True, source, False, None
            self.runs += 1
            self.epochs, self.epoch, self.batch, self.batches = epochs, 0, 0, 0

    def release(self) -> None:
        with self._lock:
            self.running = False

    def request_stop(self, source: str | None = None) -> bool:
        """Press the stop button (of runs started from ``source`` only, if given); return whether a run was there to stop."""
        with self._lock:
            stopping = self.running and source in (None, self.source)
            self.stop_requested = self.stop_requested or stopping
            return stopping

    def begin_epoch(self, epoch: int, batches: int | None) -> None:
        with self._lock:
            self.epoch, self.batch, self.batches = epoch, 0, batches or 0

    def end_batch(self, batch: int, logs: dict) -> None:
        with self._lock:
            self.batch = batch
            self.steps += 1
            self.batch_points.append([self.steps, self.epoch, _plain(logs.get("loss")), _plain(logs.get("accuracy"))])

    def end_epoch(self, epoch: int, logs: dict) -> None:
        with self._lock:
            point = {"run": self.runs, "epoch": epoch, "step": self.steps}
            point.update({key: _plain(value) for key, value in logs.items()})
            self.epoch_points.append(point)

    def fail(self, message: str) -> None:
        with self._lock:
            self.error = message

    def status(self, since: int) -> dict:
        """Where training is, with the batch points from index ``since`` on (all epoch points)."""
        with self._lock:
            return {
                "running": self.running,
                "source": self.source,
                "runs": self.runs,
                "epoch": self.epoch,
                "epochs": self.epochs,
                "batch": self.batch,
                "batches": self.batches,
                "steps": self.steps,
                "stop_requested": self.stop_requested,
                "error": self.error,
                "since": since,
                "batch_points": self.batch_points[since:],
                "batch_points_total": len(self.batch_points),
                "epoch_points": list(self.epoch_points),
            }

    @staticmethod
    def _from(source: str | None) -> str:
        return "the page" if source == "page" else "Python (a fit given lab.watch())"


def _plain(value):
    """A log value for JSON: a float, or None for NaN (accuracy of a regression) and missing ones."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Watch(Callback):
    """Show a ``fit`` on the lab's page: its curves as it trains, and the page's stop button.

    Made by :meth:`LabServer.watch`; pass it to ``fit`` of the network the lab serves, last
    in ``callbacks`` (so that callbacks which change the weights at the end, such as
    ``EarlyStopping(restore_best_weights=True)``, have done so before the page reads the
    network again)::

        lab = nl.lab.serve(net)
        net.fit(X, y, epochs=5, callbacks=[lab.watch()])

    The page's stop button ends the ``fit`` after the current epoch (``on_epoch_end``
    returns True), so ``fit`` returns its history as usual. While the ``fit`` runs, the
    page reads snapshots of the network (see the module's docstring).
    """

    claims = True  # a fit from Python marks its run as started; the page's runs are marked before fit

    def __init__(self, snapshots: Snapshots, progress: Progress) -> None:
        self.snapshots = snapshots
        self.progress = progress

    def on_train_begin(self, network, epochs):
        if network is not self.snapshots.network:
            raise ValueError(
                "Watch.on_train_begin: expected the network the lab serves, got another one; "
                "make the lab with nl.lab.serve(net) for the network you train"
            )
        if self.claims:
            try:
                self.progress.claim("python", epochs)
            except Busy as busy:
                raise RuntimeError(f"Watch.on_train_begin: {busy}") from None
        self.snapshots.freeze()

    def on_epoch_begin(self, network, epoch):
        self.progress.begin_epoch(epoch, getattr(network, "_batches_per_epoch", None))

    def on_batch_end(self, network, batch, logs):
        self.progress.end_batch(batch, logs)
        self.snapshots.refresh()

    def on_epoch_end(self, network, epoch, logs):
        self.progress.end_epoch(epoch, logs)
        return self.progress.stop_requested

    def on_train_end(self, network, history):
        self.snapshots.thaw()
        if self.claims:
            self.progress.release()


class _PageWatch(Watch):
    """The page's own runs: marked as started before ``fit``, and stopped after the current batch."""

    claims = False

    def on_epoch_begin(self, network, epoch):
        super().on_epoch_begin(network, epoch)
        if self.progress.stop_requested:  # pressed before this epoch's first step
            raise StopTraining

    def on_batch_end(self, network, batch, logs):
        super().on_batch_end(network, batch, logs)
        if self.progress.stop_requested:
            raise StopTraining


class Trainer:
    """The page's training: ``network.fit`` on the lab's training data, on a thread of its own."""

    def __init__(self, snapshots: Snapshots, progress: Progress, X, y) -> None:
        self.snapshots, self.progress = snapshots, progress
        self.X, self.y = X, y
        self._thread: threading.Thread | None = None

    def start(self, epochs: int, batch_size: int, lr: float | None, seed: int | None) -> None:
        """Start ``fit(X, y, epochs, batch_size, rng=seed)``; raise :class:`Busy` if the network is training.

        ``lr`` sets the learning rate of the network's optimizer (a new ``Adam(lr)`` if it
        has none); without it, ``fit`` carries on with the optimizer as it is.
        """
        self.progress.claim("page", epochs)  # here, not on the thread: two quick starts cannot both pass
        self._thread = threading.Thread(
            target=self._run, args=(epochs, batch_size, lr, seed), name="neurolab-lab-training", daemon=True
        )
        self._thread.start()

    def _run(self, epochs: int, batch_size: int, lr: float | None, seed: int | None) -> None:
        network = self.snapshots.network
        try:
            optimizer = None
            if lr is not None and network.optimizer is None:
                optimizer = Adam(lr=lr)
            elif lr is not None:
                network.optimizer.lr = lr  # as LearningRateScheduler sets it
            watch = _PageWatch(self.snapshots, self.progress)
            network.fit(
                self.X, self.y, epochs=epochs, batch_size=batch_size, optimizer=optimizer, rng=seed,
                callbacks=[watch], verbose=0,
            )
        except StopTraining:
            pass
        except Exception as error:  # shown on the page; the server carries on
            self.progress.fail(f"{type(error).__name__}: {error}")
            print("neurolab lab: training stopped by an error:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
        finally:
            self.progress.release()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
