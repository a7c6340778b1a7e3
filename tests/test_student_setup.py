"""A student's set-up: only what the notebooks need, installed offline from a wheelhouse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("student-setup")]  # Makefile: integration

TOOLS = ("sphinx", "nbval", "pytest", "ruff", "playwright")  # the maintainers' only


def test_a_student_installs_offline_from_the_wheelhouse(tmp_path):
    wheelhouse = tmp_path / "wheelhouse"
    subprocess.run(["make", "--no-print-directory", "wheelhouse", f"WHEELHOUSE={wheelhouse}"],
                   cwd=ROOT, check=True)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "--disable-pip-version-check"]
    offline = ["--no-index", "--find-links", str(wheelhouse)]
    # The student's one command, as the README gives it, with the wheelhouse in place of PyPI.
    subprocess.run([*pip, "install", "--quiet", *offline, "-r", str(ROOT / "requirements-notebooks.txt")],
                   check=True)
    subprocess.run([*pip, "install", "--quiet", *offline, "--no-deps", "-e", str(ROOT)], check=True)
    installed = subprocess.run([*pip, "list", "--format=freeze"], check=True, capture_output=True,
                               text=True).stdout.lower()
    assert not [tool for tool in TOOLS if f"\n{tool}==" in f"\n{installed}"]
    check = ("import os; os.environ['TF_CPP_MIN_LOG_LEVEL'] = '3'; import mnist_cnn; "
             "mnist_cnn.import_tensorflow_quietly(); import keras, jupyterlab, anywidget, keras_tuner; "
             "print(keras.__version__, mnist_cnn.__file__)")
    printed = subprocess.run([str(venv / "bin" / "python"), "-c", check], check=True, capture_output=True,
                             text=True, cwd=tmp_path).stdout
    assert printed.split()[0] == "3.15.1" and printed.split()[1].startswith(str(ROOT / "src"))
