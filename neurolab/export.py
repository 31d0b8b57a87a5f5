"""Outgrowing neurolab: networks to PyTorch and ONNX, and back from PyTorch.

Each layer becomes, in PyTorch and in ONNX::

    neurolab layer                      PyTorch module(s)                       ONNX node(s)
    Dense(in, out, f)                   Linear(in, out) + f's module            Gemm (transB=1) + f
    Conv2D(C, O, k, stride, pad, f)     Conv2d(C, O, k, stride, pad) + f        Conv + f
    MaxPool2D(k, stride)                MaxPool2d(k, stride)                    MaxPool
    Flatten()                           Flatten()                               Flatten (axis 1)
    Reshape(shape)                      Unflatten(1, shape)                     Reshape to (N, *shape)
    Rescale(scale, offset)              neurolab.torch_modules.Rescale          Mul (+ Add)
    Dropout(p)                          Dropout(p)                              nothing (inference)
    RandomShift(m)                      neurolab.torch_modules.RandomShift      nothing (inference)

and the activations f: ``identity`` (nothing), ``relu`` (``ReLU``), ``leaky_relu``
(``LeakyReLU(negative_slope)``), ``sigmoid`` (``Sigmoid``), ``tanh`` (``Tanh``), ``softmax``
(``Softmax(dim=1)``). The weights keep their layouts, which are PyTorch's (``Linear.weight``
is ``(out, in)`` like ``Dense.weight``, ``Conv2d.weight`` ``(O, C, kh, kw)`` like
``Conv2D.weight``; ONNX's ``Gemm`` with ``transB=1`` computes ``X @ W.T + b`` with that
``W``), and their dtype (float32 or float64).

The losses: neurolab's take logits, as PyTorch's ``*WithLogits``/``CrossEntropy`` losses do.
:func:`torch_loss` returns the PyTorch loss of a network; with K outputs per sample::

    neurolab loss            PyTorch loss                 neurolab's L equals
    cross_entropy            nn.CrossEntropyLoss()        the PyTorch loss
    binary_cross_entropy     nn.BCEWithLogitsLoss()       K times the PyTorch loss (neurolab sums over outputs)
    mse                      nn.MSELoss()                 K / 2 times the PyTorch loss (neurolab's is 1/2 the squared error)

Each pair has the same minimum and the same gradients up to that factor, so an SGD learning
rate carries over as is for cross_entropy and scaled by the factor for the others (Adam
does not see a constant factor).

torch and onnx are optional: ``import neurolab.export`` imports neither, and each function
imports what it needs when called (``pip install neurolab-nn[torch]``, ``neurolab-nn[onnx]``).
Layers of your own (``nl.register``) are refused: write the PyTorch module for such a layer
yourself and assemble ``torch.nn.Sequential`` around it, converting the built-in layers with
``to_torch`` (``list(to_torch(net))`` gives the modules).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from . import activations as _activations
from . import losses as _losses
from . import npz
from .conv import Conv2D, Flatten, MaxPool2D, RandomShift, Reshape
from .layer import Dense, Dropout, Layer, Rescale
from .network import NeuralNetwork, _run, eval_copies

LAYERS = (Dense, Conv2D, MaxPool2D, Flatten, Reshape, Rescale, Dropout, RandomShift)
TORCH_MODULES = (
    "Linear, Conv2d, MaxPool2d, Flatten, Unflatten, Dropout, neurolab.torch_modules.Rescale and "
    "RandomShift, and the activations ReLU, LeakyReLU, Sigmoid, Tanh, Softmax(dim=1) and Identity "
    "after a Linear or Conv2d"
)
TORCH_LOSSES = {"cross_entropy": "CrossEntropyLoss", "binary_cross_entropy": "BCEWithLogitsLoss", "mse": "MSELoss"}
ONNX_OPSET = 17


# -- the optional packages -----------------------------------------------------------------
def _torch(where: str):
    """``(torch, neurolab.torch_modules)``, or an ImportError saying which extra to install."""
    try:
        import torch

        from . import torch_modules
    except ImportError as error:
        raise ImportError(
            f"{where}: expected PyTorch to be installed, got {error}; install it with "
            "pip install neurolab-nn[torch]"
        ) from error
    return torch, torch_modules


def _onnx(where: str):
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            f"{where}: expected the onnx package to be installed, got {error}; install it with "
            "pip install neurolab-nn[onnx]"
        ) from error
    return onnx


def _check_network(net, where: str) -> np.dtype:
    """The one float dtype of ``net``'s layers; a TypeError for a layer that is not built in."""
    if not isinstance(net, NeuralNetwork):
        raise TypeError(f"{where}: expected a neurolab.NeuralNetwork, got {type(net).__name__}")
    names = ", ".join(cls.__name__ for cls in LAYERS)
    dtypes = set()
    for i, layer in enumerate(net.layers):
        if type(layer) not in LAYERS:
            raise TypeError(
                f"{where}: expected built-in layers ({names}), got layers[{i}] ({type(layer).__name__}), "
                "a layer of your own; write the PyTorch module (or ONNX nodes) for it yourself and "
                "convert the built-in layers around it"
            )
        activation = getattr(layer, "activation", None)
        if activation is not None and type(activation) not in _ACTIVATION_TYPES:
            raise TypeError(
                f"{where}: expected one of the activations {sorted(_ACTIVATION_TYPES.values())}, got "
                f"{activation.name!r} in layers[{i}] ({type(layer).__name__}), an activation of your own"
            )
        if getattr(layer, "dtype", None) is not None:
            dtypes.add(np.dtype(layer.dtype))
    if len(dtypes) > 1:
        raise TypeError(
            f"{where}: expected one float dtype in every layer, got {sorted(d.name for d in dtypes)}; "
            "convert the network with net.astype(np.float32) first"
        )
    return dtypes.pop() if dtypes else np.dtype(np.float32)


