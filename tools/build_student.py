"""The student edition: `make student` -> build/student/mnist-cnn-student/ and its zip.

The lesson notebooks with every output cleared and an empty answer cell under each exercise,
the package they import, the pinned requirements of the notebooks, install.py, the
questionnaires and the docs the notebooks link to, and a README for students. No worked
solutions, answer keys or teacher's guide.
"""

from __future__ import annotations

import re
import shutil
import sys
import tomllib
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EDITION = "mnist-cnn-student"
SOLUTIONS_LINE = re.compile(r"^Worked solutions, for after you have tried:.*\n\n?", re.MULTILINE)
TEACHERS_ONLY = ("teaching.md", "teaching_answers.md")  # the guide and the questionnaires' keys
MAINTAINERS_ONLY = ("architecture.md", "performance.md")  # about the repository's tools: linked online
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]
ONLINE_DOCS = re.compile(r"\]\((?:\.\./)?(docs/(?:" + "|".join(map(re.escape, MAINTAINERS_ONLY)) + "))")

README = """# How a convolutional network learns to read handwritten digits: student edition

Jupyter notebooks that build, train, test and open up a convolutional network that reads the
MNIST handwritten digits. They come without outputs: you run every cell yourself. Each exercise
has an empty cell under it for your answer. Work through them in this order: 01, 02, 03, 04, 05,
06, 08a, 08b; then 07a and 07b (optional) and 09 (the appendix).

## Set up (once)

You need Python 3.11, 3.12 or 3.13 and about 3 GB of disk; `install.py` says what to do if your
Python cannot run the series. In this folder:

| your computer | set up | open the notebooks |
|---|---|---|
| Linux, macOS (Apple silicon) | `python3 install.py` | `.venv/bin/python -m mnist_cnn lab` |
| Windows (PowerShell) | `py -3.12 install.py` | `.venv\\Scripts\\python -m mnist_cnn lab` |

Your teacher may give you a folder of wheels for a class without internet: then
`python3 install.py --wheels FOLDER` (Windows: `py -3.12 install.py --wheels FOLDER`) installs
everything from it, without the internet. On Windows, unzip this folder near the top of a drive
(say `C:\\mnist`): some of TensorFlow's files have long paths.

No computer that installs? Every notebook has an "Open in Colab" link at its top: it runs in
Google Colab, nothing to install.

## The data

Notebook 01 downloads MNIST once with Keras. Without internet, put the four MNIST files
(`train-images-idx3-ubyte.gz` and the three others) in `data/raw/mnist/` (here). Every file is
checked against the published checksums.

## Questions to check yourself

[The questionnaires](docs/questionnaires.md) ask 8 to 12 questions about each notebook.

## Handing in your runs

Notebook 04 logs every training run. To hand in yours for the class view:
`.venv/bin/python -m mnist_cnn export YOURNAME --to FOLDER` (Windows: `.venv\\Scripts\\python`),
with FOLDER your class's shared folder (or hand in `reports/experiments.csv`).
"""


def split_exercises(source: str) -> list[nbformat.NotebookNode]:
    """The cell holding '## Exercises' as cells: before it, the heading, each exercise followed by
    an empty code cell (tagged `answer`), and what follows the list."""
    before, after = source.split("## Exercises", 1)
    intro, exercises, tail, current = [], [], [], None
    for line in SOLUTIONS_LINE.sub("", after).split("\n"):
        if re.match(r"^\d+\. ", line):
            current = [line]
            exercises.append(current)
        elif current is not None and (line.startswith("   ") or line == "") and not tail:
            current.append(line)
        elif current is None:
            intro.append(line)
        else:
            tail.append(line)
    cells = [nbformat.v4.new_markdown_cell(before.rstrip())] if before.strip() else []
    cells.append(nbformat.v4.new_markdown_cell(("## Exercises" + "\n".join(intro)).rstrip()))
    for exercise in exercises:
        number, text = "\n".join(line.strip() for line in exercise).strip().split(". ", 1)
        cells.append(nbformat.v4.new_markdown_cell(f"**Exercise {number}.** {text}"))
        cells.append(nbformat.v4.new_code_cell(f"# Exercise {number}: your answer\n", metadata={"tags": ["answer"]}))
    if "\n".join(tail).strip():
        cells.append(nbformat.v4.new_markdown_cell("\n".join(tail).strip()))
    return cells


def student_notebook(path: Path) -> nbformat.NotebookNode:
    book = nbformat.read(path, as_version=4)
    cells = []
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        elif "## Exercises" in cell.source:
            cells.extend(split_exercises(cell.source))
            continue
        else:
            cell.source = SOLUTIONS_LINE.sub("", cell.source)
        if cell.cell_type == "markdown":
            cell.source = ONLINE_DOCS.sub(rf"]({REPOSITORY}/blob/main/\1", cell.source)
        cells.append(cell)
    book.cells = cells
    book.metadata.pop("widgets", None)
    return book


def build(out: Path) -> Path:
    """The edition's folder under `out`, and its zip beside it (returned)."""
    folder = out / EDITION
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "notebooks" / "results").mkdir(parents=True)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb")):
        nbformat.write(student_notebook(path), folder / "notebooks" / path.name)
    for result in (ROOT / "notebooks" / "results").glob("*"):
        shutil.copy(result, folder / "notebooks" / "results")
    shutil.copytree(ROOT / "src" / "mnist_cnn", folder / "src" / "mnist_cnn",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "docs", folder / "docs",
                    ignore=shutil.ignore_patterns(*TEACHERS_ONLY, *MAINTAINERS_ONLY))
    for name in ("pyproject.toml", "install.py", "LICENSE", "requirements-notebooks.txt"):
        shutil.copy(ROOT / name, folder)
    (folder / "requirements.txt").write_text("-r requirements-notebooks.txt\n")  # install.py --dev
    (folder / "README.md").write_text(README, encoding="utf-8")
    (folder / "data" / "raw" / "mnist").mkdir(parents=True)
    (folder / "data" / "raw" / "mnist" / "PUT_THE_MNIST_FILES_HERE.txt").write_text(
        "Without internet, copy train-images-idx3-ubyte.gz and the three other MNIST files here.\n")
    archive = out / f"{EDITION}.zip"
    partial = archive.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            bundle.write(path, path.relative_to(out))  # folders too: data/raw/ arrives
    partial.replace(archive)
    return archive


if __name__ == "__main__":
    archive = build(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "student")
    print(f"wrote {archive} ({archive.stat().st_size / 1e6:.1f} MB): hand it out")
