"""docs/images/make_conv_pictures.py runs with tiny settings and writes every picture docs/convolution.md shows."""

import re
import runpy
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "docs" / "images" / "make_conv_pictures.py"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_make_conv_pictures_tiny_run_writes_the_pictures_of_the_page(mnist_dir, tmp_path, capsys):
    script = runpy.run_path(str(SCRIPT), run_name="pictures")
    out = tmp_path / "pictures"
    result = script["main"](["--data-dir", str(mnist_dir), "--out", str(out), "--limit", "128", "--verbose", "0"])
    printed = capsys.readouterr().out
    shown = set(re.findall(r"images/(conv-[\w-]+\.png)", (ROOT / "docs" / "convolution.md").read_text()))
    assert set(result["paths"]) == shown  # every picture the page shows, and no other
    for name, path in result["paths"].items():
        assert path == out / name and path.read_bytes().startswith(PNG_SIGNATURE), name
        assert str(path) in printed
    net = result["network"]
    assert net.layers[script["CONV1"]].a.shape == (1, 32, 24, 24)  # the maps drawn are those of the one test digit
    assert net.layers[script["CONV2"]].a.shape == (1, 64, 8, 8)


def test_make_conv_pictures_help(capsys):
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(SCRIPT), run_name="pictures")["main"](["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for option in ("--data-dir", "--out", "--epochs", "--limit", "--seed", "--digit-index"):
        assert option in text
