"""Run notebooks of the series headless, in order, and report what they produced.

    python -m mnist_cnn.runner                      # notebooks 01-06, 08 and 09 on MNIST
    python -m mnist_cnn.runner --dataset fashion_mnist --all
    python -m mnist_cnn.runner --inplace 01 02      # refresh the stored outputs (maintainers)
    python -m mnist_cnn.runner --solutions 03       # the worked solutions of notebook 03

Executed copies go to build/executed/<dataset>/, so running the series never changes the
committed notebooks unless --inplace is given. With --inplace the notebooks log their training
runs into a fresh log under build/, so the stored notebook 04 shows no earlier runs.

The summary at the end shows what *this* run produced, never a file left by an earlier one:
if a notebook failed, it says which results are missing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from pathlib import Path

from .datasets import DATASET_ENV_VAR, get_dataset
from .experiments import Comparison
from .handoff import sidecar_path
from .paths import LOG_ENV_VAR, NOTEBOOKS, ProjectPaths, find_project_root
from .settings import ENV_PREFIX, HYPERPARAMETERS

# What `make run` runs: the six stages of the study, the look inside the trained network and
# the appendix. Notebook 07 (tuning) is optional and long: `make tune`.
SERIES = ("01", "02", "03", "04", "05", "06", "08", "09")


def execute_notebook(
    notebook: Path, output: Path | None = None, timeout: int = 1800
) -> float:
    """Execute `notebook` in its own folder with a fresh kernel; return the wall time in seconds."""
    import nbformat
    from nbclient import NotebookClient

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    book = nbformat.read(notebook, as_version=4)
    client = NotebookClient(
        book,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
        # The kernel's own log (a TCP transport warning) goes to the terminal, not the notebook.
        extra_arguments=["--IPKernelApp.log_level=ERROR"],
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    if output is not None:
        from .interactive import strip_widget_views

        strip_widget_views(book)  # the stored notebook keeps the static figures, no widget state
        book.metadata["mnist_cnn"] = {"outputs_computed_on": _numerics_of_kernels()}
        output.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(book, output)
    return seconds


def _numerics_of_kernels() -> str:
    """The numerics path of a kernel started from this process (the same environment): which
    machine and kernels computed a notebook's stored floating-point outputs."""
    from .environment import describe_numerics, import_tensorflow_quietly

    import_tensorflow_quietly()
    return describe_numerics()


def stored_outputs_path(root: Path | None = None) -> str | None:
    """The numerics path that computed the stored outputs of notebook 03, whose trained network
    every later notebook's numbers come from (None: not recorded)."""
    import nbformat

    notebook = (root or find_project_root()) / "notebooks" / NOTEBOOKS["03"]
    try:
        book = nbformat.read(notebook, as_version=4)
    except (OSError, ValueError):
        return None
    return book.metadata.get("mnist_cnn", {}).get("outputs_computed_on")


def mixing_paths(numbers: list[str], here: str, stored: str | None) -> str | None:
    """Why re-storing `numbers` on the path `here` would mix two machines' numbers in the stored
    series, or None when it would not."""
    if stored is None or here == stored:
        return None
    return (f"the stored notebooks were computed on {stored}, and this machine's kernels are {here}. "
            f"Re-storing {' '.join(numbers)} alone would mix two machines' numbers in one series "
            "(say 04's error count against 05's and 08's). Re-store on a machine of the stored kind, "
            "or re-store everything on this one (the series, 07 and the solutions) with --new-path")


def cell_timeout(number: str) -> int:
    """Seconds one cell of notebook `number` may run: 07's full run trains its two candidates on
    three seeds in one cell (six networks of several minutes each); everything else finishes in
    seconds or minutes."""
    if number == "07" and os.environ.get("MNIST_CNN_TUNING", "quick") == "full":
        return 3 * 3600
    return 1800


