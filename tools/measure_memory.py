"""How much memory the notebooks' kernels hold: one at a time, and all of a class's path open.

    .venv/bin/python tools/measure_memory.py                 # 01-06 and 08: the 90-minute path
    .venv/bin/python tools/measure_memory.py 01 02 03

Each notebook runs to the end in a kernel of its own, in a scratch copy of the project
(build/memory/, so the real data/ and models/ are untouched), and its kernel is left running,
as JupyterLab leaves the kernel of every notebook a student opened. The kernel's resident
memory is sampled every 0.2 s while it runs (its peak) and read once it is idle (what it keeps);
the last line is what all of them hold together, the figure a laptop with every notebook of the
path still open needs. Then every kernel is shut down.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mnist_cnn.exercises import scratch_project  # noqa: E402
from mnist_cnn.paths import NOTEBOOKS, ROOT_ENV_VAR  # noqa: E402

PATH_90_MINUTES = ("01", "02", "03", "04", "05", "06", "08")


def resident_mb(pid: int) -> float:
    """Resident memory of a kernel and its children, in MB."""
    process = psutil.Process(pid)
    processes = [process, *process.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running()) / 2**20


def run_and_keep(path: Path) -> tuple[KernelManager, float, float]:
    """Execute `path` in a new kernel that stays up; its peak and idle resident memory (MB)."""
    book = nbformat.read(path, as_version=4)
    manager = KernelManager(kernel_name="python3")
    manager.start_kernel(cwd=str(path.parent))
    pid = manager.provisioner.process.pid
    peak, running = 0.0, True

    def sample():
        nonlocal peak
        while running:
            peak = max(peak, resident_mb(pid))
            time.sleep(0.2)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    client = NotebookClient(book, km=manager, timeout=1800,
                            resources={"metadata": {"path": str(path.parent)}})
    client.start_new_kernel_client()  # the kernel is up already: only connect to it
    try:
        client.execute(cleanup_kc=False)
    finally:
        running = False
        watcher.join()
    time.sleep(2)  # let the kernel settle, as it does once a student reads on
    return manager, peak, resident_mb(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("numbers", nargs="*", default=list(PATH_90_MINUTES))
    options = parser.parse_args(argv)
    folder = ROOT / "build" / "memory"
    scratch_project(folder, ROOT)
    os.environ[ROOT_ENV_VAR] = str(folder)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    managers, total = [], 0.0
    print(f"{'notebook':<40} {'peak while running':>20} {'held once idle':>16} {'all open':>10}")
    try:
        for number in options.numbers:
            manager, peak, idle = run_and_keep(folder / "notebooks" / NOTEBOOKS[number])
            managers.append(manager)
            total = sum(resident_mb(m.provisioner.process.pid) for m in managers)
            print(f"{NOTEBOOKS[number]:<40} {peak:>17,.0f} MB {idle:>13,.0f} MB {total:>7,.0f} MB",
                  flush=True)
    finally:
        for manager in managers:
            manager.shutdown_kernel(now=True)
    machine = psutil.virtual_memory().total / 2**30
    print(f"all {len(managers)} kernels open together: {total / 1024:.1f} GB "
          f"(this machine: {machine:.0f} GB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
