"""The MNIST training presets of ``examples/mnist.py`` and ``neurolab train``, in one place.

A preset is a dict of settings; :func:`build` turns settings (any object with the attributes
``hidden``, ``activation``, ``dropout``, ``loss``, ``augment`` and ``seed``, such as an
``argparse.Namespace``) into a network, and :func:`make_optimizer` into its optimizer.

    default   784-512-256-10 ReLU, dropout 0.3, softmax cross-entropy, Adam lr 0.002
              with cosine decay, batch 256, 18 epochs
    augment   the default's network and optimizer, shifts of up to 2 pixels, dropout 0.1,
              25 epochs
    nielsen   784-30-10 sigmoid, quadratic cost (MSE), SGD lr 3.0, batch 10, 30 epochs
              (Nielsen, "Neural Networks and Deep Learning", chapter 1)
    3b1b      784-16-16-10 sigmoid, MSE, SGD lr 1.0, batch 10, 30 epochs
              (the network of 3Blue1Brown's "But what is a neural network?")

Mistakes in the settings raise ``ValueError`` whose message starts with the option's name
(``"--hidden: expected ..."``), so a command line can print it as it is.
"""

from __future__ import annotations

import numpy as np

from .layer import Dense, Dropout, Layer, Rescale
from .conv import Flatten, RandomShift, Reshape
from .network import NeuralNetwork
from . import optim

PRESETS: dict[str, dict] = {
    "default": dict(hidden="512,256", activation="relu", dropout=0.3, loss="cross_entropy", augment=0,
                    optimizer="adam", lr=0.002, momentum=0.0, batch_size=256, epochs=18, cosine=True),
    "augment": dict(hidden="512,256", activation="relu", dropout=0.1, loss="cross_entropy", augment=2,
                    optimizer="adam", lr=0.002, momentum=0.0, batch_size=256, epochs=25, cosine=True),
    "nielsen": dict(hidden="30", activation="sigmoid", dropout=0.0, loss="mse", augment=0,
                    optimizer="sgd", lr=3.0, momentum=0.0, batch_size=10, epochs=30, cosine=False),
    "3b1b": dict(hidden="16,16", activation="sigmoid", dropout=0.0, loss="mse", augment=0,
                 optimizer="sgd", lr=1.0, momentum=0.0, batch_size=10, epochs=30, cosine=False),
}


def sizes(text: str, option: str) -> list[int]:
    """``"512,256"`` as ``[512, 256]``; ``option`` names the option in the error."""
    parts = [part.strip() for part in str(text).split(",") if part.strip()]
    if not all(part.isdigit() and int(part) >= 1 for part in parts):
        raise ValueError(f"{option}: expected positive ints separated by commas, such as 512,256, got {text!r}")
    return [int(part) for part in parts]


def split_training(x_train: np.ndarray, y_train: np.ndarray, validation: int, limit: int | None = None):
    """Split a training set into ``(x_fit, y_fit)``, the samples to train on, and the held-out ``(x_val, y_val)``.

    The held-out samples are the last ``validation`` ones, taken before any shuffling and
    whatever ``limit`` is (with MNIST's 60,000 images and ``validation=5000``: images 55,000
    to 59,999). The ones to train on are those before them, only the first ``limit`` if given.
    ``(x_val, y_val)`` is None when ``validation`` is 0.
    """
    available = len(x_train) - validation
    if available < 1:
        raise ValueError(
            f"--validation: expected N to leave images to train on, got {validation:,} "
            f"of the {len(x_train):,} training images; hold out fewer"
        )
    if limit is not None and limit > available:
        raise ValueError(
            f"--limit: expected N of at most {available:,} (the training images before the "
            f"{validation:,} held out), got {limit:,}; lower --limit or --validation"
        )
    end = available if limit is None else limit
    held_out = (x_train[available:], y_train[available:]) if validation else None
    return (x_train[:end], y_train[:end]), held_out


def dense_head(layers: list, fan_in: int, settings, rng, outputs: int = 10) -> NeuralNetwork:
    """``layers`` followed by Dense (+ Dropout) per hidden size and ``outputs`` outputs, as a network with ``settings.loss``."""
    for size in sizes(settings.hidden, "--hidden"):
        layers.append(Dense(fan_in, size, settings.activation, rng=rng))
        if settings.dropout:
            layers.append(Dropout(settings.dropout, rng=rng))
        fan_in = size
    # cross_entropy takes logits; with MSE the outputs are sigmoid units, as in the tutorials
    layers.append(Dense(fan_in, outputs, "identity" if settings.loss == "cross_entropy" else "sigmoid", rng=rng))
    return NeuralNetwork(layers, settings.loss)


def build(settings) -> NeuralNetwork:
    """The MNIST MLP for ``settings``: Rescale(1/255), the shift layers if augmenting, then the Dense layers."""
    rng = np.random.default_rng(settings.seed)
    layers: list[Layer] = [Rescale(1 / 255)]
    if settings.augment:
        # Each training image moves by up to settings.augment pixels; in evaluation these three layers change nothing.
        layers += [Reshape((1, 28, 28)), RandomShift(settings.augment, rng=rng), Flatten()]
    return dense_head(layers, 784, settings, rng)


def make_optimizer(settings) -> optim.Optimizer:
    """The optimizer ``settings.optimizer`` (adam, rmsprop or sgd) with ``lr``, ``momentum`` and ``weight_decay``."""
    if settings.optimizer == "adam":
        return optim.Adam(lr=settings.lr, weight_decay=settings.weight_decay)
    if settings.optimizer == "rmsprop":
        return optim.RMSprop(lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
    return optim.SGD(lr=settings.lr, momentum=settings.momentum, weight_decay=settings.weight_decay)
