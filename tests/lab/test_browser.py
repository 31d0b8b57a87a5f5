"""The lab's page in a real browser: headless Chromium (Debian's ``chromium``) driven by Playwright.

CI runs these: without Playwright's package or a Chromium binary they fail, saying how to
install them; they never skip. They use the page as a learner does (mouse, touch, buttons)
and check what it shows against the library's own numbers: the label against ``net.predict``
on the same pixels, the trace panel against ``net.explain``, the training curve against the
server's count of steps. With MNIST they also take the screenshots of ``docs/lab.md``
(``docs/images/lab-*.png``).

The network is 784-128-64-10 (ReLU), trained for one epoch on MNIST when ``NEUROLAB_DATA``
holds it (96% of the test set: it reads a drawn 1, 0 and 3), else on synthetic images (then a
drawing is checked against ``net.predict`` only).
"""

from __future__ import annotations

import copy
import io
import math
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

import neurolab as nl

from .conftest import cnn_net

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
# As root in a container Chromium needs --no-sandbox; the rest keep it off Google's services,
# whose connections this machine's closed network refuses (docs: the machine's notes).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 400, "height": 860}
TIMEOUT_MS = 10_000  # for any one wait: a settled page takes milliseconds


# -- the browser and the page -----------------------------------------------------------------
def chromium() -> str | None:
    """The Chromium binary: $NEUROLAB_CHROMIUM, else chromium on the PATH (Debian's package)."""
    return os.environ.get("NEUROLAB_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the module; a missing browser or Playwright fails the tests (CI must run them)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("the browser tests need Playwright's Python package: pip install -e '.[test]'", pytrace=False)
    executable = chromium()
    if executable is None:
        pytest.fail("the browser tests need Chromium: apt-get install chromium (.ci/run does it when it is missing), "
                    "or set NEUROLAB_CHROMIUM to a Chromium binary", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield launched
        finally:
            launched.close()


class Tab:
    """One page of the lab in its own browser context, with what it sent to /api/predict and the errors it reported."""

    def __init__(self, browser, url: str, viewport: dict, images: Path, **options) -> None:
        self.images = images  # where screenshots go
        self.context = browser.new_context(viewport=viewport, device_scale_factor=1, **options)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.sent: list[dict] = []  # the bodies of POST /api/predict, in order
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("request", self._record)
        self.page.goto(url)
        self.page.wait_for_selector("body[data-ready=true]", state="attached")

    def _record(self, request) -> None:
        if request.method == "POST" and request.url.endswith("/api/predict"):
            self.sent.append(request.post_data_json)

    def settle(self) -> None:
        """Wait until no request is out or queued: what the page shows is then the answer to its input."""
        self.page.wait_for_selector("body[data-pending='0']", state="attached")

    def test_id(self, name: str):
        return self.page.get_by_test_id(name)

    def text(self, name: str) -> str:
        return self.test_id(name).inner_text().strip()

    def click(self, name: str) -> None:
        self.test_id(name).click()
        self.settle()

    def draw(self, strokes) -> None:
        """Draw with the mouse: each stroke a list of (x, y) in fractions of the canvas."""
        box = self.test_id("draw").bounding_box()
        for stroke in strokes:
            points = [(box["x"] + x * box["width"], box["y"] + y * box["height"]) for x, y in stroke]
            self.page.mouse.move(*points[0])
            self.page.mouse.down()
            for point in points[1:]:  # a pen sends a move every few pixels
                self.page.mouse.move(*point, steps=max(1, 12 // len(points)))
            self.page.mouse.up()
        self.settle()

    def touch(self, stroke) -> None:
        """Draw one stroke with a finger (touch events, as a phone sends them)."""
        box = self.test_id("draw").bounding_box()
        points = [{"x": box["x"] + x * box["width"], "y": box["y"] + y * box["height"]} for x, y in stroke]
        cdp = self.context.new_cdp_session(self.page)
        cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [points[0]]})
        for point in points[1:]:
            cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [point]})
        cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        cdp.detach()
        self.settle()

    def wait_until(self, condition, what: str, timeout: float = TIMEOUT_MS / 1000) -> None:
        """Poll ``condition()`` (a check from Python: the page's CSP forbids the eval of wait_for_function's strings)."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"the page did not show {what} within {timeout} s")
            self.page.wait_for_timeout(50)

    def screenshot(self, name: str, locator=None, clip=None, full_page: bool = False) -> None:
        """``docs/images/lab-<name>.png``: the viewport, a ``clip`` of it (of the whole page with ``full_page``), or one element."""
        if clip is None or full_page:
            self.page.mouse.move(0, 0)  # no hover left over
        shot = locator.screenshot(animations="disabled") if locator else self.page.screenshot(
            clip=clip, full_page=full_page, animations="disabled")
        save_png(shot, self.images / f"lab-{name}.png")


def save_png(shot: bytes, path: Path) -> None:
    """A screenshot in 256 colours: the same to the eye (flat colours and the page's scales), a third of the bytes."""
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(io.BytesIO(shot)) as image:
        image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)


