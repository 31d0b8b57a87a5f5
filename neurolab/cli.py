"""The ``neurolab`` command (also ``python -m neurolab``): one subcommand per tool.

    neurolab summary  MODEL.npz
    neurolab evaluate MODEL.npz [--data-dir DIR | --csv FILE --label-column NAME]
    neurolab predict  MODEL.npz IMAGE.png|PIXELS.npy ...
    neurolab explain  MODEL.npz --layer L --neuron I --sample K [--data-dir DIR]
    neurolab train    [--preset default|augment|nielsen|3b1b] [--data-dir DIR | --csv FILE --label-column NAME]
                      [--epochs N] [--save MODEL.npz] ...
    neurolab export   MODEL.npz --to torch|onnx OUT
    neurolab lab      MODEL.npz [--port 8765] [--host 127.0.0.1] [--no-browser] [--data-dir DIR]

A subcommand is a pair of functions: ``add_<name>(commands)`` declares its arguments on the
subparsers, and the ``run`` it sets as a default does the work and returns the exit status.
A mistake of the user's (a missing file, a port in use) is a :class:`UserError`: one line
on stderr and exit status 1, never a traceback.

Exit status:

    0    success
    1    a user error (a missing or bad file, an index out of range, a missing extra): one line on stderr
    2    a usage error: an unknown option or a missing argument (argparse prints the usage)
    130  interrupted with Ctrl-C
"""

from __future__ import annotations

import argparse
import errno
import os
import sys
import threading
import warnings

import numpy as np


class UserError(Exception):
    """Something the user can fix; its message is printed as one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neurolab", description="neurolab's command-line tools.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (add_summary, add_evaluate, add_predict, add_explain, add_train, add_export, add_lab):
        add(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():  # a warning as one line, like an error (restored on return)
            warnings.showwarning = lambda message, *_: print(f"neurolab {args.command}: warning: {message}", file=sys.stderr)
            return args.run(args)
    except UserError as error:
        print(f"neurolab {args.command}: {error}", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (| head): stop quietly, as the docs of ``signal`` advise
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:  # Ctrl-C before the command got going (e.g. while loading data)
        print(f"neurolab {args.command}: interrupted", file=sys.stderr)
        return 130


# -- shared by the subcommands --------------------------------------------------------------
def _load_model(path: str):
    """The network saved at ``path``, or a UserError saying why not."""
    import neurolab as nl

    try:
        return nl.load(path)
    except (OSError, ValueError) as error:  # FileNotFoundError, ModelFileError
        raise UserError(f"cannot load the model: {error}") from None


def _add_data_options(parser, *, csv: bool = True) -> None:
    parser.add_argument("--data-dir", metavar="DIR",
                        help="directory holding MNIST's IDX files (default: $NEUROLAB_DATA, then the cache)")
    if csv:
        parser.add_argument("--csv", metavar="FILE", help="a CSV file with a header row instead of MNIST: "
                            "one column of class labels (--label-column), every other column a feature")
        parser.add_argument("--label-column", metavar="NAME", help="the CSV column holding the labels (with --csv)")


def _csv_data(args):
    """``(X, y)`` from ``--csv`` and ``--label-column``, or a UserError."""
    import neurolab as nl

    if args.data_dir is not None:
        raise UserError("expected --data-dir or --csv, got both; pick one")
    if not args.label_column:
        raise UserError("--csv: expected --label-column NAME as well, naming the column of labels")
    try:
        return nl.datasets.load_csv(args.csv, args.label_column)
    except (OSError, ValueError) as error:
        raise UserError(f"cannot read the CSV: {error}") from None


def _mnist(data_dir):
    """MNIST as ``((x_train, y_train), (x_test, y_test))`` of raw pixels, or a UserError saying where to put it."""
    import neurolab as nl

    try:
        return nl.datasets.load_mnist(data_dir, download=False, progress=False)
    except (OSError, ValueError) as error:  # DatasetNotFoundError, DatasetError
        if data_dir is not None:
            raise UserError(f"cannot load MNIST from --data-dir: {error}") from None
        raise UserError(
            "no MNIST found: pass --data-dir DIR or set NEUROLAB_DATA to a directory of MNIST's IDX files "
            "(neurolab.datasets.download_mnist(DIR) downloads them)"
        ) from None


def _pixels_as_inputs(net, pixels: np.ndarray) -> np.ndarray:
    """MNIST-like pixel rows ``(N, 784)`` as the network takes them: scaled as in its training, shaped as one sample."""
    from neurolab.lab import model

    try:
        shape = model.input_shape(net, None, "neurolab")
    except (TypeError, ValueError) as error:
        raise UserError(f"cannot tell what this model takes: {error}") from None
    if int(np.prod(shape)) != model.PIXELS:
        raise UserError(f"this model takes inputs of shape {shape}, not a 28x28 image's {model.PIXELS} pixels")
    low, high, _ = model.pixel_range(net)
    if (low, high) != (0.0, 255.0):  # the model takes scaled pixels: scale them as in its training
        dtype = net.parameters()[0].dtype if net.parameters() else np.float32
        pixels = model.pixels_to_inputs(net, pixels).astype(dtype)
    return pixels.reshape(len(pixels), *shape)


def _features_as_inputs(net, x: np.ndarray, source: str) -> np.ndarray:
    """A CSV's feature rows ``(N, features)`` shaped as one sample of the network, or a UserError if they do not fit."""
    from neurolab.lab import model

    try:
        shape = model.input_shape(net, None, "neurolab")
    except (TypeError, ValueError) as error:
        raise UserError(f"cannot tell what this model takes: {error}") from None
    if int(np.prod(shape)) != x.shape[1]:
        raise UserError(f"this model takes {int(np.prod(shape))} inputs, got {x.shape[1]} feature columns in {source}")
    dtype = net.parameters()[0].dtype if net.parameters() else np.float64
    return x.astype(dtype).reshape(len(x), *shape)


