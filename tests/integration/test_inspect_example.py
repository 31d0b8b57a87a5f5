"""examples/inspect_neurons.py runs with tiny settings and writes every picture it promises."""

import runpy
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("PIL")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "inspect_neurons.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PICTURES = ["history.png", "weights.png", "top_activating.png", "confusion.png", "activations.png", "weight_history.png"]


def main(argv):
    return runpy.run_path(str(EXAMPLE), run_name="example")["main"](argv)


def test_inspect_neurons_tiny_run_writes_the_pictures_and_the_trace(mnist_dir, tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "pictures"
    result = main([
        "--data-dir", str(mnist_dir), "--out", str(out), "--limit", "640", "--epochs", "2",
        "--neuron", "5", "--digit-index", "3", "--verbose", "0",
    ])
    printed = capsys.readouterr().out
    assert set(result["paths"]) == set(PICTURES) | {"weight_history.gif"}
    for name in PICTURES:
        path = result["paths"][name]
        assert path == out / name and path.read_bytes().startswith(PNG_SIGNATURE), name
        assert str(path) in printed
    with Image.open(out / "weight_history.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames == len(result["weight_history"].snapshots) == 1 + 2 * 4
    trace = result["trace"]
    assert (trace.layer, trace.neuron, trace.equation) == (1, 5, "BP2")
    assert "BP2" in printed and "neuron 5 of layers[1] Dense(784, 16, activation='sigmoid')" in printed
    assert "on test image 3 (a 0)" in printed
    assert 0.3 < result["test_accuracy"] <= 1.0  # learning has started (chance is 0.10)


def test_inspect_neurons_on_a_saved_model_skips_the_training_pictures(mnist_dir, tmp_path, capsys):
    example = runpy.run_path(str(EXAMPLE), run_name="example")
    model = example["build"](0).save(tmp_path / "untrained.npz")
    result = example["main"](["--data-dir", str(mnist_dir), "--out", str(tmp_path), "--load", str(model)])
    assert set(result["paths"]) == {"weights.png", "top_activating.png", "confusion.png", "activations.png"}
    assert result["weight_history"] is None
    printed = capsys.readouterr().out
    assert "no training, so no history pictures" in printed and "BP2" in printed
    assert "update: none shown" in printed  # a saved, never-trained model has no optimizer


def test_inspect_neurons_help(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--data-dir", "--out", "--load", "--epochs", "--limit", "--seed", "--neuron", "--digit-index"):
        assert option in text


def test_inspect_neurons_refuses_a_neuron_the_layer_does_not_have_before_training(mnist_dir, tmp_path):
    with pytest.raises(SystemExit, match=r"--neuron: expected a neuron in \[0, 16\), got 16"):
        main(["--data-dir", str(mnist_dir), "--out", str(tmp_path), "--neuron", "16"])
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written
