"""neurolab.plots: each picture has the panels it promises, saves a PNG, and fails with clear messages."""

import importlib
import sys

import numpy as np
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")  # the tests draw to files only, whatever display there is

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import neurolab as nl  # noqa: E402
from neurolab import plots  # noqa: E402
from neurolab.analysis import WeightHistory, dead_units  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def images_in(fig):
    return sum(len(ax.images) for ax in fig.axes)


def assert_png(path):
    data = path.read_bytes()
    assert len(data) > len(PNG_SIGNATURE) and data.startswith(PNG_SIGNATURE)


def image_net(seed=0, hidden_activation="sigmoid"):
    """36 inputs (6x6 images) -> 5 -> 4 -> 3 logits."""
    rng = np.random.default_rng(seed)
    return nl.NeuralNetwork(
        [
            nl.Rescale(1 / 255),
            nl.Dense(36, 5, hidden_activation, rng=rng),
            nl.Dense(5, 4, "relu", rng=rng),
            nl.Dense(4, 3, "identity", rng=rng),
        ],
        "cross_entropy",
    )


def image_data(n=40, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, 36)).astype(np.uint8), rng.integers(0, 3, n)


def trained_history(every="epoch", epochs=2):
    net, (X, y) = image_net(), image_data()
    history = WeightHistory(layer=1, neurons=[4, 0], every=every)
    fit_history = net.fit(X, y, epochs=epochs, batch_size=10, optimizer=nl.optim.SGD(lr=0.5), rng=0,
                          validation_data=(X[:10], y[:10]), verbose=0, callbacks=[history])
    return net, history, fit_history


def test_plot_history(tmp_path):
    _, _, history = trained_history(epochs=3)
    fig = plots.plot_history(history, path=tmp_path / "history.png")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert [len(ax.lines) for ax in fig.axes] == [2, 2]  # training and validation
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), history["val_loss"])
    assert_png(tmp_path / "history.png")


def test_plot_history_without_validation_or_accuracy():
    fig = plots.plot_history({"loss": [1.0, 0.5], "accuracy": [float("nan")] * 2, "lr": [0.1, 0.1]})
    assert [len(ax.lines) for ax in fig.axes] == [1, 0]
    assert "no accuracy recorded" in [t.get_text() for t in fig.axes[1].texts]


def test_plot_weights(tmp_path):
    layer = image_net().layers[1]
    fig = plots.plot_weights(layer, neurons=[0, 2, 4], image_shape=(6, 6), cols=2, path=tmp_path / "w.png")
    assert isinstance(fig, Figure) and images_in(fig) == 3
    assert len(fig.axes) == 3 + 1  # the images and one colour bar
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles == ["neuron 0", "neuron 2", "neuron 4"]
    image = fig.axes[1].images[0]
    np.testing.assert_allclose(image.get_array(), layer.weight.value[2].reshape(6, 6) / np.abs(layer.weight.value[2]).max(), rtol=1e-6)
    assert image.get_clim() == (-1, 1) and image.get_cmap().name == "RdBu_r"  # centred at 0, red positive
    assert_png(tmp_path / "w.png")
    assert images_in(plots.plot_weights(layer, image_shape=(6, 6))) == 5  # all neurons by default


def test_plot_images(tmp_path):
    X, y = image_data(5)
    fig = plots.plot_images(X, titles=[f"label {v}" for v in y], cols=2, image_shape=(6, 6), path=tmp_path / "i.png")
    assert isinstance(fig, Figure) and images_in(fig) == 5 and len(fig.axes) == 5
    assert fig.axes[3].get_title() == f"label {y[3]}"
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), X[0].reshape(6, 6))
    assert_png(tmp_path / "i.png")
    assert images_in(plots.plot_images(X.reshape(5, 6, 6))) == 5  # (n, h, w) needs no image_shape


def test_plot_top_activating(tmp_path):
    net, (X, y) = image_net(), image_data()
    fig = plots.plot_top_activating(net, X, 1, 3, k=4, labels=y, image_shape=(6, 6), path=tmp_path / "t.png")
    assert isinstance(fig, Figure) and images_in(fig) == 4
    top = nl.analysis.top_activating(net, X, 1, 3, k=4)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0].startswith(f"#{top[0]}  label {y[top[0]]}\nz=")
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), X[top[1]].reshape(6, 6))
    assert_png(tmp_path / "t.png")