def run_series(
    numbers: list[str], dataset: str, inplace: bool = False, quiet: bool = False
) -> dict[str, float]:
    """Execute the numbered notebooks in order for `dataset`; stop at the first failure."""
    os.environ[DATASET_ENV_VAR] = get_dataset(dataset).name
    paths = ProjectPaths(dataset)
    if inplace:  # the stored notebooks must not show the maintainer's earlier runs
        fresh_log = paths.root / "build" / "stored-run" / "experiments.jsonl"
        fresh_log.unlink(missing_ok=True)
        os.environ[LOG_ENV_VAR] = str(fresh_log)
    timings = {}
    for number in numbers:
        notebook = paths.notebooks / NOTEBOOKS[number]
        output = notebook if inplace else paths.root / "build" / "executed" / dataset / notebook.name
        if not quiet:
            print(f"running {notebook.name} ({dataset}) ...", flush=True)
        timings[number] = execute_notebook(notebook, output, timeout=cell_timeout(number))
        if not quiet:
            print(f"  done in {timings[number]:.1f} s", flush=True)
    return timings


def run_solutions(numbers: list[str], inplace: bool = False) -> dict[str, float]:
    """Execute the worked solutions (notebooks/solutions/NN_solutions.ipynb) of `numbers` that
    exist, on MNIST: they read what the series wrote, so run it first."""
    paths = ProjectPaths("mnist")
    os.environ[DATASET_ENV_VAR] = "mnist"
    timings = {}
    for number in numbers:
        notebook = paths.notebooks / "solutions" / f"{number}_solutions.ipynb"
        if not notebook.is_file():
            continue
        output = notebook if inplace else paths.root / "build" / "executed" / "solutions" / notebook.name
        print(f"running solutions/{notebook.name} ...", flush=True)
        timings[number] = execute_notebook(notebook, output)
        print(f"  done in {timings[number]:.1f} s", flush=True)
    return timings


def written_since(path: Path, since: dt.datetime) -> bool:
    """Whether `path` was written (as its sidecar records) at or after `since`."""
    try:
        meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
        return path.is_file() and dt.datetime.fromisoformat(meta["written_at"]) >= since
    except (OSError, ValueError, KeyError, TypeError):
        return False


def report(dataset: str, since: dt.datetime, numbers: list[str] | tuple[str, ...] = SERIES) -> str:
    """The lines `make run` ends with: this run's test accuracy and models, or that there are none."""
    paths = ProjectPaths(dataset)
    lines = []
    metrics_file = paths["metrics"].path
    if written_since(metrics_file, since):
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
        kind = ("the default" if not metrics.get("changes")
                else "an experiment: " + ", ".join(metrics["changes"]))
        lines.append(f"this run ({paths.dataset.title}): {kind}")
        history = paths["history"].path
        if history.is_file():  # runs are compared on validation accuracy, against the noise band
            import pandas as pd

            from .experiments import load_references

            val_accuracy = float(pd.read_csv(history)["val_accuracy"].iloc[-1])
            reference = load_references().get(paths.dataset.name)
            comparison = Comparison(paths.dataset.name, [], reference)
            lines.append("  " + comparison.against_reference(val_accuracy))
        lines.append(
            f"  test accuracy, measured once and not used to compare: {metrics['test_accuracy']:.2%} "
            f"({metrics['test_errors']} errors in {metrics['test_images']:,} test images)"
        )
    elif "04" in numbers:
        lines.append(f"test accuracy ({paths.dataset.title}): none from this run "
                     f"(notebook 04 did not run to the end)")
    for key in ("final_model", "tuned_model", "tuned_ensemble", "tuned_model_quick",
                "tuned_ensemble_quick"):
        if written_since(paths[key].path, since):
            lines.append(f"{key.replace('_', ' ')}: {paths.relative(paths[key])}")
    return "\n".join(lines)


