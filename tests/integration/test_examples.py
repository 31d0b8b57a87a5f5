"""The examples run, so they cannot rot."""

import runpy
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(name):
    return runpy.run_path(str(EXAMPLES / name), run_name="example")


def test_xor_reaches_full_accuracy(capsys):
    accuracy = load("xor.py")["main"](["--epochs", "500", "--seed", "0"])
    assert accuracy == 1.0
    out = capsys.readouterr().out
    assert "accuracy 100%" in out and "h3: w = " in out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_xor_is_robust_to_the_seed(seed):
    assert load("xor.py")["main"](["--seed", str(seed)]) == 1.0


def test_xor_help(capsys):
    with pytest.raises(SystemExit) as info:
        load("xor.py")["main"](["--help"])
    assert info.value.code == 0
    assert "--epochs" in capsys.readouterr().out