def test_plot_confusion(tmp_path):
    matrix = np.array([[5, 1, 0], [2, 7, 1], [0, 0, 9]])
    fig = plots.plot_confusion(matrix, path=tmp_path / "c.png")
    assert isinstance(fig, Figure) and images_in(fig) == 1 and len(fig.axes) == 2  # matrix and colour bar
    ax = fig.axes[0]
    assert ax.get_xlabel() == "predicted" and ax.get_ylabel() == "true"
    assert sorted(t.get_text() for t in ax.texts) == sorted(str(v) for v in matrix.ravel())
    assert "84.00%" in ax.get_title()  # 21 of 25
    assert_png(tmp_path / "c.png")


def test_plot_activation_histograms(tmp_path):
    net, (X, _) = image_net(hidden_activation="relu"), image_data()
    net.layers[2].bias.value[1] = -1e3  # a dead unit
    fig = plots.plot_activation_histograms(net, X, path=tmp_path / "a.png")
    assert isinstance(fig, Figure) and len(fig.axes) == 3  # one per Dense layer
    titles = [ax.get_title() for ax in fig.axes]
    dead = dead_units(net, X)
    assert titles[0].startswith("layers[1]: relu, 5 neurons") and f"{dead[1]} dead" in titles[0]
    assert f"{dead[2]} dead" in titles[1] and dead[2] >= 1
    assert titles[2] == "layers[3]: identity, 3 neurons"
    assert_png(tmp_path / "a.png")


@pytest.mark.parametrize("every, frames", [("epoch", 3), (1, 10)])
def test_plot_weight_history(tmp_path, every, frames):
    _, history, _ = trained_history(every=every)  # 2 epochs of 4 batches: 3 or 9 snapshots
    fig = plots.plot_weight_history(history, neuron_index=1, image_shape=(6, 6), max_frames=10, path=tmp_path / "h.png")
    assert isinstance(fig, Figure) and images_in(fig) == min(frames, len(history.snapshots))
    assert fig.axes[0].get_title() == "start"
    clims = {ax.images[0].get_clim() for ax in fig.axes if ax.images}
    assert len(clims) == 1  # one colour scale across time
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), history.snapshots[0][2][1].reshape(6, 6))
    assert "neuron 0" in fig.texts[0].get_text()  # neuron_index 1 of neurons [4, 0]
    assert_png(tmp_path / "h.png")


def test_plot_weight_history_of_the_change_since_the_start():
    _, history, _ = trained_history(every=1)
    fig = plots.plot_weight_history(history, neuron_index=0, image_shape=(6, 6), change=True)
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert not np.asarray(shown[0]).any()  # the start has not changed from itself
    np.testing.assert_allclose(shown[-1], (history.snapshots[-1][2][0] - history.snapshots[0][2][0]).reshape(6, 6))
    assert fig.texts[0].get_text().startswith("change of the incoming weights of neuron 4")


def test_plot_weight_history_spreads_frames_from_first_to_last():
    _, history, _ = trained_history(every=1, epochs=3)  # 13 snapshots
    fig = plots.plot_weight_history(history, image_shape=(6, 6), max_frames=4)
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert len(shown) == 4
    np.testing.assert_array_equal(shown[-1], history.snapshots[-1][2][0].reshape(6, 6))


def test_save_weight_history_gif(tmp_path):
    from PIL import Image

    _, history, _ = trained_history(every=2)
    path = plots.save_weight_history_gif(history, tmp_path / "w.gif", neuron_index=0, image_shape=(6, 6), scale=5)
    assert path == tmp_path / "w.gif"
    with Image.open(path) as gif:
        assert gif.format == "GIF" and gif.n_frames == len(history.snapshots) == 5
        assert gif.width == 6 * 5


