"""Every notebook runs as Google Colab meets it: opened alone on a fresh machine with Colab's own
libraries and Python, the series' package installed from its wheel (what the Colab cell's `%pip`
installs). A notebook whose inputs are missing makes them by running the notebooks before it
headless. Without internet here, the data comes from the offline copy (MNIST_DATA_DIR) where Colab
would download it: Keras checks its download's hash, which a rebuilt mnist.npz cannot match."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from mnist_cnn.data import NOTEBOOKS

import pytest
from conftest import real_copy

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


@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """A fresh environment with Colab's versions and the series' wheel."""
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
    return home


@pytest.mark.parametrize("key", ALONE)
def test_a_notebook_opened_alone_runs_with_colabs_libraries(colab, key, tmp_path):
    shutil.copy(ROOT / "notebooks" / NOTEBOOKS[key], tmp_path)
    environment = {name: value for name, value in os.environ.items() if not name.startswith(("MNIST", "FASHION"))}
    environment.update(KERAS_HOME=str(colab / "keras"), MNIST_CNN_STRICT="1", PYTHONDONTWRITEBYTECODE="1",
                       MNIST_DATA_DIR=str(real_copy("mnist")))
    script = ("import sys, nbformat; from pathlib import Path; from mnist_cnn.run import execute; "
              "p = Path(sys.argv[1]); b = nbformat.read(p, as_version=4); execute(b, p.parent); nbformat.write(b, p)")
    result = subprocess.run([str(colab / "venv" / "bin" / "python"), "-c", script, NOTEBOOKS[key]],
                            cwd=tmp_path, env=environment, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    printed = (tmp_path / NOTEBOOKS[key]).read_text()
    assert (key == "01") == ("making it by running" not in printed)  # it said so when it made its inputs
    assert (tmp_path / "data" / "processed" / "mnist.npz").is_file()
