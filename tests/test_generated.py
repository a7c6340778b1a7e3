"""What a tool writes is current, and every notebook keeps the frame readers rely on."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("*_solutions.ipynb"))


def test_the_saved_cells_module_and_the_colab_links_are_current():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "save_cells.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", NOTEBOOKS + SOLUTIONS, ids=lambda path: path.name)
def test_a_notebook_opens_with_colab_and_a_short_set_up(path):
    book = nbformat.read(path, as_version=4)
    code = [cell for cell in book.cells if cell.cell_type == "code"]
    assert "Open In Colab" in book.cells[0].source
    assert '"google.colab" in sys.modules' in code[0].source and "%pip install" in code[0].source
    lines = [line for line in code[1].source.splitlines() if line.strip() and not line.strip().startswith("#")]
    assert code[1].source.startswith("import mnist_cnn") and len(lines) <= 6, code[1].source
    assert path.parent.name == "solutions" or len(book.cells) <= 45, f"{len(book.cells)} cells"
    assert sum("parameters" in cell.metadata.get("tags", []) for cell in code) == 1
