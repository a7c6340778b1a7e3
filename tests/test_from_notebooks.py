"""The methods a notebook teaches are defined in it, once, and saved for later notebooks.

Cells whose first line is `#@save` are copied into `mnist_cnn/from_notebooks.py` by
`python -m mnist_cnn.save_cells`; these tests fail when that module is stale, when a method
named below is written by hand in the package instead of in its notebook, or when the
network or the validation split is defined a second time anywhere in src, tests or tools.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mnist_cnn import save_cells
from mnist_cnn.paths import NOTEBOOKS

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "mnist_cnn"
GENERATED = PACKAGE / "from_notebooks.py"

# What each notebook teaches and defines in plain sight (a #@save cell of that notebook).
TAUGHT = {
    "02": {"conv_block", "build_network", "feature_map"},
    "03": {"validation_split"},
    "06": {"as_ink", "crop_to_ink", "fit_in_box", "centre_by_mass", "prepare_digit_image"},
    "07": {"affine_warp", "RandomAffine", "FixedAffine"},
    "08": {"knn_accuracy", "occlusion_map", "gradient_times_input", "grad_cam", "deletion_test",
           "pca_2d", "class_centroid_distances"},
}


def notebook_path(key: str) -> Path:
    return ROOT / "notebooks" / NOTEBOOKS[key]


def saved_names(key: str) -> set[str]:
    return {name for cell in save_cells.saved_cells(notebook_path(key)) for name in cell.names()}


def test_the_generated_module_is_what_the_notebooks_hold_today():
    assert GENERATED.read_text(encoding="utf-8") == save_cells.generate(ROOT), (
        "src/mnist_cnn/from_notebooks.py is stale: run `make from-notebooks`")


def test_the_check_command_agrees():
    result = subprocess.run([sys.executable, "-m", "mnist_cnn.save_cells", "--check"],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("key", sorted(TAUGHT))
def test_each_method_is_defined_in_the_notebook_that_teaches_it(key):
    missing = TAUGHT[key] - saved_names(key)
    assert not missing, f"{NOTEBOOKS[key]} has no #@save cell defining {sorted(missing)}"


@pytest.mark.parametrize("key", sorted(TAUGHT))
def test_each_notebook_with_saved_cells_says_what_editing_one_does(key):
    cells = json.loads(notebook_path(key).read_text(encoding="utf-8"))["cells"]
    markdown = " ".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    assert "make from-notebooks" in markdown and "#@save" in markdown, (
        f"{NOTEBOOKS[key]}: say, before its first #@save cell, that later notebooks use the saved "
        "copy until `make from-notebooks` regenerates it")


def top_level_definitions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.ClassDef)}


def test_no_hand_written_module_defines_what_a_notebook_teaches():
    taught = set().union(*(saved_names(key) for key in NOTEBOOKS if notebook_path(key).exists()))
    assert taught >= set().union(*TAUGHT.values())
    for module in sorted(PACKAGE.glob("*.py")):
        if module == GENERATED:
            continue
        twice = top_level_definitions(module) & taught
        assert not twice, f"{module.name} defines {sorted(twice)}, which a notebook defines and saves"


def python_files() -> list[Path]:
    files = [*PACKAGE.glob("*.py"), *(ROOT / "tests").glob("*.py"), *(ROOT / "tools").glob("*.py")]
    return [path for path in files if path != GENERATED]


def calls(path: Path, name: str) -> list[ast.Call]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call):
            function = node.func
            called = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", "")
            if called == name:
                found.append(node)
    return found


def test_the_network_of_notebook_02_is_defined_once():
    """No second copy of the network: nowhere else the layers that only notebook 02's network
    has (its two dropouts, named for where they sit) are built."""
    for path in python_files():
        for call in calls(path, "Dropout"):
            names = [ast.unparse(keyword.value) for keyword in call.keywords if keyword.arg == "name"]
            assert not any("dropout_features" in name or "dropout_dense" in name for name in names), (
                f"{path.relative_to(ROOT)}:{call.lineno} builds notebook 02's network again: "
                "import build_network from mnist_cnn.from_notebooks")


def test_the_validation_split_of_notebook_03_is_defined_once():
    for path in python_files():
        if path.name == Path(__file__).name:
            continue
        text = path.read_text(encoding="utf-8")
        retyped = ".permutation(len(x_train))" in text or '.permutation(len(data["x_train"]))' in text
        assert not retyped, (
            f"{path.relative_to(ROOT)} retypes notebook 03's split: use validation_split")


def notebook(tmp_path: Path, *sources: str) -> Path:
    root = tmp_path / "project"
    (root / "notebooks").mkdir(parents=True)
    cells = [{"cell_type": "markdown", "metadata": {}, "source": "## 1. A section"}]
    cells += [{"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
              for source in sources]
    (root / "notebooks" / NOTEBOOKS["02"]).write_text(
        json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}), encoding="utf-8")
    return root


def test_a_saved_cell_that_runs_something_is_refused_with_what_to_do(tmp_path):
    root = notebook(tmp_path, "import numpy as np",
                    "#@save\ndef double(x):\n    return 2 * x\n\n\nprint(double(2))")
    with pytest.raises(save_cells.SaveCellError,
                       match=r"may only define.*move `print\(double\(2\)\)` to the next"):
        save_cells.generate(root)


def test_a_saved_cell_brings_the_imports_it_uses_and_no_others(tmp_path):
    root = notebook(tmp_path, "import json\nimport numpy as np",
                    '#@save\nSIZE = 3\n\n\ndef ones():\n    """Ones."""\n    return np.ones(SIZE)')
    text = save_cells.generate(root)
    assert "import numpy as np" in text and "import json" not in text
    assert '__all__ = [\n    "ones",\n    "SIZE",\n]' in text
    assert f"# {NOTEBOOKS['02']}, section \u201c1. A section\u201d" in text
    namespace: dict = {}
    exec(compile(text, "from_notebooks.py", "exec"), namespace)
    assert namespace["ones"]().tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("key", ["01", "02", "03", "04", "05", "06", "08"])
def test_the_series_builds_its_networks_from_keras_layers_only(key):
    """01-06 and 08 define and import no layer of their own: every model they save loads with
    Keras alone (appendix 09's fused layer and 07's warps are the only custom layers)."""
    cells = json.loads(notebook_path(key).read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    for custom in ("fused_normalization", "register_keras_serializable", "keras.layers.Layer)",
                   "RandomAffine", "FixedAffine"):
        assert custom not in code, f"{NOTEBOOKS[key]} uses {custom}"
