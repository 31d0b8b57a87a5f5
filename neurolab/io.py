"""Save and load networks without pickle: one ``.npz`` of arrays plus a JSON description.

The file holds

* ``__neurolab__``: a JSON document (stored as a string array) with the format name and
  version, each layer's class name and ``get_config()``, the loss's and the optimizer's
  class and settings, and the input range ``fit`` saw;
* ``layers/<i>/<name>``: the value of parameter ``name`` of layer ``i``;
* ``optimizer/<j>/<key>``: the optimizer's state for the ``j``-th parameter of
  ``network.parameters()``; with the states of the random generators (the shuffling one
  ``fit`` keeps, and a layer's ``rng`` such as Dropout's) in the description, training
  resumes exactly where it stopped.

**Your own classes.** Layers, activations, losses and optimizers are stored by class (an
activation by its ``name``) and ``get_config()``, and rebuilt as ``cls(**config)``. Built-in
classes are registered; register your own with :func:`register`. ``save`` rebuilds the
network from what it is about to write, exactly as ``load`` will, and refuses, before
writing anything, when the result would differ (another class, settings, parameters,
optimizer state, or predictions on a probe batch): a file ``save`` writes loads back as
the same network.

**The container** is :mod:`neurolab.npz`: written beside the target and renamed over it only
when complete (an interrupted save leaves the previous file intact; the new file keeps the
permissions of the one it replaces), and read as untrusted input. Nothing in a file runs: the
arrays are read as plain numbers (no pickle), and the classes it names are looked up in the
registries. Before any array data is read or any layer built, the archive's table of
contents and each array's ``.npy`` header are checked (``npz.opened``), then the description
(size, nesting depth, the type of every field) and its agreement with the headers (a
``Dense`` layer's shape is the shape of its stored weight). Every refusal is a
:class:`ModelFileError` naming the file and the problem.
"""

from __future__ import annotations

import json
import re
from typing import Any, Callable
from pathlib import Path

import numpy as np

from . import activations as _activations
from . import npz
from . import losses as _losses
from . import optim as _optim
from .conv import Conv2D, Flatten, MaxPool2D, RandomShift, Reshape
from .layer import Dense, Dropout, Layer, Rescale
from .network import NeuralNetwork, eval_copies, _run

FORMAT = "neurolab"
VERSION = 2  # 2 added the loss's config and the input range; version 1 files still load
_META = "__neurolab__"

MAX_DESCRIPTION_CHARS = 1_000_000
MAX_DEPTH = 16  # nesting of the JSON description: a network's is 5 deep

LAYERS: dict[str, type] = {}


class ModelFileError(ValueError):
    """A model file is not a readable neurolab model (its message names the path and the problem)."""


# -- registration -------------------------------------------------------------------------
def register(cls: type) -> type:
    """Register your own Layer, Activation, Loss or Optimizer subclass, so that saved networks using it load.

    Use as a decorator. ``load`` finds a layer, loss or optimizer by its class name and an
    activation by its ``name`` attribute (which the class must set, as ``Dense`` stores
    activations by name), then calls ``cls(**obj.get_config())``: override ``get_config``
    when ``__init__`` takes arguments. Import the module that defines the class before
    calling ``load``.

    Raises
    ------
    TypeError
        If ``cls`` is not a subclass of one of the four base classes.
    ValueError
        If its name is taken by another class (or, for an activation or a loss, not set).
    """
    tables: tuple[tuple[type, dict[str, Any], Callable[[type], object], str], ...] = (
        (Layer, LAYERS, lambda c: c.__name__, "layer name"),
        (_activations.Activation, _activations.ACTIVATIONS, lambda c: c.__dict__.get("name"), "activation name"),
        (_losses.Loss, _losses.LOSSES, lambda c: c.__dict__.get("name"), "loss name"),
        (_optim.Optimizer, _optim.OPTIMIZERS, lambda c: c.__name__.lower(), "optimizer name"),
    )
    for base, table, key_of, what in tables:
        if isinstance(cls, type) and issubclass(cls, base) and cls is not base:
            key = key_of(cls)
            if not isinstance(key, str) or not key:
                raise ValueError(
                    f"register: expected {cls.__name__} to set its own name (a class attribute "
                    f"name = '...', used in saved files), got {getattr(cls, 'name', None)!r} from its base"
                )
            known = table.get(key)
            if known is not None and known is not cls:
                raise ValueError(
                    f"register: expected a new {what}, got {key!r}, already registered for "
                    f"{known.__module__}.{known.__qualname__}"
                )
            table[key] = cls
            return cls
    raise TypeError(
        "register: expected a subclass of neurolab.Layer, neurolab.activations.Activation, "
        f"neurolab.losses.Loss or neurolab.optim.Optimizer, got {cls!r}"
    )


