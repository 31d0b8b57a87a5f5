"""Train a multilayer perceptron on MNIST, save it, load it back and predict.

    python examples/mnist.py                         # the default: ~98.6% in under a minute
    python examples/mnist.py --augment               # images shifted in training: ~99.1%, 25 epochs
    python examples/mnist.py --preset nielsen        # 784-30-10 sigmoid, MSE, SGD eta=3
    python examples/mnist.py --preset 3b1b           # 784-16-16-10 sigmoid, MSE, SGD
    python examples/mnist.py --load mnist-mlp.npz --image my_digit.png

MNIST is looked for in --data-dir, then $NEUROLAB_DATA, then the user cache (downloaded there
if missing). Images stay uint8; the network's first layer, Rescale(1/255), turns each batch into
floats in [0, 1], so the saved model takes raw pixels.

Validation and test. The last 5,000 of the 60,000 training images (55,000 to 59,999, a fixed
split made before any shuffling; --validation N to change, 0 for none) are held out: the network
never trains on them, and val_loss and val_accuracy after each epoch are measured on them. This
is the set to watch, and to compare settings on. The 10,000 test images are scored once, after
training, for the final test accuracy: choosing settings by the test score would make it an
optimistic estimate. --limit N trains on the first N images before the held-out ones.

Augmentation. --augment [MAX_SHIFT] puts Reshape((1, 28, 28)), RandomShift(MAX_SHIFT) and
Flatten() after Rescale: in training each image moves by up to MAX_SHIFT pixels (2 if not
given) in each direction, new shifts for every batch (seeded by --seed); in evaluation the
three layers change nothing, so the saved model still takes flat raw pixels (N, 784). Without
--preset, --augment starts from the augment preset.

Presets (any option given on the command line overrides the preset's value):

    default   784-512-256-10 ReLU, dropout 0.3, softmax cross-entropy, Adam lr 0.002
              with cosine decay, batch 256, 18 epochs
    augment   the default's network and optimizer, shifts of up to 2 pixels, dropout 0.1,
              25 epochs
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
from neurolab import presets

PRESETS = presets.PRESETS  # shared with `neurolab train`: see neurolab/presets.py


def parse_args(argv=None, *, doc=__doc__, presets=PRESETS, add_options=None, default_save="mnist-mlp.npz") -> argparse.Namespace:
    """The options, with every one not given taken from the preset.

    ``doc``, ``presets``, ``add_options(parser)`` (more options) and ``default_save`` let
    another example (``mnist_cnn.py``) share them. ``--augment`` without ``--preset`` picks
    the ``augment`` preset when there is one.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", choices=sorted(presets), help="starting settings (default: default"
                        + (", or augment with --augment)" if "augment" in presets else ")"))
    parser.add_argument("--data-dir", help="directory holding the MNIST files (default: $NEUROLAB_DATA, then the cache)")
    parser.add_argument("--epochs", type=int, help="passes over the training set")
    parser.add_argument("--hidden", help="hidden layer sizes, comma-separated, e.g. 512,256")
    parser.add_argument("--activation", choices=["relu", "leaky_relu", "sigmoid", "tanh"], help="hidden activation")
    parser.add_argument("--dropout", type=float, help="dropout probability after each hidden layer (0 = none)")
    parser.add_argument("--augment", type=int, nargs="?", const=2, metavar="MAX_SHIFT",
                        help="train on images moved by up to MAX_SHIFT pixels (2 if not given), new shifts every "
                        "batch (RandomShift); 0 = no augmentation")
    if add_options is not None:
        add_options(parser)
    parser.add_argument("--loss", choices=["cross_entropy", "mse"], help="loss (cross_entropy takes logits)")
    parser.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"], help="optimizer")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--momentum", type=float, help="momentum (sgd, rmsprop)")
    parser.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay (default 0)")
    parser.add_argument("--batch-size", type=int, help="samples per batch")
    parser.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=None, help="cosine learning-rate decay")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights, dropout, shifts and shuffling (default 0)")
    parser.add_argument("--validation", type=int, default=5000, metavar="N",
                        help="hold out the last N training images, never trained on, for val_loss and val_accuracy "
                        "after each epoch (default 5000; 0 = none). The test set is scored once, after training")
    parser.add_argument("--limit", type=int, metavar="N", help="train on the first N training images only (quick runs)")
    parser.add_argument("--save", default=default_save, help=f"where to save the trained model (default {default_save})")
    parser.add_argument("--no-save", action="store_true", help="do not save the model")
    parser.add_argument("--load", metavar="MODEL", help="skip training: load this saved model")
    parser.add_argument("--image", action="append", default=[], metavar="PNG", help="also classify this image file (needs Pillow); repeatable")
    parser.add_argument("--show", type=int, default=5, metavar="N", help="print the prediction for the first N test images (default 5)")
    parser.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="0 silent, 1 progress bar, 2 a line per epoch")
    args = parser.parse_args(argv)
    if args.preset is None:
        args.preset = "augment" if args.augment and "augment" in presets else "default"
    for key, value in presets[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    if args.augment is None:
        args.augment = 0
    if args.augment < 0:
        parser.error(f"expected --augment MAX_SHIFT >= 0, got {args.augment}")
    if args.validation < 0:
        parser.error(f"expected --validation N >= 0, got {args.validation}")
    if args.limit is not None and args.limit < 1:
        parser.error(f"expected --limit N >= 1, got {args.limit}")
    return args


def sizes(text: str, option: str) -> list[int]:
    """``"512,256"`` as ``[512, 256]``; ``option`` names the option in the error (which ends the example)."""
    try:
        return presets.sizes(text, option)
    except ValueError as error:
        raise SystemExit(str(error)) from None


def split_training(x_train, y_train, validation: int, limit: int | None = None):
    """``presets.split_training``: the images to train on and the held-out ones; a bad count ends the example."""
    try:
        return presets.split_training(x_train, y_train, validation, limit)
    except ValueError as error:
        raise SystemExit(str(error)) from None


def dense_head(layers: list, fan_in: int, args, rng) -> nl.NeuralNetwork:
    """``layers`` followed by Dense (+ Dropout) per hidden size and the 10 outputs (``presets.dense_head``)."""
    sizes(args.hidden, "--hidden")  # a bad --hidden ends the example with its message
    return presets.dense_head(layers, fan_in, args, rng)


def build(args) -> nl.NeuralNetwork:
    """The MLP for ``args`` (``presets.build``): Rescale, the shift layers if augmenting, then the Dense layers."""
    sizes(args.hidden, "--hidden")
    return presets.build(args)


make_optimizer = presets.make_optimizer


def confusion_table(matrix: np.ndarray) -> str:
    """The confusion matrix as text: rows are true digits, columns predicted ones."""
    lines = ["true\\pred " + " ".join(f"{j:5d}" for j in range(matrix.shape[1]))]
    for i, row in enumerate(matrix):
        lines.append(f"{i:9d} " + " ".join(f"{count:5d}" for count in row))
    return "\n".join(lines)


read_image = nl.datasets.read_digit_image  # grayscale, 28x28, dark-on-light inverted; shared with `neurolab predict`


def run(argv=None, *, doc=__doc__, presets=PRESETS, build=build, add_options=None, default_save="mnist-mlp.npz") -> dict:
    """Parse the options, train the network ``build(args)`` returns (or load one), save it, score the test set once.

    Returns a dict with ``train_seconds``, ``history``, ``val_loss`` and ``val_accuracy`` (the
    held-out images after the last epoch), ``saved``, ``test_loss``, ``test_accuracy`` and
    ``confusion``, as they apply.
    """
    args = parse_args(argv, doc=doc, presets=presets, add_options=add_options, default_save=default_save)
    (x_train, y_train), (x_test, y_test) = nl.datasets.load_mnist(args.data_dir)

    result = {}
    if args.load:
        net = nl.load(args.load)
        print(f"loaded {args.load}")
        net.summary(784)
    else:
        (x_fit, y_fit), held_out = split_training(x_train, y_train, args.validation, args.limit)
        net = build(args)
        net.summary(784)
        print(f"training on {len(x_fit):,} images (training images 0 to {len(x_fit) - 1:,}) "
              f"for {args.epochs} epochs (preset {args.preset})")
        if held_out is not None:
            first = len(x_train) - len(held_out[0])
            print(f"val_loss, val_accuracy: the {len(held_out[0]):,} held-out training images "
                  f"({first:,} to {len(x_train) - 1:,}), not trained on, after each epoch")
        callbacks = [nl.callbacks.CosineAnnealingLR()] if args.cosine else []
        start = time.perf_counter()
        history = net.fit(
            x_fit, y_fit, epochs=args.epochs, batch_size=args.batch_size, optimizer=make_optimizer(args),
            rng=args.seed, validation_data=held_out, callbacks=callbacks, verbose=args.verbose,
        )
        result["train_seconds"] = time.perf_counter() - start
        result["history"] = history
        print(f"training time {result['train_seconds']:.1f} s")
        if held_out is not None:
            result.update(val_loss=history["val_loss"][-1], val_accuracy=history["val_accuracy"][-1])
            print(f"validation accuracy {result['val_accuracy']:.2%}  (loss {result['val_loss']:.4f}) "
                  f"on the {len(held_out[0]):,} held-out training images")
        if not args.no_save:
            path = net.save(args.save)
            reloaded = nl.load(path)
            probe = x_fit[:1000]  # any images will do; the test set is kept for the end
            same = np.array_equal(reloaded.predict_proba(probe), net.predict_proba(probe))
            print(f"saved to {path} (reloaded: {'identical' if same else 'DIFFERENT'} predictions)")
            result["saved"] = str(path)

    # The test set, scored once: nothing above has looked at it.
    scores = net.evaluate(x_test, y_test)
    result.update(test_loss=scores["loss"], test_accuracy=scores["accuracy"])
    print(f"test accuracy {scores['accuracy']:.2%}  (loss {scores['loss']:.4f}) on the {len(x_test):,} test images")

    predicted = net.predict(x_test)
    if predicted.ndim == 2:  # an MSE network predicts its 10 outputs: the digit is the largest
        predicted = predicted.argmax(axis=1)
    matrix = nl.metrics.confusion_matrix(y_test, predicted, 10)
    result["confusion"] = matrix
    print("confusion matrix on the test set (rows: true digit, columns: predicted):")
    print(confusion_table(matrix))

    if args.show > 0:
        probabilities = net.predict_proba(x_test[: args.show])
        for i, p in enumerate(probabilities):
            print(f"test image {i}: label {y_test[i]}, predicted {p.argmax()} (p = {p.max():.3f})")
    for path in args.image:
        p = net.predict_proba(read_image(path))[0]
        shown = "  ".join(f"{d}:{q:.2f}" for d, q in enumerate(p))
        print(f"{path}: digit {p.argmax()}  probabilities {shown}")
    return result


def main(argv=None) -> dict:
    return run(argv)


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
