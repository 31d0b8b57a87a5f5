"""The benchmark script runs (a smoke test), so it cannot rot."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_speed.py"


@pytest.mark.slow
def test_train_speed_quick_run_prints_the_table(mnist_dir):
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--cases", "numpy,neurolab,paired", "--wait-idle", "0", "--retries", "0"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "NEUROLAB_DATA": str(mnist_dir)},
    )
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if line.startswith(("numpy reference", "neurolab"))]
    assert len(rows) == 3 and all("%" in row for row in rows)
    paired = rows[2].split()
    assert "same process" in rows[2] and paired[-1] == "-"  # no RSS of its own: both sides share it
