"""Settings from outside: a notebook's parameters cell is the one place a value lives; a value
set from the shell replaces it in the run, and a wrong name or kind is refused before anything runs."""

from __future__ import annotations

import subprocess
import sys

from mnist_cnn.data import NOTEBOOKS
from mnist_cnn.run import (
    ParameterError,
    check_settings,
    execute,
    inject,
    parameters_of,
    parse_settings,
    shipped_settings,
)

import nbformat
import pytest


def notebook(parameters: str, body: str) -> nbformat.NotebookNode:
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}),
                  nbformat.v4.new_code_cell(body)]
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return book


def test_every_lesson_has_one_parameters_cell_with_a_seed_and_a_data_set(request):
    root = request.config.rootpath / "notebooks"
    for name in NOTEBOOKS.values():
        shipped = parameters_of(nbformat.read(root / name, as_version=4))
        assert shipped.get("DATASET") == "mnist" and shipped.get("SEED") == 42, name


def test_the_shipped_values_come_from_the_notebooks_themselves():
    shipped = shipped_settings("02", "03")
    assert shipped["EPOCHS"] == 5 and isinstance(shipped["FILTERS"], tuple)


def test_a_setting_is_injected_after_the_parameters_cell_and_wins(tmp_path):
    book = notebook("EPOCHS = 5\nFILTERS = (32, 64)", "print(EPOCHS, FILTERS)")
    settings = parse_settings(["EPOCHS=1", "FILTERS=(16, 32)", "NOT_HERE=3"])
    ran = execute(inject(book, settings), tmp_path)
    assert ran.cells[1].metadata["tags"] == ["injected-parameters"]
    assert "NOT_HERE" not in ran.cells[1].source  # each notebook gets only its own parameters
    assert ran.cells[2].outputs[0]["text"] == "1 (16, 32)\n"


@pytest.mark.parametrize(("pair", "message"), [
    ("EPOCH=3", "EPOCH is not a parameter of these notebooks; their parameters are: DATASET, EPOCHS"),
    ("EPOCHS=abc", "EPOCHS = 'abc' is not valid: the series ships EPOCHS = 5"),
    ("EPOCHS=2.5", "give a value of that kind \\(int\\)"),
    ("FILTERS=16", "FILTERS = 16 is not valid"),
    ("EPOCHS", "is not NAME=VALUE"),
])
def test_a_wrong_setting_is_refused_with_what_to_do(pair, message):
    books = {"a": notebook("DATASET = 'mnist'\nEPOCHS = 5\nFILTERS = (32, 64)\nRATE = 1e-3", "")}
    with pytest.raises(ParameterError, match=message):
        check_settings(parse_settings([pair]), books)
    check_settings(parse_settings(["RATE=2", "EPOCHS=1"]), books)  # an int where a float ships: fine


def test_the_command_refuses_a_bad_value_before_running_anything(request):
    result = subprocess.run([sys.executable, "-m", "mnist_cnn", "run", "03", "EPOCHS=five"],
                            capture_output=True, text=True, cwd=request.config.rootpath)
    assert result.returncode == 2
    assert "error: EPOCHS = 'five' is not valid: the series ships EPOCHS = 5" in result.stderr
    assert "running" not in result.stdout
