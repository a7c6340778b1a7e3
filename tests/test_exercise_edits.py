"""Every exercise's one-line change can be made: its text is in its notebook's code, once.

The slow tests (test_exercises.py) run the exercises; this one fails in a second when a notebook
edit (a #@save cell rewritten, a call reformatted) leaves an exercise pointing at nothing, or at
two places.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mnist_cnn.exercises import EXERCISES
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
