"""Notebooks 01-04 under nbval with another Python (`make test-python PY=3.12`), in a second
environment (build/venv-3.12/) with the pinned libraries and the series' wheel (not editable)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
version = sys.argv[1] if len(sys.argv) > 1 else "3.12"
found = [shutil.which(f"python{version}"), *sorted(Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}"))]
works = [str(p) for p in found if p and subprocess.run([str(p), "--version"], capture_output=True).returncode == 0]
python = works[0] if works else None
if python is None:
    raise SystemExit(f"no Python {version} here: install one (uv python install {version}, or pyenv install {version})")
venv = ROOT / "build" / f"venv-{version}"
subprocess.run([python, "-m", "venv", str(venv)], check=True)
pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet"]
tools = [line for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith(("nbval", "pytest"))]
subprocess.run([*pip, "-r", str(ROOT / "requirements-notebooks.txt"), *tools], check=True)
subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(venv / "dist"), str(ROOT)],
               check=True)
subprocess.run([*pip, "--force-reinstall", "--no-deps", *map(str, (venv / "dist").glob("mnist_cnn-*.whl"))], check=True)
print(subprocess.run([str(venv / "bin" / "python"), "--version"], capture_output=True, text=True).stdout.strip())
notebooks = [str(p) for key in ("01", "02", "03", "04") for p in (ROOT / "notebooks").glob(f"{key}_*.ipynb")]
raise SystemExit(subprocess.call([str(venv / "bin" / "python"), "-m", "pytest", "--nbval-lax", "--nbval-current-env",
                                  "-p", "no:cacheprovider", "-q", *notebooks], cwd=venv,
                                 env={**os.environ, "MNIST_CNN_STRICT": "1", "MNIST_CNN_HOME": str(venv / "home"),
                                      "MNIST_DATA_DIR": str(ROOT / "data" / "raw" / "mnist")}))
