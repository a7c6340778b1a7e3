"""Wheels for a class without internet (`make wheelhouse`): everything requirements-notebooks.txt
needs, for one platform, in one folder that install.py --wheels installs from.

    python tools/wheelhouse.py build/wheelhouse                      # this machine (Linux x86-64)
    python tools/wheelhouse.py build/wheels-windows windows 3.12     # for Windows x86-64, Python 3.12
    python tools/wheelhouse.py build/wheels-macos macos 3.12         # for Apple silicon

pip alone cannot do it for another platform: `pip download --platform` evaluates the
requirements' markers on the machine that runs it, and leaves out what only Windows or macOS
needs (pywinpty, colorama; appnope). So uv resolves the requirements for the target platform
first, pip downloads exactly that list, and a dry-run install from the folder alone, for that
platform, checks that nothing is missing.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = {  # name: (uv's target triple, pip's wheel tag)
    "linux": ("x86_64-manylinux_2_28", "manylinux_2_28_x86_64"),
    "windows": ("x86_64-pc-windows-msvc", "win_amd64"),
    "macos": ("aarch64-apple-darwin", "macosx_14_0_arm64"),
}

out = Path(sys.argv[1])
triple, tag = PLATFORMS[sys.argv[2] if len(sys.argv) > 2 else "linux"]
python = sys.argv[3] if len(sys.argv) > 3 else f"{sys.version_info.major}.{sys.version_info.minor}"
out.mkdir(parents=True, exist_ok=True)
locked = out / "requirements-locked.txt"
subprocess.run([sys.executable, "-m", "uv", "pip", "compile", "--quiet", str(ROOT / "requirements-notebooks.txt"),
                "--python-platform", triple, "--python-version", python, "-o", str(locked)], check=True)
target = ["--only-binary=:all:", "--platform", tag, "--python-version", python]
subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *target, "-d", str(out),
                "-r", str(locked)], check=True)
subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--dry-run", "--ignore-installed", "--no-deps",
                "--no-index", "--find-links", str(out), *target, "--target", str(out / "dry-run"), "-r", str(locked)],
               check=True)
wheels = list(out.glob("*.whl"))
print(f"{out}: {len(wheels)} wheels, {sum(w.stat().st_size for w in wheels) / 1e6:.0f} MB, for {tag} and "
      f"Python {python}; every locked requirement installs from it alone")