_ACTIVATION_TYPES = {
    _activations.Identity: "identity",
    _activations.ReLU: "relu",
    _activations.LeakyReLU: "leaky_relu",
    _activations.Sigmoid: "sigmoid",
    _activations.Tanh: "tanh",
    _activations.Softmax: "softmax",
}


# -- to PyTorch -------------------------------------------------------------------------------
def to_torch(net: NeuralNetwork):
    """Return ``net`` as a ``torch.nn.Sequential`` computing the same outputs, with copies of its weights.

    Each layer becomes the module(s) of the table in this module's docstring, in the
    network's dtype, on the CPU, in training mode (PyTorch's default: call ``.eval()`` before
    predicting, so that Dropout and RandomShift do nothing). The loss is not part of it:
    :func:`torch_loss` gives it.

    Raises
    ------
    ImportError
        Without PyTorch (``pip install neurolab-nn[torch]``).
    TypeError
        For a layer or activation of your own, or layers of different dtypes.
    """
    torch, modules = _torch("to_torch")
    dtype = _check_network(net, "to_torch")
    torch_dtype = {np.dtype(np.float32): torch.float32, np.dtype(np.float64): torch.float64}[dtype]
    nn = torch.nn
    out = []
    for layer in net.layers:
        if isinstance(layer, Dense):
            linear = nn.Linear(layer.in_features, layer.out_features, dtype=torch_dtype)
            _copy_into(torch, linear, layer)
            out += [linear, *_torch_activation(nn, layer.activation)]
        elif isinstance(layer, Conv2D):
            conv = nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, stride=layer.stride,
                             padding=layer.padding, dtype=torch_dtype)
            _copy_into(torch, conv, layer)
            out += [conv, *_torch_activation(nn, layer.activation)]
        elif isinstance(layer, MaxPool2D):
            out.append(nn.MaxPool2d(layer.kernel_size, stride=layer.stride))
        elif isinstance(layer, Flatten):
            out.append(nn.Flatten())
        elif isinstance(layer, Reshape):
            out.append(nn.Unflatten(1, layer.shape))  # takes (N, F) rows, as a Reshape in front of images does
        elif isinstance(layer, Rescale):
            out.append(modules.Rescale(layer.scale, layer.offset, dtype=torch_dtype))
        elif isinstance(layer, Dropout):
            out.append(nn.Dropout(layer.p))
        elif isinstance(layer, RandomShift):
            out.append(modules.RandomShift(layer.max_shift))
    return nn.Sequential(*out)


def _copy_into(torch, module, layer) -> None:
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(layer.weight.value))  # (out, in) or (O, C, kh, kw): the same layout
        module.bias.copy_(torch.from_numpy(layer.bias.value))


