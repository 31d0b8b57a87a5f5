"""Training speed and memory of neurolab's convolutional network against PyTorch's, on MNIST.

Both engines train the default network of ``examples/mnist_cnn.py``::

    Rescale(1/255)  Reshape((1, 28, 28))                                   (N, 1, 28, 28)
    Conv2D(1, 32, 5)   ReLU   MaxPool2D(2)                                 (N, 32, 12, 12)
    Conv2D(32, 64, 5)  ReLU   MaxPool2D(2)                                 (N, 64, 4, 4)
    Flatten()  Dense(1024, 256) ReLU  Dropout(0.3)  Dense(256, 10)         (N, 10) logits

with softmax cross-entropy from logits, Adam lr 0.002 (no decay), batch 128, float32, the
60,000 training images kept uint8 and divided by 255 per batch (neurolab's ``Rescale``,
torch's ``x[idx].float().div_(255)``). torch runs ``nn.Sequential(Conv2d, ReLU, MaxPool2d,
Conv2d, ReLU, MaxPool2d, Flatten, Linear, ReLU, Dropout, Linear)`` with ``CrossEntropyLoss``
and ``torch.optim.Adam`` on 2 threads, initialised as neurolab is (He-normal before a ReLU,
Xavier-uniform for the logits, zero biases); torch is optional (``pip install torch==2.13.0``).

How it measures (the ``paired`` case of ``train_speed.py``, with its classes and functions):
each round is a fresh process that builds both trainers (``NeurolabRun`` and ``TorchRun`` with
this network) and trains them one whole epoch each in turn, the order rotated per epoch and per
round (``paired_order``). A round's ratio is the median over epochs 2..E of neurolab's epoch i
over torch's epoch i (epoch 1 alone when E = 1); the table gives its median over rounds with the
min-max range, and the last line reads the goal off it: **neurolab at most 2x torch's epoch
time**. ``--limit N`` trains on the first N images and scales the times to a 60,000-image epoch.

Memory: a process that holds both engines has no peak of its own, so after the rounds a fresh
process per engine builds its trainer and trains one epoch on the first min(N, 1280) images (10
steps, past the first, which creates Adam's moments): its peak RSS (``ru_maxrss``; MNIST loaded,
and for torch its libraries) and its RSS before training. For neurolab, that process also runs
one more training step under ``tracemalloc``, which sees NumPy's arrays: the peak of what that
step allocates.

``--layers`` prints where neurolab's time goes instead: forward and backward of each layer for
one batch of 128 (median of ``--repeats``), the loss, the Adam step, and a whole step measured.

A busy machine is handled as in ``train_speed.py``: before each process the driver waits
(``--wait-idle``, default 120 s) for other processes to go idle, re-runs a disturbed process
(``--retries``), and ends the table with how many cores other processes kept busy.

Reproduce (from the repository root)::

    NEUROLAB_DATA=../shared/data/mnist .venv/bin/python benchmarks/conv_speed.py --rounds 3 --epochs 3
    NEUROLAB_DATA=../shared/data/mnist .venv/bin/python benchmarks/conv_speed.py --epochs 2 --rounds 1 --limit 10000
    NEUROLAB_DATA=../shared/data/mnist .venv/bin/python benchmarks/conv_speed.py --layers
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from train_speed import (  # noqa: E402
    BATCH, BUSY_LIMIT, NeurolabRun, TorchRun, aligned, busy_note, fastest_epoch,
    load_data, machine_busy_seconds, machine_lines, process_time, progress, run_json, run_when_idle, span,
    torch_importable, torch_version, train_paired, wait_until_idle,
)

LR = 0.002
DROPOUT = 0.3
GOAL = 2.0  # neurolab's epoch at most 2x torch's (per-round median ratio)
MEMORY_IMAGES = 10 * BATCH  # the memory pass trains 10 steps
ENGINES = ("neurolab", "torch")  # the order of their cycle in a round; torch is the reference of the ratio


# -- the network in both engines ----------------------------------------------------------------
def conv_net(seed: int):
    """The network of the module docstring in neurolab, its weights drawn from ``seed``."""
    import neurolab as nl

    rng = np.random.default_rng(seed)
    layers = [
        nl.Rescale(1 / 255), nl.Reshape((1, 28, 28)),
        nl.Conv2D(1, 32, 5, activation="relu", rng=rng), nl.MaxPool2D(2),
        nl.Conv2D(32, 64, 5, activation="relu", rng=rng), nl.MaxPool2D(2),
        nl.Flatten(),
        nl.Dense(1024, 256, "relu", rng=rng), nl.Dropout(DROPOUT, rng=rng),
        nl.Dense(256, 10, "identity", rng=rng),
    ]
    return nl.NeuralNetwork(layers, "cross_entropy")


class ConvNeurolabRun(NeurolabRun):
    """``train_speed.NeurolabRun`` (``fit`` one epoch per ``epoch()``) with the network above and Adam."""

    def build(self, sizes, seed: int):  # sizes: the MLP's, unused
        import neurolab as nl

        return conv_net(seed), nl.optim.Adam(lr=LR)


class ConvTorchRun(TorchRun):
    """``train_speed.TorchRun`` (one epoch per ``epoch()``, 2 threads) with the network above and Adam."""

    def inputs(self, images: np.ndarray) -> np.ndarray:
        return images.reshape(-1, 1, 28, 28)  # a view: still uint8, one image per sample

    def build(self, torch, nn):
        model = nn.Sequential(
            nn.Conv2d(1, 32, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
            nn.Linear(1024, 256), nn.ReLU(), nn.Dropout(DROPOUT),
            nn.Linear(256, 10),
        )
        for module in model:  # neurolab's defaults: He-normal before a ReLU, zero biases
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)
        nn.init.xavier_uniform_(model[-1].weight)  # the logits: neurolab's default for "identity"
        return model, torch.optim.Adam(model.parameters(), lr=LR)


def first(data, limit: int):
    """``data`` with its training set cut to the first ``limit`` images; the factor to a full epoch."""
    (images, labels), test = data
    n = min(limit, images.shape[0])
    return ((images[:n], labels[:n]), test), images.shape[0] / n


def train_step(net, optimizer, x, y) -> None:
    """One step as ``fit`` takes it: forward, loss, zero_grad, backward (no dL/dX of the input), Adam."""
    with np.errstate(under="ignore"):
        out = net.forward(x)
        net.loss.forward(out, y)
        net.zero_grad()
        net.backward(net.loss.backward(), input_grad=False)
        optimizer.step(net.parameters())


# -- the workers (one per process) ----------------------------------------------------------------
def worker_paired(data, epochs: int, seed: int, limit: int) -> dict:
    """Both engines (torch when importable) in this process, a whole epoch each in turn."""
    data, scale = first(data, limit)
    trainers = {"neurolab": ConvNeurolabRun(data, seed)}
    torch_missing = torch_importable()
    if torch_missing is None:
        trainers["torch"] = ConvTorchRun(data, seed)
    reference = "torch" if "torch" in trainers else "neurolab"  # without torch there is no ratio
    result = train_paired(trainers, epochs, seed, reference, scale)
    if torch_missing is not None:
        result["torch_missing"] = torch_missing
    return result


def rss_now_mib() -> float | None:
    """This process's resident memory now (VmRSS), in MiB; None without /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def worker_memory(engine: str, data, seed: int, limit: int) -> dict:
    """Peak RSS of a process that trains ``engine`` one epoch on min(limit, 1280) images; for
    neurolab also the tracemalloc peak of one more step."""
    missing = torch_importable() if engine == "torch" else None
    if missing is not None:
        return {"torch_missing": missing}
    data, _ = first(data, min(limit, MEMORY_IMAGES))
    trainer = ConvNeurolabRun(data, seed) if engine == "neurolab" else ConvTorchRun(data, seed)
    result = {"start_rss_mib": rss_now_mib()}
    trainer.epoch()
    result["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    if engine == "neurolab":  # after the peak RSS: tracemalloc's own bookkeeping takes memory too
        tracemalloc.start()  # traces what is allocated from here on, NumPy's arrays included
        train_step(trainer.net, trainer.optimizer, trainer.images[:BATCH], trainer.labels[:BATCH])
        result["step_peak_mib"] = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    return result


def run_worker(args) -> None:
    data = load_data()
    if args.worker == "paired":
        result = worker_paired(data, args.epochs, args.seed, args.limit)
    else:
        result = worker_memory(args.worker.removeprefix("memory-"), data, args.seed, args.limit)
    print(json.dumps(result))


def spawn(worker: str, args, seed: int) -> dict:
    """Run ``--worker worker`` in a fresh process; its JSON result with ``others_cores``."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", worker,
               "--epochs", str(args.epochs), "--seed", str(seed), "--limit", str(args.limit)]
    return run_json(command, None, {"worker": worker, "seed": seed})


# -- the table ------------------------------------------------------------------------------------
COLUMNS = ("engine", "s/epoch median (min-max)", "ratio median (min-max)", "fastest", "test acc",
           "peak RSS MiB (before training)", "step peak MiB (tracemalloc)", "rounds")


def table(rounds: list[dict], memory: dict, torch_ver: str | None) -> list[str]:
    """A row per engine: s/epoch, neurolab / torch per round, test accuracy, memory, rounds.

    ``rounds`` are the paired workers' results, ``memory`` the memory workers' by engine.
    """
    rows = [COLUMNS]
    good = [r for r in rounds if "error" not in r]
    for name in ENGINES:
        label = f"torch {torch_ver} (CPU, 2 threads)" if name == "torch" and torch_ver else name
        runs = [r["engines"][name] for r in good if name in r["engines"]]
        if not runs:
            missing = next((r["torch_missing"] for r in good if r.get("torch_missing")), None)
            rows.append((label, missing or "failed (see above)") + ("",) * (len(COLUMNS) - 2))
            continue
        if name == "torch":
            ratio = fastest = "1.00"
        else:
            ratio = span([r["ratio"]["neurolab"] for r in good if "neurolab" in r["ratio"]], ".2f")
            refs = [r["engines"]["torch"] for r in good if "torch" in r["engines"]]
            fastest = span([min(map(fastest_epoch, runs)) / min(map(fastest_epoch, refs))] if refs else [], ".2f")
        mem = memory.get(name, {})
        rss = f"{mem['rss_mib']:.0f}" if "rss_mib" in mem else "-"
        if mem.get("start_rss_mib") is not None:
            rss += f" ({mem['start_rss_mib']:.0f})"
        rows.append((
            label,
            span([process_time(r) for r in runs], ".2f"),
            ratio, fastest,
            span([100 * r["test_acc"] for r in runs], ".1f", "%"),
            rss,
            f"{mem['step_peak_mib']:.0f}" if "step_peak_mib" in mem else "-",
            str(len(runs)),
        ))
    return aligned(rows)


def goal_note(rounds: list[dict]) -> list[str]:
    """The goal, read off the rounds: neurolab's epoch at most GOAL x torch's (median of the per-round ratios)."""
    good = [r for r in rounds if "error" not in r]
    ratios = [r["ratio"]["neurolab"] for r in good if "neurolab" in r["ratio"]]
    if not ratios:
        missing = next((r["torch_missing"] for r in good if r.get("torch_missing")), "no round finished")
        return ["", f"goal (neurolab's epoch at most {GOAL:g}x torch's): not measured: {missing}"]
    mid = statistics.median(ratios)
    met = "met" if mid <= GOAL else "NOT met"
    return ["", f"goal, from {len(ratios)} paired round(s): neurolab / torch median ratio {mid:.2f} "
                f"{'<=' if mid <= GOAL else '>'} {GOAL:g} ({met})"]


# -- --layers: where neurolab's time goes ---------------------------------------------------------
def median_ms(call, repeats: int) -> float:
    """Median wall time of ``call()`` over ``repeats`` calls, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1000 * statistics.median(times)


def layer_rows(data, seed: int, repeats: int) -> list[tuple]:
    """Forward and backward milliseconds of each layer, the loss and the Adam step, for one batch of 128.

    The network first takes three steps (so Adam's moments exist), then each layer's forward
    runs ``repeats`` times on its input of that batch, and each backward (from the last layer to
    the first with parameters, the ones ``fit`` runs) on its upstream gradient.
    """
    import neurolab as nl

    (images, labels), _ = data
    net, optimizer = conv_net(seed), nl.optim.Adam(lr=LR)
    x, y = images[:BATCH], labels[:BATCH]
    for _ in range(3):
        train_step(net, optimizer, x, y)
    inputs = [x]
    for layer in net.layers:
        inputs.append(layer.forward(inputs[-1]))
    forward = [median_ms(lambda: layer.forward(inputs[i]), repeats) for i, layer in enumerate(net.layers)]
    loss_forward = median_ms(lambda: net.loss.forward(inputs[-1], y), repeats)
    loss_backward = median_ms(net.loss.backward, repeats)
    grad = net.loss.backward()
    first_trainable = next(i for i, layer in enumerate(net.layers) if layer.parameters())
    backward = [None] * len(net.layers)  # None: fit does not run it (nothing before it learns)
    for i in range(len(net.layers) - 1, first_trainable - 1, -1):
        backward[i] = median_ms(lambda: net.layers[i].backward(grad), repeats)
        grad = net.layers[i].backward(grad)
    adam = median_ms(lambda: optimizer.step(net.parameters()), repeats)
    whole = median_ms(lambda: train_step(net, optimizer, x, y), repeats)

    parts = [(repr(layer), "x".join(map(str, inputs[i + 1].shape[1:])), forward[i], backward[i])
             for i, layer in enumerate(net.layers)]
    parts += [("loss: cross-entropy from logits", "", loss_forward, loss_backward),
              (f"optimizer: Adam step, {len(net.parameters())} parameters", "", None, adam)]
    total = sum(f or 0 for _, _, f, _ in parts) + sum(b or 0 for _, _, _, b in parts)

    def ms(value):
        return "-" if value is None else f"{value:.2f}"

    rows = [("part", "output (one sample)", "forward ms", "backward ms", "share of the sum")]
    for name, shape, f, b in parts:
        rows.append((name, shape, ms(f), ms(b), f"{100 * ((f or 0) + (b or 0)) / total:.1f}%"))
    rows.append(("sum of the parts", "", ms(sum(f or 0 for _, _, f, _ in parts)), ms(sum(b or 0 for _, _, _, b in parts)),
                 f"{total:.2f} ms"))
    rows.append(("one whole step, measured", "", "", "", f"{whole:.2f} ms = {whole * 60000 / BATCH / 1000:.1f} s per epoch"))
    return rows


def run_layers(args) -> int:
    print("\n".join(machine_lines("conv_speed --layers", torch_version())))
    print(f"one batch of {BATCH} (the first training images), median of {args.repeats} runs of each part; "
          "backward '-': fit does not run it (no layer before it learns); the optimizer's time is in "
          "the backward column", flush=True)
    data = load_data()
    wait_until_idle(BUSY_LIMIT, args.wait_idle)
    busy, wall = machine_busy_seconds(), time.perf_counter()
    own = resource.getrusage(resource.RUSAGE_SELF)
    rows = layer_rows(data, args.seed, args.repeats)
    print()
    print("\n".join(aligned(rows)))
    if busy is not None:
        after = resource.getrusage(resource.RUSAGE_SELF)
        mine = (after.ru_utime + after.ru_stime) - (own.ru_utime + own.ru_stime)
        others = max(0.0, machine_busy_seconds() - busy - mine) / (time.perf_counter() - wall)
        print("\n".join(busy_note([{"layers": {"others_cores": others}}])))
    return 0


# -- the driver -----------------------------------------------------------------------------------
def positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=positive, default=3, help="rounds, one process each (default 3)")
    parser.add_argument("--epochs", type=positive, default=3, help="epochs of each engine per round (default 3)")
    parser.add_argument("--limit", type=positive, default=60000, metavar="N",
                        help="train on the first N images; times scaled to a 60,000-image epoch (default 60000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of round 0; round r uses seed + r")
    parser.add_argument("--layers", action="store_true",
                        help="instead: forward and backward time of each neurolab layer for one batch of 128")
    parser.add_argument("--repeats", type=positive, default=20, help="with --layers: runs of each part (default 20)")
    parser.add_argument("--wait-idle", type=float, default=120, metavar="SECONDS",
                        help="before each process, wait up to this long for other processes to go idle (default 120)")
    parser.add_argument("--retries", type=int, default=2,
                        help="re-run a process disturbed by other processes up to this many times (default 2)")
    parser.add_argument("--worker", choices=["paired", "memory-neurolab", "memory-torch"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    if args.layers:
        return run_layers(args)

    torch_ver = torch_version()  # installed; whether it imports, the workers say
    print("\n".join(machine_lines("conv_speed", torch_ver) + [
        f"CNN of examples/mnist_cnn.py (conv 5x5 32, pool, conv 5x5 64, pool, 1024-256-10, dropout {DROPOUT}), "
        f"softmax CE from logits, Adam lr {LR}, batch {BATCH}, float32, MNIST uint8; {args.rounds} round(s) x "
        f"{args.epochs} epoch(s) of each engine, the first {min(args.limit, 60000)} images scaled to 60000",
        "s/epoch: per round the median of epochs 2..E (epoch 1 alone when E = 1); median over rounds (min-max). "
        "ratio: per round the median over epochs 2..E of neurolab's epoch i / torch's epoch i, the two trained "
        "in turn in one process; median over rounds (min-max). fastest: neurolab's fastest epoch / torch's. "
        f"Memory: a fresh process per engine training {MEMORY_IMAGES} images; step peak: one training step "
        "under tracemalloc.",
    ]), flush=True)

    rounds = []
    for r in range(args.rounds):
        what = f"round {r + 1}/{args.rounds}"
        result = run_when_idle(lambda: spawn("paired", args, args.seed + r), what, args.retries, args.wait_idle)
        if "error" in result:
            print(f"{what}: FAILED {result['error']}", file=sys.stderr, flush=True)
        else:
            print(f"{what}  {progress('paired', result)}  other processes {result['others_cores'] or 0:.2f} cores",
                  file=sys.stderr, flush=True)
        rounds.append(result)
    memory = {}
    for name in ENGINES if torch_ver else ENGINES[:1]:
        memory[name] = run_when_idle(lambda: spawn(f"memory-{name}", args, args.seed), f"memory {name}",
                                     args.retries, args.wait_idle)
        if "error" in memory[name]:
            print(f"memory {name}: FAILED {memory[name]['error']}", file=sys.stderr, flush=True)

    print()
    runs = [{"paired": r} for r in rounds] + [{f"memory-{name}": m} for name, m in memory.items()]
    print("\n".join(table(rounds, memory, torch_ver) + goal_note(rounds) + busy_note(runs)))
    failed = any("error" in r for r in rounds + list(memory.values()))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
