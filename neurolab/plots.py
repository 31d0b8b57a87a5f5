"""Pictures of what a network learned: training curves, weights and filters as images, activations, errors.

Needs matplotlib (``pip install neurolab-nn[plot]``); :func:`save_weight_history_gif` also needs
Pillow. Every ``plot_*`` function returns its matplotlib ``Figure`` and, given ``path``, also
saves it there as a PNG. Nothing is shown or closed: in a notebook the returned figure displays
itself, in a script call ``matplotlib.pyplot.show()`` or save it, and ``plt.close(fig)`` when
done with it. On Linux without a display (``DISPLAY`` and ``WAYLAND_DISPLAY`` unset) and without
a backend chosen (``MPLBACKEND``, or pyplot already imported), importing this module selects the
non-interactive ``Agg`` backend.

Colours: weights use a diverging map centred at 0, red for positive and blue for negative,
with limits symmetric around 0; images use white for 0 and black for ink.
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

import numpy as np

try:
    import matplotlib
except ImportError as exc:
    raise ImportError(
        "neurolab.plots: expected matplotlib, got none installed; pip install neurolab-nn[plot] "
        "(or pip install matplotlib)"
    ) from exc

if (
    sys.platform.startswith("linux")
    and not os.environ.get("DISPLAY")
    and not os.environ.get("WAYLAND_DISPLAY")
    and not os.environ.get("MPLBACKEND")
    and "matplotlib.pyplot" not in sys.modules
):
    matplotlib.use("Agg")  # headless: no window can open, so draw to files only

import matplotlib.pyplot as plt  # noqa: E402  (after the backend choice)
from matplotlib.figure import Figure  # noqa: E402

from .analysis import WeightHistory, _check_network, _check_X, _layer_index, _layer_outputs, top_activating  # noqa: E402
from .activations import LeakyReLU, ReLU  # noqa: E402
from .conv import Conv2D, MaxPool2D  # noqa: E402
from .layer import Dense  # noqa: E402
from .network import eval_copies  # noqa: E402
from .validation import positive_int  # noqa: E402

WEIGHT_CMAP = "RdBu_r"  # red: positive, blue: negative, white: 0
IMAGE_CMAP = "gray_r"  # white: 0, black: ink
DPI = 120


def _save(fig, path) -> None:
    if path is not None:
        fig.savefig(Path(path), dpi=DPI, bbox_inches="tight")


def _grid(n: int, cols: int, cell=(1.5, 1.7), min_width: float = 0.0):
    """A figure with ``n`` image axes in rows of ``cols`` (no ticks); unused cells removed.

    ``min_width`` (inches) leaves room for a title over a narrow grid.
    """
    cols = min(cols, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(max(cell[0] * cols, min_width), cell[1] * rows), squeeze=False, layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[n:]:
        fig.delaxes(ax)
    for ax in flat[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, flat[:n]


def _image_shape(image_shape, where: str) -> tuple[int, int]:
    if (
        not isinstance(image_shape, (tuple, list))
        or len(image_shape) != 2
        or not all(isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in image_shape)
    ):
        raise ValueError(f"{where}: expected image_shape as (height, width) of positive ints, got {image_shape!r}")
    return int(image_shape[0]), int(image_shape[1])


def _as_images(rows: np.ndarray, image_shape, where: str, what: str) -> np.ndarray:
    """Flat ``rows`` (n, h*w) as images (n, h, w); images (n, h', w') as they are."""
    h, w = _image_shape(image_shape, where)
    rows = np.asarray(rows)
    if rows.ndim == 3:
        return rows
    if rows.ndim != 2 or rows.shape[1] != h * w:
        raise ValueError(
            f"{where}: expected {what} of {h * w} values each (image_shape {h}x{w}), got shape {rows.shape}; "
            "pass the image_shape your inputs have"
        )
    return rows.reshape(len(rows), h, w)


def _symmetric_limit(values: np.ndarray) -> float:
    limit = float(np.abs(values).max()) if values.size else 0.0
    return limit if limit > 0 else 1.0


# -- training -------------------------------------------------------------------------------
def plot_history(history: dict, path=None) -> Figure:
    """Loss and accuracy per epoch, on the training data and (when present) the validation data.

    Parameters
    ----------
    history : dict
        What ``NeuralNetwork.fit`` returns: lists ``loss``, ``accuracy`` and optionally
        ``val_loss``, ``val_accuracy``, one value per epoch.
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: loss (left) and accuracy (right).
    """
    where = "plot_history"
    if not isinstance(history, dict) or "loss" not in history:
        raise TypeError(f"{where}: expected the dict that fit returns (with 'loss'), got {type(history).__name__}")
    epochs = np.arange(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4), layout="constrained")
    for ax, key, title in ((ax_loss, "loss", "loss (lower is better)"), (ax_acc, "accuracy", "accuracy")):
        for prefix, style, name in (("", "o-", "training"), ("val_", "s--", "validation")):
            values = np.asarray(history.get(prefix + key, []), dtype=float)
            if values.size and not np.isnan(values).all():
                ax.plot(epochs[: values.size], values, style, label=name, markersize=4)
        if ax.lines:
            ax.legend()
        else:
            ax.text(0.5, 0.5, f"no {key} recorded", ha="center", va="center", transform=ax.transAxes)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
    _save(fig, path)
    return fig


# -- weights --------------------------------------------------------------------------------
def plot_weights(layer, neurons=None, image_shape=(28, 28), cols: int = 8, path=None) -> Figure:
    """Each neuron's incoming weights drawn as an image: what the neuron looks for in its input.

    Pixel ``k`` of neuron ``j``'s picture is the weight ``w_jk``. Red pixels raise the
    neuron's ``z`` when they are ink, blue ones lower it, white ones do not matter. Each
    picture has its own colour limits, symmetric around 0 (``±max|w|`` of that neuron, shown
    under it), so the pattern of every neuron is visible whatever its scale.

    Parameters
    ----------
    layer : Dense
        A layer whose inputs are images, usually the first ``Dense`` layer.
    neurons : sequence of int, optional
        Which neurons (rows of ``weight``); all by default.
    image_shape : (height, width)
        ``height * width`` must equal the layer's ``in_features``.
    cols : int
        Pictures per row.
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per neuron, plus a colour bar.
    """
    where = "plot_weights"
    if not isinstance(layer, Dense):
        raise TypeError(f"{where}: expected a Dense layer, got {type(layer).__name__}")
    cols = positive_int(cols, "cols", where)
    if neurons is None:
        neurons = list(range(layer.out_features))
    neurons = list(neurons)
    if not neurons or any(isinstance(j, bool) or not isinstance(j, (int, np.integer)) or not 0 <= j < layer.out_features for j in neurons):
        raise ValueError(f"{where}: expected neuron indices in [0, {layer.out_features}) for {layer!r}, got {neurons!r}")
    images = _as_images(layer.weight.value[neurons], image_shape, where, f"the weights of {layer!r}")
    fig, axes = _grid(len(neurons), cols, cell=(1.5, 1.85), min_width=5.0)
    for ax, j, image in zip(axes, neurons, images):
        limit = _symmetric_limit(image)
        shown = ax.imshow(image / limit, cmap=WEIGHT_CMAP, vmin=-1, vmax=1)
        ax.set_title(f"neuron {j}", fontsize=9)
        ax.set_xlabel(f"max|w| {limit:.2g}", fontsize=7, labelpad=2)
    bar = fig.colorbar(shown, ax=axes, shrink=0.8, pad=0.02, ticks=[-1, 0, 1])
    bar.ax.set_yticklabels(["-max|w|", "0", "+max|w|"], fontsize=8)
    fig.suptitle(f"incoming weights of {layer!r}\nred: ink there raises z, blue: lowers it", fontsize=10)
    _save(fig, path)
    return fig


# -- filters and feature maps (Conv2D) ------------------------------------------------------
def plot_filters(layer, channel=None, cols: int = 8, path=None) -> Figure:
    """Each filter of a Conv2D layer drawn as a small image: the pattern it looks for in a patch.

    Pixel ``(u, v)`` of filter ``o``'s picture is the weight ``W[o, c, u, v]``, which multiplies
    the input at row ``u``, column ``v`` of every patch. As in :func:`plot_weights`, red
    weights raise the filter's ``z`` where the input is large, blue ones lower it, white ones
    do not matter, and each picture has its own colour limits, symmetric around 0 (``±max|w|``
    of that picture, shown under it).

    A filter of a layer with one input channel (the first layer, on grey images) is one
    ``kh x kw`` image. A later layer's filter has one such image per input channel ``c`` (the
    feature map ``c`` of the layer below): ``channel=c`` draws that one for every filter, and
    by default the mean over the channels is drawn, a summary of the filter in which weights
    of opposite signs on different channels cancel. Read such filters through their feature
    maps (:func:`plot_feature_maps`) rather than as pictures.

    Parameters
    ----------
    layer : Conv2D
    channel : int, optional
        The input channel to draw, in ``[0, in_channels)``; by default the only one, or the
        mean over all of them.
    cols : int
        Pictures per row.
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per filter, plus a colour bar.
    """
    where = "plot_filters"
    if not isinstance(layer, Conv2D):
        hint = "; for a Dense layer use plot_weights" if isinstance(layer, Dense) else ""
        raise TypeError(f"{where}: expected a Conv2D layer, got {type(layer).__name__}{hint}")
    cols = positive_int(cols, "cols", where)
    weight, channels = layer.weight.value, layer.in_channels  # W (O, C, kh, kw)
    if channel is None and channels == 1:
        images, what = weight[:, 0], ""
    elif channel is None:
        images, what = weight.mean(axis=1), f", mean over its {channels} input channels"
    elif isinstance(channel, (int, np.integer)) and not isinstance(channel, (bool, np.bool_)) and 0 <= channel < channels:
        images, what = weight[:, channel], f", input channel {int(channel)} of {channels}"
    else:
        raise ValueError(
            f"{where}: expected channel to be None (the mean over the input channels) or an int in "
            f"[0, {channels}) for {layer!r}, got {channel!r}"
        )
    fig, axes = _grid(len(images), cols, cell=(1.5, 1.85), min_width=5.0)
    for o, (ax, image) in enumerate(zip(axes, images)):
        limit = _symmetric_limit(image)
        shown = ax.imshow(image / limit, cmap=WEIGHT_CMAP, vmin=-1, vmax=1)
        ax.set_title(f"filter {o}", fontsize=9)
        ax.set_xlabel(f"max|w| {limit:.2g}", fontsize=7, labelpad=2)
    bar = fig.colorbar(shown, ax=axes, shrink=0.8, pad=0.02, ticks=[-1, 0, 1])
    bar.ax.set_yticklabels(["-max|w|", "0", "+max|w|"], fontsize=8)
    fig.suptitle(f"filters of {layer!r}{what}\nred: a large input there raises z, blue: lowers it", fontsize=10)
    _save(fig, path)
    return fig


def _last_maps(layer, where: str) -> np.ndarray:
    """The last batch's output ``(N, C, H, W)`` of ``layer``: its ``a``, or a MaxPool2D's, pooled again from its ``x``."""
    if isinstance(layer, MaxPool2D):  # it keeps its input (and where each maximum was), not its output
        last = layer.x
    elif hasattr(layer, "a"):
        last = layer.a
    else:
        raise TypeError(
            f"{where}: expected a Conv2D or MaxPool2D layer (or one that keeps its output as `a`), "
            f"got {type(layer).__name__}"
        )
    if last is None:
        raise RuntimeError(
            f"{where}: expected a forward pass of {layer!r} first, got none; run net.forward(X) on the "
            "images to look at (predict and evaluate leave the layers' last batch as it was)"
        )
    if last.ndim != 4:
        raise ValueError(
            f"{where}: expected feature maps of shape (N, C, H, W) from {layer!r}, got its output of shape "
            f"{last.shape}; for a Dense layer see plot_weights and plot_activation_histograms"
        )
    return last


def plot_feature_maps(layer, sample: int = 0, cols: int = 8, path=None) -> Figure:
    """One sample's feature maps: where in the image each filter found its pattern.

    Map ``o`` of a Conv2D is filter ``o``'s activation ``a`` at every position of its input,
    ``layer.a[sample, o]`` (also ``layer.neurons[o].a[sample]``); a MaxPool2D's map ``c`` is
    map ``c`` of the layer below, pooled. The maps are those of the last batch the layer saw,
    so run ``net.forward(X)`` first on the images to look at (in evaluation mode, ``net.eval()``,
    unless you want to see the effect of dropout or RandomShift); ``predict`` and ``evaluate``
    leave the last batch as it was. A MaxPool2D keeps its input, not its output: its maps are
    pooled again from that input.

    All maps share one colour scale, symmetric around 0 (white is 0, red positive, blue
    negative), so they are comparable: a white map is a filter that found nothing in this
    sample. Each map's largest value is shown under it.

    Parameters
    ----------
    layer : Conv2D or MaxPool2D
        Or any layer that keeps its last output ``(N, C, H, W)`` as ``a``.
    sample : int
        Which sample of the last batch, in ``[0, N)``.
    cols : int
        Maps per row.
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per channel of the layer's output, plus a colour bar.
    """
    where = "plot_feature_maps"
    cols = positive_int(cols, "cols", where)
    last = _last_maps(layer, where)
    n = last.shape[0]
    if isinstance(sample, (bool, np.bool_)) or not isinstance(sample, (int, np.integer)) or not 0 <= sample < n:
        raise ValueError(f"{where}: expected sample in [0, {n}) (a row of the last batch of {layer!r}), got {sample!r}")
    if isinstance(layer, MaxPool2D):
        maps = eval_copies([layer])[0].forward(last[sample : sample + 1])[0]  # a copy: the layer keeps its batch
    else:
        maps = last[sample]
    limit = _symmetric_limit(maps)
    fig, axes = _grid(len(maps), cols, cell=(1.5, 1.85), min_width=5.0)
    name = "filter" if isinstance(layer, Conv2D) else "channel"
    for c, (ax, image) in enumerate(zip(axes, maps)):
        shown = ax.imshow(image, cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit)
        ax.set_title(f"{name} {c}", fontsize=9)
        ax.set_xlabel(f"max {image.max():.2g}", fontsize=7, labelpad=2)
    bar = fig.colorbar(shown, ax=axes, shrink=0.8, pad=0.02)
    bar.ax.tick_params(labelsize=8)
    height, width = maps.shape[1:]
    fig.suptitle(
        f"feature maps of {layer!r}, sample {sample} of the last batch\n"
        f"{len(maps)} maps of {height}x{width}, one colour scale: white 0, red positive, blue negative",
        fontsize=10,
    )
    _save(fig, path)
    return fig


# -- images and the samples a neuron likes ---------------------------------------------------
def plot_images(images, titles=None, cols: int = 8, image_shape=(28, 28), path=None) -> Figure:
    """A grid of images (for MNIST: white background, black ink).

    Parameters
    ----------
    images : array (n, height * width) or (n, height, width)
    titles : sequence of str, optional
        One per image.
    cols : int
        Images per row.
    image_shape : (height, width)
        The shape of each flat row (3-d ``images`` have theirs already).
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per image.
    """
    where = "plot_images"
    cols = positive_int(cols, "cols", where)
    images = _as_images(images, image_shape, where, "images")
    if len(images) == 0:
        raise ValueError(f"{where}: expected at least one image, got none")
    if titles is not None:
        titles = [str(t) for t in titles]
        if len(titles) != len(images):
            raise ValueError(f"{where}: expected one title per image ({len(images)}), got {len(titles)}")
    lines = max((t.count("\n") + 1 for t in titles), default=0) if titles else 0
    fig, axes = _grid(len(images), cols, cell=(1.5, 1.5 + 0.2 * lines))
    for i, (ax, image) in enumerate(zip(axes, images)):
        ax.imshow(image, cmap=IMAGE_CMAP)
        if titles is not None:
            ax.set_title(titles[i], fontsize=8)
    _save(fig, path)
    return fig


def plot_top_activating(network, X, layer, neuron: int, k: int = 9, labels=None, image_shape=(28, 28), cols=None, path=None) -> Figure:
    """The ``k`` inputs on which one neuron's activation is largest, largest first.

    Each picture is titled with its row in ``X``, the activation ``a`` and, when ``labels``
    are given, the label. See :func:`neurolab.analysis.top_activating`.

    Parameters
    ----------
    network, X, layer, neuron, k
        As for :func:`neurolab.analysis.top_activating`; rows of ``X`` are images.
    labels : array (N,), optional
        The label of each row of ``X``.
    image_shape : (height, width)
    cols : int, optional
        Images per row (by default about a square grid).
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per image (``min(k, N)``).
    """
    where = "plot_top_activating"
    network = _check_network(network, where)
    X = _check_X(X, where)
    index = _layer_index(network, layer, where)
    _as_images(X[:0], image_shape, where, "rows of X")
    if labels is not None:
        labels = np.asarray(labels)
        if labels.shape[:1] != X.shape[:1]:
            raise ValueError(f"{where}: expected one label per row of X ({X.shape[0]}), got shape {labels.shape}")
    top = top_activating(network, X, index, neuron, k)
    outputs, pre_activations = _layer_outputs(network, X[top], [index], 1024, where)
    titles = []
    for row, n in enumerate(top):
        first_line = f"#{n}" + (f"  label {labels[n]}" if labels is not None else "")
        values = f"a={outputs[index][row, int(neuron)]:.3g}"
        if index in pre_activations:
            values = f"z={pre_activations[index][row, int(neuron)]:.3g}  " + values
        titles.append(f"{first_line}\n{values}")
    cols = cols if cols is not None else math.ceil(math.sqrt(len(top)))
    fig = plot_images(X[top], titles, cols=cols, image_shape=image_shape)
    fig.suptitle(f"largest activations of neuron {int(neuron)} of layers[{index}]", fontsize=10)
    _save(fig, path)
    return fig


# -- errors -----------------------------------------------------------------------------------
def plot_confusion(matrix, path=None) -> Figure:
    """A confusion matrix with its counts: row = true class, column = predicted class.

    Parameters
    ----------
    matrix : int array (K, K)
        As :func:`neurolab.metrics.confusion_matrix` returns it.
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes holding the matrix, plus a colour bar. The diagonal holds the correct
        predictions; a bright cell off it is a frequent mistake.
    """
    where = "plot_confusion"
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ValueError(f"{where}: expected a square (K, K) matrix of counts, got shape {matrix.shape}")
    k = matrix.shape[0]
    size = max(4.0, 0.5 * k + 1.5)
    fig, ax = plt.subplots(figsize=(size + 1, size), layout="constrained")
    shown = ax.imshow(matrix, cmap="Blues")
    fig.colorbar(shown, ax=ax, shrink=0.8, label="count")
    threshold = matrix.max() / 2 if matrix.size else 0
    fontsize = 8 if k <= 12 else 6
    for i in range(k):
        for j in range(k):
            color = "white" if matrix[i, j] > threshold else "black"
            ax.text(j, i, f"{matrix[i, j]:g}", ha="center", va="center", color=color, fontsize=fontsize)
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    total = matrix.sum()
    accuracy = f" (accuracy {np.trace(matrix) / total:.2%} of {total:,.0f})" if total else ""
    ax.set_title(f"confusion matrix{accuracy}", fontsize=10)
    _save(fig, path)
    return fig


# -- activations ------------------------------------------------------------------------------
def plot_activation_histograms(network, X, bins: int = 40, batch_size: int = 1024, path=None) -> Figure:
    """For each ``Dense`` layer, the distribution of its neurons' activations ``a`` over ``X``.

    Saturated sigmoids pile up at 0 and 1 (where ``f'(z)`` is almost 0 and learning is slow);
    ReLU layers show a spike at 0, and a neuron that is 0 on every sample is dead (the title
    counts them, see :func:`neurolab.analysis.dead_units`). The counts are on a log scale so
    that the rare values stay visible next to the spikes.

    Parameters
    ----------
    network : NeuralNetwork
        Left untouched (the pass runs on a copy in evaluation mode).
    X : array (N, features)
        Inputs as the network takes them.
    bins : int
    batch_size : int
        Rows per forward pass.
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One axes per ``Dense`` layer, first layer first.
    """
    where = "plot_activation_histograms"
    network = _check_network(network, where)
    X = _check_X(X, where)
    bins = positive_int(bins, "bins", where)
    batch_size = positive_int(batch_size, "batch_size", where)
    if X.shape[0] == 0:
        raise ValueError(f"{where}: expected at least one sample, got X with 0 rows")
    dense = [i for i, layer in enumerate(network.layers) if isinstance(layer, Dense)]
    if not dense:
        raise ValueError(f"{where}: expected a network with Dense layers, got {network!r}")
    outputs, _ = _layer_outputs(network, X, dense, batch_size, where)
    cols = min(len(dense), 4)
    rows = math.ceil(len(dense) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.9 * rows), squeeze=False, layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[len(dense):]:
        fig.delaxes(ax)
    for ax, i in zip(flat, dense):
        layer, a = network.layers[i], outputs[i]
        ax.hist(a.ravel(), bins=bins, color="tab:blue", log=True)
        title = f"layers[{i}]: {layer.activation.name}, {layer.out_features} neurons"
        if isinstance(layer.activation, (ReLU, LeakyReLU)):
            dead = int(np.count_nonzero((a <= 0).all(axis=0)))
            title += f"\n{dead} dead (never active)"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("activation a", fontsize=9)
        ax.tick_params(labelsize=8)
    flat[0].set_ylabel("count (log scale)", fontsize=9)
    fig.suptitle(f"activations on {X.shape[0]:,} samples", fontsize=10)
    _save(fig, path)
    return fig


# -- weights over time ------------------------------------------------------------------------
def _history_frames(weight_history, neuron_index, image_shape, where: str):
    """``(labels, images (T, h, w), neuron number)`` of one neuron of a WeightHistory."""
    if not isinstance(weight_history, WeightHistory):
        raise TypeError(f"{where}: expected a neurolab.analysis.WeightHistory, got {type(weight_history).__name__}")
    if not weight_history.snapshots:
        raise ValueError(f"{where}: expected snapshots, got none; pass the WeightHistory to fit first")
    rows = weight_history.snapshots[0][2].shape[0]
    if isinstance(neuron_index, bool) or not isinstance(neuron_index, (int, np.integer)) or not 0 <= neuron_index < rows:
        raise ValueError(
            f"{where}: expected neuron_index in [0, {rows}) (a position in weight_history.neurons "
            f"{weight_history.neurons}), got {neuron_index!r}"
        )
    weights = weight_history.weights[:, neuron_index]
    images = _as_images(weights, image_shape, where, "recorded weights")
    labels = []
    for epoch, batch, _ in weight_history.snapshots:
        if epoch == 0:
            labels.append("start")
        elif weight_history.every == "epoch":
            labels.append(f"epoch {epoch}")
        else:
            labels.append(f"epoch {epoch}\nbatch {batch}")
    return labels, images, weight_history.neurons[neuron_index]


def plot_weight_history(
    weight_history, neuron_index: int = 0, image_shape=(28, 28), max_frames: int = 10, change: bool = False, path=None
) -> Figure:
    """How one neuron's incoming weights changed during training, as a strip of images.

    All pictures share one colour scale, symmetric around 0, so they are comparable across
    time: a picture fading in means the weights grow. When training moves the weights little
    compared with their random start (a small learning rate, a short run, He initialisation),
    the start's noise hides what was learned: ``change=True`` draws ``w_t - w_0`` instead.

    Parameters
    ----------
    weight_history : WeightHistory
        After ``fit``.
    neuron_index : int
        Which recorded neuron: a position in ``weight_history.neurons`` (row of each snapshot).
    image_shape : (height, width)
    max_frames : int
        At most this many snapshots, evenly spread from the first to the last.
    change : bool
        Draw the change since the first snapshot, ``w_t - w_0``, instead of ``w_t``.
    path : str or path-like, optional
        Also save the figure there as a PNG.

    Returns
    -------
    matplotlib.figure.Figure
        One image axes per frame, plus a colour bar.
    """
    where = "plot_weight_history"
    max_frames = positive_int(max_frames, "max_frames", where)
    labels, images, neuron = _history_frames(weight_history, neuron_index, image_shape, where)
    if change:
        images = images - images[0]
    picked = np.unique(np.linspace(0, len(images) - 1, min(len(images), max_frames)).round().astype(int))
    limit = _symmetric_limit(images[picked])
    fig, axes = plt.subplots(1, len(picked), figsize=(1.45 * len(picked) + 1.0, 2.3), squeeze=False, layout="constrained")
    for ax, t in zip(axes[0], picked):
        shown = ax.imshow(images[t], cmap=WEIGHT_CMAP, vmin=-limit, vmax=limit)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(labels[t], fontsize=8)
    bar = fig.colorbar(shown, ax=list(axes[0]), shrink=0.9, pad=0.01)
    bar.set_label("change since start" if change else "weight", fontsize=8)
    bar.ax.tick_params(labelsize=7)
    what = "change of the incoming weights" if change else "incoming weights"
    fig.suptitle(f"{what} of neuron {neuron} during training", fontsize=10)
    _save(fig, path)
    return fig


def save_weight_history_gif(
    weight_history, path, neuron_index: int = 0, image_shape=(28, 28), duration_ms: int = 300, scale: int = 8
) -> Path:
    """Write one neuron's weights over training as an animated GIF, one frame per snapshot.

    Frames use the colours of :func:`plot_weights` (red positive, blue negative) with one
    symmetric scale for the whole animation, enlarged ``scale`` times, and a caption with the
    epoch and batch. Needs Pillow.

    Parameters
    ----------
    weight_history : WeightHistory
        After ``fit``.
    path : str or path-like
        The ``.gif`` to write.
    neuron_index : int
        A position in ``weight_history.neurons``, as for :func:`plot_weight_history`.
    image_shape : (height, width)
    duration_ms : int
        How long each frame shows.
    scale : int
        Each weight becomes a ``scale x scale`` block of pixels.

    Returns
    -------
    Path
        ``path``.
    """
    where = "save_weight_history_gif"
    try:
        from PIL import Image, ImageDraw, ImageFont
    except ImportError as exc:
        raise ImportError(
            f"{where}: expected Pillow, got none installed; pip install neurolab-nn[image] (or pip install Pillow)"
        ) from exc
    duration_ms = positive_int(duration_ms, "duration_ms", where)
    scale = positive_int(scale, "scale", where)
    labels, images, neuron = _history_frames(weight_history, neuron_index, image_shape, where)
    limit = _symmetric_limit(images)
    colours = matplotlib.colormaps[WEIGHT_CMAP]((images / limit + 1) / 2)  # (T, h, w, 4) in [0, 1]
    rgb = (colours[..., :3] * 255).round().astype(np.uint8)
    try:
        font = ImageFont.load_default(size=12)
    except TypeError:  # Pillow < 10.1: one bitmap size
        font = ImageFont.load_default()
    caption = 34
    frames = []
    for label, pixels in zip(labels, rgb):
        picture = Image.fromarray(pixels).resize((pixels.shape[1] * scale, pixels.shape[0] * scale), Image.Resampling.NEAREST)
        frame = Image.new("RGB", (picture.width, picture.height + caption), "white")
        frame.paste(picture, (0, 0))
        text = f"neuron {neuron}: {label.replace(chr(10), ', ')}"
        ImageDraw.Draw(frame).text((4, picture.height + 4), text + f"\ncolour scale ±{limit:.2g}", fill="black", font=font)
        frames.append(frame)
    path = Path(path)
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=duration_ms, loop=0)
    return path