def _torch_activation(nn, activation) -> list:
    """The modules (none or one) that compute ``activation``."""
    name = activation.name
    if name == "identity":
        return []
    if name == "leaky_relu":
        return [nn.LeakyReLU(activation.negative_slope)]
    if name == "softmax":
        return [nn.Softmax(dim=1)]
    return [{"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}[name]()]


def torch_loss(net: NeuralNetwork):
    """The PyTorch loss module of ``net``'s loss (see the table in this module's docstring)."""
    torch, _ = _torch("torch_loss")
    name = TORCH_LOSSES.get(net.loss.name)
    if name is None or type(net.loss) is not _losses.LOSSES[net.loss.name]:
        raise TypeError(
            f"torch_loss: expected one of the losses {sorted(TORCH_LOSSES)}, got {net.loss.name!r}, "
            "a loss of your own; write its PyTorch counterpart yourself"
        )
    return getattr(torch.nn, name)()


# -- from PyTorch -----------------------------------------------------------------------------
def from_torch(module, loss) -> NeuralNetwork:
    """Return a NeuralNetwork computing what the ``torch.nn.Sequential`` ``module`` computes, with copies of its weights.

    Each module of ``module`` becomes the layer of the table in this module's docstring; an
    activation module right after a ``Linear`` or ``Conv2d`` becomes that layer's
    activation (``nn.Identity`` is dropped). A ``Linear`` or ``Conv2d`` without a bias gets a
    zero one, which then trains in neurolab.

    Parameters
    ----------
    module : torch.nn.Sequential
    loss : str, neurolab Loss, or torch.nn.CrossEntropyLoss, BCEWithLogitsLoss or MSELoss
        The network's loss; a PyTorch loss must have its defaults (no class weights, no label smoothing).

    Raises
    ------
    TypeError
        For a module that neurolab has no layer for, naming it (its index and class) and
        listing what is supported.
    """
    torch, modules = _torch("from_torch")
    nn = torch.nn
    if not isinstance(module, nn.Sequential):
        raise TypeError(f"from_torch: expected a torch.nn.Sequential, got {type(module).__name__}")
    loss = _neurolab_loss(nn, loss)
    activations = _torch_activations(nn)
    layers: list[Layer] = []
    children = list(module)
    i = 0
    while i < len(children):
        child = children[i]
        kind = type(child)
        if kind in (nn.Linear, nn.Conv2d):
            activation, used = "identity", 1
            if i + 1 < len(children) and type(children[i + 1]) in activations:
                activation, used = _neurolab_activation(nn, children[i + 1], i + 1), 2
            layers.append(_weighted_layer(torch, child, activation, i))
            i += used
            continue
        if kind is nn.Identity:
            pass
        elif kind is nn.MaxPool2d:
            _require(child, i, padding=0, dilation=1, ceil_mode=False, return_indices=False)
            layers.append(MaxPool2D(_pair_of(child.kernel_size), _pair_of(child.stride)))
        elif kind is nn.Flatten:
            _require(child, i, start_dim=1, end_dim=-1)
            layers.append(Flatten())
        elif kind is nn.Unflatten:
            _require(child, i, dim=1)
            layers.append(Reshape(tuple(child.unflattened_size)))
        elif kind is nn.Dropout:
            layers.append(Dropout(child.p))
        elif kind is modules.Rescale:
            layers.append(Rescale(child.scale, child.offset, dtype=_numpy_dtype(torch, child, i)))
        elif kind is modules.RandomShift:
            layers.append(RandomShift(child.max_shift))
        elif kind in activations:
            after = f"module [{i - 1}] ({type(children[i - 1]).__name__})" if i else "nothing"
            raise TypeError(
                f"from_torch: expected module [{i}] ({kind.__name__}) right after a Linear or Conv2d, "
                f"whose activation it becomes, got it after {after}; neurolab applies activations "
                "only inside Dense and Conv2D layers"
            )
        else:
            raise TypeError(f"from_torch: expected one of {TORCH_MODULES}; got module [{i}] ({kind.__name__})")
        i += 1
    if not layers:
        raise ValueError("from_torch: expected at least one module that is a layer, got none")
    return NeuralNetwork(layers, loss)


def _torch_activations(nn) -> tuple:
    """The activation modules that fold into the Linear or Conv2d before them."""
    return (nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softmax, nn.Identity)


def _neurolab_activation(nn, module, i: int):
    kind = type(module)
    if kind is nn.Softmax:
        if module.dim not in (1, -1):
            raise TypeError(f"from_torch: expected Softmax(dim=1) at module [{i}], got dim={module.dim}")
        return "softmax"
    if kind is nn.LeakyReLU:
        return {"name": "leaky_relu", "negative_slope": float(module.negative_slope)}
    return {nn.ReLU: "relu", nn.Sigmoid: "sigmoid", nn.Tanh: "tanh", nn.Identity: "identity"}[kind]


def _weighted_layer(torch, module, activation, i: int) -> Layer:
    nn = torch.nn
    dtype = _numpy_dtype(torch, module.weight, i)
    if isinstance(module, nn.Linear):
        layer: Dense | Conv2D = Dense(module.in_features, module.out_features, activation, rng=0, dtype=dtype)
    else:
        _require(module, i, dilation=1, groups=1, padding_mode="zeros")
        if isinstance(module.padding, str) and module.padding != "valid":
            raise TypeError(
                f"from_torch: expected module [{i}] (Conv2d) to have padding given in pixels, got "
                f"padding={module.padding!r}; write the number of pixels, e.g. padding=k // 2"
            )
        padding = (0, 0) if module.padding == "valid" else tuple(module.padding)
        try:
            layer = Conv2D(module.in_channels, module.out_channels, tuple(module.kernel_size),
                           stride=tuple(module.stride), padding=padding, activation=activation, rng=0, dtype=dtype)
        except ValueError as error:  # softmax after a convolution
            raise TypeError(f"from_torch: module [{i + 1}] after the Conv2d at [{i}]: {error}") from None
    layer.weight.value = module.weight.detach().cpu().numpy()
    if module.bias is not None:
        layer.bias.value = module.bias.detach().cpu().numpy()
    return layer


def _numpy_dtype(torch, holder, i: int):
    """The NumPy dtype of ``holder.dtype`` (a weight tensor's, or Rescale's)."""
    dtype = {torch.float32: np.float32, torch.float64: np.float64}.get(holder.dtype)
    if dtype is None:
        raise TypeError(
            f"from_torch: expected float32 or float64, got {holder.dtype} in module [{i}]; "
            "convert the module with module.float() first"
        )
    return dtype


def _pair_of(value) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _require(module, i: int, **settings) -> None:
    """A TypeError unless each attribute of ``module`` has its value in ``settings`` (an int matches a tuple of it)."""
    for name, wanted in settings.items():
        got = getattr(module, name)
        same = all(g == wanted for g in got) if isinstance(got, tuple) and isinstance(wanted, int) else got == wanted
        if not same:
            raise TypeError(
                f"from_torch: expected module [{i}] ({type(module).__name__}) to have {name}={wanted!r} "
                f"(what neurolab computes), got {name}={got!r}"
            )


def _neurolab_loss(nn, loss):
    """``loss`` as what NeuralNetwork takes: a PyTorch loss becomes its neurolab name."""
    if not isinstance(loss, nn.Module):
        return loss
    names = {getattr(nn, cls): name for name, cls in TORCH_LOSSES.items()}
    name = names.get(type(loss))
    altered = (getattr(loss, "weight", None) is not None or getattr(loss, "pos_weight", None) is not None
               or getattr(loss, "label_smoothing", 0.0) != 0.0 or getattr(loss, "ignore_index", -100) != -100)
    if name is None or altered or loss.reduction != "mean":
        raise TypeError(
            f"from_torch: expected loss to be a neurolab loss name or one of "
            f"{sorted(TORCH_LOSSES.values())} with its defaults, got {loss!r}"
        )
    return name


# -- to ONNX ----------------------------------------------------------------------------------
def to_onnx(net: NeuralNetwork, path, *, input_shape=None) -> Path:
    """Write ``net`` as an ONNX model (inference: Dropout and RandomShift left out) to ``path``; return the path.

    The model has one input ``"input"`` of shape ``(N, *input_shape)`` and one output
    ``"output"`` ``(N, outputs)``, both of the network's float dtype, the batch size ``N``
    symbolic; each layer becomes the nodes of the table in this module's docstring (opset
    17). It passes ``onnx.checker.check_model`` and is written atomically: readers see the
    old file or the new one.

    Parameters
    ----------
    input_shape : int or tuple of int, optional
        One sample's shape; by default the flat rows that the first Dense or Reshape takes
        (behind any Rescale and Dropout), else ``net.input_shape`` (what ``fit`` saw). A
        network starting with Conv2D that has not been fitted needs it, e.g. ``(1, 28, 28)``.
    """
    onnx = _onnx("to_onnx")
    from onnx import TensorProto, helper, numpy_helper

    dtype = _check_network(net, "to_onnx")
    sample = _input_shape(net, input_shape)
    try:
        out, _ = _run(eval_copies(net.layers), np.zeros((1, *sample), dtype=dtype))
    except ValueError as error:
        raise ValueError(f"to_onnx: expected input_shape {sample} to fit the network, got: {error}") from None
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}[dtype]
    nodes: list = []  # onnx NodeProto, in the order they run
    weights: list = []  # onnx TensorProto initialisers

    def node(op: str, inputs: list, **attributes) -> str:
        output = f"{op.lower()}_{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(array: np.ndarray, name: str) -> str:
        weights.append(numpy_helper.from_array(np.asarray(array), name))
        return name

    x = "input"
    for i, layer in enumerate(net.layers):
        if isinstance(layer, Dense):
            w, b = constant(layer.weight.value, f"layers.{i}.weight"), constant(layer.bias.value, f"layers.{i}.bias")
            x = _onnx_activation(node, node("Gemm", [x, w, b], transB=1), layer.activation)  # Z = X @ W.T + b
        elif isinstance(layer, Conv2D):
            w, b = constant(layer.weight.value, f"layers.{i}.weight"), constant(layer.bias.value, f"layers.{i}.bias")
            (ph, pw) = layer.padding
            z = node("Conv", [x, w, b], kernel_shape=list(layer.kernel_size), strides=list(layer.stride),
                     pads=[ph, pw, ph, pw])
            x = _onnx_activation(node, z, layer.activation)
        elif isinstance(layer, MaxPool2D):
            x = node("MaxPool", [x], kernel_shape=list(layer.kernel_size), strides=list(layer.stride))
        elif isinstance(layer, Flatten):
            x = node("Flatten", [x], axis=1)
        elif isinstance(layer, Reshape):  # 0 keeps the input's size there: the batch
            x = node("Reshape", [x, constant(np.array([0, *layer.shape], dtype=np.int64), f"layers.{i}.shape")])
        elif isinstance(layer, Rescale):
            x = node("Mul", [x, constant(np.array(layer.scale, dtype=dtype), f"layers.{i}.scale")])
            if layer.offset:
                x = node("Add", [x, constant(np.array(layer.offset, dtype=dtype), f"layers.{i}.offset")])
        # Dropout and RandomShift do nothing at inference
    if x == "input":
        x = node("Identity", [x])
    nodes[-1].output[0] = "output"
    graph = helper.make_graph(
        nodes,
        "neurolab",
        [helper.make_tensor_value_info("input", elem, ["N", *sample])],
        [helper.make_tensor_value_info("output", elem, ["N", out.shape[1]])],
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ONNX_OPSET)], producer_name="neurolab")
    onnx.checker.check_model(model, full_check=True)
    path = Path(path)
    npz.write_atomically(path, lambda file: file.write(model.SerializeToString()), "to_onnx")
    return path


