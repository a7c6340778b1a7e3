"""A student's experiments run through the series, and the default is still guarded.

Each test works in a scratch copy of the project (notebooks copied, data linked), set from
outside as a teacher or a reader would: `MNIST_CNN_<NAME>` environment variables.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from nbclient.exceptions import CellExecutionError

from mnist_cnn import runner
from mnist_cnn.exercises import Edit, apply_edit, environment, scratch_project
from mnist_cnn.experiments import ExperimentLog
from mnist_cnn.handoff import sidecar_path
from mnist_cnn.paths import NOTEBOOKS
from mnist_cnn.runner import execute_notebook

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("experiment-runs")]  # Makefile: integration

ROOT = Path(__file__).resolve().parents[1]


def outputs(notebook) -> str:
    return "\n".join(output.get("text", "") or output.get("data", {}).get("text/plain", "")
                     for cell in notebook.cells for output in cell.get("outputs", []))


def run(paths, numbers, **settings):
    """Run notebooks `numbers` of the scratch project with hyperparameters set from outside."""
    import nbformat

    env = {"MNIST_CNN_ROOT": str(paths.root), "MNIST_CNN_DATASET": "mnist",
           **{f"MNIST_CNN_{name}": value for name, value in settings.items()}}
    executed = {}
    with environment(env):
        for number in numbers:
            notebook = paths.notebooks / NOTEBOOKS[number]
            output = paths.root / "build" / "executed" / notebook.name
            execute_notebook(notebook, output)
            executed[number] = nbformat.read(output, as_version=4)
    return executed


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Notebooks 01 and 02 as shipped, in a scratch copy."""
    paths = scratch_project(tmp_path_factory.mktemp("runs") / "base", ROOT)
    run(paths, ["01", "02"])
    return paths.root


@pytest.fixture(autouse=True)
def no_outside_log(monkeypatch):
    monkeypatch.delenv("MNIST_CNN_EXPERIMENT_LOG", raising=False)


def test_a_students_experiment_runs_through_and_is_compared(base, tmp_path, capsys):
    paths = scratch_project(tmp_path / "student", ROOT, artifacts_from=base, before="03")
    first = run(paths, ["03", "04"], EPOCHS="1")
    second = run(paths, ["02", "03", "04", "05", "06"], FILTERS="(8, 16)", EPOCHS="1")
    assert list(second) == ["02", "03", "04", "05", "06"]  # every notebook ran to its end

    logged = ExperimentLog(paths.experiment_log).read()
    assert logged.problems == []
    assert [record["changes"] for record in logged.records] == [
        ["EPOCHS=1"], ["FILTERS=(8, 16)", "EPOCHS=1"]]
    assert all(0.9 < record["test_accuracy"] < 1 for record in logged.records)

    first_id, second_id = (record["run_id"] for record in logged.records)
    evaluation = outputs(second["04"])
    assert "This run is an experiment; it differs from the default in:" in evaluation
    assert "FILTERS = (8, 16) (default (32, 64))" in evaluation
    assert "EPOCHS = 1 (default 5)" in evaluation
    assert "an experiment: no bar applies" in evaluation
    table = evaluation[evaluation.index("default reference"):]
    assert first_id in table and f"{second_id}  <- this run" in table
    # compared on validation accuracy against the default's noise band; the test accuracy is
    # reported, never compared
    assert "validation accuracy:" in evaluation and "the default's noise band" in evaluation
    assert "val vs default (points)" in table and "verdict" in table
    assert "EPOCHS=1" in outputs(first["04"])

    # The reader breaks 03 on a rerun: it stops before saving. The summary shows no result of
    # this run, and 05 says it uses the last good model and which run made it.
    apply_edit(paths.notebooks / NOTEBOOKS["03"],
               Edit("03", "history = model.fit(",
                    'raise RuntimeError("the reader stopped the training")\nhistory = model.fit('))
    with environment({"MNIST_CNN_ROOT": str(paths.root), "MNIST_CNN_DATASET": "mnist"}):
        assert runner.main(["03", "04"]) == 1
    summary = capsys.readouterr().out
    assert "test accuracy (MNIST): none from this run (notebook 04 did not run to the end)" in summary
    assert "99." not in summary.split("Results of this run:")[-1]
    analysis = outputs(run(paths, ["05"])["05"])
    assert "Note: models/mnist_cnn_trained.keras is the last good file, written by " \
           "03_compile_and_train.ipynb" in analysis
    assert f"(run {second_id})" in analysis and "was started again at" in analysis


