"""The student edition (`make student`): runs on its own, and holds no output, solution or key."""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import build_student  # noqa: E402


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    out = tmp_path_factory.mktemp("student")
    folder, archive = build_student.build(out)
    return folder, archive


def exercises_in(path: Path) -> int:
    book = nbformat.read(path, as_version=4)
    text = next((cell.source for cell in book.cells if "## Exercises" in cell.source), "")
    listed = text.split("## Exercises", 1)[-1].split("**Next", 1)[0]
    return sum(1 for line in listed.splitlines() if line[:1].isdigit() and ". " in line[:4])


def test_the_edition_holds_no_output_solution_or_key(edition):
    folder, archive = edition
    names = [name for name in zipfile.ZipFile(archive).namelist()]
    assert not [name for name in names if "solution" in name.lower() or "teaching" in name
                or name.endswith("results.json") or "/tests/" in name]
    assert "mnist-cnn-student/requirements.txt" in names and "mnist-cnn-student/README.md" in names
    assert "mnist-cnn-student/src/mnist_cnn/classroom.py" in names  # to hand in runs
    # The questionnaires, as in the repository, and linked from the README; not their answer key.
    assert "mnist-cnn-student/docs/questionnaires.md" in names
    questions = (folder / "docs" / "questionnaires.md").read_text(encoding="utf-8")
    assert questions == (ROOT / "docs" / "questionnaires.md").read_text(encoding="utf-8")
    assert "](docs/questionnaires.md)" in (folder / "README.md").read_text(encoding="utf-8")
    assert not [name for name in names if "answers" in name.lower()]
    assert "**Answer.**" not in questions and "teaching_answers" not in questions
    for path in sorted((folder / "notebooks").glob("*.ipynb")):
        book = nbformat.read(path, as_version=4)
        code = [cell for cell in book.cells if cell.cell_type == "code"]
        assert all(not cell.outputs and cell.execution_count is None for cell in code), path.name
        assert not any("solutions" in cell.source for cell in book.cells), path.name
        answers = [cell for cell in code if "answer" in cell.metadata.get("tags", [])]
        assert len(answers) == exercises_in(ROOT / "notebooks" / path.name), path.name
        assert all(cell.source.startswith("# Exercise ") for cell in answers)


def test_the_students_requirements_are_the_pinned_ones_without_the_tools(edition):
    folder, _ = edition

    def pins(path: Path) -> dict[str, str]:
        return {line.split("==")[0]: line.split("==")[1].split()[0]
                for line in path.read_text().splitlines() if "==" in line}

    student = pins(folder / "requirements.txt")
    assert student == pins(ROOT / "requirements-notebooks.txt")  # the same pins, one place
    assert {"tensorflow", "keras", "jupyterlab", "ipywidgets", "anywidget"} <= set(student)
    assert not {"sphinx", "nbval", "pytest", "ruff", "playwright"} & set(student)
    maintainers = (ROOT / "requirements.txt").read_text()
    assert "-r requirements-notebooks.txt" in maintainers  # make setup gets both
    assert not set(pins(ROOT / "requirements.txt")) & set(student)  # no pin written twice


@pytest.mark.slow
@pytest.mark.xdist_group("student-edition")
def test_the_edition_runs_its_first_notebooks_with_its_own_package(edition, tmp_path):
    """01 and 02 headless in the unpacked zip, importing the edition's copy of the package."""
    from mnist_cnn.runner import execute_notebook

    _, archive = edition
    zipfile.ZipFile(archive).extractall(tmp_path)
    folder = tmp_path / build_student.EDITION
    raw = ROOT / "data" / "raw" / "mnist"
    if not raw.is_dir():
        pytest.skip("no MNIST copy in data/raw/mnist (make data)")
    saved = {key: os.environ.get(key) for key in ("PYTHONPATH", "MNIST_DATA_DIR", "MNIST_CNN_ROOT")}
    os.environ.update(PYTHONPATH=str(folder / "src"), MNIST_DATA_DIR=str(raw))
    os.environ.pop("MNIST_CNN_ROOT", None)
    try:
        probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
            "import mnist_cnn; print(mnist_cnn.__file__)")])
        nbformat.write(probe, folder / "notebooks" / "probe.ipynb")
        execute_notebook(folder / "notebooks" / "probe.ipynb", folder / "notebooks" / "probe.ipynb")
        for name in ("01_load_and_preprocess_data.ipynb", "02_build_the_cnn.ipynb"):
            execute_notebook(folder / "notebooks" / name, folder / "notebooks" / name)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    printed = nbformat.read(folder / "notebooks" / "probe.ipynb", as_version=4).cells[0].outputs[0]["text"]
    assert printed.strip() == str(folder / "src" / "mnist_cnn" / "__init__.py")  # the edition's own
    assert (folder / "data" / "processed" / "mnist.npz").is_file()
    meta = json.loads((folder / "models" / "mnist_cnn_untrained.keras.meta.json").read_text())
    assert meta["written_by"] == "02_build_the_cnn.ipynb"
