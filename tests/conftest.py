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

# NEUROLAB_DATA may be relative (the README's ../shared/data/mnist); some tests change the
# working directory, so pin it to where the test run started.
if os.environ.get("NEUROLAB_DATA"):
    os.environ["NEUROLAB_DATA"] = os.path.abspath(os.environ["NEUROLAB_DATA"])


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The real MNIST directory from NEUROLAB_DATA; the test is skipped when it is not set."""
    value = os.environ.get("NEUROLAB_DATA")
    if not value:
        pytest.skip("real MNIST not available: set NEUROLAB_DATA to the directory holding it")
    return Path(value)