def test_breaking_the_default_on_purpose_is_stopped_by_its_bar(base, tmp_path):
    paths = scratch_project(tmp_path / "broken", ROOT, artifacts_from=base, before="03")
    # Every label moved to the next image: a bug, not a hyperparameter; the run stays "default".
    apply_edit(paths.notebooks / NOTEBOOKS["03"], Edit(
        "03", 'x_fit, y_fit = data["x_train"][fit_index], data["y_train"][fit_index]',
        'x_fit, y_fit = data["x_train"][fit_index], np.roll(data["y_train"][fit_index], 1, axis=0)'))
    with pytest.raises(CellExecutionError) as failure:
        run(paths, ["03"])
    message = str(failure.value)
    assert "AssertionError" in message
    assert "is below 0.985 for the default configuration" in message
    # Saved before it was judged: the failing run's model is there to be studied.
    marker = json.loads(paths.run_marker(NOTEBOOKS["03"]).read_text())
    meta = json.loads(sidecar_path(paths["trained_model"].path).read_text())
    assert meta["run_id"] == marker["run_id"]


TRAIN_WITH_OR_WITHOUT_RECORDERS = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import mnist_cnn
mnist_cnn.import_tensorflow_quietly()
import keras, numpy as np, tensorflow as tf
from mnist_cnn.handoff import load_keras_model, model_content_id
from mnist_cnn.recorders import BatchLossRecorder, TrainingRecorder
processed, untrained, record = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
with np.load(processed) as data:
    x, y = data["x_train"][:2000], data["y_train"][:2000]
keras.utils.set_random_seed(42)
tf.config.experimental.enable_op_determinism()
model = load_keras_model(untrained)
steps = 2 * int(np.ceil(len(x) / 64))
model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
              loss="categorical_crossentropy", metrics=["accuracy"])
callbacks = [BatchLossRecorder(), TrainingRecorder([0, 5, 20, 32, 64], x[:8])] if record else []
model.fit(x, y, epochs=2, batch_size=64, callbacks=callbacks, verbose=0)
if record:
    assert len(callbacks[0].losses) == 64 and callbacks[1].steps == [0, 5, 20, 32, 64]
print(model_content_id(model))
"""


def test_recording_the_training_does_not_change_the_trained_model(base):
    """Notebook 03's recorders on the series' own untrained model, data and recipe: the model
    trained with them is bit-identical to the one trained without them. Each training runs in
    a fresh process, as each notebook runs in a fresh kernel (in one process, Keras's random
    state carries over from one training to the next)."""
    import os
    import subprocess
    import sys

    from mnist_cnn.paths import ProjectPaths

    paths = ProjectPaths("mnist", root=base)

    def train(record: bool) -> str:
        result = subprocess.run(
            [sys.executable, "-c", TRAIN_WITH_OR_WITHOUT_RECORDERS, str(paths["processed"].path),
             str(paths["untrained_model"].path), "1" if record else "0"],
            capture_output=True, text=True, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout.strip().splitlines()[-1]

    without = train(record=False)
    assert train(record=False) == without  # a fresh process trains the same model twice
    assert train(record=True) == without


def run_with_training_cell_twice(notebook: Path) -> None:
    """Execute `notebook` top to bottom in one kernel, the cell tagged "training" twice."""
    import nbformat
    from nbclient import NotebookClient

    book = nbformat.read(notebook, as_version=4)
    client = NotebookClient(book, timeout=900, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent)}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    with client.setup_kernel():
        for index, cell in enumerate(book.cells):
            client.execute_cell(cell, index)
            if "training" in cell.metadata.get("tags", []):
                client.execute_cell(cell, index)  # the reader runs it again


def test_running_the_training_cell_twice_trains_once_from_the_start(base, tmp_path):
    """03's training cell, run twice in one kernel, saves what one run saves: a model trained
    for EPOCHS epochs from notebook 02's weights, and a record that says so."""
    settings = {"MNIST_CNN_ROOT": None, "MNIST_CNN_DATASET": "mnist", "MNIST_CNN_TRAINING_IMAGES": "2000"}
    content, records = [], []
    for name, twice in (("once", False), ("twice", True)):
        paths = scratch_project(tmp_path / name, ROOT, artifacts_from=base, before="03")
        with environment({**settings, "MNIST_CNN_ROOT": str(paths.root)}):
            notebook = paths.notebooks / NOTEBOOKS["03"]
            if twice:
                run_with_training_cell_twice(notebook)
            else:
                execute_notebook(notebook)
        meta = json.loads(sidecar_path(paths["trained_model"].path).read_text())
        content.append(meta["content_id"])
        records.append(meta)
    assert content[0] == content[1]  # the same weights: the second run started from the start
    for meta in records:
        assert meta["params"]["epochs_trained"] == 5 == meta["configuration"]["EPOCHS"]
        assert meta["params"]["images_trained_on"] == 2000
    from mnist_cnn.handoff import load_keras_model

    trained = load_keras_model(paths["trained_model"].path)  # the one trained twice
    assert int(trained.optimizer.iterations.numpy()) == 5 * 32  # 5 epochs of 2,000 images, not 10
