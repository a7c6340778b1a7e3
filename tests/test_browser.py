"""The series in the client its readers use: JupyterLab in Chromium, Run All, draw digits.

A scratch repository holds the project's files as they are now (committed to its own git),
`make lab`'s working copy is made in it, and JupyterLab is started on it the way `make lab`
starts it. Notebooks 01-06 are opened and run with Run All in Chromium, notebook 03 training on
the 12,000-image subset of the exercise tests (the default's full training runs under nbval and
in the portability run: a third one here would add minutes and test nothing new about the
client); no cell may show an error or anything on stderr; in 06 three digits are drawn with
the mouse on the canvas and the page must read them. Screenshots of every notebook, whole, go
to build/browser/. Afterwards `git status` of the scratch repository must be clean: a reader's
runs change no tracked file.

Needs Debian's chromium (/usr/bin/chromium) and Playwright from PyPI. Where chromium is missing
the test is skipped and says so, except when MNIST_CNN_REQUIRE_BROWSER is set (CI sets it).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

from mnist_cnn.exercises import SUBSET

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("browser")]  # Makefile: integration

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "build" / "browser"
SERIES = ("01", "02", "03", "04", "05", "06")


def browser_or_skip():
    from browser import CHROMIUM

    missing = []
    if not CHROMIUM.is_file():
        missing.append(f"{CHROMIUM} (Debian's package chromium)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing.append("Playwright (pip install playwright)")
    if missing:
        message = "the browser test needs " + " and ".join(missing)
        if os.environ.get("MNIST_CNN_REQUIRE_BROWSER"):
            pytest.fail(message + ": CI requires it")
        pytest.skip(message)


def scratch_repository(folder: Path) -> Path:
    """The project's tracked files as they are in the working tree, in a git repository of
    their own, with the raw data linked."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
    for name in files.stdout.decode().split("\0"):
        if name and (ROOT / name).is_file():
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, folder / name)
    (folder / "data" / "raw").mkdir(parents=True, exist_ok=True)
    for dataset in (ROOT / "data" / "raw").iterdir():
        (folder / "data" / "raw" / dataset.name).symlink_to(dataset.resolve())
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.org"]
    subprocess.run([*git, "init", "-q"], cwd=folder, check=True)
    subprocess.run([*git, "add", "-A"], cwd=folder, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "the series as it is"], cwd=folder, check=True)
    return folder


def strokes(digit: str) -> list[list[tuple[float, float]]]:
    """A 1, a 0 and a 7 as a reader draws them: points in 0..1 of the canvas."""
    if digit == "1":
        return [[(0.52, 0.15), (0.50, 0.50), (0.48, 0.85)]]
    if digit == "0":
        angles = np.linspace(0, 2 * np.pi, 40)
        return [[(0.5 + 0.22 * np.sin(a), 0.5 - 0.32 * np.cos(a)) for a in angles]]
    return [[(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]]  # a 7: the bar, then the stem


def test_the_series_runs_in_jupyterlab_and_reads_drawn_digits(tmp_path):
    browser_or_skip()
    from browser import CHROMIUM, CHROMIUM_ARGS, LabPage, draw, jupyter_lab
    from playwright.sync_api import sync_playwright

    repository = scratch_repository(tmp_path / "series")
    env = {name: value for name, value in os.environ.items() if not name.startswith("MNIST_CNN_")}
    env.update(MNIST_CNN_ROOT=str(repository), TF_CPP_MIN_LOG_LEVEL="3",
               MNIST_CNN_TRAINING_IMAGES=SUBSET["TRAINING_IMAGES"])
    prepared = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-m", "mnist_cnn.workspace",
                               "prepare"], cwd=repository, env=env, capture_output=True, text=True)
    assert prepared.returncode == 0, prepared.stderr
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems, readings, seconds = {}, {}, {}
    with jupyter_lab(repository / "lab", env, settings=tmp_path / "lab-settings") as (base, token), \
            sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        for number in SERIES:
            name = next(path.name for path in (repository / "lab").glob(f"{number}_*.ipynb"))
            start = time.perf_counter()
            notebook = LabPage(page, base, token, name)
            notebook.run_all()
            seconds[number] = round(time.perf_counter() - start)
            problems[number] = notebook.problems()
            if number == "06":
                for digit in ("1", "0", "7"):
                    draw(page, strokes(digit))
                    answer = page.locator("[data-testid=digit-prediction]")
                    answer.wait_for(timeout=30_000)
                    time.sleep(1.5)  # the reading of the last stroke
                    readings[digit] = answer.inner_text()
                    page.screenshot(path=str(SHOTS / f"06_drawn_{digit}.png"))
                    page.click("[data-testid=digit-clear]")
                    time.sleep(1.0)
            notebook.screenshot(SHOTS / f"{name.removesuffix('.ipynb')}.png")
            notebook.save()
            notebook.shut_down_kernel()  # six kernels would hold 8 GB
        browser.close()
    print("seconds per notebook in JupyterLab:", seconds)
    assert problems == {number: [] for number in SERIES}
    assert readings == {"1": "1", "0": "0", "7": "7"}
    status = subprocess.run(["git", "status", "--porcelain"], cwd=repository, capture_output=True,
                            text=True, check=True).stdout
    assert status == "", f"the reader's runs changed tracked or unignored files:\n{status}"
    for number in SERIES:
        shot = next(SHOTS.glob(f"{number}_*.png"))
        assert shot.stat().st_size > 100_000  # a whole notebook, not an empty page
