"""``neurolab summary|evaluate|predict|explain|train|export``, run for real in a subprocess.

Most tests use a tiny model and a tiny MNIST-shaped data directory written here in the IDX
format (80 training images, 20 test images), so they run without real MNIST; those marked
slow use real MNIST from NEUROLAB_DATA and are skipped without it.
"""

import gzip
import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import neurolab as nl

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("neurolab")
TEST_IMAGES = 20


def neurolab(*arguments, env=None, timeout=120):
    """Run the installed console script (``python -m neurolab`` if it is not installed)."""
    script = [str(SCRIPT)] if SCRIPT.is_file() else ([shutil.which("neurolab")] if shutil.which("neurolab") else None)
    command = script or [sys.executable, "-m", "neurolab"]
    return subprocess.run([*command, *map(str, arguments)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def one_line_error(result, command, *fragments):
    """Exit status 1, one line on stderr naming the command, no traceback."""
    assert result.returncode == 1, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"neurolab {command}: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def environment(tmp_path):
    """No MNIST anywhere: NEUROLAB_DATA unset and an empty cache."""
    env = {key: value for key, value in os.environ.items() if key != "NEUROLAB_DATA"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


def write_idx(path: Path, array: np.ndarray) -> None:
    """``array`` (uint8) as a gzip-compressed IDX file."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    with gzip.open(path, "wb") as file:
        file.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A directory of MNIST's four IDX files holding random images; returns it and the test set."""
    rng = np.random.default_rng(0)
    directory = tmp_path_factory.mktemp("idx")
    x_train, y_train = rng.integers(0, 256, (80, 28, 28)), rng.integers(0, 10, 80)
    x_test, y_test = rng.integers(0, 256, (TEST_IMAGES, 28, 28)), rng.integers(0, 10, TEST_IMAGES)
    for name, array in [("train-images-idx3-ubyte", x_train), ("train-labels-idx1-ubyte", y_train),
                        ("t10k-images-idx3-ubyte", x_test), ("t10k-labels-idx1-ubyte", y_test)]:
        write_idx(directory / f"{name}.gz", array)
    return directory, x_test.reshape(-1, 784).astype(np.uint8), y_test


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, data):
    """A tiny trained MNIST-shaped model: Rescale, Dense(784, 8, relu), Dense(8, 10)."""
    directory, x_test, y_test = data
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(784, 8, "relu", rng=0), nl.Dense(8, 10, "identity", rng=1)], "cross_entropy")
    net.fit(x_test, y_test, epochs=2, batch_size=10, verbose=0, rng=0)
    path = tmp_path_factory.mktemp("model") / "tiny.npz"
    net.save(path)
    return path


def test_every_subcommand_has_help():
    for command in ("summary", "evaluate", "predict", "explain", "train", "export"):
        result = neurolab(command, "--help")
        assert result.returncode == 0 and f"usage: neurolab {command}" in result.stdout, result.stderr
    assert "--label-column" in neurolab("evaluate", "--help").stdout and "--preset" in neurolab("train", "--help").stdout


def test_usage_errors_exit_2():
    result = neurolab("explain", "model.npz", "--layer", "1")  # --neuron and --sample missing
    assert result.returncode == 2 and "the following arguments are required: --neuron, --sample" in result.stderr
    assert neurolab("export", "m.npz", "--to", "tensorflow", "out").returncode == 2


def test_summary_prints_the_layers(model_file):
    result = neurolab("summary", model_file)
    assert result.returncode == 0 and result.stderr == ""
    assert "(1) Dense(784, 8, activation='relu')     (N, 8)" in result.stdout
    assert "total parameters: 6,370   loss: cross_entropy" in result.stdout


