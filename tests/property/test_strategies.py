"""The strategies themselves: they draw what the property tests claim to cover.

A strategy that quietly collapsed a dimension to 1 (every batch a single sample, every layer a
single unit) or an activation setting to its default would leave every property test green
while testing much less: batch-summed gradients, transposes of square-looking shapes and a
LeakyReLU's slope would go unchecked. These tests draw each strategy as ``@given`` does, a
fixed number of times from a fixed seed (the same cases under every profile, so they cannot
be flaky), and require each size to come out both as 1 and as more than 1, and each setting
both at and away from its default.
"""

import functools
import inspect

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import neurolab as nl
from neurolab.testing import layer_inputs

from ..strategies import (
    ACTIVATION_OPTIONS,
    ELEMENTWISE_NAMES,
    cnn_cases,
    configured_activations,
    conv_arguments,
    conv_cases,
    dense_cases,
    loss_cases,
    network_cases,
    pool_cases,
    reshape_cases,
    shapes_2d,
    shift_cases,
)

DRAWS = 100


def drawn(strategy: st.SearchStrategy, n: int = DRAWS) -> list:
    """``n`` values of ``strategy``, drawn as ``@given`` draws them, from a fixed seed.

    ``derandomize=True`` seeds the generator from this function rather than the clock, and the
    generate phase alone runs (no shrinking, no example database), so every run sees the same
    values whatever the Hypothesis profile.
    """
    values = []

    @settings(
        max_examples=n,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value):
        values.append(value)

    collect()
    return values


def network_sizes(case) -> dict:
    net, X, _ = case
    return {
        "batch size": [X.shape[0]],
        "in_features": [X.shape[1]],
        "number of layers": [len(net.layers)],
        "hidden width": [layer.out_features for layer in net.layers[:-1]],
        "outputs": [net.layers[-1].out_features],
    }