def register_layer(cls: type) -> type:
    """Register a Layer subclass: :func:`register` restricted to layers (its earlier name)."""
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register_layer: expected a subclass of neurolab.Layer, got {cls!r}")
    return register(cls)


for _cls in (Dense, Dropout, Rescale, Conv2D, MaxPool2D, Flatten, Reshape, RandomShift):
    register(_cls)


def _registered(network) -> list[tuple[str, Any, dict[str, type], str]]:
    """Each object ``save`` stores by class, as (where, object, its registry, registry key)."""
    found = []
    for i, layer in enumerate(network.layers):
        found.append((f"layers[{i}]", layer, LAYERS, type(layer).__name__))
        activation = getattr(layer, "activation", None)
        if isinstance(activation, _activations.Activation):
            found.append((f"layers[{i}].activation", activation, _activations.ACTIVATIONS, activation.name))
    found.append(("the loss", network.loss, _losses.LOSSES, network.loss.name))
    if network.optimizer is not None:
        found.append(("the optimizer", network.optimizer, _optim.OPTIMIZERS, type(network.optimizer).__name__.lower()))
    return found


# -- random generators ----------------------------------------------------------------------
_BIT_GENERATORS = ("PCG64", "PCG64DXSM", "MT19937", "Philox", "SFC64")


def _rng_state(generator) -> dict | None:
    """A Generator's state as JSON data (arrays as lists), or None."""
    if not isinstance(generator, np.random.Generator):
        return None
    state = generator.bit_generator.state

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        return value.tolist() if isinstance(value, np.ndarray) else value

    return plain(state)


def _restore_rng(state, fail) -> np.random.Generator:
    name = state.get("bit_generator") if isinstance(state, dict) else None
    if name not in _BIT_GENERATORS:
        raise fail(f"a random generator state of unknown kind {name!r} (known: {list(_BIT_GENERATORS)})")
    bit_generator = getattr(np.random, name)()
    try:
        if name == "MT19937":
            state = {**state, "state": {**state["state"], "key": np.asarray(state["state"]["key"], dtype=np.uint32)}}
        bit_generator.state = state
    except Exception as error:  # numpy raises several kinds for a malformed state
        raise fail(f"an unreadable {name} generator state ({type(error).__name__}: {error})") from None
    return np.random.Generator(bit_generator)


# -- the description ------------------------------------------------------------------------
def _describe(network) -> dict:
    optimizer = network.optimizer
    layers = []
    for layer in network.layers:
        spec = {"class": type(layer).__name__, "config": layer.get_config()}
        rng = _rng_state(getattr(layer, "rng", None))  # e.g. Dropout's masks continue where they were
        if rng is not None:
            spec["rng"] = rng
        layers.append(spec)
    input_range = network.input_range
    return {
        "format": FORMAT,
        "version": VERSION,
        "layers": layers,
        "loss": {"class": type(network.loss).__name__, "config": network.loss.get_config()},
        "optimizer": None if optimizer is None else {"class": type(optimizer).__name__, "config": optimizer.get_config()},
        "shuffle_rng": _rng_state(network.shuffle_rng),
        "input_range": None if input_range is None else [float(v) for v in input_range],
        "input_shape": None if network.input_shape is None else list(network.input_shape),
    }