def not_the_default(dataset: str, since: dt.datetime) -> str | None:
    """Why this run cannot be taken for the default, or None when notebook 04 logged it as the
    default. The notebooks assert their claims only on the default; were the shipped series
    classified as an experiment (say a Keras upgrade changed the architecture's signature), every
    assertion would quietly become a print. `make test` runs the series as shipped and asks."""
    metrics_file = ProjectPaths(dataset)["metrics"].path
    if not written_since(metrics_file, since):
        return f"notebook 04 wrote no {metrics_file.name} in this run"
    changes = json.loads(metrics_file.read_text(encoding="utf-8")).get("changes") or []
    if not changes:
        return None
    logged = f"notebook 04 logged this run as an experiment ({', '.join(changes)}), not the default."
    named = [change.split("=", 1)[0] for change in changes]  # "EPOCHS=3" -> "EPOCHS"
    settings = [name for name in named if name in HYPERPARAMETERS]
    in_code = len(settings) < len(changes)  # "architecture in the code (...)", "optimizer in the code (...)"
    reasons = []
    if settings:  # "EPOCHS=3": a hyperparameter set from outside or edited in its notebook
        set_outside = [ENV_PREFIX + name for name in settings if ENV_PREFIX + name in os.environ]
        edited = [name for name in settings if ENV_PREFIX + name not in os.environ]
        if set_outside:
            reasons.append(f"unset {', '.join(set_outside)} in the environment")
        if edited:
            reasons.append(f"restore the shipped value of {', '.join(edited)} in its notebook")
    if in_code:
        reasons.append("if the notebooks and settings are as shipped, the default's signature in "
                       "src/mnist_cnn/default_reference.json no longer matches what notebooks 02-03 "
                       "build: re-measure it (tools/benchmark.py) and see what changed")
    return f"{logged} To run the default: {'; '.join(reasons)}"


def warn_if_saved_code_is_stale() -> None:
    """Say so when a #@save cell was edited and `mnist_cnn.from_notebooks` not regenerated:
    the notebook that holds the cell runs the edit, the notebooks after it the saved copy."""
    from .save_cells import MODULE, SaveCellError, generate

    root = find_project_root()
    try:
        current = generate(root) == (root / MODULE).read_text(encoding="utf-8")
    except (SaveCellError, OSError) as error:
        print(f"note: the notebooks' #@save cells could not be read ({error})", file=sys.stderr)
        return
    if not current:
        print(f"note: a #@save cell changed since {MODULE} was written: later notebooks use the "
              "saved copy; run `make from-notebooks` to give them your edit", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", default=list(SERIES),
                        help="notebooks, e.g. 01 02 (default: the series, " + " ".join(SERIES) + ")")
    parser.add_argument("--all", action="store_true", help="every notebook, 07 (tuning) included")
    parser.add_argument("--dataset", default=os.environ.get(DATASET_ENV_VAR, "mnist"))
    parser.add_argument("--inplace", action="store_true", help="store outputs in the notebooks")
    parser.add_argument("--solutions", action="store_true",
                        help="run the worked solutions of the notebooks named instead of the notebooks")
    parser.add_argument("--new-path", action="store_true",
                        help="with --inplace: store outputs computed on another numerics path than "
                             "the stored notebooks' (re-store everything, or the series mixes machines)")
    parser.add_argument("--expect-default", action="store_true",
                        help="fail unless notebook 04 logs the run as the default (make test: the "
                             "series as shipped)")
    args = parser.parse_args(argv)
    if args.all:
        args.numbers = sorted(NOTEBOOKS)
    unknown = [number for number in args.numbers if number not in NOTEBOOKS]
    if unknown:
        parser.error(f"unknown notebook numbers {unknown}; choose from {sorted(NOTEBOOKS)}")
    warn_if_saved_code_is_stale()
    restoring = args.inplace and not args.new_path and args.dataset == "mnist"
    if restoring and (why := mixing_paths(args.numbers, _numerics_of_kernels(), stored_outputs_path())):
        print(f"refused: {why}", file=sys.stderr)
        return 2
    started = dt.datetime.now(dt.UTC)
    if args.solutions:
        numbers = args.numbers if args.numbers != list(SERIES) else sorted(NOTEBOOKS)
        timings = run_solutions(numbers, inplace=args.inplace)
        print(f"\n{len(timings)} solutions notebooks in {sum(timings.values()):.0f} s")
        return 0
    try:
        timings = run_series(args.numbers, args.dataset, inplace=args.inplace)
    except Exception as error:  # nbclient's CellExecutionError carries the cell and message
        print(f"\nFAILED: {error}", file=sys.stderr)
        print(f"\nResults of this run:\n{report(args.dataset, started, args.numbers) or 'none'}")
        return 1
    print(f"\n{len(timings)} notebooks in {sum(timings.values()):.0f} s")
    print(report(args.dataset, started, args.numbers))
    if args.expect_default and (why := not_the_default(args.dataset, started)):
        print(f"\nFAILED: expected the default: {why}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
