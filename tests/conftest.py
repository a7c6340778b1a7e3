"""Shared fixtures: tiny but valid IDX data sets and a throw-away project folder."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import os
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import mnist_cnn.datasets
from mnist_cnn.datasets import IDX_FILES, DatasetInfo
from mnist_cnn.paths import ProjectPaths
from mnist_cnn.raw_data import idx_content

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def real_folder(env_var: str, *defaults: Path) -> Path:
    """Where a real data set's IDX files are: the folder `env_var` names, else the first of
    `defaults` that exists (the last one when none does, for the skip message)."""
    named = os.environ.get(env_var)
    if named:
        return Path(named)
    return next((folder for folder in defaults if folder.is_dir()), defaults[-1])


# The offline copy beside the project (CI), else the copy `make data` made (notebook 01's download
# goes to Keras's own cache, not data/raw).
REAL_MNIST = real_folder("MNIST_DATA_DIR", PROJECT_ROOT.parent / "shared" / "mnist",
                         PROJECT_ROOT / "data" / "raw" / "mnist")


@pytest.fixture(scope="session")
def real_digits() -> np.ndarray:
    """The first 64 real MNIST test digits, scaled to 0..1, shape (64, 28, 28, 1), float32."""
    if not REAL_MNIST.is_dir():
        pytest.skip(f"no MNIST copy at {REAL_MNIST} (set MNIST_DATA_DIR)")
    from mnist_cnn.raw_data import load_idx_folder

    raw = load_idx_folder(REAL_MNIST, mnist_cnn.datasets.MNIST)
    return (raw.x_test[:64].astype("float32") / 255)[..., None]

ENV_VARS = ("MNIST_DATA_DIR", "FASHION_MNIST_DATA_DIR", "MNIST_CNN_DATASET", "MNIST_CNN_ROOT")

N_TRAIN, N_TEST = 12, 5


class TinyData(NamedTuple):
    folder: Path
    dataset: DatasetInfo
    arrays: dict[str, np.ndarray]  # by IDX file name
    contents: dict[str, bytes]  # decompressed IDX bytes, by IDX file name


def tiny_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train-images-idx3-ubyte": rng.integers(0, 256, (N_TRAIN, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, N_TRAIN, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (N_TEST, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, N_TEST, dtype=np.uint8),
    }


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def write_idx_folder(
    folder: Path, arrays: dict[str, np.ndarray], compress: bool = True
) -> dict[str, bytes]:
    """Write the four IDX files (gzip or plain); returns their decompressed contents."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = {}
    for name in IDX_FILES:
        content = idx_content(arrays[name])
        contents[name] = content
        if compress:
            (folder / f"{name}.gz").write_bytes(gzip.compress(content))
        else:
            (folder / name).write_bytes(content)
    return contents


def dataset_for(contents: dict[str, bytes], base: DatasetInfo | None = None) -> DatasetInfo:
    """`base` (MNIST by default) with checksums of `contents`, so verification runs for real."""
    base = base or mnist_cnn.datasets.MNIST
    return dataclasses.replace(
        base, sha256={name: sha256(content) for name, content in contents.items()}
    )


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No data-set or project environment variables from the caller's shell."""
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture
def tiny_idx_folder(tmp_path: Path) -> TinyData:
    """Four small gzip IDX files (12 train, 5 test images) and a DatasetInfo that verifies them."""
    folder = tmp_path / "idx"
    arrays = tiny_arrays()
    contents = write_idx_folder(folder, arrays)
    return TinyData(folder, dataset_for(contents), arrays, contents)


@pytest.fixture
def project(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> ProjectPaths:
    """A fake project root (pyproject.toml + notebooks/) with the MNIST paths."""
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'fake'\n", encoding="utf-8")
    return ProjectPaths(dataset="mnist", root=root)


def pytest_collection_modifyitems(config, items):
    """`make integration` runs the slow tests two at a time (pytest-xdist, `--dist loadgroup`):
    each slow test names the group that must stay on one worker (a module whose tests share a
    fixture or the project's own files), so a new slow test cannot silently run beside one it
    shares files with."""
    ungrouped = [item.nodeid for item in items
                 if item.get_closest_marker("slow") and not item.get_closest_marker("xdist_group")]
    if ungrouped:
        raise pytest.UsageError("slow tests without @pytest.mark.xdist_group(...), which `make "
                                f"integration` needs to run them two at a time: {ungrouped}")
