"""The class's runs in one view: each student exports their runs, a teacher draws them all.

    python -m mnist_cnn.classroom export NAME [--to FOLDER]   # a student: one small file
    python -m mnist_cnn.classroom report FOLDER [--out PNG]  # the teacher: every run, one figure
    make class-report FOLDER=/path/to/collected/files

A student's export is one JSON file, `NAME.runs.json`: the latest run of each configuration and
seed from their experiment log (`reports/experiments.jsonl`), with what changed, the validation
accuracy runs are compared on, and the test accuracy for the record. It is written under a
temporary name in the target folder and renamed when complete, so a shared folder that several
machines write to at once never holds a half-written file, and a student who exports again
replaces their own file only. The teacher collects the files in any way (a shared folder, a
learning platform, a USB stick) into one folder; `report` reads every `*.runs.json` there,
says which files it could not read, and draws one point per run against the default's noise
band.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .experiments import ExperimentLog, Reference, latest_runs, load_references

SUFFIX = ".runs.json"
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$")
KEPT = ("run_id", "time", "dataset", "seed", "default", "changes", "epochs", "val_accuracy",
        "test_accuracy", "numerics")


class ClassroomError(ValueError):
    """A student name, a log or a folder the class view cannot use; the message says what to do."""


def export_runs(log_path: Path, student: str, folder: Path) -> Path:
    """Write `folder/<student>.runs.json` with the latest run of each configuration and seed in
    the experiment log at `log_path`; return its path."""
    if not NAME.match(student):
        raise ClassroomError(f"{student!r} cannot name a file of the class: use letters, digits, "
                             f"'-' and '_' (up to 40), for example your first name and a number")
    contents = ExperimentLog(log_path).read()
    runs = [run for dataset in sorted({r.get("dataset") for r in contents.records if r.get("dataset")})
            for run in latest_runs(contents.records, dataset)]
    if not runs:
        raise ClassroomError(f"{log_path} holds no training run: run notebooks 03 and 04 (or "
                             f"`make run`) first, then export")
    record = {
        "student": student,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "runs": [{key: run.get(key) for key in KEPT} for run in runs],
    }
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{student}{SUFFIX}"
    # In the target folder (one file system), then renamed: never half-written, even shared.
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{student}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(record, stream, indent=1)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return target


@dataclass
class ClassRuns:
    runs: list[dict[str, Any]]  # each with its "student"
    problems: list[str]  # files that could not be read, in words


def collect_runs(folder: Path) -> ClassRuns:
    """Every run of every `*.runs.json` in `folder`, each with its student; unreadable files are
    reported and skipped."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ClassroomError(f"{folder} is not a folder: give the folder the students' "
                             f"{SUFFIX} files were collected in")
    runs, problems = [], []
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            student = record["student"]
            for run in record["runs"]:
                runs.append({**run, "student": student})
        except (OSError, ValueError, KeyError, TypeError) as error:
            problems.append(f"{path.name} could not be read ({type(error).__name__}): ask its "
                            f"student to export again")
    return ClassRuns(runs, problems)


def _label(run: Mapping[str, Any]) -> str:
    return ", ".join(run.get("changes") or []) or "default"


def class_table(runs: Iterable[Mapping[str, Any]], reference: Reference | None) -> Any:
    """One row per run: student, what changed, seed, validation accuracy, its gap to the
    default's mean and the verdict against the noise band; the test accuracy last, for the
    record. Ordered by configuration, then validation accuracy."""
    import pandas as pd

    rows = []
    for run in runs:
        gap, verdict = ((float("nan"), "no reference") if reference is None
                        else reference.judge(run["val_accuracy"]))
        rows.append({"student": run["student"], "changes": _label(run), "seed": run.get("seed"),
                     "val accuracy %": round(100 * run["val_accuracy"], 2),
                     "val vs default (points)": round(gap, 2), "verdict": verdict,
                     "test accuracy %": round(100 * run["test_accuracy"], 2)})
    table = pd.DataFrame(rows, columns=["student", "changes", "seed", "val accuracy %",
                                        "val vs default (points)", "verdict", "test accuracy %"])
    return table.sort_values(["changes", "val accuracy %"], ascending=[True, False],
                             ignore_index=True)


