"""Save and load networks without pickle: one ``.npz`` of arrays plus a JSON description.

The file holds

* ``__neurolab__``: a JSON document (stored as a string array) with the format name and
  version, each layer's class name and ``get_config()``, the loss, and the optimizer's
  class and settings;
* ``layers/<i>/<name>``: the value of parameter ``name`` of layer ``i``;
* ``optimizer/<j>/<key>``: the optimizer's state arrays for the ``j``-th parameter of
  ``network.parameters()``; with the states of the random generators (the shuffling one
  ``fit`` keeps, and a layer's ``rng`` such as Dropout's) in the description, training
  resumes exactly where it stopped.

It is written to a temporary file in the target directory and renamed over the target only
when complete, so an interrupted save leaves the previous file intact. It is read with
``numpy.load(allow_pickle=False)``: nothing in a file can run code. Layer classes are found
in a registry: built-in layers are registered, and your own with :func:`register_layer`.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from pathlib import Path

import numpy as np

from . import losses as _losses
from . import optim as _optim
from .layer import Dense, Dropout, Layer, Rescale
from .network import NeuralNetwork

FORMAT = "neurolab"
VERSION = 1
_META = "__neurolab__"

LAYERS: dict[str, type] = {}


class ModelFileError(ValueError):
    """A model file is not a readable neurolab model (its message names the path and the problem)."""


def register_layer(cls: type) -> type:
    """Register a Layer subclass so that saved networks containing it can be loaded.

    Use as a decorator. The class is stored under its name; it must rebuild itself from
    ``cls(**layer.get_config())``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise TypeError(f"register_layer: expected a subclass of neurolab.Layer, got {cls!r}")
    known = LAYERS.get(cls.__name__)
    if known is not None and known is not cls:
        raise ValueError(
            f"register_layer: expected a new layer name, got {cls.__name__!r}, already registered "
            f"for {known.__module__}.{known.__qualname__}"
        )
    LAYERS[cls.__name__] = cls
    return cls


for _cls in (Dense, Dropout, Rescale):
    register_layer(_cls)


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
    except (KeyError, TypeError, ValueError) as error:
        raise fail(f"an unreadable {name} generator state ({error})") from None
    return np.random.Generator(bit_generator)


def _describe(network) -> dict:
    optimizer = network.optimizer
    layers = []
    for layer in network.layers:
        spec = {"class": type(layer).__name__, "config": layer.get_config()}
        rng = _rng_state(getattr(layer, "rng", None))  # e.g. Dropout's masks continue where they were
        if rng is not None:
            spec["rng"] = rng
        layers.append(spec)
    return {
        "format": FORMAT,
        "version": VERSION,
        "layers": layers,
        "loss": type(network.loss).__name__,
        "optimizer": None if optimizer is None else {"class": type(optimizer).__name__, "config": optimizer.get_config()},
        "shuffle_rng": _rng_state(network.shuffle_rng),
    }


def save(network, path) -> Path:
    """Write ``network`` (architecture, parameters, optimizer state) to ``path`` atomically.

    Returns the path written. Its directory must exist. Unregistered layer classes are
    refused before anything is written.
    """
    path = Path(path)
    where = "NeuralNetwork.save"
    for i, layer in enumerate(network.layers):
        if LAYERS.get(type(layer).__name__) is not type(layer):
            raise TypeError(
                f"{where}: expected registered layer classes, got layers[{i}] of class "
                f"{type(layer).__qualname__}; decorate it with @neurolab.register_layer"
            )
    meta = _describe(network)
    try:
        text = json.dumps(meta)
    except TypeError as error:
        raise TypeError(f"{where}: expected JSON-serialisable layer configs, got {error}") from None
    arrays = {_META: np.array(text)}
    for i, layer in enumerate(network.layers):
        for name, p in layer.named_parameters():
            arrays[f"layers/{i}/{name}"] = p.value
    if network.optimizer is not None:
        for j, p in enumerate(network.parameters()):
            for key, value in network.optimizer.state.get(p, {}).items():
                arrays[f"optimizer/{j}/{key}"] = np.asarray(value)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"{where}: expected an existing directory for '{path}', got none at '{directory}'")
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as error:
        raise type(error)(f"{where}: expected a writable directory for '{path}', got {error}") from error
    try:
        with os.fdopen(fd, "wb") as file:
            np.savez(file, **arrays)
            file.flush()
            os.fsync(file.fileno())
        os.replace(tmp, path)  # atomic: readers see the old file or the new one, never half
    except BaseException as error:
        if os.path.exists(tmp):
            os.remove(tmp)
        if isinstance(error, OSError):
            raise type(error)(f"{where}: could not write '{path}' ({error}); the previous file is unchanged") from error
        raise
    return path