def _parse(text: str, fail) -> dict:
    """The description in ``text``, checked for size, nesting and the type of each field."""
    if len(text) > MAX_DESCRIPTION_CHARS:
        raise fail(f"a description of {len(text):,} characters (at most {MAX_DESCRIPTION_CHARS:,} are read)")
    depth = _depth(text)
    if depth > MAX_DEPTH:
        raise fail(f"a description nested {depth} levels deep (at most {MAX_DEPTH})")

    def no_constants(name):
        raise ValueError(f"{name} is not a number JSON allows")

    try:
        meta = json.loads(text, parse_constant=no_constants)
    except ValueError as error:
        raise fail(f"an unreadable description ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise fail("a description of another format")
    version = meta.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail(f"a description with format version {version!r} (expected an int from 1)")
    if version > VERSION:
        raise fail(f"format version {version!r}, newer than this neurolab reads ({VERSION}); upgrade neurolab")

    def field(obj, key, kinds, where, default=None, required=False):
        if key not in obj:
            if required:
                raise fail(f"a description without {where}")
            return default
        value = obj[key]
        if not isinstance(value, kinds) or isinstance(value, bool) and bool not in kinds:
            names = " or ".join("null" if k is type(None) else {dict: "an object", list: "a list", str: "a string"}.get(k, k.__name__) for k in kinds)
            raise fail(f"{where} of type {type(value).__name__}, where {names} belongs")
        return value

    layers = field(meta, "layers", (list,), "the layer list", required=True)
    if not layers:
        raise fail("a description with no layers")
    for i, spec in enumerate(layers):
        if not isinstance(spec, dict):
            raise fail(f"layers[{i}] of type {type(spec).__name__}, where an object belongs")
        field(spec, "class", (str,), f"the class of layers[{i}]", required=True)
        field(spec, "config", (dict,), f"the config of layers[{i}]")
        field(spec, "rng", (dict, type(None)), f"the rng state of layers[{i}]")
    loss = meta.get("loss")
    if isinstance(loss, str):  # version 1: the class name alone
        meta["loss"] = loss = {"class": loss, "config": {}}
    field(meta, "loss", (dict,), "the loss", required=True)
    field(loss, "class", (str,), "the loss's class", required=True)
    field(loss, "config", (dict,), "the loss's config")
    optimizer = field(meta, "optimizer", (dict, type(None)), "the optimizer")
    if optimizer is not None:
        field(optimizer, "class", (str,), "the optimizer's class", required=True)
        field(optimizer, "config", (dict,), "the optimizer's config")
    field(meta, "shuffle_rng", (dict, type(None)), "the shuffling rng state")
    field(meta, "input_range", (list, type(None)), "the input range")  # its numbers: checked by NeuralNetwork.input_range
    field(meta, "input_shape", (list, type(None)), "the input shape")  # its sizes: checked by NeuralNetwork.input_shape
    return meta


def _depth(text: str) -> int:
    """How deeply the JSON ``text`` nests lists and objects (without parsing it)."""
    depth = deepest = 0
    for match in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):  # strings are skipped whole
        token = match.group()
        if token in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif token in "]}":
            depth -= 1
    return deepest


# -- building a network from a description and its arrays ---------------------------------
def _build(meta: dict, arrays: npz.Arrays, fail) -> NeuralNetwork:
    """The network that ``meta`` and ``arrays`` describe; ``fail(problem)`` makes the error to raise."""
    layers = [_build_layer(i, spec, arrays, fail) for i, spec in enumerate(meta["layers"])]
    loss = _build_object(meta["loss"], _losses.LOSSES, "the loss", fail)
    try:
        network = NeuralNetwork(layers, loss)
    except (TypeError, ValueError) as error:
        raise fail(f"an architecture neurolab refuses ({error})") from None
    if meta.get("shuffle_rng") is not None:
        network.shuffle_rng = _restore_rng(meta["shuffle_rng"], fail)
    if meta.get("input_range") is not None:
        try:
            network.input_range = meta["input_range"]
        except (TypeError, ValueError):
            raise fail(f"an input range {meta['input_range']!r} (expected [low, high], finite numbers with low <= high)") from None
    if meta.get("input_shape") is not None:
        try:
            network.input_shape = meta["input_shape"]
        except ValueError:
            raise fail(f"an input shape {meta['input_shape']!r} (expected 1 to 8 sizes from 1 to 2**31)") from None
    if meta.get("optimizer") is not None:
        network.optimizer = _build_optimizer(meta["optimizer"], network, arrays, fail)
    if arrays.headers:
        raise fail(f"unexpected arrays {sorted(arrays.headers)[:5]}")
    return network


def _build_object(spec: dict, table: dict, what: str, fail):
    """An instance of the class that ``spec`` names (a loss or an optimizer), from its config."""
    cls = {c.__name__: c for c in table.values()}.get(spec["class"])
    if cls is None:
        known = sorted(c.__name__ for c in table.values())
        raise fail(
            f"{what} of unknown class {spec['class']!r} (known: {known}); if it is your own, import "
            "its module and decorate the class with @neurolab.register"
        )
    try:
        return cls(**spec.get("config", {}))
    except Exception as error:  # a registered class's __init__ may raise anything on bad settings
        raise fail(f"settings that {cls.__name__} refuses for {what} ({type(error).__name__}: {error})") from None


