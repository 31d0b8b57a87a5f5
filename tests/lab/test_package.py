"""A wheel built from the repository carries the page and the command, and serves the page once installed."""

import os
import shutil
import signal
import subprocess
import sys
import threading
import zipfile
from pathlib import Path

import pytest

from .conftest import Client, rescale_net

ROOT = Path(__file__).resolve().parents[2]
STATIC = ROOT / "neurolab" / "lab" / "static"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built, without network access, from a copy of the sources (the build leaves the checkout alone)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "neurolab", source / "neurolab", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(out)],
        check=True, capture_output=True, timeout=300,
    )
    (built,) = out.glob("*.whl")
    return built


@pytest.mark.slow
def test_the_wheel_holds_every_page_file_and_the_command(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(archive.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    page_files = {f"neurolab/lab/static/{p.relative_to(STATIC).as_posix()}" for p in STATIC.rglob("*") if p.is_file()}
    assert "neurolab/lab/static/index.html" in page_files
    assert page_files <= names
    assert {"neurolab/cli.py", "neurolab/__main__.py", "neurolab/lab/server.py"} <= names
    assert "neurolab = neurolab.cli:main" in entry_points


@pytest.mark.slow
def test_the_installed_wheel_serves_the_page(wheel, tmp_path):
    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", str(wheel), "--no-deps", "--no-index", "-q", "--target", str(target)],
                   check=True, capture_output=True, timeout=300)
    model = tmp_path / "model.npz"
    rescale_net().save(model)
    env = {**os.environ, "PYTHONPATH": str(target), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    env.pop("NEUROLAB_DATA", None)
    where = subprocess.run([sys.executable, "-c", "import neurolab; print(neurolab.__file__)"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(target))  # the installed copy, not the checkout
    process = subprocess.Popen([sys.executable, "-m", "neurolab", "lab", str(model), "--port", "0", "--no-browser"],
                               cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with process:
        watchdog = threading.Timer(60, process.kill)
        watchdog.start()
        try:
            line = next(line for line in process.stdout if line.startswith("serving "))
        finally:
            watchdog.cancel()
        client = Client(line.split()[1])
        status, page, _ = client.request("GET", "/")
        assert status == 200 and page == (STATIC / "index.html").read_bytes()
        for path in STATIC.rglob("*"):
            if path.is_file():
                assert client.request("GET", f"/static/{path.relative_to(STATIC).as_posix()}")[1] == path.read_bytes()
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0
