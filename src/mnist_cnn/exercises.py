"""The exercises that change a hyperparameter or one line of code, and a way to run them.

Each `Exercise` is written down as the reader would do it: hyperparameters set from outside
(the environment variables of `mnist_cnn.settings`), or a one-line edit of a notebook's code,
exact to the character. `run_exercise` makes that change in a scratch copy of the project and
runs the notebooks it affects to the end, one fresh kernel each, as `make run` would.

The test suite runs every exercise this way (`tests/test_exercises.py`), with the `quick`
settings that keep a long training affordable on a 2-core CPU (a subset of the training
images); the worked solutions of the exercises reuse the same mechanism.

An edit whose `old` line is no longer in the notebook fails loudly: the exercise text and the
notebook have drifted apart, and the exercise must be rewritten with the notebook.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .handoff import sidecar_path
from .paths import LOG_ENV_VAR, NOTEBOOKS, ROOT_ENV_VAR, ProjectPaths
from .settings import ENV_PREFIX, HYPERPARAMETERS


@dataclass(frozen=True)
class Edit:
    """Replace one line (or part of one) of a notebook's code, found exactly once."""

    notebook: str  # "02"
    old: str
    new: str


@dataclass(frozen=True)
class Exercise:
    key: str  # "03.2": notebook 03, exercise 2 (a letter for each value the exercise tries)
    asks: str  # the change, in the exercise's own words
    settings: Mapping[str, str] = field(default_factory=dict)  # NAME -> value, from outside
    edits: tuple[Edit, ...] = ()
    runs: tuple[str, ...] = ()  # the notebooks the change affects, in order
    quick: Mapping[str, str] = field(default_factory=dict)  # for the test suite only
    prepare: Callable[[Path], None] | None = None  # writes a file the exercise needs

    @property
    def notebook(self) -> str:
        return self.key.split(".")[0]


