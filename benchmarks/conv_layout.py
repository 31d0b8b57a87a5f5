"""What Conv2D's column order buys: patches as columns ``(i, j, n)`` (the sample fastest) against ``(n, i, j)``.

``Conv2D`` lays the patches out as the columns of ``P`` (im2col) and computes the five parts of
a training step: the copy into ``P``, ``Zm = Wm @ P``, ``dW = dZm @ P.T``, ``dP = Wm.T @ dZm``
and col2im, the ``kh * kw`` strided adds that send ``dP`` back onto the image. The order of the
columns changes no number, only where things lie in memory. This script times each part with
the columns in both orders, on the second convolution of the MNIST CNN of
``examples/mnist_cnn.py`` (32 -> 64 channels, 5x5, 12x12 inputs, batch 128, float32), with the
input in the memory order the previous layers leave it in each case (a Conv2D's output is a
view of its ``Zm``, so its memory follows the column order), so that the layout's choice in
``neurolab/conv.py`` rests on a measured figure.

Reproduce (from the repository root)::

    .venv/bin/python benchmarks/conv_layout.py --repeats 15
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

N, C, H, O, K = 128, 32, 12, 64, 5  # batch, input channels, input size, filters, kernel
H_OUT = H - K + 1


def timed(part, repeats: int) -> float:
    """Median milliseconds of ``part()`` over ``repeats`` runs, after one warm-up run."""
    part()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        part()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def parts(order: str, rng: np.random.Generator) -> dict:
    """The five parts of a Conv2D step with patch columns in ``order`` ("nij" or "ijn"), as callables."""
    if order == "nij":  # input memory (C, N, H, W), as a (n, i, j)-ordered Conv2D leaves it
        x = np.ascontiguousarray(rng.random((C, N, H, H), dtype=np.float32)).transpose(1, 0, 2, 3)
        columns = (1, 4, 5, 0, 2, 3)
    else:  # input memory (C, H, W, N), as an (i, j, n)-ordered Conv2D leaves it
        x = np.ascontiguousarray(rng.random((C, H, H, N), dtype=np.float32)).transpose(3, 0, 1, 2)
        columns = (1, 4, 5, 2, 3, 0)
    w = rng.random((O, C * K * K), dtype=np.float32)
    windows = sliding_window_view(x, (K, K), axis=(2, 3))
    patches = windows.transpose(*columns).reshape(C * K * K, -1)
    grad_zm = rng.random((O, patches.shape[1]), dtype=np.float32)
    grad_p = w.T @ grad_zm

    def col2im():
        if order == "nij":
            blocks = grad_p.reshape(C, K, K, N, H_OUT, H_OUT)
            grad_xp = np.zeros((C, N, H, H), np.float32)
            for u in range(K):
                for v in range(K):
                    grad_xp[:, :, u : u + H_OUT, v : v + H_OUT] += blocks[:, u, v]
        else:
            blocks = grad_p.reshape(C, K, K, H_OUT, H_OUT, N)
            grad_xp = np.zeros((C, H, H, N), np.float32)
            for u in range(K):
                for v in range(K):
                    grad_xp[:, u : u + H_OUT, v : v + H_OUT, :] += blocks[:, u, v]
        return grad_xp

    return {
        "copy into P": lambda: windows.transpose(*columns).reshape(C * K * K, -1),
        "Zm = Wm @ P": lambda: w @ patches,
        "dW = dZm @ P.T": lambda: grad_zm @ patches.T,
        "dP = Wm.T @ dZm": lambda: w.T @ grad_zm,
        "col2im": col2im,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=15, help="runs of each part (default 15)")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    nij, ijn = parts("nij", rng), parts("ijn", rng)
    rows = [(name, timed(nij[name], args.repeats), timed(ijn[name], args.repeats)) for name in nij]
    rows.append(("sum", sum(r[1] for r in rows), sum(r[2] for r in rows)))
    print(f"Conv2D({C}, {O}, {K}) on ({N}, {C}, {H}, {H}), float32, median ms of {args.repeats} runs")
    print(f"{'part':<18}{'(n, i, j)':>11}{'(i, j, n)':>11}{'ratio':>8}")
    for name, old, new in rows:
        print(f"{name:<18}{old:>11.2f}{new:>11.2f}{new / old:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
