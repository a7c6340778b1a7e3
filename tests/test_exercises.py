"""Every exercise that changes a hyperparameter or one line of code runs as written.

Each one is made in a scratch copy of the project (`mnist_cnn.exercises`) and the notebooks it
affects run to the end, on 12,000 training images where a full training would be long. A base
copy runs the series once (01-05, its training on the same subset) so that each exercise
starts from the hand-off files a reader would have.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mnist_cnn.exercises import EXERCISES, SUBSET, get_exercise, run_exercise, scratch_project
from mnist_cnn.experiments import ExperimentLog
from mnist_cnn.paths import NOTEBOOKS, ProjectPaths
from mnist_cnn.runner import execute_notebook

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]

# What notebook 04 must report as the run's difference from the default, per exercise.
EXPECTED_CHANGES = {
    "02.1": ["TRAINING_IMAGES=12,000", "architecture in the code (225,706 parameters)"],
    "02.2": ["TRAINING_IMAGES=12,000", "architecture in the code (29,098 parameters)"],
    "09.1": ["TRAINING_IMAGES=12,000"],  # the fused layer: the same model, the same signature
    "03.1a": ["LEARNING_RATE=0.01", "TRAINING_IMAGES=12,000"],
    "03.1b": ["LEARNING_RATE=0.0001", "TRAINING_IMAGES=12,000"],
    "03.2": ["TRAINING_IMAGES=12,000",
             "optimizer in the code (Adam, learning rate constant 0.001)"],
    "03.3": ["EPOCHS=15", "TRAINING_IMAGES=12,000"],
    "03.4": ["TRAINING_IMAGES=6000"],
}


# The direction of the effect each worked solution reports (notebooks/solutions/), checked on
# the subset: (what the solution says, a test of the run's validation accuracy against the
# default's, both trained on the same 12,000 images). The full-data figures are in
# notebooks/solutions/results.json.
DIRECTIONS = {
    "02.1": ("no padding costs little accuracy", lambda run, default: abs(run - default) < 0.01),
    "02.2": ("global average pooling loses accuracy", lambda run, default: run < default - 0.02),
    "09.1": ("the fused layer learns the same", lambda run, default: abs(run - default) < 0.005),
    "03.1a": ("at 1e-2 the decaying schedule ends where the default ends",
              lambda run, default: abs(run - default) < 0.005),
    "03.1b": ("1e-4 learns too slowly in 5 epochs", lambda run, default: run < default - 0.01),
    "03.2": ("a constant learning rate does worse", lambda run, default: run < default),
    "03.3": ("15 epochs do at least as well as 5", lambda run, default: run > default - 0.002),
    "03.4": ("6,000 images: the moving statistics lag, the validation accuracy collapses",
             lambda run, default: run < default - 0.1),
}


@pytest.fixture(scope="module")
def base(tmp_path_factory, monkeypatch_module) -> Path:
    """The series run once (01-05) in a scratch copy, training on the 12,000-image subset."""
    folder = tmp_path_factory.mktemp("exercises") / "base"
    paths = scratch_project(folder, ROOT)
    monkeypatch_module.setenv("MNIST_CNN_ROOT", str(folder))
    monkeypatch_module.setenv("MNIST_CNN_TRAINING_IMAGES", SUBSET["TRAINING_IMAGES"])
    for name in ("MNIST_CNN_DATASET", "MNIST_CNN_EXPERIMENT_LOG"):
        monkeypatch_module.delenv(name, raising=False)
    for number in ("01", "02", "03", "04", "05"):
        execute_notebook(paths.notebooks / NOTEBOOKS[number])
    monkeypatch_module.delenv("MNIST_CNN_TRAINING_IMAGES")
    return folder


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


# `make integration` runs the slow tests two at a time (pytest-xdist, --dist loadgroup): the
# exercises in two halves of about equal time (the seconds each took alone, 2026-12-04: 629 and
# 633), each half on one worker, which runs the base copy once for it.
HALF = {"07.1": 0, "03.3": 0, "02.2": 0, "03.2": 0, "03.1a": 0, "09.1": 0, "06.1": 0,
        "07.2": 1, "07.3": 1, "02.1": 1, "08.3": 1, "03.1b": 1, "03.4": 1, "08.2": 1, "01.3": 1}


@pytest.mark.parametrize("key", [
    pytest.param(exercise.key, marks=pytest.mark.xdist_group(f"exercises-{HALF[exercise.key]}"))
    for exercise in EXERCISES])
def test_the_exercise_runs_as_written(key, base, tmp_path):
    exercise = get_exercise(key)
    run = run_exercise(exercise, tmp_path / "copy", ROOT, artifacts_from=base)
    assert list(run.executed) == list(exercise.runs)  # every notebook ran to its end
    first = run.outputs(exercise.runs[0])
    for name in exercise.settings:
        if name not in exercise.quick:  # the test's own value may be the shipped one (TUNING)
            assert f"from MNIST_CNN_{name}" in first, f"the settings cell must show {name}"

    if key in EXPECTED_CHANGES:
        evaluation = run.outputs("04")
        assert "This run is an experiment" in evaluation
        logged = ExperimentLog(run.paths.experiment_log).read().records
        assert [record["changes"] for record in logged] == [EXPECTED_CHANGES[key]]
        assert "an experiment: no bar applies" in evaluation
    if key in DIRECTIONS:
        claim, holds = DIRECTIONS[key]
        default = ExperimentLog(ProjectPaths("mnist", root=base).experiment_log).read().records[-1]
        assert default["changes"] == ["TRAINING_IMAGES=12,000"]
        run_accuracy = logged[-1]["val_accuracy"]
        assert holds(run_accuracy, default["val_accuracy"]), (
            f"{key}: the solution says {claim!r}, but validation accuracy is {run_accuracy:.4f} "
            f"against the default's {default['val_accuracy']:.4f}")
    if key == "03.4":  # and it is not overfitting: the network fits its training images well
        assert logged[-1]["history"]["accuracy"][-1] > 0.95
    if key == "01.3":
        assert "Fashion-MNIST with classes: T-shirt/top, Trouser" in first
    if key == "06.1":
        assert "original: (300, 240) | inverted: True" in first
    if key == "07.1":  # Hyperband's trials: configurations trained for 1, then more epochs
        trials = pd.read_csv(run.paths["tuning_trials_quick"].path)
        assert trials["tuner/epochs"].nunique() > 1
    if key == "07.2":
        trials = pd.read_csv(run.paths["tuning_trials_quick"].path)
        assert len(trials) == 3 and trials["augmentation"].all()
    if key == "07.3":
        assert run.paths.dataset.name == "fashion_mnist"
        trials = pd.read_csv(run.paths["tuning_trials_quick"].path)
        assert len(trials) == 3 and "Fashion-MNIST" in run.outputs("01")
