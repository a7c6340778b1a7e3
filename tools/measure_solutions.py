"""Run the exercises that train a network, on the full data and on the test suite's subset,
and record what they give: notebooks/solutions/results.json, which the solutions notebooks show.

    .venv/bin/python tools/measure_solutions.py            # every training exercise, both scales
    .venv/bin/python tools/measure_solutions.py --only 03.1a 03.3 --scale full

Each exercise runs as the test suite runs it (mnist_cnn.exercises: a scratch copy of the
project, the change made as the exercise says, the notebooks it affects run to the end), once
with the full training data and once on the 12,000-image subset the tests use. The default is run
the same two ways, as the baseline. From each run the record of its training (notebook 04 logs
it) is kept: the changes, the epochs, validation and test accuracy, the learning curves, the
fit() time and the parameter count. About 35 minutes for everything on 2 CPU cores with AVX-512
(34 minutes on 2026-12-04: 11 on the subset, 23 on the full data).

    .venv/bin/python tools/measure_solutions.py --tuning     # notebook 07's exercises

Notebook 07's exercises 1 to 3 change the search: each runs as the reader would run it, with
TUNING="search" (the full search, the winner retrained for one epoch), starting from the hand-off
files of this project (run `make run` first); the trials and the search time are kept. "07.0" is
the search mode with nothing changed, the time the exercises are compared with.
Exercise 4 trains the tuned configuration (the best trial of 07's search of record, with
augmentation) for 15 epochs twice, with notebook 07's RandomAffine and with Keras's three
chained layers, built by notebook 07's own `build_model`. About 70 minutes on 2 cores with AVX-512
(2026-12-04: 07.1 14 minutes, 07.2 16, 07.3 11, 07.4 18; 2026-12-05: 07.0 10).

    .venv/bin/python tools/measure_solutions.py --fashion    # notebook 08's exercise 4

Runs the series (01-04) and notebook 08 on Fashion-MNIST in a scratch copy and keeps what 08
printed about the closest classes, the nearest-neighbour test, the dense network and shifts,
and the 32 filters of block1_conv as initialised (02) and as learned (03). About 5 minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import shutil
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from mnist_cnn.exercises import (  # noqa: E402
    SUBSET,
    Exercise,
    environment,  # noqa: E402
    get_exercise,
    run_exercise,
    scratch_project,
)
from mnist_cnn.experiments import ExperimentLog  # noqa: E402
from mnist_cnn.handoff import sidecar_path, write_text_atomically  # noqa: E402
from mnist_cnn.paths import NOTEBOOKS, ROOT_ENV_VAR  # noqa: E402
from mnist_cnn.runner import execute_notebook  # noqa: E402

TRAINING = ("02.1", "02.2", "03.1a", "03.1b", "03.2", "03.3", "03.4", "09.1")
TUNING = ("07.0", "07.1", "07.2", "07.3")
CHAINED_EPOCHS = 15
RESULTS = ROOT / "notebooks" / "solutions" / "results.json"
WORK = ROOT / "build" / "solutions"
DEFAULT = Exercise("default", "The series as shipped.", runs=("03", "04"), quick=SUBSET)
# Notebook 07's search mode with nothing changed: what exercises 1 to 3 are compared with.
SEARCH_AS_SHIPPED = Exercise("07.0", "Nothing changed: the search mode as shipped.",
                             settings={"TUNING": "search"}, runs=("07",))


def base() -> Path:
    """Notebooks 01-02 as shipped, run once, for every exercise to start from."""
    folder = WORK / "base"
    if not (folder / "models" / "mnist_cnn_untrained.keras").is_file():
        paths = scratch_project(folder, ROOT)
        with environment({ROOT_ENV_VAR: str(folder), "MNIST_CNN_DATASET": "mnist"}):
            for number in ("01", "02"):
                execute_notebook(paths.notebooks / NOTEBOOKS[number])
    return folder


def measure(exercise: Exercise, scale: str) -> dict:
    start = time.perf_counter()
    run = run_exercise(exercise, WORK / f"{exercise.key}-{scale}", ROOT, artifacts_from=base(),
                       quick=scale == "quick")
    record = ExperimentLog(run.paths.experiment_log).read().records[-1]
    model = json.loads(sidecar_path(run.paths["trained_model"].path).read_text())
    return {**{key: record[key] for key in ("changes", "epochs", "val_accuracy", "val_loss", "test_accuracy",
                                            "test_loss", "fit_seconds", "history")},
            "parameters": model["configuration"]["parameters"],
            "minutes": round((time.perf_counter() - start) / 60, 1)}


def measure_search(exercise: Exercise) -> dict:
    """Notebook 07 changed as `exercise` says, run with TUNING="search" on the full data."""
    start = time.perf_counter()
    run = run_exercise(exercise, WORK / exercise.key, ROOT, artifacts_from=ROOT, quick=False,
                       timeout=3 * 3600)
    trials = pd.read_csv(run.paths["tuning_trials_quick"].path)  # search mode writes apart
    minutes = float(re.search(r"(\d+) trials in ([\d.]+) minutes", run.outputs("07")).group(2))
    return {"changes": exercise.asks, "dataset": run.paths.dataset.name, "search_minutes": minutes,
            "trials": json.loads(trials.to_json(orient="records")),
            "minutes": round((time.perf_counter() - start) / 60, 1)}


def notebook_07_namespace() -> dict:
    """Notebook 07's `build_model`, defined by its own cell, with what that cell needs."""
    import keras
    import numpy as np

    from mnist_cnn.from_notebooks import RandomAffine

    book = nbformat.read(ROOT / "notebooks" / NOTEBOOKS["07"], as_version=4)
    (source,) = [cell.source for cell in book.cells
                 if cell.cell_type == "code" and cell.source.startswith("def build_model(hp")]
    namespace = {"keras": keras, "np": np, "RandomAffine": RandomAffine, "BATCH_SIZE": 64, "DATASET": "mnist",
                 "class_names": [str(k) for k in range(10)], "budget": {}}
    exec(source, namespace)  # noqa: S102 - the notebook's code, as the reader runs it
    return namespace


