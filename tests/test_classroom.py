"""The class's runs in one view: students export, a teacher draws every run, nothing is lost."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")

from mnist_cnn import classroom  # noqa: E402
from mnist_cnn.classroom import ClassroomError, collect_runs, export_runs  # noqa: E402
from mnist_cnn.experiments import ExperimentLog, load_references  # noqa: E402


def a_run(number: int, student: str, changes: list[str] | None = None, val: float = 0.992) -> dict:
    return {"run_id": f"{student}-{number}", "time": "2026-12-04T08:00:00+00:00", "dataset": "mnist",
            "seed": 42 + number, "default": not changes, "changes": changes or [], "epochs": 5,
            "val_accuracy": val, "test_accuracy": 0.993, "numerics": "oneDNN on, 2 threads, test CPU",
            "history": {"loss": [0.1]}}


def a_student(folder: Path, student: str, runs: int, start) -> None:
    """One student's machine: trains `runs` runs, exporting after each one to the shared folder."""
    log = ExperimentLog(folder.parent / f"{student}-log" / "experiments.jsonl")
    start.wait()  # the three begin together
    for number in range(runs):
        log.append(a_run(number, student, ["EPOCHS=1"] if number % 2 else None, 0.99 + number / 1000))
        export_runs(log.path, student, folder)


def test_three_students_exporting_at_once_lose_nothing(tmp_path):
    shared = tmp_path / "class"
    students = {"ada": 37, "ben": 41, "chloe": 43}
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(len(students))
    writers = [context.Process(target=a_student, args=(shared, name, runs, start))
               for name, runs in students.items()]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join(timeout=120)
        assert writer.exitcode == 0
    collected = collect_runs(shared)
    assert collected.problems == []
    assert sorted(path.name for path in shared.iterdir()) == ["ada.runs.json", "ben.runs.json",
                                                             "chloe.runs.json"]  # no temporary left
    for name, runs in students.items():
        mine = [run for run in collected.runs if run["student"] == name]
        # the latest run of each configuration and seed: every run here has a seed of its own
        assert sorted(run["run_id"] for run in mine) == sorted(f"{name}-{n}" for n in range(runs))
    figure = classroom.plot_class_runs(collected.runs, load_references()["mnist"], "test")
    drawn = sum(len(collection.get_offsets()) for collection in figure.axes[0].collections
                if collection.get_offsets().size)
    assert drawn == sum(students.values())  # one point per run, all of them


def test_the_report_compares_on_validation_and_names_unreadable_files(tmp_path):
    log = ExperimentLog(tmp_path / "experiments.jsonl")
    log.append(a_run(0, "dan", val=0.9927))
    log.append(a_run(1, "dan", ["FILTERS=(8, 16)"], val=0.975))
    export_runs(log.path, "dan", tmp_path / "class")
    (tmp_path / "class" / "eve.runs.json").write_text('{"student": "eve", "runs": [')  # cut short
    out = tmp_path / "class.png"
    text = classroom.report(tmp_path / "class", "mnist", out)
    assert "Note: eve.runs.json could not be read" in text
    assert "2 runs of 1 students on mnist, compared on validation accuracy" in text
    assert "within noise" in text and "below" in text
    assert out.stat().st_size > 10_000  # a real PNG
    table = classroom.class_table(collect_runs(tmp_path / "class").runs, load_references()["mnist"])
    assert list(table.columns)[-1] == "test accuracy %"  # for the record, not to compare


def test_bad_names_and_empty_logs_say_what_to_do(tmp_path):
    log = ExperimentLog(tmp_path / "experiments.jsonl")
    with pytest.raises(ClassroomError, match="holds no training run: run notebooks 03 and 04"):
        export_runs(log.path, "ada", tmp_path / "class")
    log.append(a_run(0, "ada"))
    with pytest.raises(ClassroomError, match="cannot name a file of the class"):
        export_runs(log.path, "../ada", tmp_path / "class")
    assert not (tmp_path / "class").exists() or not any((tmp_path / "class").iterdir())
    with pytest.raises(ClassroomError, match="is not a folder"):
        collect_runs(tmp_path / "nowhere")


def test_an_export_keeps_what_the_class_view_needs(tmp_path):
    log = ExperimentLog(tmp_path / "experiments.jsonl")
    log.append(a_run(0, "fay"))
    record = json.loads(export_runs(log.path, "fay", tmp_path).read_text())
    assert record["student"] == "fay" and len(record["runs"]) == 1
    assert set(record["runs"][0]) == set(classroom.KEPT)  # no learning curves: a small file
