"""The ``neurolab`` command (also ``python -m neurolab``): one subcommand per tool.

    neurolab lab MODEL.npz [--port 8765] [--host 127.0.0.1] [--no-browser] [--data-dir DIR]

A subcommand is a pair of functions: ``add_<name>(commands)`` declares its arguments on the
subparsers, and the ``run`` it sets as a default does the work and returns the exit status.
A mistake of the user's (a missing file, a port in use) is a :class:`UserError`: one line
on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

import argparse
import errno
import sys
import threading
import warnings

import numpy as np


class UserError(Exception):
    """Something the user can fix; its message is printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurolab", description="neurolab's command-line tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_lab(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except UserError as error:
        print(f"neurolab {args.command}: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the command got going (e.g. while loading data)
        print(f"neurolab {args.command}: interrupted", file=sys.stderr)
        return 130


# -- neurolab lab ---------------------------------------------------------------------------
def add_lab(commands) -> None:
    lab = commands.add_parser(
        "lab",
        help="serve the lab page for a saved model",
        description=(
            "Serve the lab page for a saved model: draw a digit and watch every neuron, click one "
            "for its backpropagation, train from the page. MNIST (from --data-dir, $NEUROLAB_DATA "
            "or the cache) gives the test samples and the training set, when the model takes it."
        ),
    )
    lab.add_argument("model", metavar="MODEL.npz", help="a model saved with net.save (or examples/mnist.py)")
    lab.add_argument("--port", type=int, default=8765, help="port to serve on; 0 picks a free one (default 8765)")
    lab.add_argument(
        "--host", default="127.0.0.1",
        help="address to bind (default 127.0.0.1, this machine only; any other exposes the model)",
    )
    lab.add_argument("--no-browser", action="store_true", help="do not open the page in a web browser")
    lab.add_argument("--data-dir", help="directory holding MNIST (default: $NEUROLAB_DATA, then the cache)")
    lab.set_defaults(run=run_lab)


def run_lab(args) -> int:
    """Load the model and MNIST, serve until Ctrl-C, return 0."""
    import neurolab as nl
    from neurolab.lab import serve

    try:
        net = nl.load(args.model)
    except (OSError, ValueError) as error:  # FileNotFoundError, ModelFileError
        raise UserError(f"cannot load the model: {error}") from None
    data, train_data, note = _mnist_for(net, args.data_dir)
    print(note)
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        try:
            lab = serve(net, port=args.port, host=args.host, data=data, train_data=train_data,
                        open_browser=not args.no_browser)
        except OSError as error:
            raise UserError(_bind_problem(error, args.host, args.port)) from None
        except (TypeError, ValueError) as error:  # a network the lab cannot show
            raise UserError(f"cannot serve this model: {error}") from None
    for warning in warned:
        print(f"neurolab lab: {warning.message}", file=sys.stderr)
    print(f"serving {lab.url.rstrip('/')} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()  # until Ctrl-C
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        lab.close()
    return 0


def _mnist_for(net, data_dir):
    """``(data, train_data, note)``: MNIST's test and training sets as the network takes them, or None and why not."""
    import neurolab as nl
    from neurolab.lab import model

    without = "serving without samples or training"
    try:
        (x_train, y_train), (x_test, y_test) = nl.datasets.load_mnist(data_dir, download=False, progress=False)
    except (OSError, ValueError) as error:  # DatasetNotFoundError, DatasetError
        if data_dir is not None:
            raise UserError(f"cannot load MNIST from --data-dir: {error}") from None
        return None, None, f"no MNIST found (set NEUROLAB_DATA or pass --data-dir): {without}"
    try:
        shape = model.input_shape(net, None, "neurolab lab")
        if not model.is_image(shape):
            takes = f"{shape[0]} inputs" if len(shape) == 1 else f"inputs of shape {shape}"
            return None, None, f"this model takes {takes}, not MNIST's {model.PIXELS} pixels: {without}"
        net.loss.check_target(y_test, model.layer_shapes(net, shape)[-1][0], len(y_test))
    except (TypeError, ValueError) as error:
        return None, None, f"MNIST does not fit this model ({error}): {without}"
    low, high, _ = model.pixel_range(net)
    if (low, high) != (0.0, 255.0):  # the model takes scaled pixels: scale MNIST as it was in training
        dtype = net.parameters()[0].dtype if net.parameters() else np.float32
        x_train, x_test = _scaled(net, x_train, dtype), _scaled(net, x_test, dtype)
    # as one sample of the model: a flat row, or (1, 28, 28) for a Conv2D first (a view, no copy)
    x_train, x_test = x_train.reshape(len(x_train), *shape), x_test.reshape(len(x_test), *shape)
    note = f"samples: MNIST's {len(x_test):,} test images; training: its {len(x_train):,} training images"
    return (x_test, y_test), (x_train, y_train), note


def _scaled(net, pixels, dtype):
    """``model.pixels_to_inputs`` of every row, in ``dtype``, in pieces (all 60,000 images in float64 take 376 MB)."""
    from neurolab.lab import model

    inputs = np.empty(pixels.shape, dtype)
    for start in range(0, len(pixels), 10_000):
        inputs[start : start + 10_000] = model.pixels_to_inputs(net, pixels[start : start + 10_000])
    return inputs


def _bind_problem(error: OSError, host: str, port: int) -> str:
    if error.errno == errno.EADDRINUSE:
        return f"port {port} on {host} is in use; pick another with --port (0 picks a free one)"
    if error.errno == errno.EACCES:
        return f"no permission to serve on port {port} of {host}; pick a port above 1023 with --port"
    return f"cannot serve on {host}:{port}: {error.strerror or error}"