def chained_layers(degrees: float, shift: float, zoom: float, name: str):
    """Keras's three augmentation layers in a row: what exercise 07.4 puts in place of RandomAffine."""
    import keras

    return keras.Sequential([keras.layers.RandomRotation(degrees / 360),
                             keras.layers.RandomTranslation(shift, shift),
                             keras.layers.RandomZoom(zoom)], name=name)


def measure_chained_augmentation() -> dict:
    """The tuned configuration (the best trial of 07's search of record, with augmentation), 15 epochs,
    seed 42: one warp (RandomAffine) or Keras's three layers."""
    import keras
    import keras_tuner
    import numpy as np
    import tensorflow as tf

    import mnist_cnn
    from mnist_cnn.from_notebooks import validation_split

    paths = mnist_cnn.ProjectPaths("mnist", root=ROOT)
    record = pd.read_csv(ROOT / "notebooks" / "results" / "tuning_full_mnist.csv")  # 07's search of record
    best = record.sort_values("val_accuracy", ascending=False).iloc[0]
    names = ("activation", "batch_norm", "conv_blocks", "filters", "kernel_size", "dense_units",
             "dropout", "augmentation", "optimizer", "learning_rate")
    config = {name: best[name].item() if hasattr(best[name], "item") else best[name] for name in names}
    config["augmentation"] = True  # the exercise compares two augmentations, so the network has one
    with np.load(paths["processed"].path) as data:
        x_train, y_train, x_test, y_test = (data[k] for k in ("x_train", "y_train", "x_test", "y_test"))
    validation, fit = validation_split(len(x_train), 0.1, 42)  # notebook 03's split, as 07 uses it
    result = {"config": config, "epochs": CHAINED_EPOCHS}
    for variant in ("RandomAffine", "chained"):
        namespace = notebook_07_namespace()
        namespace["budget"] = {"search_epochs": CHAINED_EPOCHS, "search_images": len(fit)}
        if variant == "chained":
            namespace["RandomAffine"] = chained_layers
        keras.utils.set_random_seed(42)
        tf.config.experimental.enable_op_determinism()
        hp = keras_tuner.HyperParameters()
        hp.values.update(config)
        model = namespace["build_model"](hp)
        start = time.perf_counter()
        history = model.fit(x_train[fit], y_train[fit], epochs=CHAINED_EPOCHS, batch_size=64,
                            validation_data=(x_train[validation], y_train[validation]), verbose=0)
        seconds = time.perf_counter() - start
        _, test_accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
        result[variant] = {"val_accuracy": history.history["val_accuracy"][-1],
                           "test_accuracy": test_accuracy, "fit_seconds": round(seconds, 1)}
        print(f"  {variant}: validation {result[variant]['val_accuracy']:.4f}, test {test_accuracy:.4f}, "
              f"{seconds / 60:.1f} min", flush=True)
    return result


