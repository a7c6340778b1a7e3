"""Driving the series in a real JupyterLab in Chromium, as a reader does (for tests/test_browser.py).

- `jupyter_lab(folder)`: JupyterLab started like `make lab` (same options) on a free local port,
  serving `folder`, with its own settings: notebooks rendered whole (no windowing), so that a
  screenshot and the checks see every cell.
- `LabPage`: one notebook opened in Chromium (Debian's, through Playwright: no browser download),
  run with "Run All", checked for error and stderr outputs, screenshotted whole.
- `draw`: mouse strokes on the digit canvas of notebook 06.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

from mnist_cnn.workspace import LAB_OPTIONS

CHROMIUM = Path("/usr/bin/chromium")
# What the project's machine needs to start Chromium headless as root with no network beyond
# localhost (without the background-networking flags, Chromium retries blocked connections).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def jupyter_lab(folder: Path, env: dict[str, str], settings: Path) -> Iterator[tuple[str, str]]:
    """JupyterLab serving `folder`, its settings and log in `settings`; yields its URL and token."""
    port, token = free_port(), os.urandom(12).hex()
    tracker = settings / "@jupyterlab" / "notebook-extension" / "tracker.jupyterlab-settings"
    tracker.parent.mkdir(parents=True, exist_ok=True)
    tracker.write_text(json.dumps({"windowingMode": "none"}))  # render every cell, always
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}))  # no network
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}",
               "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
               f"--notebook-dir={folder}", f"--LabApp.user_settings_dir={settings}",
               "--LabApp.expose_app_in_browser=True", *LAB_OPTIONS]
    if os.geteuid() == 0:  # CI's machines run as root; JupyterLab refuses that unless told
        command.append("--allow-root")
    log_path = settings / "jupyter-lab.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(command, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + 90
            while True:
                try:
                    urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if time.time() > deadline or server.poll() is not None:
                        raise RuntimeError(f"JupyterLab did not start: see {log_path}") from None
                    time.sleep(0.5)
            yield url, token
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()


class LabPage:
    """One notebook in JupyterLab, in a Chromium page."""

    def __init__(self, page, base: str, token: str, notebook: str):
        self.page, self.notebook = page, notebook
        page.goto(f"{base}/lab/tree/{notebook}?token={token}&reset")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        page.wait_for_function("window.jupyterapp && window.jupyterapp.shell.currentWidget", timeout=60_000)
        self.wait_for_kernel()

    def command(self, name: str) -> None:
        self.page.evaluate(f"window.jupyterapp.commands.execute({json.dumps(name)})")

    def wait_for_kernel(self, timeout: float = 120) -> None:
        self.page.wait_for_function(
            "() => { const w = window.jupyterapp.shell.currentWidget;"
            " return w && w.sessionContext && w.sessionContext.session"
            " && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'; }",
            timeout=timeout * 1000)

    def run_all(self, timeout: float = 900) -> None:
        """Run All, then wait until every code cell has run (its prompt holds a number)."""
        self.command("notebook:run-all-cells")
        self.page.wait_for_function(
            """() => {
                const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')];
                return prompts.length > 0 && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
            }""", timeout=timeout * 1000, polling=1000)
        self.wait_for_kernel()

    def problems(self) -> list[str]:
        """The error and stderr outputs on the page (their first line each)."""
        return self.page.evaluate(
            """() => [...document.querySelectorAll(
                    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],'
                    + ' .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')]
                  .map(node => node.textContent.trim().split('\\n')[0].slice(0, 200))""")

    def screenshot(self, path: Path) -> None:
        """The whole notebook: Lab scrolls inside .jp-WindowedPanel-outer, so the page is made
        as tall as what that panel holds before the picture is taken."""
        panel = "document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-WindowedPanel-outer')"
        height = self.page.evaluate(f"() => {panel}.scrollHeight")
        viewport = self.page.viewport_size
        self.page.set_viewport_size({"width": viewport["width"], "height": int(height) + 200})
        time.sleep(1.0)
        self.page.evaluate(f"() => {{ {panel}.scrollTop = 0; }}")
        time.sleep(0.5)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(path), full_page=True)
        self.page.set_viewport_size(viewport)

    def save(self) -> None:
        self.command("docmanager:save")

    def shut_down_kernel(self) -> None:
        """What closing the notebook with "Shut Down Kernel" does (no dialog to answer)."""
        self.page.evaluate("() => window.jupyterapp.shell.currentWidget.sessionContext.shutdown()")


def draw(page, strokes: Sequence[Sequence[tuple[float, float]]]) -> None:
    """Mouse strokes on the digit canvas; points in 0..1 of the canvas's width and height."""
    canvas = page.locator("[data-testid=digit-canvas]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=4)
        page.mouse.up()
        time.sleep(0.3)
