"""Every notebook runs as Google Colab meets it: opened alone on a fresh machine with Colab's own
libraries and Python, the series' package installed from its wheel (what the Colab cell's `%pip`
installs), the data where Keras's download puts it. A notebook whose inputs are missing makes
them by running the notebooks before it headless."""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mnist_cnn.data import NOTEBOOKS

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Colab's runtime (googlecolab/backend-info, pip-freeze.txt, 2026-08-19: Python 3.13).
COLAB = ["tensorflow==2.20.0", "keras==3.13.2", "numpy==2.1.3", "pandas==2.2.3", "matplotlib==3.10.0",
         "seaborn==0.13.2", "pillow==11.3.0", "ipykernel==6.17.1", "ipywidgets==7.7.1", "anywidget==0.9.21",
         "nbclient==0.10.4", "nbformat==5.11.1", "jupyter_client==7.4.9"]
ALONE = ["01", "02", "03", "04", "05", "06", "08a", "08b"]

pytestmark = pytest.mark.slow


def python(version: str) -> str:
    """An interpreter of `version`: on PATH, else pyenv's."""
    pyenv = sorted(Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))
    for candidate in (shutil.which(f"python{version}"), *pyenv):
        if candidate and subprocess.run([str(candidate), "--version"], capture_output=True).returncode == 0:
            return str(candidate)
    pytest.fail(f"no Python {version} here: install one (pyenv install {version}, or uv python install {version})")


def idx(path: Path) -> np.ndarray:
    content = gzip.decompress(path.read_bytes())
    dimensions = content[3]
    shape = [int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(dimensions)]
    return np.frombuffer(content, np.uint8, offset=4 + 4 * dimensions).reshape(shape)


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A fresh environment with Colab's versions and the series' wheel; a Keras home holding
    mnist.npz as Keras's download leaves it."""
    from conftest import real_copy

    home = tmp_path_factory.mktemp("colab")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(home / "dist"), str(ROOT)],
                   check=True)
    wheel = next((home / "dist").glob("mnist_cnn-*.whl"))
    subprocess.run([python("3.13"), "-m", "venv", str(home / "venv")], check=True)
    pip = [str(home / "venv" / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *COLAB], check=True)
    subprocess.run([*pip, f"{wheel}[colab]"], check=True)
    frozen = subprocess.run([*pip[:3], "freeze"], capture_output=True, text=True, check=True).stdout
    assert all(pin.lower() in frozen.lower() for pin in COLAB[:5]), "installing the series replaced Colab's libraries"
    mnist = real_copy("mnist")
    (home / "keras" / "datasets").mkdir(parents=True)
    np.savez(home / "keras" / "datasets" / "mnist.npz",
             **{name: idx(mnist / f"{file}.gz") for name, file in (
                 ("x_train", "train-images-idx3-ubyte"), ("y_train", "train-labels-idx1-ubyte"),
                 ("x_test", "t10k-images-idx3-ubyte"), ("y_test", "t10k-labels-idx1-ubyte"))})
    return home


@pytest.mark.parametrize("key", ALONE)
def test_a_notebook_opened_alone_runs_with_colabs_libraries(colab, key, tmp_path):
    shutil.copy(ROOT / "notebooks" / NOTEBOOKS[key], tmp_path)
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("MNIST", "FASHION"))}
    environment.update(KERAS_HOME=str(colab / "keras"), MNIST_CNN_STRICT="1", PYTHONDONTWRITEBYTECODE="1")
    script = ("import sys, nbformat; from pathlib import Path; from mnist_cnn.run import execute; "
              "p = Path(sys.argv[1]); b = nbformat.read(p, as_version=4); execute(b, p.parent); nbformat.write(b, p)")
    result = subprocess.run([str(colab / "venv" / "bin" / "python"), "-c", script, NOTEBOOKS[key]],
                            cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    printed = (tmp_path / NOTEBOOKS[key]).read_text()
    assert (key == "01") == ("making it by running" not in printed)  # it said so when it made its inputs
    assert (tmp_path / "data" / "processed" / "mnist.npz").is_file()
