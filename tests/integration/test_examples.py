"""The examples run, so they cannot rot."""

import runpy
from pathlib import Path

import numpy as np
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
    assert model.exists() and result["val_accuracy"] == result["history"]["val_accuracy"][-1]

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
    for option in ("--data-dir", "--epochs", "--hidden", "--batch-size", "--lr", "--seed", "--save", "--load", "--image",
                   "--preset", "--validation", "--augment", "--limit"):
        assert option in text
    assert "scored once" in text and "held out" in text


def test_mnist_split_holds_out_the_last_images_whatever_the_limit():
    split = load("mnist.py")["split_training"]
    x, y = np.arange(10) * 10, np.arange(10)
    (x_fit, y_fit), (x_val, y_val) = split(x, y, 3)
    assert x_fit.tolist() == list(range(0, 70, 10)) and y_fit.tolist() == list(range(7))
    assert x_val.tolist() == [70, 80, 90] and y_val.tolist() == [7, 8, 9]
    (x_fit, y_fit), (x_val, _) = split(x, y, 3, limit=4)
    assert y_fit.tolist() == [0, 1, 2, 3] and x_val.tolist() == [70, 80, 90]  # the same held-out images
    (x_fit, _), held_out = split(x, y, 0, limit=10)
    assert len(x_fit) == 10 and held_out is None
    with pytest.raises(SystemExit, match=r"--limit: expected N of at most 7 .*, got 8; lower --limit or --validation"):
        split(x, y, 3, limit=8)
    with pytest.raises(SystemExit, match=r"--validation: expected N to leave images to train on, got 10 of the 10"):
        split(x, y, 10)


def test_mnist_sizes():
    sizes = load("mnist.py")["sizes"]
    assert sizes("512, 256", "--hidden") == [512, 256] and sizes("", "--hidden") == []
    for text in ("512,0", "a,b", "-3"):
        with pytest.raises(SystemExit, match=rf"--hidden: expected positive ints separated by commas, .*, got '{text}'"):
            sizes(text, "--hidden")


@pytest.mark.parametrize("argv, message", [
    (["--limit", "0"], "expected --limit N >= 1, got 0"),
    (["--validation", "-1"], "expected --validation N >= 0, got -1"),
    (["--augment", "-1"], "expected --augment MAX_SHIFT >= 0, got -1"),
])
def test_mnist_refuses_bad_counts(capsys, argv, message):
    with pytest.raises(SystemExit) as info:
        load("mnist.py")["parse_args"](argv)
    assert info.value.code == 2 and message in capsys.readouterr().err


def test_mnist_limit_may_not_reach_the_held_out_images(mnist_dir):
    with pytest.raises(SystemExit, match=r"--limit: expected N of at most 55,000 .*, got 56,000"):
        load("mnist.py")["main"]([  # tiny settings, so that a missing check fails in seconds
            "--data-dir", str(mnist_dir), "--limit", "56000", "--epochs", "1", "--hidden", "8", "--no-save", "--verbose", "0",
        ])


