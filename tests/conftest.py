"""Where the tests find real MNIST: the offline copy beside the project (CI), or data/raw/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def real_copy(name: str) -> Path:
    for folder in (ROOT.parent / "shared" / name, ROOT / "data" / "raw" / name):
        if folder.is_dir():
            return folder
    pytest.skip(f"no copy of {name} beside the project or in data/raw/ (make data)")


@pytest.fixture
def project(tmp_path, monkeypatch) -> Path:
    """An empty project folder (pyproject.toml and notebooks/): the series' files go there."""
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path)
    for variable in ("MNIST_CNN_HOME", "MNIST_DATA_DIR", "FASHION_MNIST_DATA_DIR"):
        monkeypatch.delenv(variable, raising=False)
    return tmp_path


@pytest.fixture
def mnist_copy(project) -> Path:
    """A copy of the real MNIST files in the project's data/raw/mnist/, to damage at will."""
    target = project / "data" / "raw" / "mnist"
    target.mkdir(parents=True)
    for file in real_copy("mnist").glob("*-ubyte*"):
        target.joinpath(file.name).write_bytes(file.read_bytes())
    return target


os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