def _checked_call(what: str, function, *arguments):
    """``function(*arguments)``, a ValueError or TypeError of the library's (a shape that does not fit) as a UserError."""
    try:
        return function(*arguments)
    except (TypeError, ValueError, IndexError) as error:
        raise UserError(f"{what}: {error}") from None


# -- neurolab summary -----------------------------------------------------------------------
def add_summary(commands) -> None:
    summary = commands.add_parser(
        "summary", help="print a saved model's layers, output shapes and parameter counts",
        description="Print each layer of a saved model with its output shape and parameter count (net.summary()).",
    )
    summary.add_argument("model", metavar="MODEL.npz", help="a model saved with net.save")
    summary.set_defaults(run=run_summary)


def run_summary(args) -> int:
    net = _load_model(args.model)
    net.summary()
    return 0


# -- neurolab evaluate ----------------------------------------------------------------------
def add_evaluate(commands) -> None:
    evaluate = commands.add_parser(
        "evaluate", help="loss and accuracy of a saved model on MNIST's test set or a CSV",
        description="Print a saved model's loss and accuracy on MNIST's 10,000 test images (from --data-dir, "
        "$NEUROLAB_DATA or the cache), or on the rows of a CSV file.",
    )
    evaluate.add_argument("model", metavar="MODEL.npz", help="a model saved with net.save")
    _add_data_options(evaluate)
    evaluate.set_defaults(run=run_evaluate)


def run_evaluate(args) -> int:
    net = _load_model(args.model)
    if args.csv is not None:
        x, y = _csv_data(args)
        x = _features_as_inputs(net, x, args.csv)
        what = f"the {len(x):,} rows of {args.csv}"
    else:
        if args.label_column is not None:
            raise UserError("--label-column: expected --csv FILE as well")
        (_, _), (x_test, y) = _mnist(args.data_dir)
        x = _pixels_as_inputs(net, x_test)
        what = f"MNIST's {len(x):,} test images"
    scores = _checked_call("cannot evaluate the model on this data", net.evaluate, x, y)
    print(f"loss {scores['loss']:.4f}  accuracy {scores['accuracy']:.2%}  on {what}")
    return 0


