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

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("project-artifacts")]  # Makefile: integration

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
    def results() -> dict:
        metrics = json.loads(paths["metrics"].path.read_text())
        metrics.pop("run_id")  # which training run it was differs; what it measured may not
        return {
            "trained_model": _content_id(paths["trained_model"].path),
            "final_model": _content_id(paths["final_model"].path),
            "metrics": metrics,
            "predictions": file_sha256(paths["predictions"].path),
        }

    before = results()
    for number in ("03", "04", "05", "06"):
        execute_notebook(paths.notebooks / NOTEBOOKS[number], tmp_path / NOTEBOOKS[number])
    assert results() == before


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


def tuned(paths, key: str):
    """Notebook 07's file `key` of a full run if there is one, else of the quick run (make test)."""
    for name in (key, f"{key}_quick"):
        if paths[name].path.is_file():
            return paths[name].path
    pytest.skip(f"{paths.relative(paths[key])} is missing: run notebook 07 first")


def test_the_tuned_model_averages_its_network_over_its_test_time_views(paths):
    """Notebook 07's saved model: the seed-42 network and the views chosen on validation."""
    tuned_model = tuned(paths, "tuned_model")
    import numpy as np

    from mnist_cnn.from_notebooks import FixedAffine
    from mnist_cnn.handoff import load_keras_model

    model = load_keras_model(tuned_model)
    chosen_views = json.loads(sidecar_path(tuned_model).read_text())["params"]["test_time_views"]
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


# A Python that cannot import this series' package: what a reader with only Keras has.
WITHOUT_PACKAGE = "import sys\nsys.modules['mnist_cnn'] = None\n"


def run_python(code: str, cwd: Path) -> str:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_the_final_model_loads_and_predicts_with_keras_alone(paths, tmp_path):
    """Notebook 06's model: plain Keras, safe mode, no project code: on every test image the
    probabilities of the trained model of notebook 03, bit for bit (it is that model, saved)."""
    import numpy as np

    from mnist_cnn.handoff import load_keras_model

    with np.load(paths["processed"].path) as data:
        np.save(tmp_path / "x_test.npy", data["x_test"])
    out = tmp_path / "probabilities.npy"
    code = WITHOUT_PACKAGE + (
        "import keras, numpy as np\n"
        "try:\n    import mnist_cnn\nexcept ImportError:\n    pass\n"
        "else:\n    raise SystemExit('the package must not be importable here')\n"
        f"model = keras.saving.load_model({str(paths['final_model'].path)!r}, safe_mode=True)\n"
        f"x = np.load({str(tmp_path / 'x_test.npy')!r})\n"
        f"np.save({str(out)!r}, model.predict(x, batch_size=1000, verbose=0))\n"
        "print(sorted({type(layer).__module__.split('.')[0] for layer in model.layers}))\n"
    )
    assert run_python(code, tmp_path).strip() == "['keras']"
    alone = np.load(out)
    trained = load_keras_model(paths["trained_model"].path).predict(
        np.load(tmp_path / "x_test.npy"), batch_size=1000, verbose=0)
    np.testing.assert_array_equal(alone, trained)


def test_the_tuned_models_card_gives_the_recipe_that_loads_it(paths, tmp_path):
    """Notebook 07's model: its card gives the code that loads it, and that code works. With
    notebook 07's own layers in it (augmentation, test-time views) the card imports the package,
    and without the package Keras refuses the file, naming the missing layer; without them (a
    quick run may choose neither) the card says Keras alone loads it, and it does."""
    import re

    import numpy as np

    tuned_model, card_path = tuned(paths, "tuned_model"), tuned(paths, "tuned_model_card")
    recipe = re.search(r"```python\n(.*?)```", card_path.read_text(), re.S)
    assert recipe, "the card must give the loading code as a python block"
    with np.load(paths["processed"].path) as data:
        np.save(tmp_path / "x.npy", data["x_test"][:200])
    out = tmp_path / "p.npy"
    check = (f"import numpy as np\nx = np.load({str(tmp_path / 'x.npy')!r})\n"
             f"np.save({str(out)!r}, model.predict(x, verbose=0))\n")
    run_python(recipe.group(1) + check, paths.root)
    from mnist_cnn.handoff import load_keras_model

    expected = load_keras_model(tuned_model).predict(np.load(tmp_path / "x.npy"), verbose=0)
    np.testing.assert_allclose(np.load(out), expected, atol=1e-6)

    refused = WITHOUT_PACKAGE + (
        "import keras\ntry:\n"
        f"    keras.saving.load_model({str(tuned_model)!r}, safe_mode=True)\n"
        "except Exception as error:\n    print(error)\nelse:\n    print('loaded')\n")
    message = run_python(refused, tmp_path)
    own_layers = [layer.name for layer in layers_within(load_keras_model(tuned_model))
                  if type(layer).__name__ in ("FixedAffine", "RandomAffine")]
    if own_layers:
        assert "import mnist_cnn.from_notebooks" in recipe.group(1), own_layers
        assert "loaded" not in message and ("Affine" in message or "mnist_cnn" in message), message
    else:
        assert "import mnist_cnn" not in recipe.group(1) and message.strip() == "loaded", message


def layers_within(model) -> list:
    """Every layer of `model`, and of the models nested in it."""
    import keras

    found = []
    for layer in model.layers:
        found.append(layer)
        if isinstance(layer, keras.Model):
            found += layers_within(layer)
    return found
