"""How long the lab takes to answer ``POST /api/predict`` for an MNIST network, over HTTP.

The server is the real command, ``python -m neurolab lab MODEL.npz --port 0 --no-browser``,
in its own process; this process is the client (``http.client``), so the two do not share
a Python interpreter. Each request sends the 784 pixels of a different image and reads the
whole answer (label, 10 probabilities, every layer's activations). Latency is the time from
sending a request to having read its answer.

The network is, with ``--network mlp`` (the default), examples/mnist.py's default one
(Rescale, Dense 512 ReLU, Dropout, Dense 256 ReLU, Dropout, Dense 10: 2,330 activations);
with ``--network cnn``, examples/mnist_cnn.py's (Rescale, Reshape, Conv2D 32 and 64 filters
of 5x5 each followed by MaxPool2D(2), Flatten, Dense 256 ReLU, Dropout, Dense 10: 31,274
activations, 28,160 of them feature maps); each with its seeded initial random weights, unless
``--model`` names a saved one: the work of a forward pass does not depend on the weights'
values. The images are MNIST's test images when ``NEUROLAB_DATA`` (or ``--data-dir``) has
them, else random pixels.

Rows: ``keep-alive`` reuses one connection, as a browser does, and asks for the activations
as JSON lists (the API's default); ``keep-alive, base64`` asks for them as base64 bytes, as
the page does; ``new connection`` opens one per request, as ``urllib.request.urlopen`` does;
the ``/api/explain`` row (a neuron of the first Dense layer, whose trace carries arrays as
wide as its input) is what a click on a neuron costs. The target: p95 of ``/api/predict``
(keep-alive, as the page asks) under 30 ms on two cores.

The last line measures a snapshot, what the training thread pays so that requests never read
a network mid-step (``neurolab/lab/training.py``): ``training.snapshot_of``, a deep copy of the
network after a few batches of ``fit`` (weights, Adam's two moment estimates; not what the
layers keep of the last batch), made at most every ``SNAPSHOT_SECONDS`` while the page is open.

Reproduce (from the repository root)::

    NEUROLAB_DATA=../shared/data/mnist .venv/bin/python benchmarks/lab_predict.py --requests 1000
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np

import neurolab as nl
from neurolab.lab.training import SNAPSHOT_SECONDS, snapshot_of

ROOT = Path(__file__).resolve().parents[1]
TARGET_MS = 30.0


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=500, help="timed /api/predict requests per row (default 500)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (default 20)")
    parser.add_argument("--network", choices=("mlp", "cnn"), default="mlp",
                        help="the network to serve: examples/mnist.py's (default) or examples/mnist_cnn.py's, random weights")
    parser.add_argument("--model", help="a saved model to serve instead (taking 784 pixels)")
    parser.add_argument("--data-dir", help="MNIST directory (default: $NEUROLAB_DATA; random pixels without it)")
    return parser.parse_args(argv)


def reference_network(kind: str = "mlp") -> nl.NeuralNetwork:
    """examples/mnist.py's default network (``"mlp"``) or examples/mnist_cnn.py's (``"cnn"``), with seeded initial weights."""
    rng = np.random.default_rng(0)
    if kind == "cnn":
        layers = [
            nl.Rescale(1 / 255), nl.Reshape((1, 28, 28)),
            nl.Conv2D(1, 32, 5, rng=rng), nl.MaxPool2D(2),
            nl.Conv2D(32, 64, 5, rng=rng), nl.MaxPool2D(2),
            nl.Flatten(), nl.Dense(1024, 256, "relu", rng=rng), nl.Dropout(0.3, rng=rng),
            nl.Dense(256, 10, "identity", rng=rng),
        ]
        return nl.NeuralNetwork(layers, "cross_entropy")
    layers = [
        nl.Rescale(1 / 255),
        nl.Dense(784, 512, "relu", rng=rng), nl.Dropout(0.3, rng=rng),
        nl.Dense(512, 256, "relu", rng=rng), nl.Dropout(0.3, rng=rng),
        nl.Dense(256, 10, "identity", rng=rng),
    ]
    return nl.NeuralNetwork(layers, "cross_entropy")


DESCRIBED = {
    "mlp": "784-512-256-10 (examples/mnist.py's default), random initial weights",
    "cnn": "CNN 32-64 filters, Dense 256 (examples/mnist_cnn.py's default), random initial weights",
}


def images(data_dir) -> tuple[np.ndarray, str]:
    try:
        _, (x_test, _) = nl.datasets.load_mnist(data_dir, download=False, progress=False)
        return x_test, "MNIST test images"
    except (OSError, ValueError):
        return np.random.default_rng(0).integers(0, 256, size=(1000, 784), dtype=np.uint8), "random pixels (no MNIST found)"


def start_server(model: Path) -> tuple[subprocess.Popen, str]:
    """``python -m neurolab lab`` in a subprocess, without MNIST (samples are not measured); its URL."""
    env = {key: value for key, value in os.environ.items() if key != "NEUROLAB_DATA"}
    env["XDG_CACHE_HOME"] = tempfile.mkdtemp()  # an empty cache: no MNIST to load
    process = subprocess.Popen(
        [sys.executable, "-m", "neurolab", "lab", str(model), "--port", "0", "--no-browser"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True,
    )
    watchdog = threading.Timer(60, process.kill)
    watchdog.start()
    try:
        for line in process.stdout:
            if line.startswith("serving "):
                return process, line.split()[1]
    finally:
        watchdog.cancel()
    raise SystemExit("the lab did not start")


def timed(url: str, path: str, bodies: list[bytes], keep_alive: bool) -> tuple[list[float], int]:
    """Milliseconds per request (send to answer read) and the size of the last answer."""
    parts = urlsplit(url)
    headers = {"Content-Type": "application/json"}
    connection = None
    times, size = [], 0
    for body in bodies:
        if connection is None:
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        start = time.perf_counter()
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        times.append((time.perf_counter() - start) * 1000)
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {answer[:200]!r}")
        size = len(answer)
        if not keep_alive:
            connection.close()
            connection = None
    if connection is not None:
        connection.close()
    return times, size


def snapshot_ms(X: np.ndarray, kind: str, rounds: int = 20) -> list[float]:
    """Milliseconds per ``training.snapshot_of`` of the reference network after 5 batches of 128 (Adam)."""
    net = reference_network(kind)
    net.fit(X[:640], np.zeros(640, dtype=int), epochs=1, batch_size=128, rng=0, verbose=0)
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        snapshot_of(net)
        times.append((time.perf_counter() - start) * 1000)
    return times


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main(argv=None) -> int:
    args = parse_args(argv)
    load_at_start = os.getloadavg()
    X, source = images(args.data_dir)
    with tempfile.TemporaryDirectory() as tmp:
        if args.model:
            model, described = Path(args.model), f"{args.model}"
            net = nl.load(model)
        else:
            net = reference_network(args.network)
            model, described = net.save(Path(tmp) / "reference.npz"), DESCRIBED[args.network]
        process, url = start_server(model)
        try:
            rows = []
            n = args.requests
            pixels = [X[i % len(X)] for i in range(args.warmup + n)]
            predict = [json.dumps({"pixels": p.tolist()}).encode() for p in pixels]
            as_page = [json.dumps({"pixels": p.tolist(), "activations": "base64"}).encode() for p in pixels]
            timed(url, "/api/predict", predict[: args.warmup], keep_alive=True)
            for connection, bodies, keep_alive in [("keep-alive", predict, True), ("keep-alive, base64", as_page, True),
                                                   ("new connection", predict, False)]:
                times, size = timed(url, "/api/predict", bodies[args.warmup :], keep_alive)
                rows.append(("/api/predict", connection, times, size))
            first = next(i for i, layer in enumerate(net.layers) if isinstance(layer, nl.Dense))
            width = net.layers[first].out_features
            explain = [json.dumps({"pixels": p.tolist(), "layer": first, "neuron": i % width}).encode()
                       for i, p in enumerate(pixels[: max(n // 5, 1)])]
            times, size = timed(url, "/api/explain", explain, keep_alive=True)
            rows.append(("/api/explain", "keep-alive", times, size))
            check = json.loads(timed_answer(url, predict[0]))
            assert check["label"] == int(net.predict(X[:1])[0]), "the lab's label differs from net.predict"
        finally:
            process.send_signal(signal.SIGINT)
            process.communicate(timeout=30)

    print(f"lab_predict  {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}  |  {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} logical cores  |  load average at start {' '.join(f'{v:.2f}' for v in load_at_start)}, at end {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print(f"Python {platform.python_version()}, NumPy {np.__version__}; threads: OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'not set')}")
    print(f"model: {described}; inputs: {source}; server: python -m neurolab lab (its own process)")
    print()
    header = f"{'endpoint':<14}{'connection':<20}{'requests':>9}{'p50 ms':>9}{'p95 ms':>9}{'max ms':>9}{'mean ms':>9}{'answer KiB':>12}"
    print(header)
    print("-" * len(header))
    for path, connection, times, size in rows:
        print(f"{path:<14}{connection:<20}{len(times):>9}{percentile(times, 50):>9.2f}{percentile(times, 95):>9.2f}"
              f"{max(times):>9.2f}{statistics.fmean(times):>9.2f}{size / 1024:>12.1f}")
    p95 = percentile(rows[1][2], 95)
    print(f"\ntarget: p95 of /api/predict (keep-alive, base64 as the page asks) under {TARGET_MS:g} ms: {p95:.2f} ms, "
          f"{'met' if p95 < TARGET_MS else 'NOT met'}")
    copies = snapshot_ms(X, args.network)
    median = statistics.median(copies)
    print(f"snapshot while training: snapshot_of the trained network {median:.2f} ms median (max {max(copies):.2f}, "
          f"{len(copies)} copies), at most one per {SNAPSHOT_SECONDS:g} s: at most {median / (SNAPSHOT_SECONDS * 1000):.1%} "
          f"of training time while the page is open")
    return 0


def timed_answer(url: str, body: bytes) -> bytes:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("POST", "/api/predict", body=body, headers={"Content-Type": "application/json"})
        return connection.getresponse().read()
    finally:
        connection.close()


if __name__ == "__main__":
    sys.exit(main())
