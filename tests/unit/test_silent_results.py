"""Silent wrong results (issue 12): inputs that overflow give the model's answer or a NonFiniteError
saying where, never NaN or a label read from NaN; fit tells bad data from a too-large learning rate;
inputs far outside the training range get one InputRangeWarning."""

import copy
import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import neurolab as nl
from neurolab.network import InputRangeWarning, NonFiniteError

from ..strategies import ACTIVATION_NAMES, seeds

# NumPy warns about the overflows planted here before neurolab raises, and the suite turns every
# warning into an error: let NumPy's through, as they are for a user, and test neurolab's answer.
pytestmark = pytest.mark.filterwarnings(
    "ignore:overflow encountered:RuntimeWarning", "ignore:invalid value encountered:RuntimeWarning"
)

OUTPUTS = {"cross_entropy": 3, "mse": 2, "binary_cross_entropy": 1}
LARGEST = {np.float32: float(np.finfo(np.float32).max), np.float64: float(np.finfo(np.float64).max)}


@st.composite
def activations(draw):
    """Any activation; leaky_relu with a slope of 0 (a ReLU), a small one, 1 (the identity) or a steep one."""
    name = draw(st.sampled_from(ACTIVATION_NAMES))
    if name == "leaky_relu":
        return nl.activations.LeakyReLU(draw(st.sampled_from([0.0, 0.01, 1.0, 3.0])))
    return nl.activations.get(name)


def targets(loss, n, rng):
    if loss == "cross_entropy":
        return rng.integers(0, 3, n)
    if loss == "binary_cross_entropy":
        return rng.integers(0, 2, n).astype(float)
    return rng.standard_normal((n, OUTPUTS[loss]))


@st.composite
def overflow_cases(draw):
    """``(net, X, y, row)``: a Dense stack of any activations and dtype, and ordinary inputs
    but for one sample holding a huge value (or a row of them) near or beyond the model's dtype.

    A float32 model gets float32 inputs up to its largest value, or float64 inputs up to ten times
    beyond it (they overflow when converted); a float64 model float64 inputs near its largest.
    About a third of the cases overflow somewhere; the others check that a finite answer is the
    model's own (in some, an activation turns an infinite pre-activation into a finite value).
    """
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    if dtype is np.float32:  # float32's largest is 3.4e38, float64's 1.8e308
        given_dtype = draw(st.sampled_from([np.float32, np.float64]))
        exponent = draw(st.floats(38.0, 39.5 if given_dtype is np.float64 else 38.53))
    else:
        given_dtype, exponent = np.float64, draw(st.floats(307.5, 308.25))
    loss = draw(st.sampled_from(sorted(OUTPUTS)))
    n, features = draw(st.integers(1, 12)), draw(st.integers(1, 5))
    row, column = draw(st.integers(0, n - 1)), draw(st.integers(0, features - 1))
    whole_row = draw(st.sampled_from([False, True, True]))
    rng = np.random.default_rng(draw(seeds))
    widths = [features, draw(st.integers(1, 6)), draw(st.integers(1, 6)), OUTPUTS[loss]]
    hidden = [draw(activations()), draw(activations())]
    last = draw(activations()) if loss == "mse" else "identity"
    acts = hidden + [last]
    net = nl.NeuralNetwork(
        [nl.Dense(widths[i], widths[i + 1], acts[i], rng=rng, dtype=dtype) for i in range(3)], loss
    )
    for layer in net.layers:
        layer.bias.value[...] = rng.uniform(-1, 1, layer.bias.shape)
    X = rng.standard_normal((n, features))
    signs = rng.choice([-1.0, 1.0], features)
    if whole_row:
        X[row] = signs * 10.0**exponent
    else:
        X[row, column] = signs[column] * 10.0**exponent
    return net, X.astype(given_dtype), targets(loss, n, rng), row