def test_evaluate_scores_the_test_set_of_a_data_dir(model_file, data, environment):
    directory, x_test, y_test = data
    scores = nl.load(model_file).evaluate(x_test, y_test)
    result = neurolab("evaluate", model_file, "--data-dir", directory, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"loss {scores['loss']:.4f}  accuracy {scores['accuracy']:.2%}  on MNIST's {TEST_IMAGES} test images\n"


def test_evaluate_reads_a_csv(model_file, data, tmp_path):
    _, x_test, y_test = data
    table = tmp_path / "digits.csv"
    header = ",".join([f"p{i}" for i in range(784)] + ["digit"])
    rows = [",".join(map(str, [*x, label])) for x, label in zip(x_test, y_test)]
    table.write_text("\n".join([header, *rows]) + "\n")
    scores = nl.load(model_file).evaluate(x_test, y_test)
    result = neurolab("evaluate", model_file, "--csv", table, "--label-column", "digit")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"loss {scores['loss']:.4f}  accuracy {scores['accuracy']:.2%}  on the {TEST_IMAGES} rows of ")


@pytest.mark.parametrize("text, fragment", [
    ("a,b\n1,2\n", "expected a column named 'label', got columns a, b"),
    ("a,label\n1,2\n3\n", "line 3: expected 2 values as in the header, got 1"),
    ("a,label\n1,2\nx,1\n", "line 3, column 'a': expected a number, got 'x'"),
    ("a,label\n1,2.5\n", "line 2: expected a class label (an integer >= 0) in 'label', got 2.5"),
    ("a,label\n", "expected a header row and at least one data row, got 1 row(s)"),
    ("a,b,label\n1,2,3\n", "this model takes 784 inputs, got 2 feature columns"),
])
def test_a_bad_csv_is_one_line(model_file, tmp_path, text, fragment):
    table = tmp_path / "bad.csv"
    table.write_text(text)
    one_line_error(neurolab("evaluate", model_file, "--csv", table, "--label-column", "label"), "evaluate", fragment)


def test_predict_prints_a_line_per_image_png_and_npy(model_file, data, tmp_path):
    from PIL import Image

    _, x_test, _ = data
    png, npy = tmp_path / "digit.png", tmp_path / "digit.npy"
    Image.fromarray(255 - x_test[0].reshape(28, 28)).save(png)  # dark on light, as people draw: inverted back
    np.save(npy, x_test[1].reshape(28, 28))
    p = nl.load(model_file).predict_proba(x_test[:2])
    result = neurolab("predict", model_file, png, npy)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert result.stdout.splitlines() == [f"{png}: {p[0].argmax()} (p={p[0].max():.2f})", f"{npy}: {p[1].argmax()} (p={p[1].max():.2f})"]