def test_errors_say_what_was_expected():
    layer = image_net().layers[1]
    with pytest.raises(ValueError, match=r"^plot_weights: expected the weights of Dense\(36, 5, activation='sigmoid'\) of 784 values each \(image_shape 28x28\), got shape \(5, 36\); pass the image_shape"):
        plots.plot_weights(layer)
    with pytest.raises(ValueError, match=r"^plot_weights: expected neuron indices in \[0, 5\)"):
        plots.plot_weights(layer, neurons=[5], image_shape=(6, 6))
    with pytest.raises(TypeError, match=r"^plot_weights: expected a Dense layer, got Rescale"):
        plots.plot_weights(nl.Rescale(1.0))
    with pytest.raises(ValueError, match=r"^plot_images: expected one title per image \(2\), got 1"):
        plots.plot_images(np.zeros((2, 4)), titles=["a"], image_shape=(2, 2))
    with pytest.raises(ValueError, match=r"^plot_images: expected image_shape as \(height, width\) of positive ints, got \(0, 4\)"):
        plots.plot_images(np.zeros((2, 4)), image_shape=(0, 4))
    with pytest.raises(ValueError, match=r"^plot_confusion: expected a square \(K, K\) matrix of counts, got shape \(2, 3\)"):
        plots.plot_confusion(np.zeros((2, 3)))
    with pytest.raises(TypeError, match=r"^plot_history: expected the dict that fit returns \(with 'loss'\), got list"):
        plots.plot_history([0.5, 0.4])
    with pytest.raises(ValueError, match=r"^plot_weight_history: expected snapshots, got none; pass the WeightHistory to fit first"):
        plots.plot_weight_history(WeightHistory(1))
    _, history, _ = trained_history()
    with pytest.raises(ValueError, match=r"^plot_weight_history: expected neuron_index in \[0, 2\) \(a position in weight_history.neurons \[4, 0\]\), got 4"):
        plots.plot_weight_history(history, neuron_index=4, image_shape=(6, 6))
    with pytest.raises(ValueError, match=r"^plot_top_activating: expected one label per row of X \(40\), got shape \(3,\)"):
        plots.plot_top_activating(image_net(), image_data()[0], 1, 0, labels=[1, 2, 3], image_shape=(6, 6))


def conv_stack(seed=0):
    """(N, 1, 7, 6) images -> Conv2D(1, 5, (3, 2)) relu -> MaxPool2D(2), after one forward pass of 4 samples."""
    rng = np.random.default_rng(seed)
    conv, pool = nl.Conv2D(1, 5, (3, 2), rng=rng), nl.MaxPool2D(2)
    pool.forward(conv.forward(rng.normal(size=(4, 1, 7, 6))))  # conv.a: (4, 5, 5, 5), pool: (4, 5, 2, 2)
    return conv, pool


def test_plot_filters(tmp_path):
    conv, _ = conv_stack()
    fig = plots.plot_filters(conv, cols=2, path=tmp_path / "f.png")
    assert isinstance(fig, Figure) and images_in(fig) == 5
    assert len(fig.axes) == 5 + 1  # the filters and one colour bar
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == [f"filter {o}" for o in range(5)]
    w = conv.weight.value[3, 0]  # (kh, kw) = (3, 2): drawn as 3 rows of 2
    image = drawn[3].images[0]
    np.testing.assert_allclose(image.get_array(), w / np.abs(w).max(), rtol=1e-6)
    assert image.get_cmap().name == "RdBu_r"  # red positive, blue negative
    assert {ax.images[0].get_clim() for ax in drawn} == {(-1, 1)}  # each ±max|w| of its filter: centred at 0
    assert drawn[3].get_xlabel() == f"max|w| {np.abs(w).max():.2g}"
    assert fig.texts[0].get_text().startswith("filters of Conv2D(1, 5, kernel_size=(3, 2), activation='relu')\n")
    assert_png(tmp_path / "f.png")


def test_plot_filters_with_several_input_channels_draws_the_mean_or_one_channel():
    conv = nl.Conv2D(3, 4, (2, 3), rng=0)
    w = conv.weight.value  # (4, 3, 2, 3)
    mean = plots.plot_filters(conv)
    shown = [ax.images[0].get_array() for ax in mean.axes if ax.images]
    assert len(shown) == 4
    np.testing.assert_allclose(shown[1], w[1].mean(axis=0) / np.abs(w[1].mean(axis=0)).max(), rtol=1e-6)
    assert "mean over its 3 input channels" in mean.texts[0].get_text()
    one = plots.plot_filters(conv, channel=2)
    shown = [ax.images[0].get_array() for ax in one.axes if ax.images]
    np.testing.assert_allclose(shown[1], w[1, 2] / np.abs(w[1, 2]).max(), rtol=1e-6)
    assert "input channel 2 of 3" in one.texts[0].get_text()


