"""What two speed ideas that the plain core leaves out would buy, measured on the reference MLP.

The core keeps a speed idea only if it saves at least 5% of an epoch of the reference MLP of
``train_speed.py`` and a reader of the equations is not forced through it. This script
measures two candidates, each by swapping it in for whole epochs of ``net.fit`` and back, in
one process, so that both sides share the machine's state:

``direct-grads``
    ``Dense.backward`` writes ``dW = dZ.T @ X`` and ``db`` straight into ``weight.grad`` and
    ``bias.grad`` (``np.matmul(..., out=...)``) and ``zero_grad`` does nothing: no zero fill,
    no temporary product, no ``+=``. It breaks the layer contract (``backward`` *adds* into
    ``.grad``), so it is not a candidate for the library; it measures what that contract costs.
``no-checks``
    The per-call checks of the public boundaries are skipped during ``fit``: the loss's target
    check, ``NeuralNetwork``'s input check, ``Dense``'s input check, and the
    ``np.errstate(under="ignore")`` contexts. It measures what checking every public call costs,
    when ``fit`` has already checked all of ``X`` and ``y`` once.

Per round, the ratio is the median over pairs of (epoch with the idea) / (plain epoch next to
it), the order alternating; the table gives the median over rounds with its range.

Reproduce (from the repository root)::

    NEUROLAB_DATA=../shared/data/mnist .venv/bin/python benchmarks/what_if.py --rounds 3 --pairs 8
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import BATCH, LR, MOMENTUM, SIZES, load_data, neurolab_net  # noqa: E402


def direct_backward(self, grad_a, *, input_grad=True):
    """Dense.backward writing dW and db into the gradients instead of adding (not the contract)."""
    self.grad_z = self.activation.backward(self.z, self.a, grad_a)
    np.matmul(self.grad_z.T, self.x, out=self.weight.grad)
    np.sum(self.grad_z, axis=0, out=self.bias.grad)
    if not input_grad:
        return None
    return self.grad_z @ self.weight.value


def ideas():
    """name -> list of (object, attribute, replacement) swapped in for the idea's epochs."""
    import neurolab as nl

    return {
        "direct-grads": [
            (nl.Dense, "backward", direct_backward),
            (nl.NeuralNetwork, "zero_grad", lambda self: None),
        ],
        "no-checks": [
            (nl.losses.CrossEntropy, "check_target", lambda self, target, n_outputs, n_samples=None: target),
            (nl.NeuralNetwork, "_check_X", lambda self, X, method: X),
            (nl.Dense, "_check_input", lambda self, x, method: x),
            (np, "errstate", lambda **kwargs: contextlib.nullcontext()),
        ],
    }


@contextlib.contextmanager
def swapped(patches):
    saved = [getattr(obj, name) for obj, name, _ in patches]
    for obj, name, new in patches:
        setattr(obj, name, new)
    try:
        yield
    finally:
        for (obj, name, _), old in zip(patches, saved):
            setattr(obj, name, old)


def one_round(X, y, patches, pairs: int, seed: int) -> float:
    import neurolab as nl

    net = neurolab_net(SIZES, seed)
    optimizer = nl.optim.SGD(lr=LR, momentum=MOMENTUM)
    shuffle = np.random.default_rng(seed)

    def epoch() -> float:
        start = time.perf_counter()
        net.fit(X, y, epochs=1, batch_size=BATCH, optimizer=optimizer, rng=shuffle, verbose=0)
        return time.perf_counter() - start

    epoch()  # warm-up
    ratios = []
    for i in range(pairs):
        times = {}
        for with_idea in ((False, True) if (i + seed) % 2 == 0 else (True, False)):
            with swapped(patches) if with_idea else contextlib.nullcontext():
                times[with_idea] = epoch()
        ratios.append(times[True] / times[False])
    return statistics.median(ratios)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pairs", type=int, default=8, help="epoch pairs per round")
    parser.add_argument("--subset", type=int, default=None, help="train on the first N images only")
    parser.add_argument("--ideas", default="direct-grads,no-checks")
    args = parser.parse_args(argv)
    (X, y), _test = load_data()
    if args.subset:
        X, y = X[: args.subset], y[: args.subset]
    table = ideas()
    rows = []
    for name in args.ideas.split(","):
        ratios = [one_round(X, y, table[name], args.pairs, seed) for seed in range(args.rounds)]
        print(f"{name}: per-round ratios {' '.join(f'{r:.3f}' for r in ratios)}", flush=True)
        rows.append((name, ratios))
    print()
    print(f"{len(X)} images, batch {BATCH}, {args.rounds} rounds x {args.pairs} epoch pairs, one process")
    print("| idea | epoch with it / plain epoch, median (min-max) | saving |")
    print("|---|---|---|")
    for name, ratios in rows:
        median = statistics.median(ratios)
        print(f"| {name} | {median:.3f} ({min(ratios):.3f}-{max(ratios):.3f}) | {1 - median:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
