"""neurolab: an object-oriented neural-network framework on NumPy, built to be read.

>>> import neurolab as nl
>>> net = nl.NeuralNetwork([nl.Dense(2, 4, "tanh", rng=0), nl.Dense(4, 1, "identity", rng=1)],
...                        loss="binary_cross_entropy")

Modules: ``activations``, ``losses``, ``init``, ``optim``, ``callbacks``, ``datasets``, ``io``,
``gradcheck`` and ``testing`` (needs Hypothesis; imported on first use); the classes
``Parameter``, ``Layer``, ``Dense``, ``Dropout``, ``Rescale``, ``Neuron`` and ``NeuralNetwork``;
``load`` and ``register_layer`` for saved models.
"""

from . import activations, callbacks, datasets, gradcheck, init, io, losses, metrics, optim
from .io import ModelFileError, load, register_layer
from .layer import Dense, Dropout, Layer, Rescale
from .network import NeuralNetwork
from .neuron import Neuron
from .parameter import Parameter

__version__ = "0.1.0"


def __getattr__(name: str):
    # neurolab.testing needs Hypothesis, an optional dependency: import it on first use.
    if name == "testing":
        import importlib

        return importlib.import_module(".testing", __name__)
    raise AttributeError(f"module 'neurolab' has no attribute {name!r}")

__all__ = [
    "Dense",
    "Dropout",
    "Layer",
    "ModelFileError",
    "NeuralNetwork",
    "Neuron",
    "Parameter",
    "Rescale",
    "activations",
    "callbacks",
    "datasets",
    "gradcheck",
    "init",
    "io",
    "load",
    "losses",
    "metrics",
    "optim",
    "register_layer",
    "__version__",
]