# -- neurolab predict -----------------------------------------------------------------------
def add_predict(commands) -> None:
    predict = commands.add_parser(
        "predict", help="the digit a saved model reads in each image",
        description="Print one line per image, PATH: LABEL (p=0.97). A PNG (or any image Pillow reads; "
        "pip install neurolab-nn[image]) is made grayscale and 28x28, a dark digit on a light background "
        "inverted to MNIST's white on black; a .npy file holds 784 pixels 0-255 (shape (784,) or (28, 28)).",
    )
    predict.add_argument("model", metavar="MODEL.npz", help="a model saved with net.save")
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="image files (.png, ...) or .npy arrays of pixels")
    predict.set_defaults(run=run_predict)


def run_predict(args) -> int:
    net = _load_model(args.model)
    rows = np.concatenate([_read_pixels(path) for path in args.images])
    probabilities = _checked_call("cannot run the model on these images", net.predict_proba, _pixels_as_inputs(net, rows))
    for path, p in zip(args.images, probabilities):
        if len(p) == 1:  # one sigmoid output: the probability of class 1
            label, confidence = int(p[0] >= 0.5), max(p[0], 1 - p[0])
        else:
            label, confidence = int(p.argmax()), p.max()
        print(f"{path}: {label} (p={confidence:.2f})")
    return 0


def _read_pixels(path: str) -> np.ndarray:
    """One image file or ``.npy`` array as a row ``(1, 784)`` of pixels 0-255."""
    import neurolab as nl

    if not os.path.isfile(path):
        raise UserError(f"{path}: no such file")
    if path.lower().endswith(".npy"):
        try:
            pixels = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as error:
            raise UserError(f"{path}: expected a NumPy .npy file of pixels, got one NumPy cannot read ({error})") from None
        if pixels.dtype.kind not in "biuf" or pixels.size != 784 or pixels.shape not in ((784,), (1, 784), (28, 28), (1, 28, 28)):
            raise UserError(f"{path}: expected 784 pixels of shape (784,) or (28, 28), got {pixels.dtype} of shape {pixels.shape}")
        if not np.isfinite(pixels).all() or pixels.min() < 0 or pixels.max() > 255:
            raise UserError(f"{path}: expected pixels from 0 to 255, got values from {pixels.min():g} to {pixels.max():g}")
        return pixels.reshape(1, 784)
    try:
        return nl.datasets.read_digit_image(path)
    except ImportError:
        raise UserError(f"{path}: reading images needs Pillow: pip install neurolab-nn[image]") from None
    except (OSError, ValueError):
        raise UserError(f"{path}: expected an image (PNG, JPEG, ...) or a .npy array, got a file that is neither") from None


# -- neurolab explain -----------------------------------------------------------------------
def add_explain(commands) -> None:
    explain = commands.add_parser(
        "explain", help="one neuron's backpropagation on one MNIST test image, equation by equation",
        description="Print net.explain(x, y, LAYER, NEURON) for MNIST's test image SAMPLE: the neuron's forward "
        "pass, its error delta, its gradients and the optimizer's update, on real numbers.",
    )
    explain.add_argument("model", metavar="MODEL.npz", help="a model saved with net.save")
    explain.add_argument("--layer", type=int, required=True, metavar="L", help="index in net.layers (negative counts from the end)")
    explain.add_argument("--neuron", type=int, required=True, metavar="I", help="the neuron's index in the layer")
    explain.add_argument("--sample", type=int, required=True, metavar="K", help="the test image, 0 to 9999")
    _add_data_options(explain, csv=False)
    explain.set_defaults(run=run_explain)


