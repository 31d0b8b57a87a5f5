"""neurolab: an object-oriented neural-network framework on NumPy, built to be read.

>>> import neurolab as nl
>>> net = nl.NeuralNetwork([nl.Dense(2, 4, "tanh", rng=0), nl.Dense(4, 1, "identity", rng=1)],
...                        loss="binary_cross_entropy")

Modules: ``activations``, ``losses``, ``init``, ``optim``, ``callbacks``, ``datasets``, ``io``, ``npz``,
``metrics``, ``analysis``, ``gradcheck``, and ``testing`` (needs Hypothesis), ``plots`` (needs
matplotlib), ``lab`` (the browser page; standard library only) and ``export`` (to PyTorch and ONNX; needs them), imported on first use; the classes
``Parameter``, ``Layer``, ``Dense``, ``Dropout``, ``Rescale``, ``Neuron`` and ``NeuralNetwork``; the image
layers ``Conv2D``, ``MaxPool2D``, ``Flatten``, ``Reshape`` and ``RandomShift`` (module ``conv``);
``load`` and ``register`` (your own layers, activations, losses, optimizers) for saved models.
"""

from . import activations, analysis, callbacks, conv, datasets, diagnostics, gradcheck, init, io, losses, metrics, npz, optim
from .conv import Conv2D, Flatten, MaxPool2D, RandomShift, Reshape
from .io import ModelFileError, load, register, register_layer
from .layer import Dense, Dropout, Layer, Rescale
from .diagnostics import InputRangeWarning, NonFiniteError
from .network import NeuralNetwork
from .neuron import Neuron
from .parameter import Parameter

__version__ = "0.1.0"


def __getattr__(name: str):
    # neurolab.testing needs Hypothesis and neurolab.plots matplotlib, optional dependencies;
    # neurolab.lab (an HTTP server) is a front end few scripts need; neurolab.export reaches
    # torch and onnx (optional) only when called, and is imported on first use too.
    if name in ("testing", "plots", "lab", "export"):
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'neurolab' has no attribute {name!r}")

__all__ = [
    "Conv2D",
    "Dense",
    "InputRangeWarning",
    "Dropout",
    "Flatten",
    "Layer",
    "MaxPool2D",
    "ModelFileError",
    "NeuralNetwork",
    "NonFiniteError",
    "Neuron",
    "Parameter",
    "RandomShift",
    "Rescale",
    "Reshape",
    "activations",
    "analysis",
    "callbacks",
    "conv",
    "datasets",
    "diagnostics",
    "gradcheck",
    "init",
    "io",
    "load",
    "losses",
    "metrics",
    "optim",
    "register",
    "register_layer",
    "__version__",
]