def _build_layer(i: int, spec: dict, arrays: npz.Arrays, fail) -> Layer:
    name = spec["class"]
    cls = LAYERS.get(name)
    if cls is None:
        raise fail(
            f"layers[{i}] of unknown class {name!r} (known: {sorted(LAYERS)}); if it is your "
            "own layer, import its module and decorate the class with @neurolab.register"
        )
    stored = {key.split("/", 2)[2]: header for key, header in arrays.headers.items() if key.startswith(f"layers/{i}/")}
    config = spec.get("config", {})
    if issubclass(cls, (Dense, Conv2D)):
        _check_sizes(i, cls, config, stored, fail)  # before building: the config decides what it allocates
    try:
        layer = cls(**config)
    except Exception as error:  # a registered class's __init__ may raise anything on bad settings
        raise fail(f"a config that {name} refuses for layers[{i}] ({type(error).__name__}: {error})") from None
    if spec.get("rng") is not None:
        if not isinstance(getattr(layer, "rng", None), np.random.Generator):
            raise fail(f"a random generator state for layers[{i}] ({name}), which has none")
        layer.rng = _restore_rng(spec["rng"], fail)
    for pname, p in layer.named_parameters():
        key = f"layers/{i}/{pname}"
        if key not in arrays.headers:
            raise fail(f"no array {key!r} for parameter {pname!r} of layers[{i}] ({name})")
        shape, dtype = arrays.headers[key]
        if shape != p.value.shape or dtype != p.value.dtype:
            raise fail(
                f"array {key!r} of shape {shape} and dtype {dtype}, where layers[{i}] "
                f"({name}) needs shape {p.value.shape} and dtype {p.value.dtype}"
            )
        value = arrays.read(key)
        if not np.isfinite(value).all():
            raise fail(f"non-finite values in {key!r}")
        p.value[...] = value
    return layer


def _check_sizes(i: int, cls: type, config: dict, stored: dict, fail) -> None:
    """Refuse a Dense or Conv2D config whose sizes are not those of the weight and bias stored for it."""
    shapes = _expected_shapes(cls, config)
    if shapes is None:
        return  # the class itself refuses the config, with its own message
    described = f"{cls.__name__}({', '.join(str(config[k]) for k in shapes['_keys'])})"
    for pname in ("weight", "bias"):
        if pname not in stored:
            raise fail(f"no array 'layers/{i}/{pname}' for parameter {pname!r} of layers[{i}] ({cls.__name__})")
        if stored[pname][0] != shapes[pname]:
            raise fail(
                f"array 'layers/{i}/{pname}' of shape {stored[pname][0]}, where layers[{i}] "
                f"({described}) needs shape {shapes[pname]}"
            )


def _expected_shapes(cls: type, config: dict) -> dict | None:
    """The weight and bias shapes a Dense or Conv2D ``config`` allocates; None for a malformed config."""
    def size(value) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    if issubclass(cls, Dense):
        n_in, n_out = config.get("in_features"), config.get("out_features")
        if not (size(n_in) and size(n_out)):
            return None
        return {"weight": (n_out, n_in), "bias": (n_out,), "_keys": ("in_features", "out_features")}
    c_in, c_out, kernel = config.get("in_channels"), config.get("out_channels"), config.get("kernel_size")
    kernel = [kernel, kernel] if size(kernel) else kernel
    if not (size(c_in) and size(c_out) and isinstance(kernel, list) and len(kernel) == 2 and all(map(size, kernel))):
        return None
    return {"weight": (c_out, c_in, *kernel), "bias": (c_out,), "_keys": ("in_channels", "out_channels", "kernel_size")}


