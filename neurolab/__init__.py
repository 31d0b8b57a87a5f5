"""neurolab: an object-oriented neural-network framework on NumPy, built to be read.

>>> import neurolab as nl
>>> net = nl.NeuralNetwork([nl.Dense(2, 4, "tanh", rng=0), nl.Dense(4, 1, "identity", rng=1)],
...                        loss="binary_cross_entropy")

Modules: ``activations``, ``losses``, ``init``, ``optim``, ``gradcheck`` and ``testing`` (needs
Hypothesis); the classes ``Parameter``, ``Layer``, ``Dense``, ``Neuron`` and ``NeuralNetwork``.
"""

from . import activations, gradcheck, init, losses, optim
from .layer import Dense, Layer
from .network import NeuralNetwork
from .neuron import Neuron
from .parameter import Parameter

__version__ = "0.1.0"

__all__ = [
    "Dense",
    "Layer",
    "NeuralNetwork",
    "Neuron",
    "Parameter",
    "activations",
    "gradcheck",
    "init",
    "losses",
    "optim",
    "__version__",
]
