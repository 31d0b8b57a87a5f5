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
    configured_activations,
    dense_cases,
    loss_cases,
    network_cases,
    shapes_2d,
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
