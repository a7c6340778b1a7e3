"""Sphinx configuration of the series' reference site (`make site`, tools/build_site.py).

The site is built from a staged copy of the sources (tools/build_site.py lays it out like the
repository: index.md at the top, notebooks/, docs/, and the repository files they link to), so
the relative links of the notebooks and docs resolve as they do on GitHub or in JupyterLab.
Everything the built pages load is served by the site itself: the site must work offline.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docutils import nodes
from sphinx.util import logging

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))  # this checkout's registry of notebooks, not an installed one

from mnist_cnn.paths import NOTEBOOKS, READING_ORDER  # noqa: E402

logger = logging.getLogger(__name__)

project = "How a convolutional network learns to read handwritten digits"
author = "the authors of the mnist-cnn series"
copyright = "the authors of the series (code: MIT); MNIST: Yann LeCun, Corinna Cortes, Christopher Burges"

extensions = ["myst_nb"]
root_doc = "index"
exclude_patterns: list[str] = []

# --- Notebooks: rendered from their stored outputs, never executed --------------------------
nb_execution_mode = "off"
# myst-nb loads require.js and the Jupyter widget manager from a CDN on pages whose notebook
# stores widget state. None of that: no widget JavaScript at all, and widget views (and raw
# JavaScript outputs) are dropped from the choice of output, so a widget shows as its static
# fallback (image or text/plain) as in a non-interactive export.
nb_ipywidgets_js: dict[str, dict[str, str]] = {}
nb_mime_priority_overrides = [
    ("*", "application/vnd.jupyter.widget-view+json", None),
    ("*", "application/javascript", None),
]

# --- Math: none, so no MathJax ------------------------------------------------------------------
# No notebook or page has math ($...$, $$...$$ or a text/latex output), and Sphinx would load
# MathJax from a CDN for a page that had some. `dollarmath` makes a formula a math node, and
# `no_math_without_local_mathjax` below turns any math node into a build error that says so,
# rather than a page that calls another host or shows raw dollars.
myst_enable_extensions = ["dollarmath"]
# [text](page.md#a-heading) links to a heading by its GitHub-style anchor, as on GitHub
myst_heading_anchors = 3

# --- The order of the series ------------------------------------------------------------------
# The reader's path (mnist_cnn.paths.READING_ORDER): 01-06, then 08, which looks inside the
# network trained by 03 and says "Next: 07", then the optional tuning notebook 07 (an hour of
# search with `make tune`), and the appendix 09 last, so previous/next follow a student's path.
SERIES_ORDER = [NOTEBOOKS[number] for number in READING_ORDER]
# docs/teaching.md (a teacher's guide) is listed first among the docs pages when it exists,
# and not at all when it does not; every other docs/*.md follows in name order.
FIRST_DOCS = ["teaching.md"]

# --- Theme: sphinx-book-theme; its fonts, icons and scripts are in its own _static ---------------
html_theme = "sphinx_book_theme"
html_title = "How a CNN learns MNIST"
html_theme_options = {
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
    "show_toc_level": 2,
    "use_download_button": True,  # the page's source (.ipynb, .md) from _sources/
    "use_fullscreen_button": False,
    "use_repository_button": False,
    "use_issues_button": False,
    "use_edit_page_button": False,
    "launch_buttons": {},
    "navigation_with_keys": False,
    "navbar_persistent": [],  # the search field is in the sidebar; no second one in a top bar
    "footer_content_items": ["copyright.html"],
}
html_show_sourcelink = True
html_copy_source = True
html_last_updated_fmt = None


def series_pages(srcdir: Path) -> tuple[list[str], list[str], list[str]]:
    """Docnames of the notebooks in reading order, of their worked solutions (in the same order)
    and of the docs pages, as staged in srcdir."""
    staged = sorted(path.name for path in (srcdir / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    notebooks = [name for name in SERIES_ORDER if name in staged]
    notebooks += [name for name in staged if name not in notebooks]  # not registered: still shown
    solved = {path.name[:2] for path in (srcdir / "notebooks" / "solutions").glob("*_solutions.ipynb")}
    solutions = [f"notebooks/solutions/{name[:2]}_solutions" for name in notebooks if name[:2] in solved]
    docs = sorted(path.name for path in (srcdir / "docs").glob("*.md"))
    docs = [name for name in FIRST_DOCS if name in docs] + [n for n in docs if n not in FIRST_DOCS]
    return ([f"notebooks/{Path(name).stem}" for name in notebooks], solutions,
            [f"docs/{Path(name).stem}" for name in docs])


def toctrees(srcdir: Path) -> str:
    """The home page's tables of contents, from the files present (so no empty slot)."""
    notebooks, solutions, docs = series_pages(srcdir)
    text = "\n\n```{toctree}\n:caption: The series, in reading order\n:maxdepth: 1\n\n"
    text += "\n".join(notebooks) + "\n```\n"
    if docs:
        text += "\n```{toctree}\n:caption: Reference\n:maxdepth: 1\n\n" + "\n".join(docs) + "\n```\n"
    if solutions:
        text += ("\n```{toctree}\n:caption: Worked solutions of the exercises\n:maxdepth: 1\n\n"
                 + "\n".join(solutions) + "\n```\n")
    return text


def add_toctrees(app, docname: str, source: list[str]) -> None:
    if docname == app.config.root_doc:
        source[0] += toctrees(Path(app.srcdir))


def no_math_without_local_mathjax(app, doctree: nodes.document) -> None:
    for node in doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block))):
        logger.warning(
            "math found (%s): this site ships no MathJax, and Sphinx would load it from another "
            "host; vendor MathJax into the site (mathjax_path) before adding formulas",
            node.astext()[:40], location=node)
        return


def setup(app):
    app.connect("source-read", add_toctrees)
    app.connect("doctree-read", no_math_without_local_mathjax)
