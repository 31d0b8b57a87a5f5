"""Train a convolutional network on MNIST, save it, load it back and predict.

    python examples/mnist_cnn.py                         # the default: 99.3% in about 3 minutes
    python examples/mnist_cnn.py --epochs 1 --limit 10000  # a quick look
    python examples/mnist_cnn.py --load mnist-cnn.npz --image my_digit.png

The options are those of examples/mnist.py (data, held-out validation, saving, loading,
images, progress bar), with the network's own: --channels and --hidden. The saved model
takes flat raw pixels (N, 784), like the MLP's: its first layers are Rescale(1/255) and
Reshape((1, 28, 28)), which turn each row into a 1-channel 28x28 image in [0, 1].

The default network (LeNet-like, as in PyTorch's MNIST example)::

    Rescale(1/255)  Reshape((1, 28, 28))                                   (N, 1, 28, 28)
    Conv2D(1, 32, 5)   ReLU   MaxPool2D(2)                                 (N, 32, 12, 12)
    Conv2D(32, 64, 5)  ReLU   MaxPool2D(2)                                 (N, 64, 4, 4)
    Flatten()  Dense(1024, 256) ReLU  Dropout(0.3)  Dense(256, 10)         (N, 10) logits

trained with softmax cross-entropy and Adam (lr 0.002, cosine decay), batch 128.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import neurolab as nl

sys.path.insert(0, str(Path(__file__).resolve().parent))  # also when run by runpy or from another directory
import mnist  # noqa: E402  the MLP example beside this file: its options, training loop and report

PRESETS = {
    "default": dict(channels="32,64", hidden="256", activation="relu", dropout=0.3, loss="cross_entropy", augment=0,
                    optimizer="adam", lr=0.002, momentum=0.0, batch_size=128, epochs=4, cosine=True),
}


def add_options(parser) -> None:
    parser.add_argument("--channels", help="output channels of each 5x5 convolution, comma-separated (default 32,64)")


def build(args) -> nl.NeuralNetwork:
    """Rescale and Reshape, then per channel count Conv2D(5x5) + MaxPool2D(2), then Flatten and the Dense layers."""
    rng = np.random.default_rng(args.seed)
    layers = [nl.Rescale(1 / 255), nl.Reshape((1, 28, 28))]
    if args.augment:
        layers.append(nl.RandomShift(args.augment, rng=rng))
    channels, side = 1, 28
    for out in mnist.sizes(args.channels, "--channels"):
        side = (side - 4) // 2  # a 5x5 convolution takes 4 rows and columns, pooling halves them
        if side < 1:
            raise SystemExit(f"--channels: expected at most as many convolutions as a 28x28 image allows, got {args.channels}")
        layers += [nl.Conv2D(channels, out, 5, activation=args.activation, rng=rng), nl.MaxPool2D(2)]
        channels = out
    layers.append(nl.Flatten())
    return mnist.dense_head(layers, channels * side * side, args, rng)


def main(argv=None) -> dict:
    return mnist.run(argv, doc=__doc__, presets=PRESETS, build=build, add_options=add_options, default_save="mnist-cnn.npz")


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