def _build_optimizer(spec: dict, network: NeuralNetwork, arrays: npz.Arrays, fail):
    optimizer = _build_object(spec, _optim.OPTIMIZERS, "the optimizer", fail)
    params = network.parameters()
    for key in [k for k in arrays.headers if k.startswith("optimizer/")]:
        parts = key.split("/")
        if len(parts) != 3 or not parts[1].isdigit() or int(parts[1]) >= len(params):
            raise fail(f"optimizer state {key!r} for a parameter the network does not have")
        p = params[int(parts[1])]
        shape, dtype = arrays.headers[key]
        if shape == () and dtype.kind in "iu":
            optimizer.state.setdefault(p, {})[parts[2]] = int(arrays.read(key))
        elif shape == p.value.shape and dtype == p.value.dtype:
            optimizer.state.setdefault(p, {})[parts[2]] = arrays.read(key)
        else:
            raise fail(
                f"optimizer state {key!r} of shape {shape} and dtype {dtype}, for a parameter of "
                f"shape {p.value.shape} and dtype {p.value.dtype}"
            )
    for j, p in enumerate(params):
        try:
            optimizer.check_state(p, optimizer.state.get(p, {}))
        except ValueError as error:
            raise fail(f"optimizer state for parameter {j} that {type(optimizer).__name__} cannot resume from: {error}") from None
    # step() updates every parameter together: their states have the same keys and counters
    first = optimizer.state.get(params[0], {}) if params else {}
    for j, p in enumerate(params[1:], start=1):
        state = optimizer.state.get(p, {})
        if sorted(state) != sorted(first):
            raise fail(
                f"optimizer state {sorted(first)} for parameter 0 but {sorted(state)} for parameter {j} "
                "(step() updates all parameters together)"
            )
        for key, value in state.items():
            if isinstance(value, int) and value != first[key]:
                raise fail(
                    f"optimizer state {key!r} = {first[key]} for parameter 0 but {value} for parameter {j} "
                    "(step() updates all parameters together)"
                )
    return optimizer


