"""``neurolab lab MODEL.npz`` and ``python -m neurolab lab``, run for real in a subprocess."""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from .conftest import Client, pixel_data, rescale_net

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(sys.executable).with_name("neurolab")


def commands():
    """The two ways to run it: the module, and the console script when it is installed."""
    found = [[sys.executable, "-m", "neurolab"]]
    if SCRIPT.is_file() or shutil.which("neurolab"):
        found.append([str(SCRIPT) if SCRIPT.is_file() else shutil.which("neurolab")])
    return found


@pytest.fixture
def environment(tmp_path):
    """No MNIST anywhere: NEUROLAB_DATA unset and an empty cache."""
    env = {key: value for key, value in os.environ.items() if key != "NEUROLAB_DATA"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    return env


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    net = rescale_net()
    net.fit(*pixel_data(64, seed=0), epochs=1, verbose=0, rng=0)
    path = tmp_path_factory.mktemp("model") / "model.npz"
    net.save(path)
    return path


def serve_in_subprocess(command, env, *arguments):
    """Start the command; return the process and the URL it printed (killed if it prints none in 60 s)."""
    process = subprocess.Popen(
        [*command, "lab", *arguments, "--port", "0", "--no-browser"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    lines = []
    try:
        for line in process.stdout:
            lines.append(line)
            if line.startswith("serving "):
                break
    finally:
        watchdog.cancel()
    assert lines and lines[-1].startswith("serving http://127.0.0.1:"), (lines, process.stderr.read())
    assert lines[-1].rstrip().endswith("(Ctrl-C to stop)")
    return process, lines


@pytest.mark.parametrize("command", commands(), ids=lambda c: "module" if len(c) > 1 else "script")
def test_lab_serves_until_ctrl_c(command, environment, model_file):
    process, lines = serve_in_subprocess(command, environment, str(model_file))
    with process:
        url = lines[-1].split()[1]
        assert "no MNIST found (set NEUROLAB_DATA or pass --data-dir): serving without samples or training" in "".join(lines)
        client = Client(url)
        status, described = client.get("/api/model")
        assert status == 200 and described["samples"] is None and described["training"] is None
        status, answer = client.post("/api/predict", {"pixels": [0] * 784})
        assert status == 200 and answer["label"] in range(10)
        assert client.request("GET", "/")[0] == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0
    assert out.strip() == "stopping" and err == ""


@pytest.mark.slow
def test_lab_loads_mnist_as_samples_and_training_data(mnist_dir, environment, model_file):
    import neurolab as nl

    environment["NEUROLAB_DATA"] = str(mnist_dir)
    process, lines = serve_in_subprocess(commands()[0], environment, str(model_file))
    with process:
        assert "samples: MNIST's 10,000 test images; training: its 60,000 training images" in "".join(lines)
        client = Client(lines[-1].split()[1])
        _, described = client.get("/api/model")
        assert described["samples"] == {"count": 10000} and described["training"] == {"samples": 60000}
        _, sample = client.get("/api/samples?index=0")
        (_, _), (x_test, y_test) = nl.datasets.load_mnist(mnist_dir)
        assert sample["label"] == y_test[0] and sample["pixels"] == x_test[0].tolist()
        assert sample["predicted"] == nl.load(model_file).predict(x_test[:1])[0]
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0


@pytest.mark.slow
def test_mnist_comes_as_a_cnn_takes_it(mnist_dir):
    """Flat rows for a CNN that starts with Reshape; (N, 1, 28, 28) images for one that starts with Conv2D."""
    import numpy as np

    import neurolab as nl
    from neurolab.cli import _mnist_for

    from .conftest import cnn_net

    (data, train_data, note) = _mnist_for(cnn_net(), str(mnist_dir))
    assert data[0].shape == (10000, 784) and train_data[0].shape == (60000, 784) and note.startswith("samples: MNIST's")
    first = nl.NeuralNetwork([nl.Conv2D(1, 2, 5, rng=0), nl.Flatten(), nl.Dense(2 * 24 * 24, 10, "identity", rng=1)], "cross_entropy")
    first.input_shape = (1, 28, 28)
    (data, train_data, _) = _mnist_for(first, str(mnist_dir))
    assert data[0].shape == (10000, 1, 28, 28) and train_data[0].shape == (60000, 1, 28, 28)
    (_, _), (x_test, _) = nl.datasets.load_mnist(mnist_dir, download=False, progress=False)
    expected = (x_test[:5] / 255).astype(np.float32).reshape(5, 1, 28, 28)  # no Rescale: pixels / 255, in its float type
    np.testing.assert_array_equal(data[0][:5], expected)
    with nl.lab.serve(first, port=0, data=data) as lab:
        status, sample = Client(lab.url).get("/api/samples?index=2")
        assert status == 200 and len(sample["inputs"]) == 784  # flat, as requests send them
        np.testing.assert_allclose(sample["pixels"], x_test[2].reshape(-1), atol=1e-4)  # float32 inputs, back to pixels


def run(*arguments, env=None, timeout=60):
    return subprocess.run([sys.executable, "-m", "neurolab", *arguments], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def one_line_error(result, *fragments):
    assert result.returncode == 1
    assert result.stdout == "" or "MNIST" in result.stdout
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("neurolab lab: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


def test_a_missing_model_is_one_line(tmp_path, environment):
    one_line_error(run("lab", str(tmp_path / "nope.npz"), "--no-browser", env=environment),
                   "cannot load the model:", "got no such file")


def test_a_bad_model_file_is_one_line(tmp_path, environment):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a model")
    one_line_error(run("lab", str(bad), "--no-browser", env=environment), "not an .npz (zip) archive")


def test_a_port_in_use_is_one_line(model_file, environment):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("lab", str(model_file), "--no-browser", "--port", str(port), env=environment)
    one_line_error(result, f"port {port} on 127.0.0.1 is in use; pick another with --port (0 picks a free one)")


def test_a_data_dir_without_mnist_is_one_line(model_file, tmp_path, environment):
    one_line_error(run("lab", str(model_file), "--no-browser", "--data-dir", str(tmp_path), env=environment),
                   "cannot load MNIST from --data-dir:")


def test_help_lists_the_lab_and_its_options():
    top = run("--help")
    assert top.returncode == 0 and "lab" in top.stdout and "serve the lab page for a saved model" in top.stdout
    lab = run("lab", "--help")
    assert lab.returncode == 0
    for option in ("MODEL.npz", "--port", "--host", "--no-browser", "--data-dir"):
        assert option in lab.stdout
    missing = run()
    assert missing.returncode == 2 and "COMMAND" in missing.stderr
