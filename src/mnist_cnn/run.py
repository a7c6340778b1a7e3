"""Running notebooks headless, with parameters set from outside.

A notebook's parameters are the names its cell tagged `parameters` assigns (papermill's
convention: `papermill -p EPOCHS 1 in.ipynb out.ipynb` works on these notebooks too). A value
given here replaces the shipped one in a cell inserted after that cell, as papermill does; a
name no notebook defines, or a value of another kind than the shipped one, is refused before
anything runs.
"""

from __future__ import annotations

import ast
import os
from pathlib import Path

import nbformat

INJECTED = "injected-parameters"


class ParameterError(ValueError):
    pass


def parameters_of(book: nbformat.NotebookNode) -> dict[str, object]:
    """The names the `parameters` cell assigns and their shipped values (None when not a literal)."""
    for cell in book.cells:
        if "parameters" in cell.metadata.get("tags", []):
            shipped = {}
            for statement in ast.parse(cell.source).body:
                if isinstance(statement, ast.Assign) and isinstance(statement.targets[0], ast.Name):
                    try:
                        shipped[statement.targets[0].id] = ast.literal_eval(statement.value)
                    except ValueError:
                        shipped[statement.targets[0].id] = None
            return shipped
    return {}


def shipped_settings(*keys: str) -> dict[str, object]:
    """The shipped values of the parameters of notebooks `keys` (say "02", "03"), read from the
    notebooks installed with the package: what an experiment is compared with."""
    from .data import NOTEBOOKS, packaged_notebook

    shipped = {}
    for key in keys:
        shipped.update(parameters_of(nbformat.read(packaged_notebook(NOTEBOOKS[key]), as_version=4)))
    return shipped


def parse_settings(pairs: list[str]) -> dict[str, object]:
    """NAME=VALUE pairs; VALUE as a Python literal (5, 2e-3, (16, 32), None) or else a string."""
    settings = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.isidentifier():
            raise ParameterError(f"{pair!r} is not NAME=VALUE (for example EPOCHS=1 or 'FILTERS=(16, 32)').")
        try:
            settings[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            settings[name] = text
    return settings


def check_settings(settings: dict[str, object], books: dict[str, nbformat.NotebookNode]) -> None:
    """Refuse a name that no notebook's parameters cell defines, or a value unlike the shipped one."""
    shipped = {}
    for book in books.values():
        shipped.update(parameters_of(book))
    for name, value in settings.items():
        if name not in shipped:
            raise ParameterError(f"{name} is not a parameter of these notebooks; their parameters are: "
                                 f"{', '.join(sorted(shipped))}.")
        default = shipped[name]
        if default is None or value is None:
            continue
        kinds = (int, float) if isinstance(default, float) else (type(default),)
        if isinstance(value, bool) != isinstance(default, bool) or not isinstance(value, kinds):
            raise ParameterError(f"{name} = {value!r} is not valid: the series ships {name} = {default!r}; "
                                 f"give a value of that kind ({type(default).__name__}).")


def inject(book: nbformat.NotebookNode, settings: dict[str, object]) -> nbformat.NotebookNode:
    """A copy of `book` with the settings its parameters cell defines assigned after that cell."""
    book = nbformat.from_dict(book)
    own = {name: value for name, value in settings.items() if name in parameters_of(book)}
    if own:
        index = next(i for i, cell in enumerate(book.cells) if "parameters" in cell.metadata.get("tags", []))
        source = "# Parameters set from outside\n" + "".join(f"{n} = {v!r}\n" for n, v in own.items())
        book.cells.insert(index + 1, nbformat.v4.new_code_cell(source, metadata={"tags": [INJECTED]}))
    return book


def execute(book: nbformat.NotebookNode, folder: Path, timeout: int = 1800) -> nbformat.NotebookNode:
    """Execute `book` in `folder` with this environment's Python kernel; outputs are kept in it."""
    from nbclient import NotebookClient

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ["MNIST_CNN_HEADLESS"] = "1"  # no live progress bars: nobody watches
    client = NotebookClient(book, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(folder)}})
    client.execute()
    return book


def run_notebook(path: Path, folder: Path, settings: dict[str, object] | None = None) -> nbformat.NotebookNode:
    """Run the notebook at `path` with its kernel working in `folder`, the settings injected."""
    book = inject(nbformat.read(path, as_version=4), settings or {})
    for cell in book.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    return execute(book, Path(folder))
