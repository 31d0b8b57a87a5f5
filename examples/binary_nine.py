"""Logistic regression on MNIST: is this digit a 9?

    python examples/binary_nine.py [--epochs 5] [--lr 0.5] [--batch-size 64]

One sigmoid neuron, z = w . x + b and P(9 | x) = sigmoid(z), trained with binary
cross-entropy from the logit z. About 10% of the digits are nines, so "never a 9" already
scores 90%: the script prints that baseline next to the model's accuracy, precision and
recall, and draws the learned weights as a 28x28 picture (+ pushes towards "9", - away).
"""

from __future__ import annotations

import argparse

import numpy as np

import neurolab as nl


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", help="directory holding the MNIST files (default: $NEUROLAB_DATA, then the cache)")
    parser.add_argument("--epochs", type=int, default=5, help="passes over the training set (default 5)")
    parser.add_argument("--lr", type=float, default=0.5, help="SGD learning rate (default 0.5)")
    parser.add_argument("--batch-size", type=int, default=64, help="samples per batch (default 64)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights and shuffling (default 0)")
    parser.add_argument("--limit", type=int, help="train on the first N training images only")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="0 silent, 1 progress bar, 2 a line per epoch")
    return parser.parse_args(argv)


def weight_picture(weights: np.ndarray) -> str:
    """The 784 weights as 28 lines of text: '+' and '-' for large weights, '.' for small ones."""
    scale = np.abs(weights).max() or 1.0
    rows = []
    for row in weights.reshape(28, 28) / scale:
        rows.append("".join("+" if w > 0.3 else "-" if w < -0.3 else "." for w in row))
    return "\n".join(rows)


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test) = nl.datasets.load_mnist(args.data_dir)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    is_nine_train = (y_train == 9).astype(np.float32)
    is_nine_test = (y_test == 9).astype(np.float32)

    neuron = nl.Dense(784, 1, "identity", init="zeros", rng=args.seed)  # logistic regression: w = 0 is a fine start
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), neuron], loss="binary_cross_entropy")
    net.fit(x_train, is_nine_train, epochs=args.epochs, batch_size=args.batch_size,
            optimizer=nl.optim.SGD(lr=args.lr), rng=args.seed, verbose=args.verbose)

    predicted = net.predict(x_test)  # (N,) of 0/1
    actual = is_nine_test.astype(np.int64)
    true_positive = int(np.sum((predicted == 1) & (actual == 1)))
    result = {
        "accuracy": float(np.mean(predicted == actual)),
        "baseline": float(np.mean(actual == 0)),
        "precision": true_positive / max(int(predicted.sum()), 1),
        "recall": true_positive / max(int(actual.sum()), 1),
    }
    print(f"test accuracy {result['accuracy']:.2%}  (always 'not a 9': {result['baseline']:.2%})")
    print(f"precision {result['precision']:.2%}  recall {result['recall']:.2%}  on {int(actual.sum())} nines")
    print("the neuron's weights (+ towards '9', - away from it):")
    print(weight_picture(neuron.neurons[0].weights))
    return result


if __name__ == "__main__":
    main()