def draw_a_seven(notebooks: Path) -> None:
    """A reader's drawing of a 7: dark strokes on light paper, larger than MNIST, off-centre."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (240, 300), color=235)
    pen = ImageDraw.Draw(image)
    pen.line([(50, 60), (190, 60), (110, 260)], fill=20, width=18, joint="curve")
    pen.line([(85, 160), (165, 160)], fill=20, width=14)
    (notebooks / "images").mkdir(exist_ok=True)
    image.save(notebooks / "images" / "my_seven.png")


# 12,000 training images: 940 steps in 5 epochs, enough for batch normalization's moving
# statistics to catch up (with fewer, the model answers "1" to everything in inference mode).
SUBSET = {"TRAINING_IMAGES": "12000"}

EXERCISES: tuple[Exercise, ...] = (
    Exercise("01.3", 'Set DATASET = "fashion_mnist" and rerun.',
             settings={"DATASET": "fashion_mnist"}, runs=("01",)),
    Exercise("02.1", 'Use padding="valid" in the convolutions.',
             edits=(Edit("02", 'padding="same", pooling="flatten", name=f"{DATASET}_cnn"',
                         'padding="valid", pooling="flatten", name=f"{DATASET}_cnn"'),),
             runs=("02", "03", "04", "05", "06"), quick=SUBSET),
    Exercise("02.2", "Replace Flatten with keras.layers.GlobalAveragePooling2D().",
             edits=(Edit("02", 'pooling="flatten", name=f"{DATASET}_cnn"',
                         'pooling="average", name=f"{DATASET}_cnn"'),),
             runs=("02", "03", "04", "05", "06"), quick=SUBSET),
    Exercise("09.1", "Train the copy with the fused BatchNormalization in notebook 03.",
             edits=(Edit("03", 'model = compile_model(handoff.load_model("untrained_model"))',
                         "from mnist_cnn.fused_normalization import with_fused_batch_normalization\n"
                         "model = compile_model(with_fused_batch_normalization("
                         'handoff.load_model("untrained_model")))'),),
             runs=("03", "04"), quick=SUBSET),
    Exercise("03.1a", "Set LEARNING_RATE = 1e-2.", settings={"LEARNING_RATE": "1e-2"},
             runs=("03", "04", "05", "06"), quick=SUBSET),
    Exercise("03.1b", "Set LEARNING_RATE = 1e-4.", settings={"LEARNING_RATE": "1e-4"},
             runs=("03", "04", "05", "06"), quick=SUBSET),
    Exercise("03.2", "Use a constant learning rate of 0.001.",
             edits=(Edit("03", "optimizer=keras.optimizers.Adam(learning_rate=learning_rate),",
                         "optimizer=keras.optimizers.Adam(learning_rate=0.001),"),),
             runs=("03", "04", "05", "06"), quick=SUBSET),
    Exercise("03.3", "Train for 15 epochs.", settings={"EPOCHS": "15"},
             runs=("03", "04", "05", "06"), quick=SUBSET),
    Exercise("03.4", "Train on 6,000 images.", settings={"TRAINING_IMAGES": "6_000"},
             runs=("03", "04", "05", "06")),
    Exercise("06.1", "Draw a digit, save it as PNG and set MY_IMAGE to it.",
             settings={"MY_IMAGE": "images/my_seven.png"}, runs=("06",), prepare=draw_a_seven),
    Exercise("08.2", "Set OCCLUSION_PATCH = 8 and rerun section 3.", settings={"OCCLUSION_PATCH": "8"},
             runs=("08",)),
    Exercise("08.3", "Replace Flatten by GlobalAveragePooling2D in 02, rerun 02-04 and this notebook.",
             edits=(Edit("02", 'pooling="flatten", name=f"{DATASET}_cnn"',
                         'pooling="average", name=f"{DATASET}_cnn"'),),
             runs=("02", "03", "04", "08"), quick=SUBSET),
    # Notebook 07's exercises change the search: TUNING="search" runs the full search and
    # retrains the winner for one epoch; the test suite runs them in quick mode.
    Exercise("07.1", "Derive TimedRandomSearch from keras_tuner.Hyperband, with max_epochs.",
             settings={"TUNING": "search"},
             edits=(Edit("07", "class TimedRandomSearch(keras_tuner.RandomSearch):",
                         "class TimedRandomSearch(keras_tuner.Hyperband):"),
                    Edit("07", 'max_trials=budget["max_trials"],',
                         'max_epochs=4 * budget["search_epochs"],')),
             runs=("07",), quick={"TUNING": "quick"}),
    Exercise("07.2", "Fix augmentation=True in the search (hp.Fixed) and search again with 4 "
                     "epochs per trial.",
             settings={"TUNING": "search"},
             edits=(Edit("07", 'augmentation = hp.Boolean("augmentation")',
                         'augmentation = hp.Fixed("augmentation", True)'),
                    Edit("07", 'max_trials=16, search_epochs=2,', 'max_trials=16, search_epochs=4,')),
             runs=("07",), quick={"TUNING": "quick"}),
    Exercise("07.3", "Set DATASET=fashion_mnist, run the series and notebook 07.",
             settings={"DATASET": "fashion_mnist", "TUNING": "search"},
             runs=("01", "02", "03", "04", "07"), quick={**SUBSET, "TUNING": "quick"}),
)


def get_exercise(key: str) -> Exercise:
    for exercise in EXERCISES:
        if exercise.key == key:
            return exercise
    raise KeyError(f"no exercise {key!r}; the exercises are {[e.key for e in EXERCISES]}")


# ----- scratch projects -------------------------------------------------------------------------
def scratch_project(folder: Path, source: Path, artifacts_from: Path | None = None,
                    dataset: str = "mnist", before: str = "01") -> ProjectPaths:
    """A throw-away copy of the project at `folder`: the notebooks copied, the raw data linked,
    and the hand-off files that notebooks before `before` wrote in `artifacts_from` linked in.

    Hand-off files are replaced (never written in place) by the notebooks, so linking them is
    safe: a run in the copy leaves the originals as they are.
    """
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "data").mkdir(parents=True)
    shutil.copy(source / "pyproject.toml", folder)
    shutil.copytree(source / "notebooks", folder / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    if (source / "data" / "raw").is_dir():
        (folder / "data" / "raw").symlink_to((source / "data" / "raw").resolve())
    paths = ProjectPaths(dataset, root=folder)
    if artifacts_from is not None:
        origin = ProjectPaths(dataset, root=artifacts_from)
        for key, artifact in origin.artifacts.items():
            if artifact.notebook < NOTEBOOKS[before] and artifact.path.is_file():
                target = paths[key].path
                target.parent.mkdir(parents=True, exist_ok=True)
                os.link(artifact.path, target)
                shutil.copy(sidecar_path(artifact.path), sidecar_path(target))
    return paths


def apply_edit(notebook: Path, edit: Edit) -> None:
    import nbformat

    book = nbformat.read(notebook, as_version=4)
    cells = [cell for cell in book.cells if cell.cell_type == "code" and edit.old in cell.source]
    count = sum(cell.source.count(edit.old) for cell in cells)
    if count != 1:
        raise ValueError(
            f"{notebook.name}: the exercise edit expects {edit.old!r} exactly once in the code, "
            f"found it {count} times: the notebook changed, update the exercise with it."
        )
    cells[0].source = cells[0].source.replace(edit.old, edit.new)
    nbformat.write(book, notebook)


@contextlib.contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the kernels started inside the block, then restore them."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def settings_environment(settings: Mapping[str, str]) -> dict[str, str]:
    unknown = [name for name in settings if name not in HYPERPARAMETERS]
    if unknown:
        raise KeyError(f"unknown hyperparameters {unknown}; see mnist_cnn.settings")
    return {ENV_PREFIX + name: value for name, value in settings.items()}


@dataclass
class ExerciseRun:
    exercise: Exercise
    paths: ProjectPaths
    executed: dict[str, Any]  # notebook number -> the executed notebook (nbformat)

    def outputs(self, number: str) -> str:
        """All text that notebook `number` printed or displayed, joined."""
        parts = []
        for cell in self.executed[number].cells:
            for output in cell.get("outputs", []):
                if "text" in output:
                    parts.append(output["text"])
                elif "text/plain" in output.get("data", {}):
                    parts.append(output["data"]["text/plain"])
        return "\n".join(parts)


def run_exercise(exercise: Exercise, folder: Path, source: Path, artifacts_from: Path | None,
                 quick: bool = True, extra_settings: Mapping[str, str] | None = None,
                 timeout: int = 900) -> ExerciseRun:
    """Make `exercise`'s change in a scratch copy at `folder` and run the notebooks it affects.

    `artifacts_from` is a project where the series already ran (up to the notebook before the
    first one this exercise runs), so the copy starts from its hand-off files.
    """
    from .runner import execute_notebook

    settings = {**exercise.settings, **(exercise.quick if quick else {}), **(extra_settings or {})}
    dataset = settings.get("DATASET", HYPERPARAMETERS["DATASET"].default)
    paths = scratch_project(folder, source, artifacts_from, dataset, before=exercise.runs[0])
    for edit in exercise.edits:
        apply_edit(paths.notebooks / NOTEBOOKS[edit.notebook], edit)
    if exercise.prepare is not None:
        exercise.prepare(paths.notebooks)
    env = {ROOT_ENV_VAR: str(paths.root), **settings_environment(settings)}
    executed = {}
    with environment(env):
        saved_log = os.environ.pop(LOG_ENV_VAR, None)
        try:
            for number in exercise.runs:
                import nbformat

                notebook = paths.notebooks / NOTEBOOKS[number]
                output = paths.root / "build" / "executed" / notebook.name
                execute_notebook(notebook, output, timeout=timeout)
                executed[number] = nbformat.read(output, as_version=4)
        finally:
            if saved_log is not None:
                os.environ[LOG_ENV_VAR] = saved_log
    return ExerciseRun(exercise, paths, executed)