def by_hand(net, X):
    """The forward equations of each Dense layer, written out. Returns the output and, for each sample
    that goes non-finite, the first place, in the order computed: ``(layer index, "x" | "z" | "a",
    column, the array)``, where ``x`` is the layer's input converted to its dtype."""
    first = {}

    def look(i, name, value):
        for r in np.flatnonzero(~np.isfinite(value).all(axis=1)):
            first.setdefault(int(r), (i, name, int(np.flatnonzero(~np.isfinite(value[r]))[0]), value))

    x = X
    with np.errstate(all="ignore"):
        for i, layer in enumerate(net.layers):
            x = x.astype(layer.dtype)  # the layer works in its own dtype
            look(i, "x", x)
            z = x @ layer.weight.value.T + layer.bias.value  # Z = X @ W.T + b
            look(i, "z", z)
            x = layer.activation.forward(z)  # A = f(Z)
            look(i, "a", x)
    return x, first


def expected_place(net, X, row, place) -> str:
    """The part of the message that says where the sample went non-finite, as the test expects it."""
    i, name, column, value = place
    layer = net.layers[i]
    if name == "x":
        return (
            f"in X row {row}, layers[{i}] ({layer!r}) converts its input to {layer.dtype}, and feature {column}, "
            f"{X[row, column]:g}, is beyond {layer.dtype}'s largest value {np.finfo(layer.dtype).max:g}"
        )
    label = {"z": "pre-activation z", "a": "activation a"}[name]
    return f"in X row {row}, layers[{i}] ({layer!r}) gives {value[row, column]} in its {label} ({layer.dtype}) at neuron {column}"


# ---------------------------------------------------------------- inference


@given(case=overflow_cases())
def test_inference_gives_the_models_answer_or_an_error_naming_sample_layer_and_quantity(case):
    net, X, y, row = case
    out, first = by_hand(net, X)
    if row not in first or np.isfinite(out[row]).all():
        # Finite all the way, or made finite again by a saturating activation (tanh(inf) = 1 is
        # right: the true pre-activation is larger still): the answer is the model's own.
        np.testing.assert_allclose(net.predict_proba(X), net.loss.output(out), rtol=1e-6)
        np.testing.assert_array_equal(net.predict(X), net.loss.predict(out))
        assert not np.isnan(net.evaluate(X, y)["loss"])  # inf is possible: a loss beyond the dtype's largest
        return
    where = expected_place(net, X, row, first[row])
    fix = "or compute in float64: net.astype(np.float64)" if net.layers[0].dtype == np.float32 else "scale the inputs down"
    for method, call in [("predict", lambda: net.predict(X)), ("predict_proba", lambda: net.predict_proba(X)),
                         ("evaluate", lambda: net.evaluate(X, y))]:
        with pytest.raises(NonFiniteError) as info:
            call()
        message = str(info.value)
        assert message.startswith(
            f"NeuralNetwork.{method}: expected a finite output for every sample, got NaN or infinity "
            f"for 1 of {len(X)} samples (X rows [{row}]): {where}"
        ), message
        assert fix in message
        assert isinstance(info.value, ValueError) and isinstance(info.value, FloatingPointError)


def test_an_input_too_large_for_float32_is_named_with_its_value_and_the_limit():
    """The reported case: one feature of 1e39 in float64 input to a float32 (default) model."""
    net = nl.NeuralNetwork([nl.Dense(4, 8, "relu", rng=0), nl.Dense(8, 3, "identity", rng=1)], "cross_entropy")
    X = np.random.default_rng(0).standard_normal((10, 4))
    X[3, 2] = 1e39
    with pytest.raises(NonFiniteError, match=re.escape(
        "NeuralNetwork.predict: expected a finite output for every sample, got NaN or infinity for 1 of 10 samples "
        "(X rows [3]): in X row 3, layers[0] (Dense(4, 8, activation='relu')) converts its input to float32, and "
        "feature 2, 1e+39, is beyond float32's largest value 3.40282e+38; scale the inputs down (as the training "
        "inputs were), or compute in float64: net.astype(np.float64)"
    )):
        net.predict(X)
    X[3, 2] = 1e38  # fits in float32, and the model's answer is finite: no error
    assert net.predict(X).shape == (10,)
    assert np.isfinite(net.astype(np.float64).predict_proba(X * 10)).all()  # the fix the message gives


