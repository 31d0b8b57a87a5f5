"""Integration test on the real MNIST files.

Uses the directory in ``NEUROLAB_DATA`` (or its ``mnist/`` subdirectory); with
the variable unset, the per-user cache; skips if neither has the files.
Checks the decompressed content against the sha256s in the project's data
README, independently of the loader, then checks what the loader returns.
"""

import gzip
import hashlib
import os
from pathlib import Path

import numpy as np
import pytest

from neurolab.datasets import MNIST_FILES, default_cache_dir, load_mnist

# sha256 of the decompressed IDX files (header + payload).
CONTENT_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def _idx_path(directory, name):
    for path in (directory / (name + ".gz"), directory / name):
        if path.is_file():
            return path
    return None


@pytest.fixture(scope="module")
def mnist_dir():
    env = os.environ.get("NEUROLAB_DATA")
    candidates = [Path(env), Path(env) / "mnist"] if env else [default_cache_dir()]
    for directory in candidates:
        if all(_idx_path(directory, name) for name in MNIST_FILES):
            return directory
    if env:
        pytest.fail(f"NEUROLAB_DATA={env!r} is set but neither it nor its mnist/ "
                    f"subdirectory holds the four MNIST IDX files {MNIST_FILES}")
    pytest.skip(f"real MNIST not available: NEUROLAB_DATA is unset and "
                f"{default_cache_dir()} lacks the IDX files; set NEUROLAB_DATA to run")


@pytest.fixture(scope="module")
def raw(mnist_dir):
    """Decompressed bytes of each IDX file, read without the loader."""
    contents = {}
    for name in MNIST_FILES:
        data = _idx_path(mnist_dir, name).read_bytes()
        contents[name] = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    return contents


@pytest.fixture(scope="module")
def mnist(mnist_dir):
    return load_mnist(mnist_dir, download=False, verify=True)  # MNIST_SHA256 against the real files


@pytest.mark.parametrize("name", MNIST_FILES)
def test_content_sha256_matches_readme(raw, name):
    assert hashlib.sha256(raw[name]).hexdigest() == CONTENT_SHA256[name]


def test_shapes_and_dtypes(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.shape == (60000, 784) and y_train.shape == (60000,)
    assert x_test.shape == (10000, 784) and y_test.shape == (10000,)
    for array in (x_train, y_train, x_test, y_test):
        assert array.dtype == np.uint8


def test_loader_returns_the_checksummed_bytes(mnist, raw):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.tobytes() == raw["train-images-idx3-ubyte"][16:]
    assert y_train.tobytes() == raw["train-labels-idx1-ubyte"][8:]
    assert x_test.tobytes() == raw["t10k-images-idx3-ubyte"][16:]
    assert y_test.tobytes() == raw["t10k-labels-idx1-ubyte"][8:]


def test_pixel_range_and_label_counts(mnist):
    (x_train, y_train), (x_test, y_test) = mnist
    assert x_train.min() == 0 and x_train.max() == 255
    assert x_test.min() == 0 and x_test.max() == 255
    assert np.bincount(y_train, minlength=10).tolist() == TRAIN_LABEL_COUNTS
    assert np.bincount(y_test, minlength=10).tolist() == TEST_LABEL_COUNTS