# -- save -----------------------------------------------------------------------------------
def save(network, path) -> Path:
    """Write ``network`` (architecture, parameters, optimizer state) to ``path`` atomically.

    Returns the path written. Its directory must exist.

    Raises
    ------
    TypeError
        If a layer, activation, loss or optimizer is of a class that is not registered, or a
        config is not JSON. Nothing is written.
    ValueError
        If the network that ``load`` would rebuild from the file differs from ``network``
        (usually a ``get_config`` that misses an ``__init__`` argument). Nothing is written.
    OSError
        If the file cannot be written; the previous file at ``path`` is then unchanged.
    """
    path = Path(path)
    where = "NeuralNetwork.save"
    for what, obj, table, key in _registered(network):
        if table.get(key) is not type(obj):
            raise TypeError(
                f"{where}: expected registered classes, got {what} of class {type(obj).__qualname__} "
                f"(registered under {key!r}: {table.get(key)!r}); decorate the class with @neurolab.register"
            )
    meta = _describe(network)
    try:
        text = json.dumps(meta, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise TypeError(f"{where}: expected JSON-serialisable configs of finite numbers, got {error}") from None
    arrays = {_META: np.array(text)}
    for i, layer in enumerate(network.layers):
        for name, p in layer.named_parameters():
            arrays[f"layers/{i}/{name}"] = p.value
    if network.optimizer is not None:
        for j, p in enumerate(network.parameters()):
            for key, value in network.optimizer.state.get(p, {}).items():
                arrays[f"optimizer/{j}/{key}"] = np.asarray(value)
    _check_round_trip(network, text, arrays, where)

    npz.write(path, arrays, where)
    return path


def _check_round_trip(network, text: str, arrays: dict, where: str) -> None:
    """Rebuild ``network`` from what save is about to write, as ``load`` would; refuse any difference."""

    def fail(problem: str) -> ValueError:
        return ValueError(
            f"{where}: expected a network that load rebuilds as it is, got {problem}; nothing was "
            "written (each class's get_config() returns its __init__ arguments: see "
            "docs/custom_layers.md, 'Saving and loading')"
        )

    rebuilt = _build(_parse(text, fail), npz.Arrays.in_memory({k: v for k, v in arrays.items() if k != _META}), fail)
    again = json.loads(json.dumps(_describe(rebuilt), allow_nan=False))
    described = json.loads(text)
    for i, (old, new) in enumerate(zip(described["layers"], again["layers"])):
        if old != new:
            raise fail(
                f"layers[{i}] ({old['class']}) rebuilt from get_config() {old['config']} with "
                f"get_config() {new['config']}; its get_config() must return every __init__ argument"
            )
    for key in ("loss", "optimizer"):
        if described[key] != again[key]:
            raise fail(f"{key} {described[key]} rebuilt as {again[key]}; its get_config() must return every __init__ argument")
    for what, obj, _, _ in _registered(network):
        copy = _counterpart(rebuilt, what)
        for name, value in _settings(obj).items():
            if name in _settings(copy) and _settings(copy)[name] != value:
                raise fail(
                    f"{what} ({type(obj).__name__}) with {name}={value!r} rebuilt with {name}="
                    f"{_settings(copy)[name]!r}; its get_config() must return {name!r}"
                )
    probe = _probe(network)
    if probe is not None:
        try:
            expected = network.loss.output(_run(eval_copies(network.layers), probe)[0])
        except Exception:
            return  # the network cannot take the probe batch: nothing to compare on
        got = rebuilt.loss.output(_run(eval_copies(rebuilt.layers), probe)[0])
        if not np.array_equal(expected, got, equal_nan=True):
            worst = int(np.argmax(np.nanmax(np.abs(expected - got), axis=1)))
            raise fail(
                f"other outputs on a probe batch (row {worst}: {expected[worst]} before, "
                f"{got[worst]} after); a layer keeps state outside its parameters and get_config()"
            )


def _counterpart(rebuilt, what: str):
    """The object of ``rebuilt`` at the place ``what`` (as :func:`_registered` names it)."""
    for name, obj, _, _ in _registered(rebuilt):
        if name == what:
            return obj
    return None


def _settings(obj) -> dict:
    """An object's plain settings: its attributes that are numbers, strings, or tuples of them."""
    plain = (bool, int, float, str, type(None))
    return {
        name: value for name, value in vars(obj).items()
        if name != "training" and (isinstance(value, plain) or isinstance(value, tuple) and all(isinstance(v, plain) for v in value))
    }


def _probe(network) -> np.ndarray | None:
    """A fixed batch of 8 inputs for ``network`` (in its recorded input range), or None if its width is unknown."""
    sample = network._sample_shape()
    if sample is None:
        return None
    low, high = network.input_range or (-1.0, 1.0)
    dtype = next((p.value.dtype for p in network.parameters()), np.dtype(np.float32))
    return np.random.default_rng(0).uniform(low, high, (8, *sample)).astype(dtype)


# -- load -----------------------------------------------------------------------------------
def load(path, *, max_bytes: int = npz.MAX_BYTES) -> NeuralNetwork:
    """Read a network written by :func:`save` (``NeuralNetwork.save``).

    Parameters
    ----------
    path : str or Path
    max_bytes : int
        The most the file's arrays may hold together (default 2 GiB): a file declaring more
        is refused before anything is read.

    Raises
    ------
    ModelFileError
        If the file is not a neurolab model, is truncated or corrupt, comes from a newer
        version, names an unknown class, is larger than ``max_bytes``, or holds missing,
        extra, mis-shaped or non-finite arrays, or optimizer state it could not have made.
        Nothing in the file is executed.
    FileNotFoundError
        If there is no file at ``path``.
    """
    path = Path(path)

    def fail(problem: str) -> ModelFileError:
        return ModelFileError(f"load: expected a neurolab model file at '{path}', got {problem}")

    if not path.is_file():
        raise FileNotFoundError(f"load: expected a neurolab model file at '{path}', got no such file")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise ValueError(f"load: expected max_bytes to be a positive int, got {max_bytes!r}")
    try:
        with npz.opened(path, max_bytes, fail) as arrays:
            return _build(_parse(_description(arrays, fail), fail), arrays, fail)
    except ModelFileError:
        raise
    except npz.DAMAGE as error:
        raise fail(f"a file that is not a complete .npz archive ({type(error).__name__}: {error})") from None
    except Exception as error:  # a last guard, so that a refusal is always a ModelFileError: the checks above come first
        raise fail(f"a file neurolab cannot read ({type(error).__name__}: {error})") from error


def _description(arrays: npz.Arrays, fail) -> str:
    """The text of the description member, checked to be one string of a bounded length."""
    if _META not in arrays.headers:
        raise fail("an .npz without the neurolab description (not saved by neurolab)")
    shape, dtype = arrays.headers[_META]
    if dtype.kind != "U" or shape != () or dtype.itemsize > 4 * MAX_DESCRIPTION_CHARS:
        raise fail(f"a description stored as {dtype} of shape {shape} (expected one string of at most {MAX_DESCRIPTION_CHARS:,} characters)")
    return str(arrays.read(_META)[()])