def test_plot_feature_maps_of_a_conv2d(tmp_path):
    conv, _ = conv_stack()
    fig = plots.plot_feature_maps(conv, sample=2, cols=3, path=tmp_path / "m.png")
    assert isinstance(fig, Figure) and images_in(fig) == 5 and len(fig.axes) == 5 + 1  # maps and colour bar
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == [f"filter {o}" for o in range(5)]
    assert (conv.z < 0).any()  # so that drawing z instead of a = relu(z) would show
    for o, ax in enumerate(drawn):
        np.testing.assert_array_equal(ax.images[0].get_array(), conv.neurons[o].a[2])  # = conv.a[2, o]
    limit = np.abs(conv.a[2]).max()  # one scale for the sample's maps, symmetric around 0
    assert {ax.images[0].get_clim() for ax in drawn} == {(-limit, limit)}
    assert drawn[1].get_xlabel() == f"max {conv.a[2, 1].max():.2g}"
    assert "sample 2 of the last batch" in fig.texts[0].get_text()
    assert_png(tmp_path / "m.png")


def test_plot_feature_maps_of_a_maxpool2d_pools_the_input_it_kept_and_leaves_the_layer_as_it_was():
    conv, pool = conv_stack()
    x, argmax = pool.x, pool.argmax
    expected = nl.MaxPool2D(2).forward(conv.a)[1]  # (5, 2, 2): sample 1's pooled maps
    fig = plots.plot_feature_maps(pool, sample=1)
    drawn = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in drawn] == [f"channel {c}" for c in range(5)]
    for c, ax in enumerate(drawn):
        np.testing.assert_array_equal(ax.images[0].get_array(), expected[c])
    assert pool.x is x and pool.argmax is argmax  # the layer still holds the whole last batch


def test_conv_plot_errors_say_what_was_expected():
    conv, _ = conv_stack()
    with pytest.raises(TypeError, match=r"^plot_filters: expected a Conv2D layer, got Dense; for a Dense layer use plot_weights$"):
        plots.plot_filters(image_net().layers[1])
    with pytest.raises(ValueError, match=r"^plot_filters: expected channel to be None \(the mean over the input channels\) or an int in \[0, 1\) for Conv2D\(1, 5, .*\), got 1$"):
        plots.plot_filters(conv, channel=1)
    with pytest.raises(ValueError, match=r"^plot_feature_maps: expected sample in \[0, 4\) \(a row of the last batch of Conv2D\(1, 5, .*\)\), got 4$"):
        plots.plot_feature_maps(conv, sample=4)
    with pytest.raises(ValueError, match=r"^plot_feature_maps: expected sample in \[0, 4\) .*got -1$"):
        plots.plot_feature_maps(conv, sample=-1)
    with pytest.raises(RuntimeError, match=r"^plot_feature_maps: expected a forward pass of Conv2D\(1, 2, .*\) first, got none; run net.forward\(X\)"):
        plots.plot_feature_maps(nl.Conv2D(1, 2, 3))
    with pytest.raises(RuntimeError, match=r"^plot_feature_maps: expected a forward pass of MaxPool2D\(kernel_size=2\) first, got none"):
        plots.plot_feature_maps(nl.MaxPool2D(2))
    with pytest.raises(TypeError, match=r"^plot_feature_maps: expected a Conv2D or MaxPool2D layer \(or one that keeps its output as `a`\), got Flatten$"):
        plots.plot_feature_maps(nl.Flatten())
    net, (X, _) = image_net(), image_data()
    net.forward(X)
    with pytest.raises(ValueError, match=r"^plot_feature_maps: expected feature maps of shape \(N, C, H, W\) from Dense\(36, 5, .*\), got its output of shape \(40, 5\); for a Dense layer see plot_weights"):
        plots.plot_feature_maps(net.layers[1])


def test_a_missing_matplotlib_names_the_extra_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # "import matplotlib" now raises ImportError
    monkeypatch.delitem(sys.modules, "neurolab.plots")  # so that the import below runs the module again
    with pytest.raises(ImportError, match=r"^neurolab.plots: expected matplotlib, got none installed; pip install neurolab-nn\[plot\]"):
        importlib.import_module("neurolab.plots")


def test_a_missing_pillow_names_the_package_to_install(monkeypatch, tmp_path):
    _, history, _ = trained_history()
    monkeypatch.setitem(sys.modules, "PIL", None)
    with pytest.raises(ImportError, match=r"^save_weight_history_gif: expected Pillow, got none installed; pip install neurolab-nn\[image\]"):
        plots.save_weight_history_gif(history, tmp_path / "w.gif", image_shape=(6, 6))
    assert not (tmp_path / "w.gif").exists()