def run_explain(args) -> int:
    net = _load_model(args.model)
    count = len(net.layers)
    if not -count <= args.layer < count:
        raise UserError(f"--layer: expected a layer index in [{-count}, {count}), got {args.layer}")
    (_, _), (x_test, y_test) = _mnist(args.data_dir)
    if not 0 <= args.sample < len(x_test):
        raise UserError(f"--sample: expected a test image in [0, {len(x_test)}), got {args.sample}")
    k = args.sample
    x = _pixels_as_inputs(net, x_test[k : k + 1])
    trace = _checked_call("cannot explain this neuron", net.explain, x, y_test[k : k + 1], args.layer, args.neuron)
    print(trace)
    return 0


# -- neurolab train -------------------------------------------------------------------------
def add_train(commands) -> None:
    from neurolab.presets import PRESETS

    train = commands.add_parser(
        "train", help="train a network from a preset on MNIST or a CSV, with a progress bar",
        description="Train a network with the settings of a preset (those of examples/mnist.py; any option given "
        "overrides the preset's) on MNIST's training images, or on a CSV file, then save it with --save. The last "
        "--validation samples are held out for val_loss and val_accuracy after each epoch; MNIST's test set is "
        "scored once, after training. A CSV's features are used as they are (scale them yourself), and its "
        "network has no Rescale layer.",
    )
    train.add_argument("--preset", choices=sorted(PRESETS), default="default", help="starting settings (default: default)")
    _add_data_options(train)
    train.add_argument("--epochs", type=int, help="passes over the training set")
    train.add_argument("--hidden", help="hidden layer sizes, comma-separated, e.g. 512,256")
    train.add_argument("--activation", choices=["relu", "leaky_relu", "sigmoid", "tanh"], help="hidden activation")
    train.add_argument("--dropout", type=float, help="dropout probability after each hidden layer (0 = none)")
    train.add_argument("--augment", type=int, metavar="MAX_SHIFT", help="MNIST only: shift images by up to MAX_SHIFT pixels in training")
    train.add_argument("--loss", choices=["cross_entropy", "mse"], help="loss (cross_entropy takes logits)")
    train.add_argument("--optimizer", choices=["adam", "sgd", "rmsprop"], help="optimizer")
    train.add_argument("--lr", type=float, help="learning rate")
    train.add_argument("--momentum", type=float, help="momentum (sgd, rmsprop)")
    train.add_argument("--weight-decay", type=float, default=0.0, help="L2 weight decay (default 0)")
    train.add_argument("--batch-size", type=int, help="samples per batch")
    train.add_argument("--cosine", action=argparse.BooleanOptionalAction, default=None, help="cosine learning-rate decay")
    train.add_argument("--seed", type=int, default=0, help="seed of the weights, dropout, shifts and shuffling (default 0)")
    train.add_argument("--validation", type=int, metavar="N",
                       help="hold out the last N training samples (default 5000 for MNIST, 0 for a CSV)")
    train.add_argument("--limit", type=int, metavar="N", help="train on the first N training samples only (quick runs)")
    train.add_argument("--save", metavar="MODEL.npz", help="where to save the trained model (default: not saved)")
    train.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="0 silent, 1 progress bar (default), 2 a line per epoch")
    train.set_defaults(run=run_train)


