"""The benchmark script runs (a smoke test), so it cannot rot; its paired table is read right.

torch is an optional extra of the benchmark only (CI installs ``.[test]``, without it): the
tests pass either way, and the torch-specific checks are skipped, with the reason, without it.
"""

import importlib.util
import os
import re
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


def load_benchmark(name: str):
    """benchmarks/<name>.py as a module (benchmarks/ is not a package)."""
    spec = importlib.util.spec_from_file_location(name, SCRIPT.parent / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def train_speed():
    return load_benchmark("train_speed")


def table_rows(lines, first="case"):
    """The rows of the table whose header starts with ``first``, as lists of cells: the cells are
    separated by two or more spaces (an empty cell leaves none)."""
    start = next(i for i, line in enumerate(lines) if line.startswith(first + " "))
    rows = []
    for line in lines[start + 2 :]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def rows_of(lines, first="case"):
    """The table's rows by their first cell."""
    return {row[0]: row for row in table_rows(lines, first)}


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

    what_if = load_benchmark("what_if")
    import neurolab as nl

    before = nl.Dense.backward
    with what_if.swapped(what_if.ideas()["direct-grads"]):
        assert nl.Dense.backward is what_if.direct_backward
    assert nl.Dense.backward is before  # the library is left as it was


# -- conv_speed.py: neurolab's CNN against torch's -----------------------------------------------
CONV_SCRIPT = SCRIPT.parent / "conv_speed.py"


@pytest.fixture(scope="module")
def conv_speed():
    return load_benchmark("conv_speed")  # it imports train_speed from beside itself


class FixedRun:
    """A trainer whose epochs take the given seconds (train_paired only calls epoch and result)."""

    def __init__(self, seconds):
        self.seconds = iter(seconds)

    def epoch(self):
        return next(self.seconds)

    def result(self):
        return {"test_acc": 0.99}


def conv_rounds(conv_speed, torch: bool) -> list[dict]:
    """Three made-up rounds of 2 epochs: torch 1.0 s per epoch, neurolab 1.8, 2.0 and 2.4 s
    (epoch 1, the warm-up, 5 s for both); a quarter of the images, so x4 to a full epoch."""
    rounds = []
    for seed, neurolab in enumerate((1.8, 2.0, 2.4)):
        trainers = {"neurolab": FixedRun([5.0, neurolab])}
        if torch:
            trainers["torch"] = FixedRun([5.0, 1.0])
        result = conv_speed.train_paired(trainers, 2, seed, "torch" if torch else "neurolab", scale=4.0)
        if not torch:
            result["torch_missing"] = "torch not installed (pip install torch==2.13.0)"
        rounds.append(result)
    return rounds


MEMORY = {"neurolab": {"rss_mib": 230.4, "start_rss_mib": 105.0, "step_peak_mib": 90.2},
          "torch": {"rss_mib": 423.0, "start_rss_mib": 349.0}}


@pytest.mark.parametrize("torch", [True, False], ids=["with torch", "without torch"])
def test_conv_table_gives_neurolab_over_torch_per_round_and_memory(conv_speed, torch):
    rounds = conv_rounds(conv_speed, torch)
    rows = rows_of(conv_speed.table(rounds, MEMORY if torch else {"neurolab": MEMORY["neurolab"]}, "2.13.0+cpu"), "engine")
    assert list(rows) == ["neurolab", "torch 2.13.0+cpu (CPU, 2 threads)"]
    neurolab = rows["neurolab"]
    assert neurolab[1] == "8.00 (7.20-9.60)"  # s/epoch scaled x4: epoch 2 of each round
    assert neurolab[4:] == ["99.0% (99.0-99.0)", "230 (105)", "90", "3"]
    goal = conv_speed.goal_note(rounds)[-1]
    if torch:
        assert neurolab[2:4] == ["2.00 (1.80-2.40)", "1.80"]  # neurolab / torch, not the other way round
        assert rows["torch 2.13.0+cpu (CPU, 2 threads)"][1:] == ["4.00 (4.00-4.00)", "1.00", "1.00", "99.0% (99.0-99.0)",
                                                                 "423 (349)", "-", "3"]
        assert goal == "goal, from 3 paired round(s): neurolab / torch median ratio 2.00 <= 2 (met)"
    else:
        assert neurolab[2:4] == ["-", "-"]
        assert rows["torch 2.13.0+cpu (CPU, 2 threads)"][1] == "torch not installed (pip install torch==2.13.0)"
        assert goal == "goal (neurolab's epoch at most 2x torch's): not measured: torch not installed (pip install torch==2.13.0)"


def test_conv_goal_is_not_met_above_twice_torch(conv_speed):
    rounds = conv_rounds(conv_speed, torch=True)
    rounds[0]["ratio"]["neurolab"] = 2.4  # ratios 2.4, 2.0, 2.4: median 2.4
    assert conv_speed.goal_note(rounds)[-1].endswith("median ratio 2.40 > 2 (NOT met)")


def conv_run(mnist_dir, *args, env=()):
    return subprocess.run(
        [sys.executable, str(CONV_SCRIPT), *args, "--wait-idle", "0", "--retries", "0"],
        capture_output=True, text=True, timeout=600,
        env={**os.environ, "NEUROLAB_DATA": str(mnist_dir), **dict(env)},
    )


def raw_epochs(stderr: str) -> dict:
    """Per engine, the unscaled seconds of its epochs, from the round's progress line on stderr."""
    line = next(line for line in stderr.splitlines() if line.startswith("round 1/1  paired"))
    parts = line.split("epochs: ", 1)[1].split("  other processes")[0].split("; ")
    return {part.split()[0]: float(part.split()[1]) for part in parts}


def check_conv_run(run, torch_row_expected: bool) -> dict:
    """The table of a --limit 512 --epochs 1 run: rows, scaled times, the ratio's direction, memory."""
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    rows = rows_of(lines, "engine")
    assert list(rows)[0] == "neurolab" and list(rows)[1].startswith("torch") and len(rows) == 2
    neurolab = rows["neurolab"]
    raw = raw_epochs(run.stderr)
    rounding = 0.005 * 60000 / 512  # stderr shows each epoch to 0.01 s: that much, scaled, either way
    assert float(neurolab[1]) == pytest.approx(raw["neurolab"] * 60000 / 512, rel=0.01, abs=rounding)  # scaled to 60,000 images
    assert neurolab[4].endswith("%") and neurolab[-1] == "1"
    peak, before = neurolab[5].rstrip(")").split(" (")
    assert float(peak) >= float(before) > 20 and float(neurolab[6]) > 1  # RSS and the traced step peak, MiB
    torch = rows[list(rows)[1]]
    if torch_row_expected:
        assert float(torch[1]) == pytest.approx(raw["torch"] * 60000 / 512, rel=0.01, abs=rounding)
        assert float(neurolab[2]) == pytest.approx(float(neurolab[1]) / float(torch[1]), rel=0.02)  # neurolab / torch
        assert torch[2] == "1.00" and torch[4].endswith("%") and torch[6] == "-"
        assert any(line.startswith("goal, from 1 paired round(s): neurolab / torch median ratio") for line in lines)
    else:
        assert torch[1].startswith(("torch not installed", "import torch failed")), torch
        assert "torch" not in raw and neurolab[2] == "-"
        assert any(line.startswith("goal (neurolab's epoch at most 2x torch's): not measured: ") for line in lines)
    assert any(line.startswith("other processes kept") for line in lines)
    return rows


@pytest.mark.slow
def test_conv_speed_without_torch_gives_neurolab_rows_and_says_why(mnist_dir, tmp_path):
    hidden = tmp_path / "torch"  # a package that shadows torch, installed or not, and fails to import
    hidden.mkdir()
    (hidden / "__init__.py").write_text('raise ImportError("torch hidden by the test")\n')
    pythonpath = os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    run = conv_run(mnist_dir, "--limit", "512", "--epochs", "1", "--rounds", "1", env={"PYTHONPATH": pythonpath})
    check_conv_run(run, torch_row_expected=False)


@pytest.mark.slow
def test_conv_speed_pairs_torch(mnist_dir):
    problem = torch_problem()
    if problem is not None:
        pytest.skip(f"torch row not checked: {problem}")
    rows = check_conv_run(conv_run(mnist_dir, "--limit", "512", "--epochs", "1", "--rounds", "1"), torch_row_expected=True)
    torch = rows[list(rows)[1]]
    peak, before = torch[5].rstrip(")").split(" (")
    assert float(peak) >= float(before) > 20


@pytest.mark.slow
def test_conv_speed_layers_times_every_layer_forward_and_backward(mnist_dir):
    run = conv_run(mnist_dir, "--layers", "--repeats", "2")
    assert run.returncode == 0, run.stderr
    rows = table_rows(run.stdout.splitlines(), "part")
    names = [row[0].split("(")[0] for row in rows]
    assert names == ["Rescale", "Reshape", "Conv2D", "MaxPool2D", "Conv2D", "MaxPool2D", "Flatten", "Dense",
                     "Dropout", "Dense", "loss: cross-entropy from logits", "optimizer: Adam step, 8 parameters",
                     "sum of the parts", "one whole step, measured"]
    layers = rows[:10]
    assert [row[3] for row in layers[:2]] == ["-", "-"]  # fit runs no backward before the first Conv2D
    for row in layers[2:]:
        assert float(row[2]) >= 0 and float(row[3]) >= 0 and row[4].endswith("%"), row
    assert rows[-1][-1].endswith("s per epoch")
