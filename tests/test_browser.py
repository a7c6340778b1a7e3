"""Notebook 06 in the client its readers use: JupyterLab in Chromium, Run All, then digits drawn
with the mouse on the canvas, which the page must read. Needs Debian's chromium
(/usr/bin/chromium, no browser download) and Playwright; .ci/run installs chromium."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from mnist_cnn.__main__ import LAB_OPTIONS
from mnist_cnn.data import NOTEBOOKS

import numpy as np
import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
# Headless as root, with no network but localhost (else Chromium retries blocked connections).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SHOTS = ROOT / "build" / "browser"


def jupyter_lab(folder: Path, settings: Path):
    """JupyterLab as `python -m mnist_cnn lab` starts it, on a free port, every cell rendered."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for name, value in (("notebook-extension/tracker", {"windowingMode": "none"}),
                        ("apputils-extension/notification", {"fetchNews": "false", "checkForUpdates": False})):
        path = settings / "@jupyterlab" / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
               "--IdentityProvider.token=test", f"--LabApp.user_settings_dir={settings}",
               "--LabApp.expose_app_in_browser=True", "--allow-root", *LAB_OPTIONS]
    server = subprocess.Popen(command, cwd=folder, env={**os.environ, "MNIST_CNN_HOME": str(ROOT)},
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    for _ in range(180):
        try:
            urllib.request.urlopen(f"{url}/api/status?token=test", timeout=2)
            return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    pytest.fail("JupyterLab did not start")


def draw(page, stroke):
    """One mouse stroke on the canvas; points in 0..1 of its width and height."""
    box = page.locator("[data-testid=digit-canvas]").bounding_box()
    page.mouse.move(box["x"] + stroke[0][0] * box["width"], box["y"] + stroke[0][1] * box["height"])
    page.mouse.down()
    for x, y in stroke[1:]:
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=4)
    page.mouse.up()


STROKES = {"1": [(0.52, 0.15), (0.50, 0.50), (0.48, 0.85)],
           "0": [(0.5 + 0.22 * np.sin(a), 0.5 - 0.32 * np.cos(a)) for a in np.linspace(0, 2 * np.pi, 40)],
           "7": [(0.25, 0.2), (0.75, 0.2), (0.45, 0.85)]}


def test_notebook_06_runs_in_jupyterlab_and_reads_digits_drawn_with_the_mouse(tmp_path):
    from playwright.sync_api import sync_playwright

    name = NOTEBOOKS["06"]
    shutil.copy(ROOT / "notebooks" / name, tmp_path)
    server, url = jupyter_lab(tmp_path, tmp_path / "settings")
    readings = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(f"{url}/lab/tree/{name}?token=test&reset")
            page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                                   " === 'idle'", timeout=120_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            page.wait_for_function("""() => { const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                                      return p.length > 0 && p.every(x => /\\[\\d+\\]/.test(x.textContent)); }""",
                                   timeout=600_000, polling=1000)
            problems = page.evaluate("""() => [...document.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],'
                + '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')]
                .map(node => node.textContent.trim().slice(0, 300))""")
            page.locator("[data-testid=digit-canvas]").scroll_into_view_if_needed()
            SHOTS.mkdir(parents=True, exist_ok=True)
            for digit, stroke in STROKES.items():
                draw(page, stroke)
                time.sleep(2)  # the reading of the stroke
                readings[digit] = page.locator("[data-testid=digit-prediction]").inner_text(timeout=30_000)
                page.screenshot(path=str(SHOTS / f"06_drawn_{digit}.png"))
                page.click("[data-testid=digit-clear]")
                time.sleep(1)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert problems == []
    assert readings == {"1": "1", "0": "0", "7": "7"}
