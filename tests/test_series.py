"""End-to-end checks on the real series (marked slow: they execute notebooks and train).

They run after nbval has executed notebooks 01-07 (`make test` orders it so) and use the
hand-off files those runs left in data/, models/ and reports/.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mnist_cnn.handoff import file_sha256, sidecar_path
from mnist_cnn.paths import NOTEBOOKS, ProjectPaths
from mnist_cnn.runner import execute_notebook

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def paths() -> ProjectPaths:
    paths = ProjectPaths("mnist", root=ROOT)
    for key in ("processed", "trained_model", "metrics", "predictions", "final_model"):
        if not paths[key].path.is_file():
            pytest.skip(f"{paths.relative(paths[key])} is missing: run the notebooks first")
    return paths


def _content_id(path: Path) -> str:
    return json.loads(sidecar_path(path).read_text())["content_id"]


def test_rerunning_training_gives_identical_model_metrics_and_predictions(paths, tmp_path, monkeypatch):
    """Same seed, same machine: a second run of 03-06 reproduces every result exactly.

    This is also the "restart the kernel and run all in the middle of the series" case:
    notebooks 03-06 run again on the outputs of 01-02, and nothing downstream breaks.
    """
    monkeypatch.setenv("MNIST_CNN_DATASET", "mnist")
    monkeypatch.delenv("MNIST_CNN_ROOT", raising=False)
    before = {
        "trained_model": _content_id(paths["trained_model"].path),
        "final_model": _content_id(paths["final_model"].path),
        "metrics": file_sha256(paths["metrics"].path),
        "predictions": file_sha256(paths["predictions"].path),
    }
    for number in ("03", "04", "05", "06"):
        execute_notebook(paths.notebooks / NOTEBOOKS[number], tmp_path / NOTEBOOKS[number])
    after = {
        "trained_model": _content_id(paths["trained_model"].path),
        "final_model": _content_id(paths["final_model"].path),
        "metrics": file_sha256(paths["metrics"].path),
        "predictions": file_sha256(paths["predictions"].path),
    }
    assert after == before


def test_a_notebook_without_its_input_stops_with_the_notebook_to_run(tmp_path, monkeypatch):
    """Notebook 04 in a project where nothing ran yet: the first hand-off cell names 01."""
    from nbclient.exceptions import CellExecutionError

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'copy'\n")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks")
    monkeypatch.setenv("MNIST_CNN_ROOT", str(tmp_path))
    monkeypatch.setenv("MNIST_CNN_DATASET", "mnist")
    with pytest.raises(CellExecutionError) as failure:
        execute_notebook(tmp_path / "notebooks" / NOTEBOOKS["04"])
    message = str(failure.value)
    assert "MissingArtifactError" in message
    assert "data/processed/mnist.npz is missing: run 01_load_and_preprocess_data.ipynb first" in message
    assert "Traceback" not in message.split("MissingArtifactError")[-1]


def test_a_stale_model_is_reported_not_used(paths, tmp_path, monkeypatch):
    """A trained model whose processed data was rewritten with other content is refused."""
    from nbclient.exceptions import CellExecutionError

    copy = tmp_path / "project"
    (copy / "notebooks").mkdir(parents=True)
    (copy / "pyproject.toml").write_text("[project]\nname = 'copy'\n")
    shutil.copy(paths.notebooks / NOTEBOOKS["04"], copy / "notebooks")
    for key in ("processed", "trained_model"):
        source = paths[key].path
        target = copy / paths.relative(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
        shutil.copy(sidecar_path(source), sidecar_path(target))
    # Pretend notebook 01 ran again on other data: the processed file's content id changes.
    meta_file = sidecar_path(copy / paths.relative(paths["processed"].path))
    meta = json.loads(meta_file.read_text())
    meta["content_id"] = "0" * 64
    meta_file.write_text(json.dumps(meta))
    monkeypatch.setenv("MNIST_CNN_ROOT", str(copy))
    monkeypatch.setenv("MNIST_CNN_DATASET", "mnist")
    with pytest.raises(CellExecutionError) as failure:
        execute_notebook(copy / "notebooks" / NOTEBOOKS["04"])
    message = str(failure.value)
    assert "StaleArtifactError" in message
    assert "models/mnist_cnn_trained.keras is older than its input data/processed/mnist.npz" in message
    assert "rerun 03_compile_and_train.ipynb" in message


def test_the_tuned_model_averages_its_network_over_its_test_time_views(paths):
    """Notebook 07's saved model: the seed-42 network and the views chosen on validation."""
    if not paths["tuned_model"].path.is_file():
        pytest.skip("models/mnist_cnn_tuned.keras is missing: run notebook 07 first")
    import numpy as np

    from mnist_cnn.augment import FixedAffine
    from mnist_cnn.handoff import load_keras_model

    model = load_keras_model(paths["tuned_model"].path)
    chosen_views = json.loads(sidecar_path(paths["tuned_model"].path).read_text())["params"][
        "test_time_views"]
    network = model.get_layer("mnist_cnn_tuned")
    warps = [layer for layer in model.layers if isinstance(layer, FixedAffine)]
    assert len(warps) == (0 if chosen_views == "none" else 8), chosen_views

    with np.load(paths["processed"].path) as data:
        images, labels = data["x_test"][:500], data["labels_test"][:500]
    views = [images] + [np.asarray(warp(images)) for warp in warps]
    expected = np.mean([np.asarray(network(view, training=False)) for view in views], axis=0)
    probabilities = np.asarray(model(images, training=False))
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    assert (probabilities.argmax(axis=1) == labels).mean() > 0.9