def run_train(args) -> int:
    from neurolab import callbacks, presets

    for key, value in presets.PRESETS[args.preset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for option, value, least in (("--epochs", args.epochs, 1), ("--batch-size", args.batch_size, 1),
                                 ("--limit", args.limit, 1), ("--validation", args.validation, 0),
                                 ("--augment", args.augment, 0)):
        if value is not None and value < least:
            raise UserError(f"{option}: expected N >= {least}, got {value}")
    try:
        presets.sizes(args.hidden, "--hidden")
    except ValueError as error:
        raise UserError(str(error)) from None

    test = None
    if args.csv is not None:
        if args.augment:
            raise UserError("--augment: shifts images, so it needs MNIST, not a CSV; pass --augment 0")
        x, y = _csv_data(args)
        validation = 0 if args.validation is None else args.validation
        rng = np.random.default_rng(args.seed)
        net = presets.dense_head([], x.shape[1], args, rng, outputs=int(y.max()) + 1)
        what = f"rows of {args.csv}"
    else:
        if args.label_column is not None:
            raise UserError("--label-column: expected --csv FILE as well")
        (x, y), test = _mnist(args.data_dir)
        validation = 5000 if args.validation is None else args.validation
        net = presets.build(args)
        what = "MNIST training images"
    try:
        (x_fit, y_fit), held_out = presets.split_training(x, y, validation, args.limit)
    except ValueError as error:
        raise UserError(str(error)) from None
    net.summary(x.shape[1])
    print(f"training on {len(x_fit):,} {what} for {args.epochs} epochs (preset {args.preset})"
          + (f", {len(held_out[0]):,} held out for validation" if held_out is not None else ""), flush=True)
    fit = net.fit
    history = _checked_call(
        "cannot train on this data", lambda: fit(
            x_fit, y_fit, epochs=args.epochs, batch_size=args.batch_size, optimizer=presets.make_optimizer(args),
            rng=args.seed, validation_data=held_out, verbose=args.verbose,
            callbacks=[callbacks.CosineAnnealingLR()] if args.cosine else [],
        ),
    )
    if held_out is not None:
        print(f"validation accuracy {history['val_accuracy'][-1]:.2%}  (loss {history['val_loss'][-1]:.4f})")
    if test is not None:  # MNIST's test set, scored once, after training
        scores = net.evaluate(*test)
        print(f"test accuracy {scores['accuracy']:.2%}  (loss {scores['loss']:.4f}) on the {len(test[0]):,} test images")
    if args.save:
        try:
            print(f"saved to {net.save(args.save)}")
        except OSError as error:
            raise UserError(f"cannot save the model to {args.save}: {error.strerror or error}") from None
    else:
        print("not saved (pass --save MODEL.npz to keep it)")
    return 0


# -- neurolab export ------------------------------------------------------------------------
EXTRAS = {"torch": "torch", "onnx": "onnx"}


def add_export(commands) -> None:
    export = commands.add_parser(
        "export", help="write a saved model as a PyTorch module or an ONNX model",
        description="Convert a saved model with neurolab.export: --to torch saves the torch.nn.Sequential of "
        "to_torch(net) with torch.save; --to onnx writes to_onnx(net, OUT). Needs the extra: "
        "pip install neurolab-nn[torch] or neurolab-nn[onnx].",
    )
    export.add_argument("model", metavar="MODEL.npz", help="a model saved with net.save")
    export.add_argument("--to", required=True, choices=sorted(EXTRAS), help="the format to write")
    export.add_argument("out", metavar="OUT", help="the file to write (.pt for torch, .onnx for onnx)")
    export.set_defaults(run=run_export)


def run_export(args) -> int:
    net = _load_model(args.model)
    install = f"pip install neurolab-nn[{EXTRAS[args.to]}]"
    try:
        import neurolab.export as export

        if args.to == "torch":
            import torch

            module = export.to_torch(net)
            torch.save(module, args.out)
        else:
            export.to_onnx(net, args.out)
    except ImportError as error:  # neurolab.export itself, or torch / onnx
        if error.name == "neurolab.export":
            raise UserError(f"this neurolab has no neurolab.export: upgrade it with {install}") from None
        raise UserError(f"exporting to {args.to} needs {EXTRAS[args.to]}: {install}") from None
    except OSError as error:
        raise UserError(f"cannot write {args.out}: {error.strerror or error}") from None
    except (TypeError, ValueError) as error:  # a layer the format has no counterpart for
        raise UserError(f"cannot export this model: {error}") from None
    print(f"wrote {args.out}")
    return 0


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
    from neurolab.lab import serve

    net = _load_model(args.model)
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
