"""The reader's working copy (make lab): made once, kept, refreshed only when safe."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mnist_cnn.paths import NOTEBOOKS
from mnist_cnn.workspace import MANIFEST, prepare, refresh, sources_id

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the project's notebooks (the real ones) and their folders."""
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'copy'\n")
    shutil.copytree(ROOT / "notebooks", tmp_path / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return tmp_path


def edit(notebook: Path, change) -> None:
    book = json.loads(notebook.read_text())
    change(book)
    notebook.write_text(json.dumps(book))


def add_output(book):  # what running a cell in Lab does
    code = next(cell for cell in book["cells"] if cell["cell_type"] == "code")
    code["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["ran it again\n"]}]


def change_code(book):  # what an experiment does
    code = next(cell for cell in book["cells"] if cell["cell_type"] == "code")
    code["source"] = ["print('my experiment')\n"]


def test_the_first_prepare_copies_every_notebook_and_the_folders_they_read(project):
    messages = prepare(project)
    lab = project / "lab"
    assert sorted(p.name for p in lab.glob("*.ipynb")) == sorted(NOTEBOOKS.values())
    assert (lab / "images" / "handwritten_digit.png").is_file()
    assert (lab / "results" / "tuning_full_mnist.csv").is_file()
    assert messages[0].startswith(f"lab/: your working copy of the {len(NOTEBOOKS)} notebooks")
    assert prepare(project) == []  # nothing changed: nothing to say, nothing touched


def test_a_copy_with_outputs_only_is_updated_when_the_reference_changes(project):
    prepare(project)
    name = NOTEBOOKS["03"]
    edit(project / "lab" / name, add_output)  # the reader ran it
    edit(project / "notebooks" / name, change_code)  # git pull brought a new version
    messages = prepare(project)
    assert messages == [f"lab/{name}: updated to the new version of notebooks/{name} (you had not "
                        f"changed it; its outputs are the new stored ones)"]
    assert sources_id(project / "lab" / name) == sources_id(project / "notebooks" / name)


def test_a_copy_the_reader_changed_is_kept_and_the_refresh_keeps_it_too(project):
    prepare(project)
    name = NOTEBOOKS["02"]
    edit(project / "lab" / name, change_code)  # the reader's experiment
    edit(project / "notebooks" / name, add_output)  # a new stored version upstream
    (message,) = prepare(project)
    assert "your copy has changes of yours, so it was kept" in message
    assert "make lab-refresh REFRESH=02" in message
    mine = sources_id(project / "lab" / name)
    refresh(["02"], project)
    kept = list((project / "lab").glob("02_build_the_cnn.yours-*.ipynb"))
    assert len(kept) == 1 and sources_id(kept[0]) == mine
    assert (project / "lab" / name).read_bytes() == (project / "notebooks" / name).read_bytes()
    assert prepare(project) == []


def test_a_new_notebook_upstream_is_copied_and_the_readers_files_are_never_overwritten(project):
    prepare(project)
    (project / "lab" / "images" / "handwritten_digit.png").write_bytes(b"my own drawing")
    (project / "lab" / NOTEBOOKS["08"]).unlink()
    manifest = json.loads((project / "lab" / MANIFEST).read_text())
    del manifest[NOTEBOOKS["08"]]
    (project / "lab" / MANIFEST).write_text(json.dumps(manifest))
    assert prepare(project) == [f"lab/{NOTEBOOKS['08']}: new in the series, copied"]
    assert (project / "lab" / "images" / "handwritten_digit.png").read_bytes() == b"my own drawing"
