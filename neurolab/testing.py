"""Property-based gradient checks for your own layers, with Hypothesis.

``assert_layer_gradients(make_layer)`` runs :func:`neurolab.gradcheck.check_layer` on layers
built by ``make_layer(in_features, rng)`` over Hypothesis-drawn feature counts, batch sizes,
input values and seeds, and reports the smallest failing case it finds::

    import neurolab as nl
    from neurolab.testing import assert_layer_gradients

    def test_my_layer_gradients():
        assert_layer_gradients(lambda in_features, rng: MyLayer(in_features, 3, rng=rng))

``assert_image_layer_gradients(make_layer)`` does the same for layers on images
``(N, C, H, W)``, built by ``make_layer(in_channels, rng)``. The strategies they use
(``float_arrays``, ``layer_inputs``, ``image_inputs``) are public too. Hypothesis is an
optional dependency of this module only: ``pip install neurolab-nn[test]``.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

try:
    from hypothesis import assume, given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays
except ImportError as error:  # pragma: no cover - exercised only without Hypothesis
    raise ImportError(
        "neurolab.testing: expected the hypothesis package, got none installed; "
        "install it with pip install hypothesis (or pip install neurolab-nn[test])"
    ) from error

from .gradcheck import check_layer


def float_arrays(shape, low: float = -2.0, high: float = 2.0) -> st.SearchStrategy:
    """float64 arrays of ``shape`` (a tuple or a strategy of tuples) with finite values in [low, high]."""
    elements = st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)
    return arrays(np.float64, shape, elements=elements)


@st.composite
def layer_inputs(draw, max_in_features: int = 6, max_batch_size: int = 5, low: float = -2.0, high: float = 2.0):
    """``(in_features, x)`` with ``x`` of shape ``(N, in_features)``, 1 <= N <= max_batch_size."""
    in_features = draw(st.integers(1, max_in_features))
    n = draw(st.integers(1, max_batch_size))
    return in_features, draw(float_arrays((n, in_features), low, high))


@st.composite
def image_inputs(draw, max_channels: int = 3, max_size: int = 7, max_batch_size: int = 3, low: float = -2.0, high: float = 2.0):
    """``(in_channels, x)`` with images ``x`` of shape ``(N, C, H, W)``: 1 <= C <= max_channels, 1 <= H, W <= max_size."""
    channels = draw(st.integers(1, max_channels))
    n = draw(st.integers(1, max_batch_size))
    height, width = draw(st.integers(1, max_size)), draw(st.integers(1, max_size))
    return channels, draw(float_arrays((n, channels, height, width), low, high))


def away_from_kinks(margin: float = 1e-3) -> Callable:
    """A ``where`` filter for Dense-like layers: every pre-activation ``X @ W.T + b`` has ``|z| > margin``.

    Finite differences straddling a kink (ReLU at 0) measure nothing; keeping ``z`` a
    thousand steps away from it keeps the check exact without loosening tolerances.
    """

    def where(layer, x) -> bool:
        z = x @ layer.weight.value.T + layer.bias.value
        return bool(np.all(np.abs(z) > margin))

    return where


def assert_layer_gradients(
    make_layer: Callable[[int, np.random.Generator], object],
    *,
    max_in_features: int = 6,
    max_batch_size: int = 5,
    low: float = -2.0,
    high: float = 2.0,
    where: Callable | None = None,
    max_examples: int | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> None:
    """Check a layer's ``backward`` against finite differences over many random cases.

    Parameters
    ----------
    make_layer : callable ``(in_features, rng) -> layer``
        Builds a fresh layer taking ``in_features`` inputs, drawing any random initial
        values from the ``numpy.random.Generator`` it is given.
    max_in_features, max_batch_size : int
        Upper bounds of the drawn input shape ``(N, in_features)``.
    low, high : float
        Range of the input values.
    where : callable ``(layer, x) -> bool``, optional
        Cases for which it returns False are skipped (``hypothesis.assume``), e.g.
        :func:`away_from_kinks`.
    max_examples : int, optional
        Number of cases; by default the active Hypothesis profile's.
    rtol, atol : float
        Tolerances of :func:`neurolab.gradcheck.check_layer`.

    Raises
    ------
    neurolab.gradcheck.GradientCheckError
        For the simplest failing case Hypothesis finds (printed with the error).
    """
    _check_cases(make_layer, layer_inputs(max_in_features, max_batch_size, low, high), where, max_examples, rtol, atol)


def assert_image_layer_gradients(
    make_layer: Callable[[int, np.random.Generator], object],
    *,
    max_channels: int = 3,
    max_size: int = 7,
    max_batch_size: int = 3,
    low: float = -2.0,
    high: float = 2.0,
    where: Callable | None = None,
    max_examples: int | None = None,
    rtol: float = 1e-5,
    atol: float = 1e-7,
) -> None:
    """:func:`assert_layer_gradients` for layers on images ``(N, C, H, W)``, such as a convolution of your own.

    ``make_layer(in_channels, rng)`` builds the layer; heights and widths are drawn from 1 to
    ``max_size``, so a layer that cannot take small images should refuse them with a
    ``ValueError`` and return False from ``where`` for them (see ``Conv2D.output_shape``).
    """
    _check_cases(make_layer, image_inputs(max_channels, max_size, max_batch_size, low, high), where, max_examples, rtol, atol)


def _check_cases(make_layer, cases, where, max_examples, rtol, atol) -> None:
    """Run :func:`check_layer` on a fresh layer for each ``(size, x)`` that ``cases`` draws."""
    options = {} if max_examples is None else {"max_examples": max_examples}

    @settings(deadline=None, **options)
    @given(case=cases, seed=st.integers(0, 2**32 - 1))
    def run(case, seed):
        size, x = case
        layer = make_layer(size, np.random.default_rng(seed))
        if where is not None:
            assume(where(layer, x))
        check_layer(layer, x, rtol=rtol, atol=atol, seed=seed)

    run()
