"""The package is typed: it ships ``py.typed``, and mypy (pinned in the test extra) passes over ``neurolab/``."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_package_says_it_is_typed():
    assert (ROOT / "neurolab" / "py.typed").is_file()
    assert "neurolab = py.typed" in (ROOT / "setup.cfg").read_text()  # and the wheel carries it


@pytest.mark.slow
def test_mypy_passes_over_the_package(tmp_path):
    pytest.importorskip("mypy", reason="mypy is not installed: pip install -e '.[test]'")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "setup.cfg"), "--cache-dir", str(tmp_path), "neurolab"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found")
