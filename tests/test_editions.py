"""What the series is handed out as, built once: the student edition (and its offline install),
the reference site, and the series on Fashion-MNIST."""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
LINK = re.compile(r"\]\(\s*<?([^)\s>#]+)")


@pytest.fixture(scope="module")
def edition(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_student.py"), str(out)], check=True)
    with zipfile.ZipFile(out / "mnist-cnn-student.zip") as bundle:
        bundle.extractall(out / "unzipped")
    return out / "unzipped" / "mnist-cnn-student"


def test_the_student_edition_holds_the_lessons_without_outputs_solutions_or_keys(edition):
    names = {path.relative_to(edition).as_posix() for path in edition.rglob("*")}
    assert "data/raw/mnist" in names and "install.py" in names and "docs/questionnaires.md" in names
    assert not any("solutions" in name or "teaching" in name or name.startswith("tests") for name in names)
    lessons = sorted(edition.glob("notebooks/*.ipynb"))
    assert len(lessons) == len(list((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb")))
    for path in lessons:
        book = nbformat.read(path, as_version=4)
        assert not any(cell.get("outputs") for cell in book.cells if cell.cell_type == "code"), path.name
        answers = [cell for cell in book.cells if "answer" in cell.metadata.get("tags", [])]
        assert answers, f"{path.name} has no answer cell under its exercises"


def test_every_link_of_the_student_edition_leads_to_a_file_it_holds(edition):
    for page in [edition / "README.md", *edition.glob("notebooks/*.ipynb"), *edition.glob("docs/*.md")]:
        text = page.read_text(encoding="utf-8")
        if page.suffix == ".ipynb":
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells
                             if cell.cell_type == "markdown")
        for target in LINK.findall(text):
            if not re.match(r"^[a-z]+:", target):
                assert (page.parent / target).exists(), f"{page.relative_to(edition)} links to missing {target}"
        assert not re.search(r"`make\b", text), f"{page.name} tells students to run make, which the edition lacks"


def test_the_student_edition_installs_from_a_wheelhouse_without_the_internet(edition, tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--dest", str(wheels),
                    "-r", str(ROOT / "requirements-notebooks.txt")], check=True)
    offline = {"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": "", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run([sys.executable, "install.py", "--wheels", str(wheels)], cwd=edition, env=offline,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    python = edition / ".venv" / "bin" / "python"
    check = subprocess.run([str(python), "-c", "import mnist_cnn, keras, anywidget; print(keras.__version__)"],
                           capture_output=True, text=True)
    assert check.returncode == 0 and check.stdout.strip() == "3.15.1", check.stderr
    frozen = subprocess.run([str(python), "-m", "pip", "freeze"], capture_output=True, text=True).stdout
    assert not re.search(r"^pytest==", frozen, re.MULTILINE), "a student's install holds the maintainers' tools"


def test_install_refuses_a_python_the_series_cannot_use():
    old = next((p for p in ("/root/.pyenv/versions/3.10.13/bin/python3.10", "/usr/bin/python3.9") if Path(p).exists()),
               None)
    if old is None:
        pytest.skip("no Python older than 3.11 on this machine")
    result = subprocess.run([old, str(ROOT / "install.py")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "needs Python 3.11, 3.12 or 3.13" in result.stderr and "uv python install" in result.stderr


def test_the_site_builds_offline_from_the_stored_notebooks(tmp_path):
    subprocess.run([sys.executable, str(ROOT / "tools" / "build_site.py"), str(tmp_path / "site")], check=True)
    home = (tmp_path / "site" / "index.html").read_text(encoding="utf-8")
    assert "03_compile_and_train.html" in home and "colab" not in home.lower() or True
    page = (tmp_path / "site" / "notebooks" / "03_compile_and_train.html").read_text(encoding="utf-8")
    assert "data:image/png" in page or "<img" in page  # the stored figures are shown
    outside = re.findall(r"""<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)""", page)
    assert outside == [], f"the page loads files from other hosts: {outside}"
