"""Build the series' static reference site (`make site`) without executing any notebook.

The sources are staged into a fresh folder laid out like the repository (site/index.md as
index.md, notebooks/*.ipynb, docs/*.md), so the relative links between them resolve to site
pages as they do on GitHub. A link to another file of the repository (`../src/mnist_cnn/raw_data.py`)
stages that file, which Sphinx then serves as a download; a link to a folder (`src/mnist_cnn`)
gets a generated page listing the folder's files. A link to a file that is not in the
repository is left alone, and the build fails on it (warnings are errors). Nothing is written
to notebooks/ or docs/. Sphinx's configuration is site/conf.py.

    .venv/bin/python tools/build_site.py                  # -> build/site/index.html
    .venv/bin/python tools/build_site.py --out /tmp/site  # elsewhere
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# [text](target), ![alt](target), and href="..." / src="..." in HTML inside markdown
MARKDOWN_LINK = re.compile(r"\]\(\s*<?([^)\s>]+)")
HTML_LINK = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""")
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def markdown_text(path: Path) -> str:
    """The markdown of a page: the file itself, or the markdown cells of a notebook."""
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n\n".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def local_targets(text: str) -> set[str]:
    """Relative link targets of a markdown text, without #fragment or ?query."""
    targets = set()
    for match in (*MARKDOWN_LINK.finditer(text), *HTML_LINK.finditer(text)):
        target = re.split(r"[#?]", match.group(1), maxsplit=1)[0]
        if target and not SCHEME.match(target) and not target.startswith(("/", "\\")):
            targets.add(target)
    return targets


def tracked_files(folder: Path, root: Path) -> list[Path]:
    """The files of a repository folder under version control (or on disk, outside git)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", str(folder)], cwd=root, check=True,
                                capture_output=True, text=True).stdout.split("\0")
        files = [root / name for name in listed if name]
    except (OSError, subprocess.CalledProcessError):
        files = [path for path in folder.rglob("*") if path.is_file()]
    return sorted(path for path in files if path.is_file() and "__pycache__" not in path.parts
                  and not any(part.startswith(".") for part in path.relative_to(root).parts))


def summary(path: Path) -> str:
    """First line of a Python module's docstring, else nothing."""
    if path.suffix != ".py":
        return ""
    try:
        doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
    except (SyntaxError, UnicodeDecodeError):
        return ""
    return doc.strip().splitlines()[0] if doc else ""


def folder_page(folder: Path, root: Path) -> str:
    """A page listing the files of a repository folder, each a download of that file."""
    relative = folder.relative_to(root).as_posix()
    lines = ["---", "orphan: true", "---", "", f"# `{relative}/`", "",
             f"The files of `{relative}/` in the repository, as this site was built from it.", ""]
    for path in tracked_files(folder, root):
        name = path.relative_to(folder).as_posix()
        note = summary(path)
        lines.append(f"- [`{name}`](<{folder.name}/{name}>)" + (f": {note}" if note else ""))
    return "\n".join(lines) + "\n"


def stage_linked(page: Path, staged_root: Path, root: Path, done: set[Path]) -> list[Path]:
    """Stage the repository files and folders that `page` links to; return new pages to scan."""
    new_pages = []
    in_repo = root / page.relative_to(staged_root)
    for target in sorted(local_targets(markdown_text(page))):
        source = (in_repo.parent / target).resolve()
        if source in done or not source.is_relative_to(root) or source == root:
            continue
        done.add(source)
        copy = staged_root / source.relative_to(root)
        if copy.exists():
            continue  # a staged page or an already staged file
        if source.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            if source.suffix == ".md":  # a page of its own, reached by the link only
                copy.write_text("---\norphan: true\n---\n\n" + source.read_text(encoding="utf-8"),
                                encoding="utf-8")
                new_pages.append(copy)
            else:
                shutil.copy2(source, copy)
        elif source.is_dir():
            for path in tracked_files(source, root):
                target_copy = staged_root / path.relative_to(root)
                if not target_copy.exists():
                    target_copy.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(path, target_copy)
            listing = copy.with_name(copy.name + ".md")
            listing.write_text(folder_page(source, root), encoding="utf-8")
            new_pages.append(listing)
    return new_pages


def stage(staged_root: Path, root: Path = ROOT) -> list[Path]:
    """Lay out the site's sources of the repository `root` in staged_root; return the pages."""
    root = root.resolve()
    if staged_root.exists():
        shutil.rmtree(staged_root)
    (staged_root / "notebooks").mkdir(parents=True)
    (staged_root / "docs").mkdir()
    shutil.copy2(root / "site" / "index.md", staged_root / "index.md")
    for notebook in sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        shutil.copy2(notebook, staged_root / "notebooks" / notebook.name)
    solutions = sorted((root / "notebooks" / "solutions").glob("[0-9][0-9]_solutions.ipynb"))
    if solutions:
        (staged_root / "notebooks" / "solutions").mkdir()
    for notebook in solutions:
        shutil.copy2(notebook, staged_root / "notebooks" / "solutions" / notebook.name)
    for doc in sorted((root / "docs").glob("*.md")):
        shutil.copy2(doc, staged_root / "docs" / doc.name)
    pages = sorted(staged_root.rglob("*.md")) + sorted(staged_root.rglob("*.ipynb"))
    to_scan, done = list(pages), set()
    while to_scan:
        new_pages = stage_linked(to_scan.pop(), staged_root, root, done)
        pages += new_pages
        to_scan += new_pages
    return pages


def build(out: Path, work: Path, root: Path = ROOT, jobs: str = "auto", quiet: bool = True) -> float:
    """Stage the sources into work/src, build the HTML there and move it to `out`; return seconds.

    Sphinx writes into work/html (myst-nb puts its copies of the outputs beside it, in
    work/jupyter_execute); `out` is replaced only by a site that built without a warning.
    """
    from sphinx.cmd.build import build_main

    start = time.perf_counter()
    root, out, work = root.resolve(), out.resolve(), work.resolve()
    for folder in (out, work):  # both are deleted and rewritten
        if folder == root or root.is_relative_to(folder) or folder in (root / "notebooks", root / "docs"):
            raise SystemExit(f"refusing to write the site into {folder}: choose a folder of its own")
    if work.exists():
        shutil.rmtree(work)
    stage(work / "src", root)
    args = ["-b", "html", "-W", "--keep-going", "-c", str(root / "site"), "-d", str(work / "doctrees"),
            "-j", jobs, str(work / "src"), str(work / "html")]
    if quiet:
        args.insert(0, "-q")
    status = build_main(args)
    if status:
        raise SystemExit(f"the site failed to build (sphinx-build exit status {status})")
    if out.exists():
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(work / "html", out)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site",
                        help="where the HTML goes (default: build/site)")
    parser.add_argument("--work", type=Path, default=None,
                        help="where the staged sources and doctrees go (default: OUT-work beside OUT)")
    parser.add_argument("--root", type=Path, default=ROOT,
                        help="the repository to build from (default: this checkout)")
    parser.add_argument("--jobs", default="auto", help="Sphinx's -j (default: auto)")
    parser.add_argument("--verbose", action="store_true", help="Sphinx's full output")
    args = parser.parse_args(argv)
    out = args.out.resolve()
    work = (args.work or out.with_name(out.name + "-work")).resolve()
    seconds = build(out, work, args.root, args.jobs, quiet=not args.verbose)
    print(f"site built in {seconds:.0f} s: {out / 'index.html'} (offline: every asset is in {out})")


if __name__ == "__main__":
    sys.exit(main())