FASHION_LINES = ("closest classes", "pixels", "block 2", "dense layer", "CNN:", "the dense network makes",
                 "shift (pixels)", "CNN ", "dense network ")


def measure_fashion_08() -> dict:
    """Notebook 08 on Fashion-MNIST, as `make fashion` runs it: the lines its exercise 4 asks about."""
    folder = WORK / "fashion-08"
    paths = scratch_project(folder, ROOT, dataset="fashion_mnist")
    with environment({ROOT_ENV_VAR: str(folder), "MNIST_CNN_DATASET": "fashion_mnist"}):
        for number in ("01", "02", "03", "04", "08"):
            execute_notebook(paths.notebooks / NOTEBOOKS[number], folder / "executed" / NOTEBOOKS[number])
    book = nbformat.read(folder / "executed" / NOTEBOOKS["08"], as_version=4)
    printed = "".join(output.get("text", "") for cell in book.cells for output in cell.get("outputs", []))
    lines = [line for line in printed.splitlines() if line.startswith(FASHION_LINES)]
    lines = lines[next(i for i, line in enumerate(lines) if line.startswith("closest classes")):]
    from mnist_cnn.environment import import_tensorflow_quietly

    import_tensorflow_quietly()
    import keras

    filters = {}
    for name, key in (("initialised", "untrained_model"), ("learned", "trained_model")):
        kernel = keras.saving.load_model(paths[key].path).get_layer("block1_conv").get_weights()[0]
        per_filter = np.moveaxis(kernel[:, :, 0, :], -1, 0).astype("float64")  # (32, 3, 3)
        filters[name] = np.round(per_filter, 6).tolist()
    return {"how": "notebook 08 run on Fashion-MNIST after 01-04 (as `make fashion` runs it), "
                   "by tools/measure_solutions.py --fashion", "printed": lines,
            "block1_filters": filters}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", default=list(TRAINING))
    parser.add_argument("--scale", choices=("full", "quick", "both"), default="both")
    parser.add_argument("--tuning", nargs="*", default=None, metavar="KEY",
                        help=f"notebook 07's exercises instead (default: {' '.join(TUNING)} 07.4)")
    parser.add_argument("--fashion", action="store_true", help="notebook 08's exercise 4 instead")
    args = parser.parse_args(argv)
    results = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {"full": {}, "quick": {}}
    if args.fashion:
        results.setdefault("recorded", {})["08.4"] = {**measure_fashion_08(),
                                                       "measured_on": dt.date.today().isoformat()}
        print("\n".join(results["recorded"]["08.4"]["printed"]))
        write_text_atomically(RESULTS, json.dumps(results, indent=1, sort_keys=True) + "\n")
        shutil.rmtree(WORK, ignore_errors=True)
        return 0
    if args.tuning is not None:
        tuning = results.setdefault("tuning", {})
        for key in args.tuning or [*TUNING, "07.4"]:
            print(f"{key} ...", flush=True)
            if key == "07.4":
                tuning[key] = measure_chained_augmentation()
            else:
                tuning[key] = measure_search(SEARCH_AS_SHIPPED if key == "07.0" else get_exercise(key))
            if key != "07.4":
                best = max(trial["val_accuracy"] for trial in tuning[key]["trials"])
                print(f"  {len(tuning[key]['trials'])} trials in {tuning[key]['search_minutes']} minutes, "
                      f"best validation accuracy {best:.4f}", flush=True)
            tuning[key]["measured_on"] = dt.date.today().isoformat()
            write_text_atomically(RESULTS, json.dumps(results, indent=1, sort_keys=True) + "\n")
        shutil.rmtree(WORK, ignore_errors=True)
        return 0
    scales = ("quick", "full") if args.scale == "both" else (args.scale,)
    for scale in scales:
        for key in ["default", *args.only]:
            exercise = DEFAULT if key == "default" else get_exercise(key)
            print(f"{key} ({scale}) ...", flush=True)
            results[scale][key] = measure(exercise, scale)
            shown = results[scale][key]
            print(f"  validation {shown['val_accuracy']:.4f}, test {shown['test_accuracy']:.4f}, "
                  f"{shown['parameters']:,} parameters, fit {shown['fit_seconds']:.0f} s", flush=True)
            results["measured_on"] = dt.date.today().isoformat()
            write_text_atomically(RESULTS, json.dumps(results, indent=1, sort_keys=True) + "\n")
    shutil.rmtree(WORK, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
