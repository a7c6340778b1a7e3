"""Every exercise's one-line change can be made: its text is in its notebook's code, once.

The slow tests (test_exercises.py) run the exercises; this one fails in a second when a notebook
edit (a #@save cell rewritten, a call reformatted) leaves an exercise pointing at nothing, or at
two places.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

from mnist_cnn.exercises import EXERCISES, apply_edit, get_exercise
from mnist_cnn.paths import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]


def code_of(notebook: str) -> str:
    cells = json.loads((ROOT / "notebooks" / NOTEBOOKS[notebook]).read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


@pytest.mark.parametrize("exercise", [exercise for exercise in EXERCISES if exercise.edits],
                         ids=lambda exercise: exercise.key)
def test_each_edit_finds_its_line_exactly_once(exercise):
    for edit in exercise.edits:
        found = code_of(edit.notebook).count(edit.old)
        assert found == 1, (f"exercise {exercise.key}: {edit.old!r} is in notebook {edit.notebook} "
                            f"{found} times")


def search_budget(notebook: Path) -> dict:
    """Notebook 07's budget for TUNING="search", computed by its own BUDGETS lines."""
    cell = next(cell for cell in nbformat.read(notebook, as_version=4).cells
                if cell.cell_type == "code" and "BUDGETS = {" in cell.source)
    lines = cell.source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("BUDGETS = {"))
    end = next(i for i, line in enumerate(lines) if line.startswith("budget = BUDGETS[TUNING]"))
    scope = {"TUNING": "search"}
    exec("\n".join(lines[start:end + 1]), scope)  # noqa: S102 - the notebook's own lines
    return scope["budget"]


def test_exercise_07_2_changes_the_search_the_exercise_runs(tmp_path):
    """The test suite runs 07.2 in quick mode, which has its own budget: here its second edit
    (4 epochs per trial) must reach the "search" mode the exercise prescribes, and its first fix
    augmentation in the search space."""
    notebook = tmp_path / NOTEBOOKS["07"]
    notebook.write_text((ROOT / "notebooks" / NOTEBOOKS["07"]).read_text(encoding="utf-8"))
    before = search_budget(notebook)
    assert (before["search_epochs"], before["max_trials"], before["final_epochs"]) == (2, 16, 1)
    exercise = get_exercise("07.2")
    assert exercise.settings["TUNING"] == "search"
    for edit in exercise.edits:
        apply_edit(notebook, edit)
    after = search_budget(notebook)
    assert after == {**before, "search_epochs": 4}
    code = "\n".join(cell.source for cell in nbformat.read(notebook, as_version=4).cells)
    assert 'augmentation = hp.Fixed("augmentation", True)' in code
    assert 'hp.Boolean("augmentation")' not in code