def plot_class_runs(runs: list[Mapping[str, Any]], reference: Reference | None, title: str):
    """One row per configuration (the default first), one point per run at its validation
    accuracy, the default's noise band shaded: a point outside the band is an effect, one
    inside is not."""
    import matplotlib.pyplot as plt

    from .plots import WIDEST

    labels = sorted({_label(run) for run in runs}, key=lambda label: (label != "default", label))
    figure, axis = plt.subplots(figsize=(WIDEST * 0.85, 2.0 + 0.55 * len(labels)))
    if reference is not None:
        mean, band = 100 * reference.spread("val_accuracy")["mean"], 100 * reference.noise_band
        axis.axvspan(mean - band, mean + band, color="0.85", zorder=0)
        axis.axvline(mean, color="0.5", linewidth=1, zorder=1)
        title += (f"\ngrey: the default's noise band ({mean:.2f}% ± {band:.2f} points); "
                  f"a point outside it is an effect")
    for row, label in enumerate(labels):
        values = [100 * run["val_accuracy"] for run in runs if _label(run) == label]
        axis.scatter(values, [row] * len(values), s=70, alpha=0.75, edgecolor="black", zorder=2)
    axis.set_yticks(range(len(labels)), labels)
    axis.invert_yaxis()
    axis.set_xlabel("validation accuracy after training (%)")
    axis.set_title(title)
    figure.tight_layout()
    return figure


def report(folder: Path, dataset: str, out: Path | None) -> str:
    """The class view of `folder` on `dataset`: a table in words, the figure written to `out`."""
    collected = collect_runs(folder)
    runs = [run for run in collected.runs if run.get("dataset") == dataset]
    lines = [f"Note: {problem}" for problem in collected.problems]
    students = sorted({run["student"] for run in runs})
    if not runs:
        lines.append(f"no {dataset} runs in {folder}: nothing to draw")
        return "\n".join(lines)
    reference = load_references().get(dataset)
    lines.append(f"{len(runs)} runs of {len(students)} students on {dataset}, compared on "
                 f"validation accuracy (the test accuracy is shown for the record):")
    lines.append(class_table(runs, reference).to_string(index=False))
    if out is not None:
        import matplotlib

        matplotlib.use("Agg")
        from .plots import use_style

        use_style()
        figure = plot_class_runs(runs, reference, f"The class's runs on {dataset}: {len(runs)} "
                                                  f"runs of {len(students)} students")
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out)
        lines.append(f"Wrote {out}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from .paths import ProjectPaths

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="write NAME.runs.json: your runs, to hand in")
    export.add_argument("name", help="your name, as the file is to be called (letters, digits, - and _)")
    export.add_argument("--to", type=Path, default=None,
                        help="the folder to write it to (default: reports/class/)")
    draw = commands.add_parser("report", help="draw every run of the files in FOLDER")
    draw.add_argument("folder", type=Path)
    draw.add_argument("--dataset", default="mnist")
    draw.add_argument("--out", type=Path, default=None,
                      help="the figure's file (default: reports/class_runs.png)")
    args = parser.parse_args(argv)
    paths = ProjectPaths(args.dataset if args.command == "report" else "mnist")
    try:
        if args.command == "export":
            target = export_runs(paths.experiment_log, args.name, args.to or paths.root / "reports" / "class")
            print(f"Wrote {target}: hand this file in (or copy it to the class's folder)")
        else:
            print(report(args.folder, args.dataset, args.out or paths.root / "reports" / "class_runs.png"))
    except ClassroomError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