def test_the_error_names_the_rows_of_a_later_batch_in_the_callers_numbering():
    net = nl.NeuralNetwork([nl.Dense(2, 3, "identity", rng=0), nl.Dense(3, 2, "identity", rng=1)], "mse")
    net.layers[0].weight.value[...] = 1.0  # z = x1 + x2: 6e38 for the planted rows, beyond float32
    X = np.ones((50, 2), dtype=np.float32)
    X[[33, 47]] = 3e38
    with pytest.raises(NonFiniteError, match=r"for 2 of 50 samples \(X rows \[33, 47\]\): in X row 33, layers\[0\] "
                       r"\(Dense\(2, 3, activation='identity'\)\) gives inf in its pre-activation z \(float32\) at neuron 0, "
                       r"from inputs up to 3e\+38 in size and parameters up to 1 \(float32's largest value is 3.40282e\+38\)"):
        net.predict(X, batch_size=16)  # row 33 is row 1 of the third batch


def test_a_layer_whose_weights_are_not_finite_is_named_as_the_cause():
    net = nl.NeuralNetwork([nl.Dense(2, 3, "tanh", rng=0), nl.Dense(3, 2, "identity", rng=1)], "cross_entropy")
    net.layers[1].weight.value[0, 1] = np.nan
    with pytest.raises(NonFiniteError, match=r"layers\[1\] \(Dense\(3, 2, activation='identity'\)\) gives nan in its "
                       r"pre-activation z \(float32\) at neuron 0, .*; that layer's parameters hold NaN or infinity"):
        net.predict_proba(np.ones((4, 2)))


# ---------------------------------------------------------------- fit


@st.composite
def fit_cases(draw):
    """``(net, X, y, row, beyond)``: one hidden layer of any activation, one sample with a value near
    or beyond the model's largest (``beyond``: it overflows when converted to the model's dtype)."""
    net, X, y, row = draw(overflow_cases())
    net = nl.NeuralNetwork(net.layers[:1] + [nl.Dense(net.layers[0].out_features, OUTPUTS[net.loss.name], "identity",
                                                       rng=0, dtype=net.layers[0].dtype)], net.loss.name)
    beyond = np.abs(X[row]).max() > LARGEST[net.layers[0].dtype.type]
    return net, X, y, row, beyond


@given(case=fit_cases(), batch_size=st.integers(1, 8), shuffle=st.booleans())
def test_fit_on_inputs_that_overflow_blames_the_data_names_the_sample_and_restores_the_weights(case, batch_size, shuffle):
    net, X, y, row, beyond = case
    before = [p.value.copy() for p in net.parameters()]
    try:
        history = net.fit(X, y, epochs=1, batch_size=batch_size, shuffle=shuffle, rng=0,
                          optimizer=nl.optim.SGD(lr=0.01), verbose=0)
    except FloatingPointError as error:
        message = str(error)
        assert type(error) is NonFiniteError, message  # never "try a smaller learning rate"
        assert f"The training data, not the learning rate, is the cause: X rows [{row}] (1 of the " in message
        # Either the sample overflows a layer before any step, or its inputs are so large that a step will.
        assert re.search(rf"before any step: in X row {row}, layers\[[01]\] \(Dense|give finite values with the weights "
                         r"this fit started from, but hold inputs up to [\d.e+]+ in size, beyond the square root of "
                         rf"{net.layers[0].dtype}'s largest value", message), message
        for p, value in zip(net.parameters(), before):  # the epoch's start, here the weights before fit
            np.testing.assert_array_equal(p.value, value)
        return
    # A value converted to infinity makes its weight column's gradient NaN or infinite: fit must fail.
    assert not beyond
    assert np.isfinite(history["loss"][0]) and all(np.isfinite(p.value).all() for p in net.parameters())


