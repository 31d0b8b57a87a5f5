"""Train a multilayer perceptron on MNIST, save it, load it back and predict.

    python examples/mnist.py                         # the default: ~98.6% in under a minute
    python examples/mnist.py --preset nielsen        # 784-30-10 sigmoid, MSE, SGD eta=3
    python examples/mnist.py --preset 3b1b           # 784-16-16-10 sigmoid, MSE, SGD
    python examples/mnist.py --load mnist-mlp.npz --image my_digit.png

MNIST is looked for in --data-dir, then $NEUROLAB_DATA, then the user cache (downloaded there
if missing). Images stay uint8; the network's first layer, Rescale(1/255), turns each batch into
floats in [0, 1], so the saved model takes raw pixels.

Presets (any option given on the command line overrides the preset's value):

    default   784-512-256-10 ReLU, dropout 0.3, softmax cross-entropy, Adam lr 0.002
              with cosine decay, batch 256, 18 epochs
    nielsen   784-30-10 sigmoid, quadratic cost (MSE), SGD lr 3.0, batch 10, 30 epochs
              (Nielsen, "Neural Networks and Deep Learning", chapter 1)
    3b1b      784-16-16-10 sigmoid, MSE, SGD lr 1.0, batch 10, 30 epochs
              (the network of 3Blue1Brown's "But what is a neural network?")
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

import neurolab as nl

PRESETS = {
    "default": dict(hidden="512,256", activation="relu", dropout=0.3, loss="cross_entropy",
                    optimizer="adam", lr=0.002, momentum=0.0, batch_size=256, epochs=18, cosine=True),
    "nielsen": dict(hidden="30", activation="sigmoid", dropout=0.0, loss="mse",
                    optimizer="sgd", lr=3.0, momentum=0.0, batch_size=10, epochs=30, cosine=False),
    "3b1b": dict(hidden="16,16", activation="sigmoid", dropout=0.0, loss="mse",
                 optimizer="sgd", lr=1.0, momentum=0.0, batch_size=10, epochs=30, cosine=False),
}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(PRESETS), default="default", help="starting settings (default: default)")
    parser.add_argument("--data-dir", help="directory holding the MNIST files (default: $NEUROLAB_DATA, then the cache)")
    parser.add_argument("--epochs", type=int, help="passes over the training set")
    parser.add_argument("--hidden", help="hidden layer sizes, comma-separated, e.g. 512,256")
    parser.add_argument("--activation", choices=["relu", "leaky_relu", "sigmoid", "tanh"], help="hidden activation")
    parser.add_argument("--dropout", type=float, help="dropout probability after each hidden layer (0 = none)")
    parser.add_argument("--loss", choices=["cross_entropy", "mse"], help="loss (cross_entropy takes logits)")
    parser.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"], help="optimizer")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--momentum", type=float, help="momentum (sgd, rmsprop)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay (default 0)")
    parser.add_argument("--batch-size", type=int, help="samples per batch")
    parser.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=None, help="cosine learning-rate decay")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights, dropout and shuffling (default 0)")
    parser.add_argument("--limit", type=int, help="train on the first N training images only (quick runs)")
    parser.add_argument("--save", default="mnist-mlp.npz", help="where to save the trained model (default mnist-mlp.npz)")
    parser.add_argument("--no-save", action="store_true", help="do not save the model")
    parser.add_argument("--load", metavar="MODEL", help="skip training: load this saved model")
    parser.add_argument("--image", action="append", default=[], metavar="PNG", help="also classify this image file (needs Pillow); repeatable")
    parser.add_argument("--show", type=int, default=5, metavar="N", help="print the prediction for the first N test images (default 5)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="0 silent, 1 progress bar, 2 a line per epoch")
    args = parser.parse_args(argv)
    for key, value in PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    return args


def build(args) -> nl.NeuralNetwork:
    """The network for ``args``: Rescale, then Dense (+ Dropout) per hidden size, then 10 outputs."""
    sizes = [int(s) for s in str(args.hidden).split(",") if s.strip()]
    rng = np.random.default_rng(args.seed)
    layers = [nl.Rescale(1 / 255)]
    fan_in = 784
    for size in sizes:
        layers.append(nl.Dense(fan_in, size, args.activation, rng=rng))
        if args.dropout:
            layers.append(nl.Dropout(args.dropout, rng=rng))
        fan_in = size
    # cross_entropy takes logits; with MSE the outputs are sigmoid units, as in the tutorials
    layers.append(nl.Dense(fan_in, 10, "identity" if args.loss == "cross_entropy" else "sigmoid", rng=rng))
    return nl.NeuralNetwork(layers, args.loss)


def make_optimizer(args) -> nl.optim.Optimizer:
    if args.optimizer == "adam":
        return nl.optim.Adam(lr=args.lr, weight_decay=args.weight_decay)
    if args.optimizer == "rmsprop":
        return nl.optim.RMSprop(lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)
    return nl.optim.SGD(lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay)


def confusion_table(matrix: np.ndarray) -> str:
    """The confusion matrix as text: rows are true digits, columns predicted ones."""
    lines = ["true\\pred " + " ".join(f"{j:5d}" for j in range(matrix.shape[1]))]
    for i, row in enumerate(matrix):
        lines.append(f"{i:9d} " + " ".join(f"{count:5d}" for count in row))
    return "\n".join(lines)


def read_image(path: str) -> np.ndarray:
    """A PNG (or any Pillow-readable image) as a (1, 784) uint8 MNIST-like row: 28x28, white digit on black."""
    try:
        from PIL import Image
    except ImportError:
        raise SystemExit("reading images needs Pillow: pip install Pillow (or neurolab-nn[image])") from None
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L").resize((28, 28)), dtype=np.uint8)
    if pixels.mean() > 127:  # dark digit on a light background: invert to MNIST's convention
        pixels = 255 - pixels
    return pixels.reshape(1, 784)


def main(argv=None) -> dict:
    args = parse_args(argv)
    (x_train, y_train), (x_test, y_test) = nl.datasets.load_mnist(args.data_dir)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]

    result = {}
    if args.load:
        net = nl.load(args.load)
        print(f"loaded {args.load}")
        net.summary(784)
    else:
        net = build(args)
        net.summary(784)
        print(f"training on {len(x_train):,} images for {args.epochs} epochs (preset {args.preset})")
        callbacks = [nl.callbacks.CosineAnnealingLR()] if args.cosine else []
        start = time.perf_counter()
        history = net.fit(
            x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, optimizer=make_optimizer(args),
            rng=args.seed, validation_data=(x_test, y_test), callbacks=callbacks, verbose=args.verbose,
        )
        result["train_seconds"] = time.perf_counter() - start
        result["history"] = history
        print(f"training time {result['train_seconds']:.1f} s")
        if not args.no_save:
            path = net.save(args.save)
            reloaded = nl.load(path)
            same = np.array_equal(reloaded.predict_proba(x_test), net.predict_proba(x_test))
            print(f"saved to {path} (reloaded: {'identical' if same else 'DIFFERENT'} predictions)")
            result["saved"] = str(path)

    scores = net.evaluate(x_test, y_test)
    result.update(test_loss=scores["loss"], test_accuracy=scores["accuracy"])
    print(f"test accuracy {scores['accuracy']:.2%}  (loss {scores['loss']:.4f}) on {len(x_test):,} images")

    predicted = net.predict(x_test)
    if predicted.ndim == 2:  # an MSE network predicts its 10 outputs: the digit is the largest
        predicted = predicted.argmax(axis=1)
    matrix = nl.metrics.confusion_matrix(y_test, predicted, 10)
    result["confusion"] = matrix
    print("confusion matrix on the test set (rows: true digit, columns: predicted):")
    print(confusion_table(matrix))

    probabilities = net.predict_proba(x_test[: args.show])
    for i, p in enumerate(probabilities):
        print(f"test image {i}: label {y_test[i]}, predicted {p.argmax()} (p = {p.max():.3f})")
    for path in args.image:
        p = net.predict_proba(read_image(path))[0]
        shown = "  ".join(f"{d}:{q:.2f}" for d, q in enumerate(p))
        print(f"{path}: digit {p.argmax()}  probabilities {shown}")
    return result


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