def _onnx_activation(node, z: str, activation) -> str:
    name = activation.name
    if name == "identity":
        return z
    if name == "leaky_relu":
        return node("LeakyRelu", [z], alpha=float(activation.negative_slope))
    if name == "softmax":
        return node("Softmax", [z], axis=1)
    return node({"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}[name], [z])


def _input_shape(net: NeuralNetwork, input_shape) -> tuple[int, ...]:
    if input_shape is None:
        input_shape = net.input_shape
        for layer in net.layers:  # the first layer that says it, behind layers that keep the shape
            if isinstance(layer, (Dense, Reshape)):
                input_shape = (layer.in_features,) if isinstance(layer, Dense) else (math.prod(layer.shape),)
            if not isinstance(layer, (Rescale, Dropout)):
                break
    if input_shape is None:
        raise ValueError(
            f"to_onnx: expected the shape of one input sample, got none: the first layer "
            f"({type(net.layers[0]).__name__}) does not say it and the network has not been fitted; "
            "pass input_shape, e.g. to_onnx(net, path, input_shape=(1, 28, 28))"
        )
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else input_shape
    if not isinstance(shape, (tuple, list)) or not shape or not all(
        isinstance(d, (int, np.integer)) and not isinstance(d, (bool, np.bool_)) and d >= 1 for d in shape
    ):
        raise ValueError(f"to_onnx: expected input_shape as an int or a tuple of positive ints such as (1, 28, 28), got {input_shape!r}")
    return tuple(int(d) for d in shape)