def test_fit_names_a_sample_that_poisoned_the_weights_in_an_earlier_batch():
    """tanh turns the infinite pre-activation into 1, so the batch's loss is finite; its gradient is
    not, and the NaN loss appears a batch later, on ordinary rows: the culprit is still found."""
    X = np.random.default_rng(0).standard_normal((32, 3))
    y = np.arange(32) % 2
    X[5, 1] = -1e39
    net = nl.NeuralNetwork([nl.Dense(3, 4, "tanh", rng=0), nl.Dense(4, 2, "identity", rng=1)], "cross_entropy")
    with pytest.raises(NonFiniteError, match=re.escape(
        "NeuralNetwork.fit: expected a finite loss, got nan at epoch 1, batch 2; the weights and optimizer state from "
        "the start of epoch 1 were restored. The training data, not the learning rate, is the cause: X rows [5] (1 of "
        "the 16 samples used) give NaN or infinity with the weights this fit started from, before any step: in X row 5, "
        "layers[0] (Dense(3, 4, activation='tanh')) converts its input to float32, and feature 1, -1e+39, is beyond "
        "float32's largest value 3.40282e+38"
    )):
        net.fit(X, y, epochs=1, batch_size=8, shuffle=False, optimizer="sgd", verbose=0)


def test_a_diverging_run_still_blames_the_learning_rate_with_how_far_the_weights_went():
    """Ordinary data and a huge learning rate: the weights grow over epochs until the loss overflows.
    With the weights fit started from, the data gives finite values: the learning rate is the cause."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 4)), rng.integers(0, 3, 64)
    net = nl.NeuralNetwork([nl.Dense(4, 8, "relu", rng=0), nl.Dense(8, 3, "identity", rng=1)], "cross_entropy")
    with pytest.raises(FloatingPointError) as info:
        net.fit(X, y, epochs=30, batch_size=16, optimizer=nl.optim.SGD(lr=1e6), verbose=0, rng=0)
    assert type(info.value) is FloatingPointError
    message = str(info.value)
    assert re.search(r"at epoch [2-9], batch", message), message  # the weights of the epoch's start were already huge
    assert re.search(
        r"were restored. Try a smaller learning rate \(now 1000000.0\): the samples used give finite values with the "
        r"weights this fit started from, and its steps took the largest \|weight\| from [\d.]+ to [\d.e+]+$", message
    ), message


def test_targets_too_large_for_the_loss_are_named_not_the_learning_rate():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 3)), rng.standard_normal((16, 2)) * 1e30
    net = nl.NeuralNetwork([nl.Dense(3, 2, "identity", rng=0)], "mse")
    with pytest.raises(NonFiniteError, match=r"is the cause: the mse loss of that batch is inf with the weights this fit "
                       r"started from, though every output is finite \(up to [\d.]+ in size, targets up to [\d.e+]+\): its "
                       r"terms overflow float32, whose largest value is 3.40282e\+38; scale the targets down$"):
        net.fit(X, y, epochs=1, optimizer="sgd", verbose=0)


# ---------------------------------------------------------------- the input range


def pixels(n, features=64, seed=0):
    """Raw image-like uint8 data (n, features) and 3 classes."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    X = np.clip(rng.normal(60 + 60 * y[:, None], 50, (n, features)), 0, 255).astype(np.uint8)
    return X, y


def raw_model(features=64):
    return nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(features, 8, rng=0), nl.Dense(8, 3, "identity", rng=1)], "cross_entropy")


def scaled_model(features=64):
    return nl.NeuralNetwork([nl.Dense(features, 8, rng=0), nl.Dense(8, 3, "identity", rng=1)], "cross_entropy")


CALLS = {
    "predict": lambda net, X, y: net.predict(X),
    "predict_proba": lambda net, X, y: net.predict_proba(X),
    "evaluate": lambda net, X, y: net.evaluate(X, y),
}


