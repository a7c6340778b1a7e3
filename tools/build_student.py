"""The student edition: `make student` -> build/student/mnist-cnn-student/ and a zip to hand out.

What a student gets, and nothing else:
- the notebooks 01-09 with every output cleared (they run them themselves), each exercise in a
  cell of its own with an empty code cell under it for the answer, and no link to the worked
  solutions;
- the package the notebooks import (`src/mnist_cnn`, without the test and maintenance modules),
  `pyproject.toml`, the sample digit and the tuning results 07 reads;
- `requirements.txt`: the project's `requirements-notebooks.txt`, the pinned versions of what the
  notebooks need (without the maintainers' site, test, lint and browser tools);
- `docs/questionnaires.md`: the questions to answer after each notebook (beside `notebooks/`, as
  in the repository, so its links to the notebooks work);
- a short README: how to install and start, where the data comes from, the questionnaires, how to
  hand in runs.
No worked solutions, no answer keys (`docs/teaching_answers.md` stays with the teacher), no
teacher's guide, no tests.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import zipfile
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
EDITION = "mnist-cnn-student"
# Modules the notebooks never import: the exercises' test registry, the portability run, the
# solutions' helper.
NOT_FOR_STUDENTS = ("exercises.py", "portability.py", "solutions.py")
QUESTIONNAIRES = "questionnaires.md"  # the questions only: their keys are the teacher's part
SOLUTIONS_LINE = re.compile(r"^Worked solutions, for after you have tried:.*\n\n?", re.MULTILINE)

README = """# How a convolutional network learns to read handwritten digits: student edition

Nine Jupyter notebooks that build, train, test and open up a convolutional network that reads
the MNIST handwritten digits. The notebooks come without outputs: you run every cell yourself.
Each exercise has an empty cell under it for your answer.

## Set up (once)

You need Python 3.11 (or 3.13, tested on the first three notebooks) and about 3 GB of disk. In this folder:

```bash
python3.11 -m venv .venv
source .venv/bin/activate            # Windows: .venv\\Scripts\\activate
pip install -r requirements.txt
pip install --no-deps -e .
jupyter lab notebooks/
```

If your teacher gave you a folder of wheels (for a class without internet), install from it
instead: `pip install --no-index --find-links WHEELS -r requirements.txt`.

## The data

Notebook 01 downloads MNIST once with Keras. Without internet, put the four MNIST files
(`train-images-idx3-ubyte.gz` and the three others) in `data/raw/mnist/`, or point the
environment variable `MNIST_DATA_DIR` at their folder. Every file is checked against the
published checksums.

## Reading order

01 data, 02 model, 03 training, 04 evaluation, 05 errors, 06 save and use, 08 inside the
network, then 07 (tuning, optional and long) and 09 (the appendix). Each notebook reads what
the previous ones wrote, so run them in that order once.

## Questions to check yourself

[The questionnaires](docs/questionnaires.md) ask 8 to 12 questions about each notebook: what
happens, why, and what if. Answer them after you have run the notebook; every answer is in its
text, its figures or its outputs.

## Your numbers

Your computer computes the last digits of every trained number in its own way (another CPU,
another number of threads), so your accuracy can differ from a classmate's by a few tenths of a
point with the same settings. The notebooks say what should hold on every machine, and check
it.

## Handing in your runs

After you trained (notebooks 03 and 04), write your runs to one small file and hand it in:

```bash
python -m mnist_cnn.classroom export YOURNAME        # writes reports/class/YOURNAME.runs.json
```
"""


def split_exercises(source: str) -> list[nbformat.NotebookNode]:
    """A markdown cell holding '## Exercises' as cells: what comes before, the exercises'
    introduction, each exercise followed by an empty code cell for the answer, and what
    follows the list (the link to the next notebook)."""
    before, after = source.split("## Exercises", 1)
    after = SOLUTIONS_LINE.sub("", after)
    lines = after.split("\n")
    intro, exercises, tail, current = [], [], [], None
    for line in lines:
        if re.match(r"^\d+\. ", line):
            current = [line]
            exercises.append(current)
        elif current is not None and (line.startswith("   ") or line == "") and not tail:
            current.append(line)
        elif current is None:
            intro.append(line)
        else:
            tail.append(line)
    cells = []
    if before.strip():
        cells.append(nbformat.v4.new_markdown_cell(before.rstrip()))
    cells.append(nbformat.v4.new_markdown_cell(("## Exercises" + "\n".join(intro)).rstrip()))
    for exercise in exercises:
        text = "\n".join(line.strip() for line in exercise).strip()
        number = text.split(".", 1)[0]
        cells.append(nbformat.v4.new_markdown_cell(f"**Exercise {number}.** {text.split('. ', 1)[1]}"))
        answer = nbformat.v4.new_code_cell(f"# Exercise {number}: your answer\n")
        answer.metadata["tags"] = ["answer"]
        cells.append(answer)
    if "\n".join(tail).strip():
        cells.append(nbformat.v4.new_markdown_cell("\n".join(tail).strip()))
    return cells


def student_notebook(path: Path) -> nbformat.NotebookNode:
    book = nbformat.read(path, as_version=4)
    cells = []
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        if cell.cell_type == "markdown" and "## Exercises" in cell.source:
            cells.extend(split_exercises(cell.source))
        else:
            cell.source = SOLUTIONS_LINE.sub("", cell.source)
            cells.append(cell)
    book.cells = cells
    book.metadata.pop("widgets", None)
    book.metadata.pop("mnist_cnn", None)  # the stored outputs' record: there are none
    return book


def build(out: Path) -> tuple[Path, Path]:
    """The edition's folder under `out` and its zip beside it."""
    folder = Path(out) / EDITION
    shutil.rmtree(folder, ignore_errors=True)
    (folder / "notebooks").mkdir(parents=True)
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        nbformat.write(student_notebook(path), folder / "notebooks" / path.name)
    for extra in ("images", "results"):
        shutil.copytree(ROOT / "notebooks" / extra, folder / "notebooks" / extra)
    shutil.copytree(ROOT / "src" / "mnist_cnn", folder / "src" / "mnist_cnn",
                    ignore=shutil.ignore_patterns("__pycache__", *NOT_FOR_STUDENTS))
    (folder / "docs").mkdir()
    shutil.copy(ROOT / "docs" / QUESTIONNAIRES, folder / "docs" / QUESTIONNAIRES)  # not the keys
    shutil.copy(ROOT / "pyproject.toml", folder)
    shutil.copy(ROOT / "requirements-notebooks.txt", folder / "requirements.txt")
    (folder / "README.md").write_text(README, encoding="utf-8")
    (folder / "data" / "raw").mkdir(parents=True)
    archive = Path(out) / f"{EDITION}.zip"
    temporary = archive.with_suffix(".zip.tmp")
    with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                bundle.write(path, path.relative_to(out))
    temporary.replace(archive)
    return folder, archive


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "student")
    args = parser.parse_args(argv)
    folder, archive = build(args.out)
    size = archive.stat().st_size / 1e6
    print(f"Wrote {folder.relative_to(ROOT) if folder.is_relative_to(ROOT) else folder} and "
          f"{archive.name} ({size:.1f} MB): hand the zip out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
