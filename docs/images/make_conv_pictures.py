"""Draw the pictures of docs/convolution.md: what a small CNN's filters and feature maps look like.

    NEUROLAB_DATA=../shared/data/mnist .venv/bin/python docs/images/make_conv_pictures.py

It trains the CNN of docs/convolution.md briefly (one epoch on the first 10,000 training
images; Adam, lr 0.001, batch 64, seed 0: under two minutes on two cores), then writes into
--out (default: the directory of this script):

    conv-filters.png          the 32 filters of the first Conv2D (5x5 weights each)
    conv-filters-change.png   what training changed in them: the trained weights minus the initial ones
    conv-input.png            the test digit that the feature maps below are drawn for
    conv-feature-maps-1.png   its 32 feature maps after the first Conv2D (24x24 each)
    conv-feature-maps-2.png   its 64 feature maps after the second Conv2D (8x8 each)
    conv-random-shift.png     the same digit and nine random shifts of up to 2 pixels (RandomShift)

Needs matplotlib (pip install neurolab-nn[plot]).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

import neurolab as nl
from neurolab import plots  # needs matplotlib; on a machine without a display it selects the Agg backend

import matplotlib.pyplot as plt  # noqa: E402  (after neurolab.plots chose the backend)

CONV1, CONV2 = 2, 4  # layers[0] is Rescale(1/255), layers[1] Reshape((1, 28, 28))


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="directory holding the MNIST files (default: $NEUROLAB_DATA, then the cache)")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent), metavar="DIR",
                        help="where to write the pictures (default: this script's directory)")
    parser.add_argument("--epochs", type=int, default=1, help="passes over the training images (default 1)")
    parser.add_argument("--limit", type=int, default=10_000, help="train on the first N training images (default 10000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights, dropout, shuffling and shifts (default 0)")
    parser.add_argument("--digit-index", type=int, default=1, help="the test image whose feature maps are drawn (default 1, a 2)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="0 silent, 1 progress bar, 2 a line per epoch")
    return parser.parse_args(argv)


def build(seed: int) -> nl.NeuralNetwork:
    """The CNN of docs/convolution.md, taking flat uint8 rows of 784 pixels."""
    rng = np.random.default_rng(seed)
    return nl.NeuralNetwork(
        [
            nl.Rescale(1 / 255),
            nl.Reshape((1, 28, 28)),
            nl.Conv2D(1, 32, 5, rng=rng),
            nl.MaxPool2D(2),
            nl.Conv2D(32, 64, 5, rng=rng),
            nl.MaxPool2D(2),
            nl.Flatten(),
            nl.Dense(1024, 256, rng=rng),
            nl.Dropout(0.3, rng=rng),
            nl.Dense(256, 10, "identity", rng=rng),
        ],
        "cross_entropy",
    )


def moved(dy: int, dx: int) -> str:
    """A RandomShift's (dy, dx) in words: "2 down, 1 left"."""
    parts = [f"{abs(d)} {pos if d > 0 else neg}" for d, pos, neg in ((dy, "down", "up"), (dx, "right", "left")) if d]
    return ", ".join(parts) or "not moved"


def plot_change(layer: nl.Conv2D, initial: np.ndarray):
    """plot_filters of the change ``W - W_0`` of ``layer``'s weights since ``initial``, labelled as such."""
    change = nl.Conv2D(layer.in_channels, layer.out_channels, layer.kernel_size)  # a stand-in holding the change
    change.weight.value = layer.weight.value - initial
    figure = plots.plot_filters(change)
    for ax in figure.axes[:-1]:  # the pictures; the last axes is the colour bar
        ax.set_xlabel(ax.get_xlabel().replace("max|w|", "max|Δw|"))
    figure.axes[-1].set_yticklabels(["-max|Δw|", "0", "+max|Δw|"], fontsize=8)
    figure.suptitle(
        f"what training changed in the filters of {layer!r}: Δw = w - (w at the start)\n"
        "red: training raised the weight, blue: lowered it",
        fontsize=10,
    )
    return figure


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test) = nl.datasets.load_mnist(args.data_dir)
    x_train, y_train = x_train[: args.limit].reshape(-1, 784), y_train[: args.limit]
    x_test = x_test.reshape(-1, 784)
    if not 0 <= args.digit_index < len(x_test):
        raise SystemExit(f"--digit-index: expected a test image in [0, {len(x_test)}), got {args.digit_index}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}

    def keep(name, figure):
        figure.savefig(out / name, dpi=plots.DPI, bbox_inches="tight")
        plt.close(figure)  # saved to disk; the script shows nothing
        paths[name] = out / name

    net = build(args.seed)
    conv1 = net.layers[CONV1]
    initial = conv1.weight.value.copy()  # the random start, to see what training changed
    print(f"training the CNN on {len(x_train):,} images for {args.epochs} epoch{'s' if args.epochs != 1 else ''}")
    start = time.perf_counter()
    net.fit(x_train, y_train, epochs=args.epochs, batch_size=64, optimizer=nl.optim.Adam(lr=0.001),
            rng=args.seed, verbose=args.verbose)
    seconds = time.perf_counter() - start
    accuracy = net.evaluate(x_test[:2000], y_test[:2000])["accuracy"]
    print(f"trained in {seconds:.0f} s; accuracy on the first 2,000 test images {accuracy:.2%}")

    keep("conv-filters.png", plots.plot_filters(conv1))
    keep("conv-filters-change.png", plot_change(conv1, initial))

    i = args.digit_index
    digit = x_test[i : i + 1]
    figure = plots.plot_images(digit, titles=[f"test image {i}: a {y_test[i]}"], cols=1)
    figure.set_size_inches(2.4, 2.6)  # one image: larger than a cell of a grid
    keep("conv-input.png", figure)
    net.eval()  # no dropout: the maps of the network that predicts
    net.forward(digit)  # every layer keeps this batch of one
    keep("conv-feature-maps-1.png", plots.plot_feature_maps(net.layers[CONV1], sample=0))
    keep("conv-feature-maps-2.png", plots.plot_feature_maps(net.layers[CONV2], sample=0))

    shift = nl.RandomShift(2, rng=args.seed)  # in training mode: each copy gets its own shift
    shifted = shift.forward(np.repeat(digit.reshape(1, 1, 28, 28), 9, axis=0))
    titles = ["the digit"] + [moved(dy, dx) for dy, dx in shift.shifts]
    keep("conv-random-shift.png", plots.plot_images(np.concatenate([digit.reshape(1, 28, 28), shifted[:, 0]]), titles, cols=5))

    print("wrote:")
    for path in paths.values():
        print(f"  {path}")
    return {"paths": paths, "network": net, "test_accuracy": accuracy, "seconds": seconds}


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
