"""Set up the series in .venv/, on Linux, macOS or Windows, with or without internet.

    python install.py                    # Windows: py -3.12 install.py
    python install.py --wheels FOLDER    # a class without internet: the teacher's wheelhouse
    python install.py --dev              # also the maintainers' tools (tests, lint, site)

Then: `.venv/bin/python -m mnist_cnn lab` (Windows: `.venv\\Scripts\\python -m mnist_cnn lab`).
"""

from __future__ import annotations

import argparse
import platform
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
SUPPORTED = ((3, 11), (3, 12), (3, 13))  # TensorFlow 2.21 publishes wheels for these only


def refusal() -> str | None:
    """Why this Python or computer cannot run the series, and what to do, or None."""
    system, machine = platform.system(), platform.machine().lower()
    if system == "Darwin" and machine == "x86_64":
        return ("TensorFlow publishes no wheels for Intel Macs since 2.16. Use Google Colab (the "
                "README's 'Open in Colab' links) or another computer.")
    if system == "Windows" and machine in ("arm64", "aarch64"):
        return "TensorFlow publishes no wheels for Windows on ARM. Use Google Colab or another computer."
    if sys.version_info[:2] not in SUPPORTED:
        return (f"This is Python {platform.python_version()}; the series needs Python 3.11, 3.12 or "
                "3.13 (TensorFlow 2.21 installs on those only). Get one, then run this script with "
                "it: from python.org (3.12 and 3.13 have installers), or `uv python install 3.12` "
                "then `uv run --python 3.12 install.py`, or `conda create -n mnist-cnn python=3.12`; "
                "on Windows start it with `py -3.12 install.py`.")
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="install only from this folder of wheels (no internet)")
    parser.add_argument("--dev", action="store_true", help="also the tools of the tests, lint and site")
    args = parser.parse_args(argv)
    why = refusal()
    if why:
        print(f"error: {why}", file=sys.stderr)
        return 2
    folder = ROOT / ".venv"
    if not folder.exists():
        print(f"creating {folder.name}/ with Python {platform.python_version()}")
        venv.create(folder, with_pip=True)
    python = folder / ("Scripts/python.exe" if platform.system() == "Windows" else "bin/python")
    source = ["--no-index", "--find-links", str(args.wheels)] if args.wheels else []
    requirements = "requirements.txt" if args.dev else "requirements-notebooks.txt"
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check", *source]
    for step in ([*pip, "-r", requirements], [*pip, "--no-deps", "--no-build-isolation", "-e", "."]):
        if subprocess.call(step, cwd=ROOT):
            return 1
    (folder / ".installed").touch()
    command = (r".venv\Scripts\python" if platform.system() == "Windows" else ".venv/bin/python")
    print(f"Ready. Open the notebooks in JupyterLab with:  {command} -m mnist_cnn lab")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