def test_mnist_validates_on_held_out_images_and_scores_the_test_set_once(mnist_dir, tmp_path, monkeypatch, capsys):
    import neurolab as nl

    (x_train, y_train), (x_test, _) = nl.datasets.load_mnist(mnist_dir)
    fitted, evaluated = [], []
    fit, evaluate = nl.NeuralNetwork.fit, nl.NeuralNetwork.evaluate

    def recording_fit(self, X, y, *args, **kwargs):
        fitted.append((X, y, kwargs))
        return fit(self, X, y, *args, **kwargs)

    def recording_evaluate(self, X, y, *args, **kwargs):
        evaluated.append((X, len(fitted)))
        return evaluate(self, X, y, *args, **kwargs)

    monkeypatch.setattr(nl.NeuralNetwork, "fit", recording_fit)
    monkeypatch.setattr(nl.NeuralNetwork, "evaluate", recording_evaluate)
    result = load("mnist.py")["main"]([
        "--data-dir", str(mnist_dir), "--limit", "2000", "--validation", "1000", "--epochs", "2", "--hidden", "32",
        "--save", str(tmp_path / "m.npz"), "--verbose", "2", "--show", "3",
    ])
    out = capsys.readouterr().out

    # Trained on the first 2,000 images, validated on the last 1,000: no image in both.
    [(X, y, kwargs)] = fitted
    np.testing.assert_array_equal(X, x_train[:2000])
    np.testing.assert_array_equal(y, y_train[:2000])
    x_val, y_val = kwargs["validation_data"]
    np.testing.assert_array_equal(x_val, x_train[59_000:])
    np.testing.assert_array_equal(y_val, y_train[59_000:])
    assert not kwargs.get("validation_split")
    assert "training on 2,000 images (training images 0 to 1,999)" in out
    assert "the 1,000 held-out training images (59,000 to 59,999), not trained on" in out

    # Each epoch scores the held-out images; the test set is scored once, after training.
    on_test = [i for i, (x, _) in enumerate(evaluated) if x.shape == x_test.shape and np.array_equal(x, x_test)]
    assert on_test == [len(evaluated) - 1] and evaluated[-1][1] == 1
    assert [len(x) for x, _ in evaluated[:-1]] == [1000, 1000]
    assert len(result["history"]["val_accuracy"]) == 2
    assert f"validation accuracy {result['val_accuracy']:.2%}" in out
    assert out.index("validation accuracy") < out.index("test accuracy") and out.count("test accuracy") == 1


def test_mnist_without_validation_trains_on_everything_up_to_the_limit(mnist_dir, capsys):
    result = load("mnist.py")["main"]([
        "--data-dir", str(mnist_dir), "--limit", "2000", "--validation", "0", "--epochs", "2", "--hidden", "32",
        "--no-save", "--verbose", "2", "--show", "0",
    ])
    out = capsys.readouterr().out
    assert "val_accuracy" not in result["history"] and "val_accuracy" not in out and "held-out" not in out
    assert "training on 2,000 images" in out and result["test_accuracy"] > 0.25  # learning has started


def test_mnist_augment_saves_a_model_of_flat_raw_pixels(mnist_dir, tmp_path, capsys):
    import neurolab as nl

    mnist = load("mnist.py")
    argv = ["--data-dir", str(mnist_dir), "--limit", "2000", "--epochs", "2", "--hidden", "32", "--verbose", "0", "--show", "0"]
    result = mnist["main"]([*argv, "--augment", "--save", str(tmp_path / "a.npz")])
    out = capsys.readouterr().out
    assert "(preset augment)" in out and "(reloaded: identical predictions)" in out
    net = nl.load(tmp_path / "a.npz")
    names = [type(layer).__name__ for layer in net.layers]
    assert names[:5] == ["Rescale", "Reshape", "RandomShift", "Flatten", "Dense"]
    assert net.layers[2].max_shift == 2 and net.layers[1].shape == (1, 28, 28)

    # The saved model takes (N, 784) uint8 pixels, and in evaluation the shift layers change nothing:
    # the test score is the Dense layers' on the images as they are.
    (_, _), (x_test, y_test) = nl.datasets.load_mnist(mnist_dir)
    assert x_test.dtype == np.uint8 and x_test.shape == (10_000, 784)
    probabilities = net.predict_proba(x_test)
    np.testing.assert_array_equal(probabilities, net.predict_proba(x_test))
    plain = nl.NeuralNetwork([net.layers[0], *net.layers[4:]], net.loss)
    np.testing.assert_array_equal(probabilities, plain.predict_proba(x_test))
    assert result["test_accuracy"] == np.mean(probabilities.argmax(axis=1) == y_test)
    assert 0.5 < result["test_accuracy"] <= 1.0

    # The shifts come from --seed: the same seed trains the same weights, and --augment 1 shifts by 1.
    mnist["main"]([*argv, "--augment", "--save", str(tmp_path / "b.npz")])
    again = nl.load(tmp_path / "b.npz")
    for p, q in zip(net.parameters(), again.parameters()):
        np.testing.assert_array_equal(p.value, q.value)
    mnist["main"]([*argv, "--augment", "1", "--preset", "default", "--no-save"])
    out = capsys.readouterr().out
    assert "RandomShift(max_shift=1)" in out and "(preset default)" in out and "Dropout(p=0.3)" in out


