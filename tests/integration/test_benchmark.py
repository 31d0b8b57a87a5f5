"""The benchmark script runs (a smoke test), so it cannot rot; its paired table is read right.

torch is an optional extra of the benchmark only (CI installs ``.[test]``, without it): the
tests pass either way, and the torch-specific checks are skipped, with the reason, without it.
"""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_speed.py"


def torch_problem():
    """None when torch imports here (and so in the script's workers), else why not."""
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed (an optional extra of the benchmark: pip install torch==2.13.0)"
    try:
        import torch  # noqa: F401
    except Exception as error:
        return f"import torch failed: {error}"
    return None


@pytest.fixture(scope="module")
def train_speed():
    """benchmarks/train_speed.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location("train_speed", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rows_of(lines):
    """The table's rows as lists of cells: the cells are separated by two or more spaces."""
    import re

    start = next(i for i, line in enumerate(lines) if line.startswith("case "))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return {row[0]: row for row in rows}


def test_paired_order_puts_every_engine_in_every_place_and_after_every_other(train_speed):
    engines = ["numpy", "neurolab", "torch"]
    for seed in range(4):
        orders = [train_speed.paired_order(engines, i, seed) for i in range(3)]
        assert all(sorted(order) == sorted(engines) for order in orders)
        for place in range(3):  # three consecutive epochs: each engine once in each place
            assert sorted(order[place] for order in orders) == sorted(engines)
    before = {train_speed.paired_order(engines, 0, seed)[train_speed.paired_order(engines, 0, seed).index("neurolab") - 1]
              for seed in range(4)}
    assert before == {"numpy", "torch"}  # over rounds, neurolab follows both others
    firsts = {tuple(train_speed.paired_order(["numpy", "neurolab"], 1, seed)) for seed in range(4)}
    assert len(firsts) == 2  # two engines: the first measured epoch's order changes between rounds


def paired_result(torch: bool) -> dict:
    """A paired worker's result, made up: numpy 1.0 s, neurolab 1.1 s, torch 1.5 s per epoch."""
    engines = {"numpy": [1.2, 1.0, 1.0], "neurolab": [1.3, 1.1, 1.1]}
    if torch:
        engines["torch"] = [1.6, 1.5, 1.5]
    result = {
        "engines": {name: {"epoch_s": times, "scale": 1.0, "test_acc": 0.975} for name, times in engines.items()},
        "ratio": {name: 1.1 if name == "neurolab" else 1.5 for name in engines if name != "numpy"},
        "others_cores": 0.0,
    }
    if not torch:
        result["torch_missing"] = "torch not installed (pip install torch==2.13.0)"
    return result


@pytest.mark.parametrize("torch", [True, False], ids=["with torch", "without torch"])
def test_paired_rows_state_ratio_range_fastest_and_rounds(train_speed, torch):
    rounds = [{"paired": paired_result(torch)} for _ in range(3)]
    lines = train_speed.table(["paired"], rounds, "2.13.0+cpu" if torch else None)
    rows = rows_of(lines)
    assert list(rows) == ["numpy-paired", "neurolab-paired", "torch-paired"]
    assert rows["numpy-paired"][3] == "1.00" and rows["numpy-paired"][-1] == "3"
    neurolab = rows["neurolab-paired"]
    assert neurolab[1:6] == ["1.10 (1.10-1.10)", "1.30 (1.30-1.30)", "1.10 (1.10-1.10)", "1.10",
                             "numpy-paired, same process"]
    assert neurolab[-2:] == ["-", "3"]  # no peak RSS of its own; 3 rounds
    goal = train_speed.goal_note(rounds)[-1]
    assert "neurolab-paired median ratio 1.10 <= 1.15 (met)" in goal
    if torch:
        assert rows["torch-paired"][3:5] == ["1.50 (1.50-1.50)", "1.50"]
        assert "neurolab / torch in the same process 0.73 (0.73-0.73) (faster than torch: met)" in goal
    else:
        assert rows["torch-paired"] == ["torch-paired", "torch not installed (pip install torch==2.13.0)"]
        assert "neurolab against torch: not measured (no torch)" in goal


@pytest.fixture(scope="module")
def quick_run(mnist_dir):
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--cases", "numpy,neurolab,paired", "--wait-idle", "0", "--retries", "0"],
        capture_output=True, text=True, timeout=600, env={**os.environ, "NEUROLAB_DATA": str(mnist_dir)},
    )


@pytest.mark.slow
def test_train_speed_quick_run_prints_the_table(quick_run):
    assert quick_run.returncode == 0, quick_run.stderr
    lines = quick_run.stdout.splitlines()
    rows = rows_of(lines)
    assert list(rows) == ["numpy reference", "neurolab", "numpy-paired", "neurolab-paired", "torch-paired"]
    for name in ("numpy reference", "neurolab", "numpy-paired", "neurolab-paired"):
        assert rows[name][-1] == "1" and rows[name][-3].endswith("%"), rows[name]  # 1 round, a test accuracy
    neurolab = rows["neurolab-paired"]
    assert float(neurolab[3]) > 0 and neurolab[5] == "numpy-paired, same process" and neurolab[-2] == "-"
    assert any(line.startswith("goal, from the 1 paired round(s): neurolab-paired median ratio") for line in lines)
    if torch_problem() is not None:  # the run says so instead of failing
        assert rows["torch-paired"][1].startswith(("torch not installed", "import torch failed"))


@pytest.mark.slow
def test_train_speed_quick_run_pairs_torch(quick_run):
    problem = torch_problem()
    if problem is not None:
        pytest.skip(f"torch-paired row not checked: {problem}")
    assert quick_run.returncode == 0, quick_run.stderr
    torch = rows_of(quick_run.stdout.splitlines())["torch-paired"]
    assert float(torch[3]) > 0 and torch[5] == "numpy-paired, same process" and torch[-3].endswith("%")
    assert "neurolab / torch in the same process" in quick_run.stdout


def table_of(script: str, mnist_dir, *args: str) -> list[str]:
    """Run benchmarks/<script> with ``args``; the rows of the markdown table it prints (header first)."""
    run = subprocess.run(
        [sys.executable, str(SCRIPT.parent / script), *args],
        capture_output=True, text=True, timeout=600, env={**os.environ, "NEUROLAB_DATA": str(mnist_dir)},
    )
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.splitlines() if line.startswith("| ")]


@pytest.mark.slow
def test_first_layer_dx_runs_and_its_branch_changes_no_weight(mnist_dir):
    """The script behind the comment on NeuralNetwork.backward's branch: it trains both ways and
    refuses to print a table if the weights differ, so a run that exits 0 also checks that."""
    table = table_of("first_layer_dx.py", mnist_dir, "--rounds", "1", "--epochs", "2", "--subset", "1024")
    assert table[1].startswith("| full (dX = dZ @ W computed) |")
    assert table[2].startswith("| input_grad=False (what fit does) |") and table[2].endswith("% |")


@pytest.mark.slow
def test_what_if_runs_both_ideas_and_puts_everything_back(mnist_dir):
    rows = table_of("what_if.py", mnist_dir, "--rounds", "1", "--pairs", "1", "--subset", "512")
    assert [row.split(" | ")[0] for row in rows[1:]] == ["| direct-grads", "| no-checks"]

    spec = importlib.util.spec_from_file_location("what_if", SCRIPT.parent / "what_if.py")
    what_if = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(what_if)
    import neurolab as nl

    before = nl.Dense.backward
    with what_if.swapped(what_if.ideas()["direct-grads"]):
        assert nl.Dense.backward is what_if.direct_backward
    assert nl.Dense.backward is before  # the library is left as it was