@pytest.fixture
def open_tab(browser, digits, tmp_path):
    """``open_tab(url, viewport=WIDE)`` -> Tab; each is closed after the test, which fails if its page reported an error.

    Screenshots go to docs/images with MNIST (the docs show MNIST), else to a temporary directory.
    """
    tabs = []
    images = IMAGES if digits[-1] else tmp_path

    def open_(url: str, viewport: dict = WIDE, **options) -> Tab:
        tab = Tab(browser, url, viewport, images, **options)
        tabs.append(tab)
        return tab

    yield open_
    errors = [error for tab in tabs for error in tab.errors]
    for tab in tabs:
        tab.context.close()
    assert errors == [], f"the page reported errors: {errors}"


# -- the network and its data ---------------------------------------------------------------------
def synthetic_digits(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` 28x28 images (uint8) of 10 kinds: a line through the centre whose angle is the label, with jitter."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, size=n)
    angle = y * np.pi / 10 + rng.normal(0, 0.05, size=n)
    rows, cols = np.mgrid[0:28, 0:28] - 13.5
    distance = np.abs(cols * np.sin(angle)[:, None, None] - rows * np.cos(angle)[:, None, None])
    images = np.clip(255 * (1.8 - distance) / 1.8 + 40, 0, 255) * (np.hypot(rows, cols) < 11)
    return images.reshape(n, 784).astype(np.uint8), y


@pytest.fixture(scope="module")
def digits():
    """``(X, y, X_test, y_test, is_mnist)``: MNIST's training images and 1,000 of its test images, or synthetic ones."""
    if os.environ.get("NEUROLAB_DATA"):
        (X, y), (X_test, y_test) = nl.datasets.load_mnist(download=False, progress=False)
        return X, y, X_test[:1000], y_test[:1000], True
    X, y = synthetic_digits(5000, seed=0)
    return X[:4000], y[:4000], X[4000:], y[4000:], False


@pytest.fixture(scope="module")
def net(digits):
    """784 raw pixels -> Rescale -> 128 ReLU -> 64 ReLU -> 10 logits, trained one epoch in batches of 256 (about a second)."""
    X, y, *_ = digits
    rng = np.random.default_rng(0)
    layers = [nl.Rescale(1 / 255), nl.Dense(784, 128, "relu", rng=rng), nl.Dense(128, 64, "relu", rng=rng),
              nl.Dense(64, 10, "identity", rng=rng)]
    network = nl.NeuralNetwork(layers, "cross_entropy")
    network.fit(X, y, epochs=1, batch_size=256, optimizer=nl.optim.Adam(lr=0.003), rng=0, verbose=0)  # MNIST: 96% of the test set
    return network


def arc(cx, cy, rx, ry, start, end, n=36):
    """Points of an ellipse's arc, angles in degrees clockwise from 12 o'clock, in fractions of the canvas."""
    turn = [math.radians(start + (end - start) * i / n) for i in range(n + 1)]
    return [(cx + rx * math.sin(t), cy - ry * math.cos(t)) for t in turn]


ONE = [[(0.52, 0.18), (0.5, 0.82)]]
ZERO = [arc(0.5, 0.5, 0.22, 0.33, 0, 360)]
THREE = [arc(0.48, 0.34, 0.18, 0.15, -70, 180, 20) + arc(0.48, 0.66, 0.2, 0.17, 0, 230, 20)[1:]]


def predicted(net, pixels) -> str:
    """``net.predict`` on pixels as the page sends them (this network takes raw pixels: Rescale is inside)."""
    return str(net.predict(np.array([pixels], dtype=np.float64))[0])


# -- drawing --------------------------------------------------------------------------------------
def test_drawing_with_the_mouse_shows_net_predict_of_the_drawn_pixels(open_tab, served, net, digits):
    is_mnist = digits[-1]
    server, _ = served(net)
    tab = open_tab(server.url)
    assert tab.text("prediction") == "–"  # nothing drawn, nothing predicted

    tab.draw(ONE)
    one = tab.sent[-1]["pixels"]
    assert len(one) == 784 and max(one) == 255 and min(one) == 0
    assert tab.text("prediction") == predicted(net, one)
    shown = [float(p) for p in re.findall(r"([\d.]+)%", tab.text("probabilities"))]
    np.testing.assert_allclose(shown, 100 * net.predict_proba(np.array([one], dtype=float))[0], atol=0.051)
    if is_mnist:
        assert tab.text("prediction") == "1"

    tab.click("clear")
    assert tab.text("prediction") == "–"
    tab.draw(ZERO)
    zero = tab.sent[-1]["pixels"]
    assert zero != one
    assert tab.text("prediction") == predicted(net, zero)
    if is_mnist:
        assert tab.text("prediction") == "0"

    tab.click("undo")  # the only stroke: back to a blank pad
    assert tab.text("prediction") == "–"

    tab.draw(THREE)  # and a neuron's backpropagation on a drawing
    three = np.array(tab.sent[-1]["pixels"], dtype=np.float64)
    assert tab.text("prediction") == predicted(net, three)
    if is_mnist:
        assert tab.text("prediction") == "3"
    j = int(np.argmax(nl.analysis.activations(net, three[None], 1)[0]))
    tab.click(f"neuron-1-{j}")
    label = int(tab.text("prediction"))
    check_trace(tab, net.explain(three, label, 1, j), label)
    tab.screenshot("wide")


def test_the_drawing_is_centred_like_mnist(open_tab, served, net):
    server, _ = served(net)
    tab = open_tab(server.url)
    corner = [[(0.12, 0.1), (0.14, 0.4)]]  # a small 1 in the top-left corner
    tab.draw(corner)
    image = np.array(tab.sent[-1]["pixels"]).reshape(28, 28)
    rows, cols = np.nonzero(image)
    centre = [np.average(rows + 0.5, weights=image[rows, cols]), np.average(cols + 0.5, weights=image[rows, cols])]
    np.testing.assert_allclose(centre, [14, 14], atol=0.6)  # MNIST: the centre of mass in the middle
    assert 17 <= rows.max() - rows.min() + 1 <= 21  # and the digit fills the 20-pixel box
    tab.page.locator("#centre").uncheck()
    tab.settle()
    image = np.array(tab.sent[-1]["pixels"]).reshape(28, 28)
    rows, cols = np.nonzero(image)
    assert rows.max() < 14 and cols.max() < 7  # where it was drawn


# -- samples --------------------------------------------------------------------------------------
def test_a_test_sample_shows_the_label_net_predict_gives(open_tab, served, net, digits):
    _, _, X_test, y_test, _ = digits
    server, _ = served(net, data=(X_test, y_test))
    tab = open_tab(server.url)
    labels = net.predict(X_test)
    probabilities = net.predict_proba(X_test)
    picks = ["sample-next", "sample-next", "sample-random", "sample-previous"]
    if (labels != y_test).any():
        picks.append("sample-misclassified")
    for pick in picks:
        tab.click(pick)
        info = tab.text("sample-info")
        index = int(re.match(r"Test sample (\d+) of 1000: label (\d)", info).group(1))
        assert tab.text("prediction") == str(labels[index]), (pick, index)
        assert f"label {y_test[index]}, the network says {labels[index]}" in info
        shown = [float(p) for p in re.findall(r"([\d.]+)%", tab.text("probabilities"))]
        np.testing.assert_allclose(shown, 100 * probabilities[index], atol=0.051)
        assert tab.sent[-1] == {"inputs": X_test[index].tolist(), "activations": "base64"}  # the sample itself, as net.predict takes it
    if "sample-misclassified" in picks:
        assert labels[index] != y_test[index] and "misclassified" in info


# -- the trace ------------------------------------------------------------------------------------
def largest(values, top: int) -> list[int]:
    """The indices explain's text lists: the largest |values|, ties in index order."""
    return [int(k) for k in np.argsort(-np.abs(values), kind="stable")[:top]]


def g(value) -> str:
    """A number as print(net.explain(...)) writes it."""
    return f"{value:+.6g}"


def check_trace(tab: Tab, trace, target: int) -> None:
    """The trace panel shows ``trace`` (from ``net.explain``): its text as printed, and every number of the structured view."""
    panel = tab.test_id("trace")
    assert (panel.get_attribute("data-state"), panel.get_attribute("data-layer"), panel.get_attribute("data-neuron"),
            panel.get_attribute("data-target")) == ("ready", str(trace.layer), str(trace.neuron), str(target))
    assert tab.text("trace-text") == str(trace)
    assert tab.text("trace-description") == trace.description
    for name, value in [("z", trace.z[0]), ("a", trace.a[0]), ("f-prime", trace.f_prime[0]), ("grad-a", trace.grad_a[0]),
                        ("delta", trace.delta[0]), ("grad-bias", trace.grad_bias)]:
        assert tab.text(f"trace-{name}") == g(value), name
    rows = tab.test_id("trace-grad-w").all()  # BP4: k, a_k, delta, a_k * delta
    assert [int(row.get_attribute("data-k")) for row in rows] == largest(trace.grad_weights, trace.top)
    for row in rows:
        k = int(row.get_attribute("data-k"))
        cells = row.locator("td").all_inner_texts()[1:4]
        assert cells == [g(trace.inputs[0, k]), g(trace.delta[0]), g(trace.grad_weights[k])]
    rows = tab.test_id("trace-bp2-term").all()  # BP2: k, w_kj, delta_k, w_kj * delta_k
    if trace.equation == "BP2":
        terms = trace.next_terms[0]
        assert [int(row.get_attribute("data-k")) for row in rows] == largest(terms, trace.top)
        for row in rows:
            k = int(row.get_attribute("data-k"))
            assert row.locator("td").all_inner_texts()[1:4] == [g(trace.next_weights[k]), g(trace.next_delta[0, k]), g(terms[k])]
    else:
        assert rows == []
        for key in ("p", "y"):
            assert tab.text(f"trace-{key}") == g(float(trace.output_terms[key][0]))
    rows = tab.test_id("trace-update").all()  # what one step of the optimizer would do: b, then the largest w_k
    changes = [("b", trace.bias, trace.bias + trace.update_bias, trace.update_bias)] + [
        (f"w_{k}", trace.weights[k], trace.weights[k] + trace.update_weights[k], trace.update_weights[k])
        for k in largest(trace.update_weights, min(trace.top, 3))]
    assert [row.locator("td").all_inner_texts() for row in rows] == [[name, g(now), f"-> {g(after)}", g(change)]
                                                                      for name, now, after, change in changes]


def float32_shows(trace) -> bool:
    """Whether one of the BP2 terms the panel lists reads differently computed in float64."""
    terms = trace.next_terms[0]
    assert terms.dtype == np.float32
    return any(g(terms[k]) != g(float(trace.next_weights[k]) * float(trace.next_delta[0, k])) for k in largest(terms, trace.top))


def test_clicking_a_neuron_shows_net_explain_of_it_on_the_input(open_tab, served, net, digits):
    _, _, X_test, y_test, _ = digits
    server, _ = served(net, data=(X_test, y_test))
    tab = open_tab(server.url)
    tab.click("sample-next")  # sample 0
    x = X_test[0].astype(np.float64)
    label = int(net.predict(x[None])[0])
    hidden = nl.analysis.activations(net, x[None], 1)[0]
    j = int(np.argmax(hidden))  # an active neuron: its error and gradients are not 0

    tab.click(f"neuron-1-{j}")
    check_trace(tab, net.explain(x, label, 1, j), label)  # by default against the predicted class
    assert tab.test_id("trace-gradient-image").is_visible()  # a first-layer neuron: dC/dw over the digit
    tab.screenshot("trace", tab.test_id("trace"))

    other = (label + 3) % 10
    tab.test_id("target").select_option(str(other))
    tab.settle()
    check_trace(tab, net.explain(x, other, 1, j), other)

    tab.click("sample-next")  # a new input: the trace follows it, against the chosen target
    x = X_test[1].astype(np.float64)
    check_trace(tab, net.explain(x, other, 1, j), other)

    tab.click("neuron-2-0")  # a neuron of the second hidden layer (BP2 from the output layer)
    check_trace(tab, net.explain(x, other, 2, 0), other)

    # A neuron whose BP2 terms w_kj * delta_k, computed in float32 as the text computes them,
    # show other digits than the float64 products: the page must round as NumPy does.
    j = next(j for j in range(128) if float32_shows(net.explain(x, other, 1, j)))
    tab.click(f"neuron-1-{j}")
    check_trace(tab, net.explain(x, other, 1, j), other)
    tab.click(f"neuron-3-{other}")  # an output neuron: BP1
    check_trace(tab, net.explain(x, other, 3, other), other)

    tab.test_id(f"neuron-1-{j}").hover()  # a first-layer neuron's incoming weights, as a picture
    tooltip = tab.page.locator("#tooltip")
    assert tooltip.is_visible() and tooltip.locator("canvas").count() == 1
    assert f"a = {g(nl.analysis.activations(net, x[None], 1)[0, j])}" in tooltip.inner_text()
    box = tooltip.bounding_box()
    cell = tab.test_id(f"neuron-1-{j}").bounding_box()
    left, top = min(box["x"], cell["x"]) - 150, min(box["y"], cell["y"]) - 60
    tab.screenshot("hover", clip={"x": max(0, left), "y": max(0, top), "width": 440, "height": box["height"] + 120})


# -- training -------------------------------------------------------------------------------------
def points(tab: Tab) -> int:
    return int(tab.test_id("curves").get_attribute("data-points"))


def test_training_from_the_page_draws_the_curves_and_the_stop_button_stops_it(open_tab, served, digits):
    X, y, X_test, y_test, _ = digits
    rng = np.random.default_rng(1)
    trainee = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(784, 128, "relu", rng=rng), nl.Dense(128, 64, "relu", rng=rng),
                                nl.Dense(64, 10, "identity", rng=rng)], "cross_entropy")  # untrained: the page trains it
    server, _ = served(trainee, data=(X_test, y_test), train_data=(X[:4000], y[:4000]))
    tab = open_tab(server.url)
    tab.click("sample-next")
    tab.page.locator("#epochs").fill("200")
    tab.page.locator("#batch-size").fill("32")  # 125 steps an epoch
    tab.test_id("train").click()
    tab.wait_until(lambda: points(tab) >= 20, "20 points of the curve")
    seen = points(tab)
    tab.wait_until(lambda: points(tab) > seen, "the curve growing")
    assert tab.test_id("train-status").get_attribute("data-running") == "true"
    assert re.match(r"Training from this page: epoch \d+ of 200, batch \d+ of 125", tab.text("train-status"))
    assert tab.test_id("train").is_disabled()
    tab.wait_until(lambda: points(tab) > 260, "two epochs", timeout=30)  # for the screenshot: two epochs' dots

    tab.test_id("stop").click()
    tab.wait_until(lambda: tab.test_id("train-status").get_attribute("data-running") == "false", "training stopped")
    status = server.lab.progress.status(0)
    assert not status["running"] and status["stop_requested"]
    total = status["batch_points_total"]
    tab.page.wait_for_timeout(1000)  # nothing more after the stop
    assert points(tab) == total == server.lab.progress.status(0)["batch_points_total"]
    assert tab.text("train-points") == f"{total} steps"
    assert tab.text("train-status").startswith(f"Stopped after {total} steps; last full epoch: loss")
    assert not tab.test_id("train").is_disabled() and tab.test_id("stop").is_disabled()
    tab.settle()  # the new weights: the page predicted the sample again with them
    assert tab.text("prediction") == str(trainee.predict(X_test[:1])[0])
    tab.screenshot("training", tab.page.locator("#training"))


def test_a_fit_run_from_python_with_lab_watch_shows_on_the_page(open_tab, served, net, digits):
    X, y, *_ = digits
    trainee = copy.deepcopy(net)
    server, _ = served(trainee)  # no train_data: the page cannot train, only watch
    tab = open_tab(server.url)
    assert tab.test_id("train").is_disabled()
    assert "No training data" in tab.text("train-status")
    trainee.fit(X[:640], y[:640], epochs=2, batch_size=32, rng=0, verbose=0, callbacks=[server.watch()])
    tab.wait_until(lambda: points(tab) == 40, "the 40 steps of the watched fit", timeout=5)
    assert tab.text("train-status").startswith("Finished after 40 steps; last full epoch: loss")


# -- a network whose input is not an image --------------------------------------------------------
def test_a_network_without_784_inputs_gets_an_input_vector_editor(open_tab, served, trained_vector, vector_data):
    server, _ = served(trained_vector, data=vector_data)
    tab = open_tab(server.url)
    assert tab.test_id("vector").is_visible() and not tab.test_id("draw").is_visible()
    assert tab.text("prediction") == str(trained_vector.predict(np.zeros((1, 5)))[0])  # all zeros, to start with
    x = np.array([0.8, -1.25, 0.5, 2.0, -0.3])
    for k, value in enumerate(x):
        tab.test_id(f"input-{k}").fill(str(value))
    tab.settle()
    assert tab.sent[-1] == {"inputs": x.tolist(), "activations": "base64"}
    assert tab.text("prediction") == str(trained_vector.predict(x[None])[0])
    tab.click("neuron-0-2")
    label = int(trained_vector.predict(x[None])[0])
    check_trace(tab, trained_vector.explain(x, label, 0, 2), label)
    tab.click("sample-next")
    assert tab.text("prediction") == str(trained_vector.predict(vector_data[0][:1])[0])
    assert float(tab.test_id("input-3").input_value()) == vector_data[0][0, 3]
    tab.screenshot("vector")


# -- a narrow screen ------------------------------------------------------------------------------
def test_on_a_narrow_screen_nothing_overflows_and_a_finger_draws(open_tab, served, net, digits):
    _, _, X_test, y_test, is_mnist = digits
    server, _ = served(net, data=(X_test, y_test))
    tab = open_tab(server.url, NARROW, has_touch=True, is_mobile=True)
    canvas = tab.test_id("draw").bounding_box()
    assert canvas["x"] >= 0 and canvas["x"] + canvas["width"] <= NARROW["width"] and canvas["y"] < NARROW["height"] / 2
    assert canvas["width"] >= 250  # big enough for a finger

    tab.touch(ONE[0][::-1])  # upwards: a finger moving up would scroll the page down
    assert tab.text("prediction") == predicted(net, tab.sent[-1]["pixels"])
    if is_mnist:
        assert tab.text("prediction") == "1"
    assert tab.page.evaluate("() => window.scrollY") == 0  # drawing did not scroll the page
    tab.screenshot("narrow")

    tab.click("sample-next")
    tab.click("neuron-1-0")  # the widest panel: the trace, with its text
    assert tab.test_id("trace").get_attribute("data-state") == "ready"
    width = tab.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"the page is {width} px wide in a {NARROW['width']} px window"
    for panel in tab.page.locator(".panel").all():
        box = panel.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], panel.get_attribute("class")


# -- a convolutional network ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def cnn(digits):
    """784 raw pixels -> Rescale -> Reshape -> Conv2D 8 -> MaxPool -> Conv2D 16 -> MaxPool -> Flatten -> 32 -> 10
    (tests/lab/conftest.py's cnn_net), trained one epoch on 6,000 images (MNIST: 89% of the test set, about 10 s)."""
    X, y, *_ = digits
    network = cnn_net()
    network.fit(X[:6000], y[:6000], epochs=1, batch_size=64, optimizer=nl.optim.Adam(lr=0.003), rng=0, verbose=0)
    return network


def painted(tab: Tab, testid: str) -> np.ndarray:
    """The colours of a canvas, (rows, columns, 4) RGBA, one per canvas pixel (a canvas never painted is transparent)."""
    width, height, data = tab.page.evaluate(
        "(id) => { const c = document.querySelector(`[data-testid='${id}']`); "
        "return [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)]; }", testid)
    return np.array(data, dtype=np.int64).reshape(height, width, 4)


def colours(tab: Tab, values: np.ndarray, scale: str, limit: float | None = None) -> np.ndarray:
    """The colours the page's own scales (colors.js) give ``values / limit`` (by default max|values|): ``scale`` is "diverging" or "ink"."""
    limit = float(np.abs(values).max()) or 1.0 if limit is None else float(limit)
    rgb = tab.page.evaluate(
        "async ([values, limit, scale]) => { const colors = await import('/static/colors.js'); "
        "return values.map((v) => colors[scale](v / limit)); }", [values.ravel().tolist(), limit, scale])
    return np.array(rgb, dtype=np.int64).reshape(*values.shape, 3)


def test_a_cnn_shows_each_layers_feature_maps_and_a_filter(open_tab, served, cnn, digits):
    _, _, X_test, y_test, is_mnist = digits
    server, _ = served(cnn, data=(X_test, y_test))
    tab = open_tab(server.url)
    tab.draw(THREE)
    x = np.array(tab.sent[-1]["pixels"], dtype=np.float64)[None]
    assert tab.text("prediction") == predicted(cnn, x[0])
    if is_mnist:
        assert tab.text("prediction") == "3"
    # Every stack of maps (Reshape, Conv2D, MaxPool2D) is painted map by map, row by row, one canvas
    # pixel per value, on the layer's one scale: ink for the input, red and blue after the first filters.
    for k in (1, 2, 3, 4, 5):
        maps = nl.analysis.activations(cnn, x, k)[0]  # (C, H, W)
        scale = "ink" if k == 1 else "diverging"
        shown = np.stack([painted(tab, f"map-{k}-{c}") for c in range(maps.shape[0])])
        zero = colours(tab, np.zeros(1), scale)[0]
        assert (shown[..., 3] == 255).all() and (shown[..., :3] != zero).any(axis=-1).mean() > 0.05, f"layers[{k}] is blank"
        np.testing.assert_array_equal(shown[..., :3], colours(tab, maps, scale), err_msg=f"layers[{k}]")
        caption = tab.page.locator(f"section.layer[data-layer='{k}'] .layer-caption").inner_text()
        assert f"{maps.shape[0]} map{'s' if maps.shape[0] > 1 else ''} of {maps.shape[1]}x{maps.shape[2]}" in caption
        assert f"{g(np.abs(maps).max())[1:]}" in caption  # the scale, stated
    assert tab.test_id("map-6-0").count() == 0 and tab.test_id("neuron-7-0").is_visible()  # Flatten and Dense: cells

    tab.click("map-4-5")  # a filter of the second Conv2D: its weights (8 input channels of 5x5) and its map
    panel = tab.test_id("trace")
    assert (panel.get_attribute("data-state"), panel.get_attribute("data-layer"), panel.get_attribute("data-neuron")) == ("filter", "4", "5")
    weights = cnn.layers[4].neurons[5].weights  # (8, 5, 5)
    limit = np.abs(weights).max()
    for c in range(8):
        np.testing.assert_array_equal(painted(tab, f"filter-weights-{c}")[..., :3], colours(tab, weights[c], "diverging", limit))  # one scale
    feature_map = nl.analysis.activations(cnn, x, 4)[0, 5]
    np.testing.assert_array_equal(painted(tab, "filter-map")[..., :3], colours(tab, feature_map, "diverging"))
    tab.page.locator("[data-testid=filter-map-numbers]").evaluate("(pre) => { pre.parentElement.open = true; }")
    rows = [line.split() for line in tab.text("filter-map-numbers").splitlines()]
    assert rows == [[g(v) for v in row] for row in feature_map]
    with pytest.raises(TypeError, match="a Conv2D filter is shared by every position"):
        cnn.explain(x[0], 3, 4, 5)  # the library has no trace of it either
    tab.click("neuron-7-0")  # a Dense neuron after the maps: its backpropagation, as before
    label = int(tab.text("prediction"))
    check_trace(tab, cnn.explain(x[0], label, 7, 0), label)
    tab.click("map-4-5")
    assert tab.test_id("trace").get_attribute("data-state") == "filter"
    # The picture of docs/lab.md: the network's maps, from the input to the last pooling, and the filter
    tab.page.evaluate("() => window.scrollTo(0, 0)")  # bounding boxes are then the page's coordinates
    network, trace = tab.page.locator(".network-panel").bounding_box(), tab.test_id("trace").bounding_box()
    last = tab.page.locator("section.layer[data-layer='5']").bounding_box()
    left, top = network["x"] - 8, network["y"] - 8
    tab.screenshot("cnn", clip={"x": left, "y": top, "width": trace["x"] + trace["width"] + 8 - left,
                                "height": last["y"] + last["height"] + 8 - top}, full_page=True)


def fits(tab: Tab) -> None:
    """Nothing is wider than the narrow window: the page, its panels, the grids of maps and of a filter's weights."""
    width = tab.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= NARROW["width"], f"the page is {width} px wide in a {NARROW['width']} px window"
    for element in tab.page.locator(".panel:visible, .maps, .filter-weights").all():
        box = element.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= NARROW["width"], element.get_attribute("class")


def test_a_cnn_on_a_narrow_screen_does_not_overflow(open_tab, served, cnn):
    server, _ = served(cnn)
    tab = open_tab(server.url, NARROW, has_touch=True, is_mobile=True)
    tab.touch(ONE[0][::-1])
    assert tab.text("prediction") == predicted(cnn, tab.sent[-1]["pixels"])
    assert all((painted(tab, f"map-2-{c}")[..., 3] == 255).all() for c in range(8))  # painted
    fits(tab)
    tab.click("map-4-15")  # the filter panel, with the numbers of its map open: they scroll in their own box
    tab.page.locator("[data-testid=filter-map-numbers]").evaluate("(pre) => { pre.parentElement.open = true; }")
    fits(tab)


# -- numbers --------------------------------------------------------------------------------------
def test_the_page_writes_numbers_as_python_writes_them(open_tab, served, net):
    server, _ = served(net)
    tab = open_tab(server.url)
    rng = np.random.default_rng(0)
    values = np.concatenate([
        rng.normal(size=200) * 10.0 ** rng.integers(-12, 12, size=200),
        [0.0, -0.0, 1.0, -1.0, 1e-4, 9.999995e-5, 0.0001, 123456.0, 1234567.0, 999999.5, 9.9999949, 0.5, 1e16, 2.5e-300],
    ])
    shown = tab.page.evaluate("async (values) => { const { fmt } = await import('/static/format.js'); return values.map(fmt); }",
                              values.tolist())
    assert shown == [g(v) for v in values]
