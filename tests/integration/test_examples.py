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


def test_mnist_example_tiny_run_saves_loads_and_reads_a_png(mnist_dir, tmp_path, capsys):
    from PIL import Image

    import neurolab as nl

    mnist = load("mnist.py")
    model = tmp_path / "tiny.npz"
    result = mnist["main"]([
        "--data-dir", str(mnist_dir), "--limit", "3000", "--epochs", "2", "--hidden", "32",
        "--batch-size", "64", "--save", str(model), "--verbose", "2",
    ])
    out = capsys.readouterr().out
    assert "epoch 2/2" in out and "(reloaded: identical predictions)" in out
    assert 0.80 < result["test_accuracy"] <= 1.0
    assert result["confusion"].sum() == 10_000 and result["confusion"].trace() == round(result["test_accuracy"] * 10_000)
    assert model.exists() and result["history"]["val_accuracy"][-1] == result["test_accuracy"]

    # A user's own image: a test digit saved as a dark-on-light PNG, as people draw them.
    (_, _), (x_test, _) = nl.datasets.load_mnist(mnist_dir)
    png = tmp_path / "digit.png"
    Image.fromarray(255 - x_test[0].reshape(28, 28)).save(png)
    expected = int(nl.load(model).predict(x_test[:1])[0])
    mnist["main"](["--data-dir", str(mnist_dir), "--load", str(model), "--image", str(png), "--show", "2"])
    out = capsys.readouterr().out
    assert f"digit.png: digit {expected}  probabilities 0:" in out
    assert "test image 1: label 2" in out and "confusion matrix" in out


@pytest.mark.parametrize("preset, layers", [("nielsen", "Dense(784, 30, activation='sigmoid')"), ("3b1b", "Dense(16, 16, activation='sigmoid')")])
def test_mnist_presets_build_the_tutorial_networks(mnist_dir, capsys, preset, layers):
    result = load("mnist.py")["main"](["--data-dir", str(mnist_dir), "--preset", preset, "--limit", "2000", "--epochs", "1", "--no-save", "--verbose", "0"])
    out = capsys.readouterr().out
    assert layers in out and "loss: mse" in out
    assert result["test_accuracy"] > 0.25  # learning has started (chance is 0.10)


def test_mnist_help(capsys):
    with pytest.raises(SystemExit) as info:
        load("mnist.py")["main"](["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--data-dir", "--epochs", "--hidden", "--batch-size", "--lr", "--seed", "--save", "--load", "--image", "--preset"):
        assert option in text


def test_binary_nine_tiny(mnist_dir, capsys):
    result = load("binary_nine.py")["main"](["--data-dir", str(mnist_dir), "--limit", "5000", "--epochs", "1", "--verbose", "0"])
    assert result["accuracy"] > result["baseline"] + 0.02
    assert capsys.readouterr().out.count("\n") >= 28 + 3  # the 28-line weight picture


@pytest.mark.slow
def test_mnist_short_real_training_reaches_a_sensible_accuracy(mnist_dir):
    result = load("mnist.py")["main"](["--data-dir", str(mnist_dir), "--hidden", "128", "--epochs", "3", "--dropout", "0.1", "--no-save", "--verbose", "0", "--show", "0"])
    assert result["test_accuracy"] >= 0.95  # 96.5% measured with these settings
