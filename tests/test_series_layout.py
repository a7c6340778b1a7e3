"""Every notebook in notebooks/ is part of the series everywhere: registry, runner, make, README."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mnist_cnn.paths import NOTEBOOKS
from mnist_cnn.runner import SERIES

ROOT = Path(__file__).resolve().parents[1]
ON_DISK = sorted(path.name for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def make_dry_run(target: str) -> str:
    result = subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                            check=True)
    return result.stdout


def test_every_notebook_on_disk_is_registered_and_numbered_by_its_key():
    assert sorted(NOTEBOOKS.values()) == ON_DISK
    assert all(name.startswith(f"{number}_") for number, name in NOTEBOOKS.items())


def test_make_run_runs_every_notebook_but_the_optional_tuning():
    assert sorted(SERIES) == sorted(set(NOTEBOOKS) - {"07"})
    assert "-m mnist_cnn.runner" in make_dry_run("run")
    assert "mnist_cnn.runner 07" in make_dry_run("tune")
    assert "--all" in make_dry_run("fashion")


def test_make_test_runs_nbval_over_every_notebook_then_the_solutions():
    command = next(line for line in make_dry_run("notebooks-test").splitlines() if "--nbval" in line)
    for name in ON_DISK:
        assert f"notebooks/{name}" in command, name
    solutions = sorted(path.name for path in (ROOT / "notebooks" / "solutions").glob("*.ipynb"))
    last_notebook = max(command.index(f"notebooks/{name}") for name in ON_DISK)
    for name in solutions:
        assert command.index(f"notebooks/solutions/{name}") > last_notebook, name


def test_every_notebook_with_exercises_has_its_worked_solutions():
    import nbformat

    for name in ON_DISK:
        book = nbformat.read(ROOT / "notebooks" / name, as_version=4)
        exercises = [cell.source for cell in book.cells if "## Exercises" in cell.source]
        solutions = ROOT / "notebooks" / "solutions" / f"{name[:2]}_solutions.ipynb"
        if not exercises:
            continue
        assert solutions.is_file(), f"{name} has exercises but no {solutions.name}"
        numbered = exercises[0].split("## Exercises", 1)[1].split("**Next", 1)[0]
        count = sum(1 for line in numbered.splitlines() if line[:1].isdigit() and ". " in line[:4])
        solved = nbformat.read(solutions, as_version=4)
        headings = [cell.source for cell in solved.cells if cell.source.startswith("## Exercise ")]
        assert len(headings) == count, f"{solutions.name}: {len(headings)} solutions for {count} exercises"


def test_the_readme_table_lists_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("## The notebooks"):]
    table = table[:table.index("\n## ", 3)]
    for name in ON_DISK:
        assert f"(notebooks/{name})" in table, name


def test_every_stored_cell_with_outputs_was_run():
    """nbval fails a cell that holds outputs but no execution count ("unrun reference cell")."""
    import nbformat

    books = [*(ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"),
             *(ROOT / "notebooks" / "solutions").glob("*.ipynb")]
    unrun = [f"{path.name} cell {index}" for path in books
             for index, cell in enumerate(nbformat.read(path, as_version=4).cells)
             if cell.cell_type == "code" and cell.get("outputs") and cell.get("execution_count") is None]
    assert not unrun, unrun


def test_every_place_that_times_notebook_07s_search_mode_quotes_the_measured_minutes():
    """README, the teacher's guide and notebook 07 give the search mode's time as
    tools/measure_solutions.py --tuning measured it (results.json): as shipped, with the changes of
    exercises 1 and 2, and exercise 3's, which includes notebooks 01-04 on Fashion-MNIST (so it is
    quoted apart, not as the low end of a range). A stale or invented figure fails here."""
    import json

    import nbformat

    tuning = json.loads((ROOT / "notebooks" / "solutions" / "results.json").read_text())["tuning"]
    assert tuning["07.3"]["dataset"] == "fashion_mnist"
    as_shipped = f"{tuning['07.0']['minutes']} minutes as shipped"
    first_two = (f"{round(tuning['07.1']['minutes'])} and {round(tuning['07.2']['minutes'])} minutes "
                 "with the changes of exercises 1 and 2")
    third = f"{round(tuning['07.3']['minutes'])} minutes for exercise 3"
    figures = (as_shipped, first_two, third)
    book = nbformat.read(ROOT / "notebooks" / NOTEBOOKS["07"], as_version=4)
    exercises_cell = next(cell.source for cell in book.cells if "## Exercises" in cell.source)
    places = {"README.md": (ROOT / "README.md").read_text(encoding="utf-8"),
              "docs/teaching.md": (ROOT / "docs" / "teaching.md").read_text(encoding="utf-8"),
              "07's header": book.cells[0].source}
    for place, text in places.items():
        flat = " ".join(text.split())
        assert all(figure in flat for figure in figures), f"{place}: expected {figures}"
        assert "11 to 16 minutes" not in flat, f"{place}: the old range, which hid exercise 3's Fashion run"
    flat = " ".join(exercises_cell.split())
    assert first_two in flat and third in flat