def load(path):
    """Read a network written by :func:`save` (``NeuralNetwork.save``).

    Raises
    ------
    ModelFileError
        If the file is not a neurolab model, is truncated or corrupt, comes from a newer
        version, names an unknown layer class, or holds missing, extra, mis-shaped or
        non-finite arrays. Nothing in the file is executed.
    FileNotFoundError
        If there is no file at ``path``.
    """
    path = Path(path)

    def fail(problem: str) -> ModelFileError:
        return ModelFileError(f"load: expected a neurolab model file at '{path}', got {problem}")

    if not path.is_file():
        raise FileNotFoundError(f"load: expected a neurolab model file at '{path}', got no such file")
    try:
        with open(path, "rb") as file:
            if not zipfile.is_zipfile(file):
                raise fail("a file that is not an .npz (zip) archive")
            file.seek(0)
            with np.load(file, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as error:
        raise fail(f"a file that is not a complete .npz archive ({type(error).__name__}: {error})") from None
    except ValueError as error:  # numpy refuses object arrays without pickle
        raise fail(f"an array that needs pickle to load, which is refused ({error})") from None
    if _META not in arrays:
        raise fail("an .npz without the neurolab description (not saved by neurolab)")
    try:
        meta = json.loads(str(arrays.pop(_META)))
    except ValueError as error:
        raise fail(f"an unreadable description ({error})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise fail("a description of another format")
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise fail(f"format version {version!r}, newer than this neurolab reads ({VERSION}); upgrade neurolab")

    layers = []
    for i, spec in enumerate(meta.get("layers") or []):
        name = spec.get("class") if isinstance(spec, dict) else None
        cls = LAYERS.get(name)
        if cls is None:
            raise fail(
                f"layers[{i}] of unknown class {name!r} (known: {sorted(LAYERS)}); if it is your "
                "own layer, import its module and decorate the class with @neurolab.register_layer"
            )
        try:
            layer = cls(**spec.get("config", {}))
        except (TypeError, ValueError) as error:
            raise fail(f"a config that {name} refuses for layers[{i}] ({error})") from None
        if spec.get("rng") is not None:
            layer.rng = _restore_rng(spec["rng"], fail)
        for pname, p in layer.named_parameters():
            key = f"layers/{i}/{pname}"
            if key not in arrays:
                raise fail(f"no array {key!r} for parameter {pname!r} of layers[{i}] ({name})")
            value = arrays.pop(key)
            if value.shape != p.value.shape or value.dtype != p.value.dtype:
                raise fail(
                    f"array {key!r} of shape {value.shape} and dtype {value.dtype}, where layers[{i}] "
                    f"({name}) needs shape {p.value.shape} and dtype {p.value.dtype}"
                )
            if not np.isfinite(value).all():
                raise fail(f"non-finite values in {key!r}")
            p.value[...] = value
        layers.append(layer)
    if not layers:
        raise fail("a description with no layers")
    try:
        network = NeuralNetwork(layers, _losses.get(_loss_name(meta.get("loss"))))
    except (TypeError, ValueError) as error:
        raise fail(f"an architecture neurolab refuses ({error})") from None

    if meta.get("shuffle_rng") is not None:
        network.shuffle_rng = _restore_rng(meta["shuffle_rng"], fail)
    optimizer_spec = meta.get("optimizer")
    if optimizer_spec is not None:
        network.optimizer = _load_optimizer(optimizer_spec, network, arrays, fail)
    if arrays:
        raise fail(f"unexpected arrays {sorted(arrays)[:5]}")
    return network


def _loss_name(class_name) -> str:
    for name, cls in _losses.LOSSES.items():
        if cls.__name__ == class_name:
            return name
    return str(class_name)


def _load_optimizer(spec, network, arrays, fail):
    cls = {cls.__name__: cls for cls in _optim.OPTIMIZERS.values()}.get(spec.get("class"))
    if cls is None:
        raise fail(f"an unknown optimizer class {spec.get('class')!r}")
    try:
        optimizer = cls(**spec.get("config", {}))
    except (TypeError, ValueError) as error:
        raise fail(f"optimizer settings {cls.__name__} refuses ({error})") from None
    params = network.parameters()
    for key in [k for k in arrays if k.startswith("optimizer/")]:
        _, index, name = key.split("/", 2)
        if not index.isdigit() or int(index) >= len(params):
            raise fail(f"optimizer state {key!r} for a parameter the network does not have")
        value = arrays.pop(key)
        p = params[int(index)]
        if value.ndim == 0 and value.dtype.kind in "iu":
            optimizer.state.setdefault(p, {})[name] = int(value)
        elif value.shape == p.value.shape and value.dtype == p.value.dtype:
            optimizer.state.setdefault(p, {})[name] = value.copy()
        else:
            raise fail(f"optimizer state {key!r} of shape {value.shape} for a parameter of shape {p.value.shape}")
    return optimizer
