"""See what the neurons of a small MNIST network learned, as pictures.

    python examples/inspect_neurons.py                      # train 784-16-16-10, write the pictures
    python examples/inspect_neurons.py --neuron 3 --digit-index 7 --out pictures
    python examples/inspect_neurons.py --load model.npz     # a saved network instead (no training)

It trains the network of 3Blue1Brown's videos (784-16-16-10, sigmoid hidden layers; here with
softmax cross-entropy and SGD with momentum), recording the first layer's weights as it goes,
and writes into --out (default neuron_pictures/):

    history.png            loss and accuracy per epoch, training and test
    weights.png            the 16 first-layer neurons' incoming weights as 28x28 images
    top_activating.png     the test digits that excite --neuron the most
    confusion.png          which digits are mistaken for which
    activations.png        the distribution of each layer's activations on the test set
    weight_history.png     --neuron's weights during training (and the change since the start)
    weight_history.gif     the same as an animation

and prints the backpropagation of --neuron on test image --digit-index (net.explain): its
z, a, error delta (BP2) and gradients. docs/neurons.md explains how to read each picture.
Needs matplotlib (pip install neurolab-nn[plot]) and Pillow for the GIF.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np

import neurolab as nl
from neurolab.analysis import WeightHistory

FIRST_DENSE = 1  # layers[0] is Rescale(1/255)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="directory holding the MNIST files (default: $NEUROLAB_DATA, then the cache)")
    parser.add_argument("--out", default="neuron_pictures", metavar="DIR", help="where to write the pictures (default neuron_pictures)")
    parser.add_argument("--load", metavar="MODEL", help="inspect this saved model instead of training one (no history pictures)")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set (default 5)")
    parser.add_argument("--limit", type=int, help="train on the first N training images only (quick runs)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and shuffling (default 0)")
    parser.add_argument("--neuron", type=int, default=0, help="the first-layer neuron to study (default 0)")
    parser.add_argument("--digit-index", type=int, default=0, help="the test image whose backpropagation is printed (default 0)")
    parser.add_argument("--snapshots-per-epoch", type=int, default=4, help="weight snapshots per epoch for the history (default 4)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="0 silent, 1 progress bar, 2 a line per epoch")
    return parser.parse_args(argv)


def build(seed: int) -> nl.NeuralNetwork:
    """784-16-16-10 with sigmoid hidden layers and logits out, taking raw uint8 pixels."""
    rng = np.random.default_rng(seed)
    return nl.NeuralNetwork(
        [
            nl.Rescale(1 / 255),
            nl.Dense(784, 16, "sigmoid", rng=rng),
            nl.Dense(16, 16, "sigmoid", rng=rng),
            nl.Dense(16, 10, "identity", rng=rng),
        ],
        loss="cross_entropy",
    )


def main(argv=None) -> dict:
    args = parse_args(argv)
    import matplotlib.pyplot as plt  # after parsing, so that --help works without matplotlib

    from neurolab import plots

    (x_train, y_train), (x_test, y_test) = nl.datasets.load_mnist(args.data_dir)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {}

    def keep(name, figure):
        plt.close(figure)  # saved to disk; the script shows nothing
        paths[name] = out / name

    net = nl.load(args.load) if args.load else build(args.seed)
    first = net.layers[FIRST_DENSE] if len(net.layers) > FIRST_DENSE else None
    if not isinstance(first, nl.Dense) or first.in_features != 784:
        raise SystemExit(f"expected layers[{FIRST_DENSE}] to be Dense(784, ...) after Rescale, got {first!r}")
    if not 0 <= args.neuron < first.out_features:
        raise SystemExit(f"--neuron: expected a neuron in [0, {first.out_features}), got {args.neuron}")
    if not 0 <= args.digit_index < len(x_test):
        raise SystemExit(f"--digit-index: expected a test image in [0, {len(x_test)}), got {args.digit_index}")

    weight_history = None
    if args.load:
        print(f"loaded {args.load}: no training, so no history pictures")
    else:
        batch_size = 32
        batches = math.ceil(len(x_train) / batch_size)
        weight_history = WeightHistory(layer=FIRST_DENSE, every=max(1, batches // args.snapshots_per_epoch))
        print(f"training 784-16-16-10 on {len(x_train):,} images for {args.epochs} epochs")
        history = net.fit(
            x_train, y_train, epochs=args.epochs, batch_size=batch_size,
            optimizer=nl.optim.SGD(lr=0.5, momentum=0.9), rng=args.seed,
            validation_data=(x_test, y_test), callbacks=[weight_history], verbose=args.verbose,
        )
        keep("history.png", plots.plot_history(history, path=out / "history.png"))

    accuracy = net.evaluate(x_test, y_test)["accuracy"]
    print(f"test accuracy {accuracy:.2%}")

    keep("weights.png", plots.plot_weights(first, path=out / "weights.png"))
    keep("top_activating.png", plots.plot_top_activating(
        net, x_test, FIRST_DENSE, args.neuron, k=9, labels=y_test, path=out / "top_activating.png"))
    predicted = net.predict(x_test)
    if predicted.ndim == 2:  # an MSE network predicts its 10 outputs: the digit is the largest
        predicted = predicted.argmax(axis=1)
    matrix = nl.metrics.confusion_matrix(y_test, predicted, 10)
    keep("confusion.png", plots.plot_confusion(matrix, path=out / "confusion.png"))
    keep("activations.png", plots.plot_activation_histograms(net, x_test, path=out / "activations.png"))
    if weight_history is not None:
        keep("weight_history.png", plots.plot_weight_history(
            weight_history, neuron_index=args.neuron, path=out / "weight_history.png"))
        plots.save_weight_history_gif(weight_history, out / "weight_history.gif", neuron_index=args.neuron)
        paths["weight_history.gif"] = out / "weight_history.gif"

    i, j = args.digit_index, args.neuron
    trace = net.explain(x_test[i], y_test[i], layer=FIRST_DENSE, neuron=j)
    print(f"\nneuron {j} of layers[{FIRST_DENSE}] on test image {i} (a {y_test[i]}):")
    print(trace)
    print("\nwrote:")
    for path in paths.values():
        print(f"  {path}")
    return {"paths": paths, "trace": trace, "test_accuracy": accuracy, "weight_history": weight_history}


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