def conv_sizes(layer, x) -> dict:
    (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
    _, h_out, w_out = layer.output_shape(*x.shape[2:])
    return {
        "batch size": [x.shape[0]],
        "in_channels": [layer.in_channels],
        "out_channels": [layer.out_channels],
        "kernel rows": [kh],
        "kernel columns": [kw],
        "stride rows": [sh],
        "stride columns": [sw],
        "height": [x.shape[2]],
        "width": [x.shape[3]],
        "output rows": [h_out],
        "output columns": [w_out],
    }


def pool_sizes(layer, x) -> dict:
    (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
    out = layer.forward(x).shape
    return {
        "batch size": [x.shape[0]],
        "channels": [x.shape[1]],
        "kernel rows": [kh],
        "kernel columns": [kw],
        "stride rows": [sh],
        "stride columns": [sw],
        "output rows": [out[2]],
        "output columns": [out[3]],
    }


def cnn_sizes(net, X, y) -> dict:
    conv = next(layer for layer in net.layers if isinstance(layer, nl.Conv2D))
    return {
        "batch size": [X.shape[0]],
        "in_channels": [conv.in_channels],
        "out_channels": [conv.out_channels],
        "outputs": [net.layers[-1].out_features],
    }


# strategy name -> (strategy, function giving the sizes of a drawn case as {size: [values]})
SIZED = {
    "layer_inputs (public)": (
        layer_inputs(),
        lambda case: {"batch size": [case[1].shape[0]], "in_features": [case[1].shape[1]]},
    ),
    "dense_cases": (
        dense_cases(),
        lambda case: {
            "batch size": [case[1].shape[0]],
            "in_features": [case[0].in_features],
            "out_features": [case[0].out_features],
        },
    ),
    "loss_cases": (
        loss_cases(),
        lambda case: {"batch size": [case[1].shape[0]], "outputs": [case[1].shape[1]]},
    ),
    "network_cases": (network_cases(), network_sizes),
    "shapes_2d": (shapes_2d(), lambda shape: {"rows": [shape[0]], "columns": [shape[1]]}),
    "conv_cases": (conv_cases(), lambda case: conv_sizes(*case)),
    "pool_cases": (pool_cases(), lambda case: pool_sizes(*case)),
    "pool_cases(ties=True)": (pool_cases(ties=True), lambda case: pool_sizes(*case)),
    "shift_cases": (
        shift_cases(),
        lambda case: dict(zip(["batch size", "channels", "height", "width"], ([d] for d in case[1].shape))),
    ),
    "reshape_cases": (
        reshape_cases(),
        lambda case: {"batch size": [case[1].shape[0]], "sample rank": [case[1].ndim - 1], "output rank": [len(case[0].shape)]},
    ),
    "cnn_cases": (cnn_cases(), lambda case: cnn_sizes(*case)),
}


@functools.lru_cache(maxsize=None)
def drawn_cases(name: str) -> list:
    """The cases of ``SIZED[name]``'s strategy, drawn once per test session."""
    return drawn(SIZED[name][0])


@pytest.mark.parametrize("name", sorted(SIZED))
def test_strategy_draws_every_size_both_as_one_and_as_more_than_one(name):
    """Each strategy draws batch sizes (and feature, unit, layer and output counts) of 1 and of more than 1."""
    sizes_of = SIZED[name][1]
    seen = {}
    for case in drawn_cases(name):
        for size, values in sizes_of(case).items():
            seen.setdefault(size, set()).update(values)
    assert seen, f"{name}: drew nothing"
    collapsed = {size: sorted(values) for size, values in seen.items() if not (1 in values and max(values) > 1)}
    assert not collapsed, (
        f"{name}: expected each size to be drawn both as 1 and as more than 1 in {DRAWS} cases, "
        f"got only {collapsed}"
    )


def test_every_activation_setting_has_a_strategy():
    """Every argument an activation's constructor takes is drawn in ACTIVATION_OPTIONS (a new one must be added there)."""
    for name, cls in nl.activations.ACTIVATIONS.items():
        arguments = set(inspect.signature(cls).parameters)
        assert arguments == set(ACTIVATION_OPTIONS.get(name, {})), (
            f"ACTIVATION_OPTIONS[{name!r}]: expected strategies for {sorted(arguments)} "
            f"(the arguments of {cls.__name__}), got {sorted(ACTIVATION_OPTIONS.get(name, {}))}"
        )


def test_leaky_relu_slopes_cover_zero_small_default_one_and_steeper():
    """Drawn LeakyReLU slopes include 0, the default 0.01, others below 1, exactly 1, and above 1."""
    slopes = np.array([activation.negative_slope for activation in drawn(configured_activations(["leaky_relu"]))])
    kinds = {
        "0": slopes == 0,
        "the default 0.01": slopes == 0.01,
        "other slopes in (0, 1)": (slopes > 0) & (slopes < 1) & (slopes != 0.01),
        "1": slopes == 1,
        "above 1": slopes > 1,
    }
    missing = [kind for kind, hits in kinds.items() if not hits.any()]
    assert not missing, f"expected LeakyReLU slopes {missing} among {DRAWS} draws, got {np.unique(slopes)}"


def test_dense_and_network_cases_configure_their_activations():
    """dense_cases and network_cases hand their layers configured activations, not only the defaults."""
    dense_slopes = {
        layer.activation.negative_slope for layer, _ in drawn(dense_cases(activations=["leaky_relu"]))
    }
    network_slopes = {
        layer.activation.negative_slope
        for net, _, _ in drawn_cases("network_cases")
        for layer in net.layers
        if layer.activation.name == "leaky_relu"
    }
    for where, slopes in (("dense_cases", dense_slopes), ("network_cases", network_slopes)):
        assert len(slopes - {0.01}) >= 3, f"{where}: expected LeakyReLU slopes other than 0.01, got {sorted(slopes)}"


def missing_kinds(kinds: dict) -> list:
    """The names of ``kinds`` (name -> one bool per drawn case) that no case had."""
    return [kind for kind, hits in kinds.items() if not any(hits)]


def test_conv_cases_draw_paddings_strides_and_sizes_that_do_not_tile():
    """conv_cases draw each case im2col and col2im treat apart, in both directions: padding 0 and > 0,
    stride below and above the kernel, windows that tile and windows that leave rows out,
    non-square kernels, inputs smaller and larger than the kernel, windows over padding alone."""
    cases = [(layer, x.shape[2:]) for layer, x in drawn_cases("conv_cases")]
    kinds = {}
    for axis, name in ((0, "rows"), (1, "columns")):
        geometry = [(layer.kernel_size[axis], layer.stride[axis], layer.padding[axis], size[axis]) for layer, size in cases]
        kinds.update({
            f"padding 0 ({name})": [p == 0 for k, s, p, n in geometry],
            f"padding > 0 ({name})": [p > 0 for k, s, p, n in geometry],
            f"padding >= kernel: windows of padding alone ({name})": [p >= k for k, s, p, n in geometry],
            f"stride < kernel: overlapping windows ({name})": [s < k for k, s, p, n in geometry],
            f"stride > kernel: gaps between windows ({name})": [s > k for k, s, p, n in geometry],
            f"stride > 1 with windows that tile ({name})": [s > 1 and (n + 2 * p - k) % s == 0 for k, s, p, n in geometry],
            f"windows that leave {name} out": [(n + 2 * p - k) % s != 0 for k, s, p, n in geometry],
            f"input smaller than the kernel ({name})": [n < k for k, s, p, n in geometry],
            f"input larger than the kernel ({name})": [n > k for k, s, p, n in geometry],
            f"stride > 1 over 3 windows or more ({name})": [s > 1 and (n + 2 * p - k) // s + 1 >= 3 for k, s, p, n in geometry],
        })
    kinds["non-square kernel"] = [layer.kernel_size[0] != layer.kernel_size[1] for layer, _ in cases]
    kinds["several channels in and out at once"] = [layer.in_channels > 1 and layer.out_channels > 1 for layer, _ in cases]
    missing = missing_kinds(kinds)
    assert not missing, f"conv_cases: expected every kind of case among {DRAWS} draws, got none with {missing}"


def test_conv_arguments_come_as_ints_and_as_pairs():
    """Kernel sizes, strides and paddings reach Conv2D both as an int and as a pair, square and not."""
    drawn_arguments = drawn(conv_arguments())
    kinds = {}
    for name in ("kernel_size", "stride", "padding"):
        values = [arguments[name] for arguments in drawn_arguments]
        kinds[f"{name} as an int"] = [isinstance(v, int) for v in values]
        kinds[f"{name} as an equal pair"] = [isinstance(v, tuple) and v[0] == v[1] for v in values]
        kinds[f"{name} as an unequal pair"] = [isinstance(v, tuple) and v[0] != v[1] for v in values]
    missing = missing_kinds(kinds)
    assert not missing, f"conv_arguments: expected every form among {DRAWS} draws, got none with {missing}"


def test_conv_cases_draw_every_elementwise_activation_with_settings():
    activations = [layer.activation for layer, _ in drawn_cases("conv_cases")]
    names = {activation.name for activation in activations}
    assert names == set(ELEMENTWISE_NAMES), f"conv_cases: expected activations {ELEMENTWISE_NAMES}, got {sorted(names)}"
    slopes = {activation.negative_slope for activation in activations if activation.name == "leaky_relu"}
    assert slopes - {0.01}, f"conv_cases: expected LeakyReLU slopes other than 0.01, got {sorted(slopes)}"


def test_pool_cases_draw_default_strides_overlaps_gaps_leftovers_and_ties():
    cases = drawn_cases("pool_cases")
    with_ties = drawn_cases("pool_cases(ties=True)")
    kinds = {"the default stride (None: the kernel)": [], "a tie for a window's maximum": []}
    for layer, x in cases:
        for axis, name in ((0, "rows"), (1, "columns")):
            k, s, n = layer.kernel_size[axis], layer.stride[axis], x.shape[2 + axis]
            kinds.setdefault(f"stride < kernel: overlapping windows ({name})", []).append(s < k)
            kinds.setdefault(f"stride > kernel: gaps between windows ({name})", []).append(s > k)
            kinds.setdefault(f"windows that leave {name} out", []).append((n - k) % s != 0)
    for layer, _ in cases + with_ties:
        kinds["the default stride (None: the kernel)"].append(repr(layer).count("stride") == 0)
    for layer, x in with_ties:
        (kh, kw), (sh, sw) = layer.kernel_size, layer.stride
        windows = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw]
        flat = windows.reshape(*windows.shape[:4], -1)
        kinds["a tie for a window's maximum"].append(bool(((flat == flat.max(axis=-1, keepdims=True)).sum(axis=-1) > 1).any()))
    assert not any(
        np.min(np.diff(np.sort(x.reshape(-1)))) < 1e-3 for _, x in cases if x.size > 1
    ), "pool_cases: expected values at least 1e-3 apart (no near ties) without ties=True"
    missing = missing_kinds(kinds)
    assert not missing, f"pool_cases: expected every kind of case among {DRAWS} draws, got none with {missing}"


def test_shift_cases_draw_no_shift_some_and_shifts_beyond_the_image():
    cases = drawn_cases("shift_cases")
    kinds = {
        "max_shift 0": [layer.max_shift == 0 for layer, _ in cases],
        "max_shift > 0 within the image": [0 < layer.max_shift < min(x.shape[2:]) for layer, x in cases],
        "max_shift reaching beyond the image": [layer.max_shift >= min(x.shape[2:]) for layer, x in cases],
    }
    missing = missing_kinds(kinds)
    assert not missing, f"shift_cases: expected every kind of case among {DRAWS} draws, got none with {missing}"


def test_cnn_cases_draw_each_optional_layer_and_every_loss():
    cases = drawn_cases("cnn_cases")
    kinds = {f"{cls.__name__} present": [] for cls in (nl.Reshape, nl.RandomShift, nl.MaxPool2D)}
    kinds.update({f"{cls.__name__} absent": [] for cls in (nl.Reshape, nl.RandomShift, nl.MaxPool2D)})
    for net, _, _ in cases:
        for cls in (nl.Reshape, nl.RandomShift, nl.MaxPool2D):
            present = any(isinstance(layer, cls) for layer in net.layers)
            kinds[f"{cls.__name__} present"].append(present)
            kinds[f"{cls.__name__} absent"].append(not present)
    for loss in sorted(nl.losses.LOSSES):
        kinds[f"loss {loss}"] = [net.loss.name == loss for net, _, _ in cases]
    missing = missing_kinds(kinds)
    assert not missing, f"cnn_cases: expected every kind of case among {DRAWS} draws, got none with {missing}"
