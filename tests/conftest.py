"""Hypothesis profiles: ``dev`` (default, quick) and ``ci`` (derandomised, more examples, no deadline).

Choose one with ``pytest --hypothesis-profile=ci`` or ``NEUROLAB_HYPOTHESIS_PROFILE=ci``.
"""

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=40, deadline=None)
settings.register_profile(
    "ci",
    max_examples=100,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("NEUROLAB_HYPOTHESIS_PROFILE", "dev"))


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST directory from NEUROLAB_DATA; the test is skipped when it is not set."""
    value = os.environ.get("NEUROLAB_DATA")
    if not value:
        pytest.skip("real MNIST not available: set NEUROLAB_DATA to the directory holding it")
    return Path(value)