def test_predict_refuses_what_is_not_an_image(model_file, tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    one_line_error(neurolab("predict", model_file, text), "predict", "notes.png: expected an image (PNG, JPEG, ...) or a .npy array")
    one_line_error(neurolab("predict", model_file, tmp_path / "nope.png"), "predict", "nope.png: no such file")
    wrong = tmp_path / "wrong.npy"
    np.save(wrong, np.zeros(10))
    one_line_error(neurolab("predict", model_file, wrong), "predict", "expected 784 pixels of shape (784,) or (28, 28), got float64 of shape (10,)")


def test_explain_traces_the_chosen_test_sample(model_file, data, environment):
    directory, x_test, y_test = data
    k = TEST_IMAGES - 1  # the last one: an off-by-one in the sample index shows here
    expected = str(nl.load(model_file).explain(x_test[k : k + 1], y_test[k : k + 1], 1, 3))
    result = neurolab("explain", model_file, "--layer", "1", "--neuron", "3", "--sample", k, "--data-dir", directory, env=environment)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected + "\n"
    assert result.stdout.startswith("Backpropagation of neuron 3 of layers[1] Dense(784, 8, activation='relu')")


@pytest.mark.parametrize("layer, neuron, sample, fragment", [
    (3, 0, 0, "--layer: expected a layer index in [-3, 3), got 3"),
    (0, 0, 0, "cannot explain this neuron: explain: expected a Dense layer"),
    (1, 8, 0, "expected a neuron index in [0, 8) for layers[1], got 8"),
    (1, 0, TEST_IMAGES, f"--sample: expected a test image in [0, {TEST_IMAGES}), got {TEST_IMAGES}"),
    (1, 0, -1, f"--sample: expected a test image in [0, {TEST_IMAGES}), got -1"),
])
def test_explain_refuses_bad_indices(model_file, data, environment, layer, neuron, sample, fragment):
    args = ["--layer", layer, "--neuron", neuron, "--sample", sample, "--data-dir", data[0]]
    one_line_error(neurolab("explain", model_file, *args, env=environment), "explain", fragment)


@pytest.mark.parametrize("command", [["summary"], ["evaluate"], ["predict"], ["explain", "--layer", "1", "--neuron", "0", "--sample", "0"]])
def test_a_missing_or_bad_model_is_one_line(command, tmp_path, environment):
    extra = [tmp_path / "x.png"] if command == ["predict"] else []
    one_line_error(neurolab(command[0], tmp_path / "nope.npz", *command[1:], *extra, env=environment),
                   command[0], "cannot load the model:", "got no such file")
    bad = tmp_path / "bad.npz"
    bad.write_text("not a model")
    one_line_error(neurolab(command[0], bad, *command[1:], *extra, env=environment), command[0], "cannot load the model:")


def test_no_mnist_says_where_to_put_it(model_file, environment, tmp_path):
    one_line_error(neurolab("evaluate", model_file, env=environment), "evaluate", "no MNIST found: pass --data-dir DIR or set NEUROLAB_DATA")
    one_line_error(neurolab("evaluate", model_file, "--data-dir", tmp_path, env=environment), "evaluate", "cannot load MNIST from --data-dir")


def test_train_on_a_data_dir_saves_a_model_that_evaluate_reads(data, tmp_path, environment):
    directory = data[0]
    saved = tmp_path / "trained.npz"
    result = neurolab("train", "--data-dir", directory, "--hidden", "8", "--epochs", "2", "--validation", "20",
                      "--batch-size", "16", "--verbose", "2", "--save", saved, env=environment)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    out = result.stdout
    assert "training on 60 MNIST training images for 2 epochs (preset default), 20 held out for validation" in out
    assert "epoch 2/2" in out and f"on the {TEST_IMAGES} test images" in out and f"saved to {saved}" in out
    assert [type(layer).__name__ for layer in nl.load(saved).layers] == ["Rescale", "Dense", "Dropout", "Dense"]
    assert neurolab("evaluate", saved, "--data-dir", directory, env=environment).returncode == 0


def test_train_on_a_csv(tmp_path):
    table = tmp_path / "xor.csv"
    table.write_text("x1,x2,y\n" + "0,0,0\n0,1,1\n1,0,1\n1,1,0\n" * 10)
    saved = tmp_path / "xor.npz"
    result = neurolab("train", "--csv", table, "--label-column", "y", "--preset", "nielsen", "--hidden", "4",
                      "--epochs", "1", "--verbose", "0", "--save", saved)
    assert result.returncode == 0, result.stderr
    assert "training on 40 rows of" in result.stdout
    net = nl.load(saved)
    assert (net.layers[0].in_features, net.layers[-1].out_features, net.loss.name) == (2, 2, "mse")


@pytest.mark.parametrize("arguments, fragment", [
    (["--hidden", "8,0"], "--hidden: expected positive ints separated by commas, such as 512,256, got '8,0'"),
    (["--epochs", "0"], "--epochs: expected N >= 1, got 0"),
    (["--limit", "61"], "--limit: expected N of at most 60 (the training images before the 20 held out), got 61"),
    (["--csv", "x.csv"], "--csv: expected --label-column NAME as well"),
])
def test_train_refuses_bad_settings(data, environment, arguments, fragment):
    one_line_error(neurolab("train", "--data-dir", data[0], "--validation", "20", *arguments, env=environment)
                   if arguments[0] != "--csv" else neurolab("train", *arguments, env=environment), "train", fragment)


@pytest.mark.parametrize("to, extra", [("torch", "torch"), ("onnx", "onnx")])
def test_export_without_the_extra_says_what_to_install(model_file, tmp_path, environment, to, extra):
    hidden = tmp_path / "hidden"  # a package of the extra's name that fails to import: as if not installed
    (hidden / extra).mkdir(parents=True)
    (hidden / extra / "__init__.py").write_text(f"raise ImportError('No module named {extra}')\n")
    environment["PYTHONPATH"] = os.pathsep.join([str(hidden), environment.get("PYTHONPATH", "")])
    one_line_error(neurolab("export", model_file, "--to", to, tmp_path / "out", env=environment),
                   "export", f"pip install neurolab-nn[{extra}]")
    assert not (tmp_path / "out").exists()


def test_export_writes_models_that_compute_what_neurolab_does(model_file, data, tmp_path):
    torch = pytest.importorskip("torch", reason="torch is not installed: pip install neurolab-nn[torch]")
    pytest.importorskip("onnx", reason="onnx is not installed: pip install neurolab-nn[onnx]")
    from onnx.reference import ReferenceEvaluator

    _, x_test, _ = data
    net = nl.load(model_file)
    expected = net.eval().forward(x_test)  # logits, (N, 10)
    for to, out in (("torch", tmp_path / "tiny.pt"), ("onnx", tmp_path / "tiny.onnx")):
        result = neurolab("export", model_file, "--to", to, out)
        assert result.returncode == 0 and result.stdout == f"wrote {out}\n", result.stderr
    module = torch.load(tmp_path / "tiny.pt", weights_only=False).eval()
    with torch.no_grad():
        np.testing.assert_allclose(module(torch.from_numpy(x_test)).numpy(), expected, rtol=1e-5, atol=1e-5)
    session = ReferenceEvaluator(str(tmp_path / "tiny.onnx"))
    got = session.run(None, {session.input_names[0]: x_test.astype(np.float32)})[0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.slow
def test_train_evaluate_predict_on_real_mnist(mnist_dir, tmp_path, environment):
    """The whole road on real MNIST: a tiny training run learns, and evaluate agrees with the library."""
    saved = tmp_path / "mnist.npz"
    environment["NEUROLAB_DATA"] = str(mnist_dir)
    result = neurolab("train", "--hidden", "32", "--limit", "3000", "--epochs", "2", "--batch-size", "64",
                      "--verbose", "0", "--save", saved, env=environment)
    assert result.returncode == 0, result.stderr
    (_, _), (x_test, y_test) = nl.datasets.load_mnist(mnist_dir)
    scores = nl.load(saved).evaluate(x_test, y_test)
    assert scores["accuracy"] > 0.8
    result = neurolab("evaluate", saved, env=environment)
    assert result.stdout == f"loss {scores['loss']:.4f}  accuracy {scores['accuracy']:.2%}  on MNIST's 10,000 test images\n"
    result = neurolab("explain", saved, "--layer", "-1", "--neuron", str(y_test[9999]), "--sample", "9999", env=environment)
    assert result.returncode == 0 and "Backpropagation of neuron" in result.stdout


def test_a_warning_is_one_line_and_the_answer_still_comes(model_file, tmp_path):
    faint = tmp_path / "faint.npy"
    np.save(faint, np.full(784, 3.0))  # far narrower than the 0-255 pixels the model trained on
    result = neurolab("predict", model_file, faint)
    assert result.returncode == 0 and result.stdout.startswith(f"{faint}: ")
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurolab predict: warning: NeuralNetwork.predict_proba: expected inputs in about the range")


def test_ctrl_c_in_training_exits_130(data, environment):
    import signal

    command = [str(SCRIPT)] if SCRIPT.is_file() else [sys.executable, "-m", "neurolab"]
    process = subprocess.Popen([*command, "train", "--data-dir", str(data[0]), "--validation", "20", "--hidden", "8",
                                "--epochs", "1000000", "--verbose", "0"],
                               cwd=ROOT, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with process:
        for line in process.stdout:
            if line.startswith("training on "):
                break
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and err == "neurolab train: interrupted\n", err