@pytest.mark.parametrize("method", sorted(CALLS))
def test_scaled_pixels_for_a_network_that_takes_raw_ones_warn_naming_both_ranges(method):
    X, y = pixels(120)
    net = raw_model()
    net.fit(X[:100], y[:100], epochs=1, verbose=0, rng=0)
    low, high = float(X[:100].min()), float(X[:100].max())
    scaled = X[100:] / 255
    with pytest.warns(InputRangeWarning, match=re.escape(
        f"NeuralNetwork.{method}: expected inputs in about the range of the training inputs, [{low:g}, {high:g}], "
        f"got [{scaled.min():g}, {scaled.max():g}], a span {(high - low) / (scaled.max() - scaled.min()):.3g} times "
        "narrower; the answers are likely meaningless: the network scales its inputs itself (layers[0] is "
        "Rescale(scale=0.00392157)), so give them unscaled, as in training"
    )):
        CALLS[method](net, scaled, y[100:])


@pytest.mark.parametrize("method", sorted(CALLS))
def test_raw_pixels_for_a_network_trained_on_scaled_ones_warn_naming_both_ranges(method):
    X, y = pixels(120)
    net = scaled_model()
    net.fit(X[:100] / 255, y[:100], epochs=1, verbose=0, rng=0)
    low, high = net.input_range
    with pytest.warns(InputRangeWarning, match=re.escape(
        f"NeuralNetwork.{method}: expected inputs in about the range of the training inputs, [{low:g}, {high:g}], "
        f"got [{X[100:].min():g}, {X[100:].max():g}], reaching "
    ) + r"[\d.]+ training spans beyond it; the answers are likely meaningless: were the training inputs scaled \(say, "
        r"divided by 255\) and these not\? Scale them as in training"):
        CALLS[method](net, X[100:], y[100:])


def test_the_warning_fires_once_per_network_and_again_after_its_range_changes():
    X, y = pixels(120)
    net = raw_model()
    net.fit(X[:100], y[:100], epochs=1, verbose=0, rng=0)
    other = copy.deepcopy(net)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            net.predict(X[100:] / 255)
            net.evaluate(X[100:] / 255, y[100:])
        other.predict_proba(X[100:] / 255)  # another network warns for itself
        net.input_range = net.input_range  # the same range: still warned
        net.predict(X[100:] / 255)
        net.fit(np.vstack([X[:100], [[255] * 63 + [300]]]), np.append(y[:100], 0), epochs=1, verbose=0)  # wider: a new range
        net.predict(X[100:] / 255)
    assert [type(w.message) for w in caught] == [InputRangeWarning] * 3
    assert [w.filename for w in caught] == [__file__] * 3  # points at the caller's line


