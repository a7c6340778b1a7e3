"""The reader's working copy of the notebooks: `lab/`, made on first use, ignored by git.

    python -m mnist_cnn.workspace lab              # `make lab`: prepare lab/, open it in JupyterLab
    python -m mnist_cnn.workspace prepare          # only make or update lab/
    python -m mnist_cnn.workspace refresh 03 07    # replace these copies by the current notebooks

The notebooks in notebooks/ are the reference: executed, with stored outputs, tested. A reader
who runs them in JupyterLab changes them (outputs, autosaves, experiments), and `git pull` of a
newer version of the series would then collide with those changes. So `make lab` opens a
working copy instead: lab/ holds a copy of every notebook and of the folders they read
(images/, results/), so relative paths work the same there.

The copy remembers which version of each notebook it was made from (lab/.reference.json).
When a `git pull` brings a newer notebook, `prepare` replaces the copy if the reader did not
change its code or text (outputs alone do not count), and otherwise keeps the reader's copy
and says how to refresh it; `refresh` keeps the reader's version beside the new one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

from .paths import NOTEBOOKS, find_project_root

FOLDERS = ("images", "results")  # what the notebooks read by relative path
MANIFEST = ".reference.json"
# JupyterLab as `make lab` starts it: the kernel of a notebook whose tab was closed is shut
# down after 15 idle minutes (each kernel holds 1 to 2 GB once its notebook has run).
LAB_OPTIONS = [
    "--MappingKernelManager.cull_idle_timeout=900",
    "--MappingKernelManager.cull_interval=60",
    "--MappingKernelManager.cull_connected=False",
]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sources_id(notebook: Path) -> str:
    """A checksum of a notebook's cells' types and sources: what a reader writes, not outputs."""
    book = json.loads(notebook.read_text(encoding="utf-8"))
    cells = [[cell["cell_type"], "".join(cell["source"]) if isinstance(cell["source"], list)
              else cell["source"]] for cell in book.get("cells", [])]
    return _sha(json.dumps(cells).encode())


def _reference_entry(reference: Path) -> dict[str, str]:
    return {"file": _sha(reference.read_bytes()), "sources": sources_id(reference)}


def _copy_folders(root: Path, lab: Path) -> None:
    for folder in FOLDERS:
        source = root / "notebooks" / folder
        if not source.is_dir():
            continue
        for file in source.rglob("*"):
            target = lab / folder / file.relative_to(source)
            if file.is_file() and not target.exists():  # never overwrite what the reader made
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(file, target)


def _read_manifest(lab: Path) -> dict[str, dict[str, str]]:
    try:
        return json.loads((lab / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _write_manifest(lab: Path, manifest: dict[str, dict[str, str]]) -> None:
    (lab / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")


def prepare(root: Path | None = None) -> list[str]:
    """Make or update lab/; returns what it did, one line each, for the reader."""
    root = Path(root) if root else find_project_root()
    lab = root / "lab"
    made = not lab.is_dir()
    lab.mkdir(exist_ok=True)
    manifest = _read_manifest(lab)
    messages = []
    for name in sorted(NOTEBOOKS.values()):
        reference, copy = root / "notebooks" / name, lab / name
        if not reference.is_file():
            continue
        entry = _reference_entry(reference)
        if not copy.is_file():
            shutil.copy2(reference, copy)
            manifest[name] = entry
            if not made:
                messages.append(f"lab/{name}: new in the series, copied")
            continue
        known = manifest.get(name)
        if known is None or known["file"] == entry["file"]:
            manifest.setdefault(name, entry)
            continue
        if sources_id(copy) == known["sources"]:  # the reader changed no cell: only outputs
            shutil.copy2(reference, copy)
            manifest[name] = entry
            messages.append(f"lab/{name}: updated to the new version of notebooks/{name} "
                            f"(you had not changed it; its outputs are the new stored ones)")
        else:
            messages.append(
                f"lab/{name}: notebooks/{name} has a new version, and your copy has changes of "
                f"yours, so it was kept. To take the new version: make lab-refresh "
                f"REFRESH={name[:2]} (your copy is kept beside it).")
    _copy_folders(root, lab)
    _write_manifest(lab, manifest)
    if made:
        messages.insert(0, f"lab/: your working copy of the {len(manifest)} notebooks (git ignores "
                           f"it; notebooks/ keeps the reference versions)")
    return messages


def refresh(numbers: list[str], root: Path | None = None) -> list[str]:
    """Replace the working copies of notebooks `numbers` by the reference; keep the reader's."""
    root = Path(root) if root else find_project_root()
    lab = root / "lab"
    manifest = _read_manifest(lab)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    messages = []
    for number in numbers:
        if number not in NOTEBOOKS:
            raise SystemExit(f"unknown notebook {number!r}: choose from {', '.join(sorted(NOTEBOOKS))}")
        name = NOTEBOOKS[number]
        reference, copy = root / "notebooks" / name, lab / name
        if copy.is_file():
            kept = copy.with_name(f"{copy.stem}.yours-{stamp}.ipynb")
            shutil.move(copy, kept)
            messages.append(f"lab/{name}: your version is kept as lab/{kept.name}")
        shutil.copy2(reference, copy)
        manifest[name] = _reference_entry(reference)
        messages.append(f"lab/{name}: now the current version of notebooks/{name}")
    lab.mkdir(exist_ok=True)
    _write_manifest(lab, manifest)
    return messages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("lab", help="make or update lab/, then open it in JupyterLab")
    commands.add_parser("prepare", help="make or update lab/")
    again = commands.add_parser("refresh", help="replace working copies by the reference")
    again.add_argument("numbers", nargs="+", help="notebook numbers, e.g. 03 07")
    args = parser.parse_args(argv)
    messages = refresh(args.numbers) if args.command == "refresh" else prepare()
    for message in messages:
        print(message)
    if args.command == "lab":
        lab = find_project_root() / "lab"
        command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={lab}", *LAB_OPTIONS]
        sys.stdout.flush()
        os.execv(sys.executable, command)  # JupyterLab takes over this process
    return 0


if __name__ == "__main__":
    sys.exit(main())
