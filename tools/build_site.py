"""Build the reference site (`make site`) into build/site/, offline, executing nothing.

The home page (site/index.md), the notebooks, their solutions and the docs are staged in a
folder laid out like the repository, so that their relative links resolve as on GitHub; a
broken link or reference fails the build (warnings are errors)."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "build" / "site"
staged = ROOT / "build" / "site-source"
shutil.rmtree(staged, ignore_errors=True)
(staged / "notebooks" / "solutions").mkdir(parents=True)
shutil.copy(ROOT / "site" / "index.md", staged / "index.md")
for path in [*(ROOT / "notebooks").glob("*.ipynb"), *(ROOT / "notebooks" / "solutions").glob("*.ipynb")]:
    shutil.copy(path, staged / path.relative_to(ROOT))
shutil.copytree(ROOT / "docs", staged / "docs")
for name in ("README.md", "LICENSE", "pyproject.toml"):
    shutil.copy(ROOT / name, staged)
raise SystemExit(subprocess.call([sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
                                  "-c", str(ROOT / "site"), str(staged), str(out)]))