@given(
    loc=st.floats(-1e3, 1e3), scale=st.floats(1e-3, 1e3), n=st.integers(40, 300), features=st.integers(1, 20),
    held_out=st.floats(0.1, 0.5), kind=st.sampled_from(["normal", "uniform", "pixels", "counts"]), seed=seeds,
)
def test_held_out_data_from_the_training_distribution_does_not_warn(loc, scale, n, features, held_out, kind, seed):
    """A model trained on part of a dataset and evaluated on the rest, in every batch size down to one sample."""
    rng = np.random.default_rng(seed)
    X = {
        "normal": lambda: rng.normal(loc, scale, (n, features)),
        "uniform": lambda: rng.uniform(loc, loc + scale, (n, features)),
        "pixels": lambda: rng.integers(0, 256, (n, features), dtype=np.uint8),
        "counts": lambda: rng.poisson(1 + scale / 10, (n, features)),
    }[kind]()
    y = rng.integers(0, 2, n)
    cut = n - max(1, int(n * held_out))
    net = nl.NeuralNetwork([nl.Dense(features, 4, "tanh", rng=0), nl.Dense(4, 2, "identity", rng=1)], "cross_entropy")
    net.fit(X[:cut], y[:cut], epochs=1, verbose=0, rng=0, optimizer=nl.optim.SGD(lr=1e-6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputRangeWarning)
        net.evaluate(X[cut:], y[cut:])
        net.predict(X[cut:][:1])  # a single sample
        if X[cut:].size >= 100:  # enough values to have a span of their own
            net.predict_proba(X[cut:])


def test_a_few_values_are_not_judged_narrow_but_a_constant_image_is():
    net = nl.NeuralNetwork([nl.Dense(2, 3, "tanh", rng=0), nl.Dense(3, 2, "identity", rng=0)], "cross_entropy")
    net.fit(np.array([[-5.0, 5.0], [5.0, -5.0]] * 10), np.array([0, 1] * 10), epochs=1, verbose=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputRangeWarning)
        net.predict(np.array([[0.01, 0.02]]))  # one sample of two features: too few values to have a span
    X, y = pixels(100)
    images = raw_model()
    images.fit(X, y, epochs=1, verbose=0)
    with pytest.warns(InputRangeWarning, match=r"got \[0, 0\], a single value, where training spanned a range"):
        images.predict(np.zeros((2, 64)))


def test_input_range_is_recorded_widened_settable_and_checked():
    X, y = pixels(60)
    net = raw_model()
    assert net.input_range is None
    net.predict(X / 255)  # nothing to compare with before the first fit: no warning
    rng = np.random.default_rng(1)
    first = rng.uniform(10, 100, (30, 64))
    first[0, :2] = 10, 100
    net.fit(first, y[:30], epochs=1, verbose=0)
    assert net.input_range == (10.0, 100.0) and all(type(v) is float for v in net.input_range)
    second = rng.uniform(0, 50, (60, 64))  # its training half spans [0, 50], its validation half reaches 300
    second[0, :2], second[59, 0] = (0, 50), 300
    net.fit(second, y, epochs=1, verbose=0, validation_split=0.5)
    assert net.input_range == (0.0, 100.0)  # widened by the training part only
    net.input_range = np.array([0, 255])  # as a file would hold it
    assert net.input_range == (0.0, 255.0) and all(type(v) is float for v in net.input_range)
    net.input_range = None  # stops the check
    net.predict(X / 255)
    for bad, error, message in [
        ((1.0, 0.0), ValueError, r"expected finite numbers with low <= high, got \(1.0, 0.0\)"),
        ((0.0, np.inf), ValueError, r"expected finite numbers with low <= high, got \(0.0, inf\)"),
        ((0.0,), TypeError, r"expected None or a pair \(low, high\) of numbers, got \(0.0,\)"),
        ("ab", TypeError, r"expected None or a pair \(low, high\) of numbers, got 'ab'"),
        ((True, 2), TypeError, r"expected None or a pair"),
    ]:
        with pytest.raises(error, match=r"^NeuralNetwork.input_range: " + message):
            net.input_range = bad
    assert net.input_range is None  # a refused value changes nothing


@pytest.mark.slow
def test_mnist_trained_on_part_evaluated_on_the_rest_warns_only_for_scaled_pixels(mnist_dir):
    (x_train, y_train), (x_test, y_test) = nl.datasets.load_mnist(mnist_dir, download=False)
    net = nl.NeuralNetwork([nl.Rescale(1 / 255), nl.Dense(784, 32, rng=0), nl.Dense(32, 10, "identity", rng=1)], "cross_entropy")
    net.fit(x_train[:5000], y_train[:5000], epochs=1, verbose=0, rng=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", InputRangeWarning)
        assert net.evaluate(x_test, y_test)["accuracy"] > 0.8
        for i in range(20):  # one image at a time too
            net.predict(x_test[i : i + 1])
    with pytest.warns(InputRangeWarning, match=r"\[0, 255\], got \[0, 1\], a span 255 times narrower"):
        assert net.evaluate(x_test / 255, y_test)["accuracy"] < 0.5