def test_mnist_cnn_tiny_run_saves_a_model_of_flat_raw_pixels_and_reads_a_png(mnist_dir, tmp_path, capsys):
    from PIL import Image

    import neurolab as nl

    cnn = load("mnist_cnn.py")
    model = tmp_path / "cnn.npz"
    result = cnn["main"]([
        "--data-dir", str(mnist_dir), "--limit", "2000", "--validation", "300", "--epochs", "2", "--batch-size", "32",
        "--channels", "4,8", "--hidden", "32", "--save", str(model), "--verbose", "2", "--show", "0",
    ])
    out = capsys.readouterr().out
    assert "(reloaded: identical predictions)" in out and "epoch 2/2" in out
    for shape in ("(N, 1, 28, 28)", "(N, 4, 24, 24)", "(N, 4, 12, 12)", "(N, 8, 8, 8)", "(N, 8, 4, 4)", "(N, 128)", "(N, 10)"):
        assert shape in out  # summary: each layer's output shape
    assert 0.5 < result["test_accuracy"] <= 1.0

    net = nl.load(model)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Rescale", "Reshape", "Conv2D", "MaxPool2D", "Conv2D", "MaxPool2D", "Flatten", "Dense", "Dropout", "Dense"]
    assert net.input_shape == (784,)
    (_, _), (x_test, y_test) = nl.datasets.load_mnist(mnist_dir)
    assert result["test_accuracy"] == np.mean(net.predict(x_test) == y_test)  # (N, 784) uint8 in, as for the MLP

    png = tmp_path / "digit.png"
    Image.fromarray(255 - x_test[0].reshape(28, 28)).save(png)
    expected = int(net.predict(x_test[:1])[0])
    cnn["main"](["--data-dir", str(mnist_dir), "--load", str(model), "--image", str(png), "--show", "1"])
    assert f"digit.png: digit {expected}  probabilities 0:" in capsys.readouterr().out


def test_mnist_cnn_refuses_more_convolutions_than_the_image_allows(mnist_dir, capsys):
    with pytest.raises(SystemExit, match=r"^--channels: expected at most as many convolutions as a 28x28 image allows, got 4,8,16$"):
        load("mnist_cnn.py")["main"](["--data-dir", str(mnist_dir), "--channels", "4,8,16", "--limit", "100", "--no-save"])


def test_mnist_cnn_help(capsys):
    with pytest.raises(SystemExit) as info:
        load("mnist_cnn.py")["main"](["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--data-dir", "--epochs", "--channels", "--hidden", "--save", "--load", "--image", "--validation", "--augment", "--limit"):
        assert option in text
    assert "Conv2D(1, 32, 5)" in text


def test_binary_nine_tiny(mnist_dir, capsys):
    result = load("binary_nine.py")["main"](["--data-dir", str(mnist_dir), "--limit", "5000", "--epochs", "1", "--verbose", "0"])
    assert result["accuracy"] > result["baseline"] + 0.02
    assert capsys.readouterr().out.count("\n") >= 28 + 3  # the 28-line weight picture


@pytest.mark.slow
def test_mnist_short_real_training_reaches_a_sensible_accuracy(mnist_dir):
    result = load("mnist.py")["main"](["--data-dir", str(mnist_dir), "--hidden", "128", "--epochs", "3", "--dropout", "0.1", "--no-save", "--verbose", "0", "--show", "0"])
    assert result["test_accuracy"] >= 0.95  # 96.5% measured with these settings
