"""What ``fit`` saves by not computing dL/dX of the network's first layer with parameters.

``NeuralNetwork.backward(grad, input_grad=False)``, which ``fit`` uses, stops at the first layer
with parameters and lets a ``Dense`` layer there skip ``dX = dZ @ W``: nobody reads the
gradient of the network's input. This script measures what that is worth on the reference
MLP of ``train_speed.py`` (784-256-128-10, ReLU, batch 128, SGD lr 0.05 momentum 0.9, MNIST
kept as uint8 behind ``Rescale(1/255)``), so that the branch in ``NeuralNetwork.backward``
keeps its place only on a measured figure.

Two identical networks train in one process, one epoch each in turn (the order alternating
from epoch to epoch and round to round, so a drift of the machine's speed falls on both
sides), each with the same loop of public calls; they differ only in ``input_grad``. Per
round, the ratio is the median over epochs 2..E of the skipping epoch over the full epoch
next to it; the table gives the median over rounds with its range, and the saving
``1 - ratio``.

Reproduce (from the repository root)::

    NEUROLAB_DATA=../shared/data/mnist .venv/bin/python benchmarks/first_layer_dx.py --rounds 5 --epochs 4
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import BATCH, LR, MOMENTUM, SIZES, load_data, neurolab_net  # noqa: E402


class Loop:
    """The reference MLP trained with public calls; ``input_grad`` is passed to ``net.backward``."""

    def __init__(self, seed: int, input_grad: bool) -> None:
        import neurolab as nl

        self.net = neurolab_net(SIZES, seed)
        self.params = self.net.parameters()
        self.optimizer = nl.optim.SGD(lr=LR, momentum=MOMENTUM)
        self.shuffle = np.random.default_rng(seed + 10_000)
        self.input_grad = input_grad

    def epoch(self, X: np.ndarray, y: np.ndarray) -> float:
        net = self.net
        start_time = time.perf_counter()
        order = self.shuffle.permutation(len(X))
        for start in range(0, len(X), BATCH):
            index = order[start : start + BATCH]
            out = net.forward(X[index])
            net.loss.forward(out, y[index])
            net.zero_grad()
            net.backward(net.loss.backward(), input_grad=self.input_grad)
            self.optimizer.step(self.params)
        return time.perf_counter() - start_time


def one_round(X, y, epochs: int, seed: int) -> dict:
    loops = {"full": Loop(seed, input_grad=True), "skip": Loop(seed, input_grad=False)}
    times: dict[str, list[float]] = {"full": [], "skip": []}
    for i in range(epochs):
        order = ("full", "skip") if (i + seed) % 2 == 0 else ("skip", "full")
        for name in order:
            times[name].append(loops[name].epoch(X, y))
    for a, b in zip(loops["full"].params, loops["skip"].params):  # the branch changes no number
        if not np.array_equal(a.value, b.value):
            raise AssertionError("first_layer_dx: expected the same weights with and without dL/dX, got different ones")
    pairs = list(zip(times["skip"], times["full"]))
    pairs = pairs[1:] or pairs  # epoch 1 is warm-up
    return {
        "ratio": statistics.median(s / f for s, f in pairs),
        "full": statistics.median(f for _, f in pairs),
        "skip": statistics.median(s for s, _ in pairs),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only")
    args = parser.parse_args(argv)
    (X, y), _test = load_data()
    if args.subset:
        X, y = X[: args.subset], y[: args.subset]
    rounds = []
    for r in range(args.rounds):
        result = one_round(X, y, args.epochs, seed=r)
        rounds.append(result)
        print(f"round {r + 1}/{args.rounds}  full {result['full']:.3f} s/epoch  skip {result['skip']:.3f} s/epoch  ratio {result['ratio']:.3f}", flush=True)
    ratios = [r["ratio"] for r in rounds]
    median = statistics.median(ratios)
    print()
    print(f"{len(X)} images, batch {BATCH}, {args.rounds} rounds x {args.epochs} epochs, one process")
    print("| backward of the first Dense layer | s/epoch median | ratio to full, median (min-max) | saving |")
    print("|---|---|---|---|")
    print(f"| full (dX = dZ @ W computed) | {statistics.median(r['full'] for r in rounds):.3f} | 1.00 | - |")
    print(
        f"| input_grad=False (what fit does) | {statistics.median(r['skip'] for r in rounds):.3f} | "
        f"{median:.3f} ({min(ratios):.3f}-{max(ratios):.3f}) | {1 - median:.1%} |"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
