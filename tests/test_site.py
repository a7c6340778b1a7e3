"""The static reference site (`make site`, tools/build_site.py), built offline into a tmp folder.

Checked on the built HTML: the home page and every notebook and docs page in reading order with
previous/next links, search without a server, nothing loaded from another host (scripts, style
sheets, fonts, icons, frames, CSS url() and @import), every internal link pointing to a file of
the site, and the notebooks' figures as PNG files. A second build from a copy of the sources
adds the teacher's guide, links to source files and folders and a notebook with a widget; a
third shows that a formula stops the build (the site serves no MathJax).
"""

from __future__ import annotations

import http.server
import json
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest

from mnist_cnn.paths import NOTEBOOKS
from mnist_cnn.paths import READING_ORDER as ORDER

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("site")]  # Makefile: integration

ROOT = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = ROOT / "tools" / "build_site.py"
READING_ORDER = list(ORDER)  # 01-06, 08, the optional 07, the appendix 09
EXTERNAL = re.compile(r"^(?:[A-Za-z][A-Za-z0-9+.-]*:|//)")  # a scheme (http:, data:, ...) or //host
CDN_HOSTS = re.compile(r"cdn\.jsdelivr\.net|cdnjs\.cloudflare\.com|unpkg\.com|fonts\.googleapis\.com"
                       r"|fonts\.gstatic\.com|ajax\.googleapis\.com|polyfill\.io|mathjax@")
CSS_EXTERNAL = re.compile(r"""(?:url\(|@import)\s*(?:url\()?\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)"'\s]*))\s*\)""")
CSS_IMPORT = re.compile(r"""@import\s+["']([^"']+)["']""")


class Page(HTMLParser):
    """The tags (name, attributes) and element ids of an HTML page."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.ids: set[str] = set()
        self.styles: list[str] = []
        self._in_style = False
        self.feed(path.read_text(encoding="utf-8"))

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.ids.add(attributes["id"])
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)

    def find(self, tag: str, **attributes: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag
                and all(value in attrs.get(key, "").split() for key, value in attributes.items())]

    def target(self, url: str) -> Path:
        """The file a relative URL of this page points to."""
        return (self.path.parent / unquote(urlsplit(url).path)).resolve()


def build(root: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(BUILD_SCRIPT), "--root", str(root), "--out", str(out)],
                          capture_output=True, text=True, timeout=600)


def copy_of_sources(destination: Path) -> Path:
    """What the site is built from, copied (not a git checkout: folders are listed from disk)."""
    for folder in ("notebooks", "docs", "site", "src"):
        shutil.copytree(ROOT / folder, destination / folder,
                        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", ".ipynb_checkpoints"))
    return destination


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("site") / "html"
    result = build(ROOT, out)
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def pages(site: Path) -> list[Page]:
    return [Page(path) for path in sorted(site.rglob("*.html")) if "_static" not in path.parts]


def reading_order(root: Path) -> list[str]:
    """Site paths of the home page, the notebooks and the docs pages, in reading order."""
    notebooks = [f"notebooks/{Path(NOTEBOOKS[number]).stem}.html" for number in READING_ORDER]
    docs = sorted(path.stem for path in (root / "docs").glob("*.md"))
    if "teaching" in docs:
        docs.remove("teaching")
        docs.insert(0, "teaching")
    solutions = [f"notebooks/solutions/{number}_solutions.html" for number in READING_ORDER
                 if (root / "notebooks" / "solutions" / f"{number}_solutions.ipynb").is_file()]
    return ["index.html", *notebooks, *(f"docs/{name}.html" for name in docs), *solutions]


def check_previous_next(site: Path, order: list[str]) -> None:
    for position, name in enumerate(order):
        page = Page(site / name)
        for css_class, neighbour in (("left-prev", position - 1), ("right-next", position + 1)):
            links = page.find("a", **{"class": css_class})
            if 0 <= neighbour < len(order):
                assert links, f"{name} has no {css_class} link"
                assert page.target(links[0]["href"]) == (site / order[neighbour]).resolve(), (
                    f"{name}: {css_class} is {links[0]['href']}, expected {order[neighbour]}")
            else:
                assert not links, f"{name} should have no {css_class} link"


def test_home_page_then_every_notebook_and_docs_page_in_order_with_previous_and_next(site):
    on_disk = sorted(path.stem for path in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    order = reading_order(ROOT)
    series = [name for name in order if name.startswith("notebooks/") and "/solutions/" not in name]
    assert sorted(Path(name).stem for name in series) == on_disk
    assert tuple(READING_ORDER[-2:]) == ("07", "09"), "the optional tuning, then the appendix, come last"
    assert "notebooks/solutions/03_solutions.html" in order, "the worked solutions follow the docs"
    for name in order:
        assert (site / name).is_file(), name
    check_previous_next(site, order)
    home = (site / "index.html").read_text(encoding="utf-8")
    assert "What the series teaches" in home and "How to start" in home
    if not (ROOT / "docs" / "teaching.md").exists():  # no empty slot for the teacher's guide
        assert not list(site.rglob("teaching*")) and "teaching.html" not in home


def test_search_works_without_a_server(site):
    index_js = (site / "searchindex.js").read_text(encoding="utf-8")
    match = re.fullmatch(r"\s*Search\.setIndex\((.*)\)\s*", index_js, re.DOTALL)
    assert match, "searchindex.js is not Sphinx's search index"
    index = json.loads(match.group(1))
    assert len(index["docnames"]) >= len(reading_order(ROOT))
    assert {"confus", "convolut"} <= set(index["terms"]), "notebook text is not indexed"
    search = Page(site / "search.html")
    scripts = [attrs["src"] for attrs in search.find("script") if "src" in attrs]
    assert any(src.startswith("searchindex.js") for src in scripts)
    assert any("searchtools.js" in src for src in scripts)
    for src in scripts:
        assert not EXTERNAL.match(src), src
        assert search.target(src).is_file(), src


def test_nothing_is_loaded_from_another_host(site):
    for page in pages(site):
        loaded = [("script", attrs.get("src")) for attrs in page.find("script")]
        loaded += [("link", attrs.get("href")) for attrs in page.find("link")]
        loaded += [(tag, attrs.get(attribute)) for tag, attribute in
                   (("iframe", "src"), ("img", "src"), ("source", "src"), ("embed", "src"),
                    ("video", "src"), ("audio", "src"), ("object", "data"))
                   for attrs in page.find(tag)]
        for tag, url in loaded:
            if url and not url.startswith("data:"):
                assert not EXTERNAL.match(url), f"{page.path}: <{tag}> loads {url}"
        for css in page.styles:
            assert not CSS_EXTERNAL.search(css), f"{page.path}: a <style> loads from another host"
    for path in site.rglob("*"):
        if path.suffix in {".html", ".css", ".js"}:
            text = path.read_text(encoding="utf-8", errors="replace")
            assert not CDN_HOSTS.search(text), f"{path} names a CDN: {CDN_HOSTS.search(text).group()}"


def test_style_sheets_use_only_the_sites_own_files(site):
    style_sheets = sorted(site.rglob("*.css"))
    assert style_sheets
    for path in style_sheets:
        css = path.read_text(encoding="utf-8")
        assert not CSS_EXTERNAL.search(css), f"{path} loads from another host"
        urls = [next(group for group in match.groups() if group is not None)
                for match in CSS_URL.finditer(css)] + CSS_IMPORT.findall(css)
        for url in urls:
            if url and not url.startswith(("data:", "#")):
                assert not EXTERNAL.match(url), f"{path}: {url}"
                assert (path.parent / urlsplit(url).path).resolve().is_file(), f"{path}: {url} is missing"


def test_every_internal_link_points_to_a_file_of_the_site(site):
    checked = 0
    ids = {}
    for page in pages(site):
        for tag, attribute in (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src")):
            for attrs in page.find(tag):
                url = attrs.get(attribute)
                if not url or url.startswith("#") or EXTERNAL.match(url):
                    continue  # same page, or another host (mailto:, https:): not a file of the site
                target = page.target(url)
                if target.is_dir():
                    target = target / "index.html"
                assert target.is_file(), f"{page.path.relative_to(site)}: {url} does not exist"
                assert target.is_relative_to(site.resolve()), f"{page.path}: {url} leaves the site"
                fragment = urlsplit(url).fragment
                if fragment and target.suffix == ".html":
                    ids.setdefault(target, Page(target).ids)
                    assert fragment in ids[target], f"{page.path.relative_to(site)}: no #{fragment}"
                checked += 1
    assert checked > 100


def test_every_figure_of_a_notebook_is_a_png_file_of_the_site(site):
    for number in READING_ORDER:
        notebook = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[number], as_version=4)
        figures = sum(1 for cell in notebook.cells for output in cell.get("outputs", [])
                      if "image/png" in output.get("data", {}) and "text/html" not in output["data"])
        page = Page(site / "notebooks" / f"{Path(NOTEBOOKS[number]).stem}.html")
        images = [page.target(attrs["src"]) for attrs in page.find("img") if "src" in attrs]
        pngs = [path for path in images if path.suffix == ".png" and path.is_file()
                and path.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")]
        assert len(pngs) == figures, f"{NOTEBOOKS[number]}: {len(pngs)} PNG files for {figures} figures"
        if number in {"01", "02", "03", "08"}:
            assert figures > 0, NOTEBOOKS[number]


WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def widget_notebook() -> nbformat.NotebookNode:
    """A notebook whose stored output is an ipywidgets slider, with its text fallback."""
    notebook = nbformat.v4.new_notebook()
    notebook.metadata = {
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
        "widgets": {WIDGET_STATE: {"version_major": 2, "version_minor": 0, "state": {"m1": {
            "model_name": "IntSliderModel", "model_module": "@jupyter-widgets/controls",
            "model_module_version": "2.0.0", "state": {"value": 3}}}}},
    }
    slider = nbformat.v4.new_output("display_data", data={
        WIDGET_VIEW: {"model_id": "m1", "version_major": 2, "version_minor": 0},
        "text/plain": "IntSlider(value=3, description='static fallback')"})
    notebook.cells = [nbformat.v4.new_markdown_cell("# 99 · A widget\n\nShown as its fallback."),
                      nbformat.v4.new_code_cell("slider", execution_count=1, outputs=[slider])]
    return notebook


def test_teachers_guide_source_links_and_widgets_in_a_copy_of_the_sources(tmp_path):
    root = copy_of_sources(tmp_path / "repo")
    (root / "docs" / "teaching.md").write_text(
        "# Teaching with the series\n\n"
        "Start with [notebook 02](../notebooks/02_build_the_cnn.ipynb), read "
        "[the data loader](../src/mnist_cnn/raw_data.py) and [the package](../src/mnist_cnn), and see "
        "[the performance page](performance.md#the-benchmark).\n", encoding="utf-8")
    nbformat.write(widget_notebook(), root / "notebooks" / "99_widgets.ipynb")
    out = tmp_path / "html"
    result = build(root, out)
    assert result.returncode == 0, result.stdout + result.stderr

    order = reading_order(root)
    order.insert(order.index("docs/teaching.html"), "notebooks/99_widgets.html")  # not registered: last
    check_previous_next(out, order)

    guide = Page(out / "docs" / "teaching.html")
    links = {attrs["href"] for attrs in guide.find("a") if "href" in attrs}
    assert "../notebooks/02_build_the_cnn.html" in links
    assert "performance.html#the-benchmark" in links
    downloads = [guide.target(href) for href in links if "_downloads/" in href]
    assert [path.name for path in downloads] == ["raw_data.py"]
    assert downloads[0].read_bytes() == (ROOT / "src" / "mnist_cnn" / "raw_data.py").read_bytes()
    assert "../src/mnist_cnn.html" in links
    package = (out / "src" / "mnist_cnn.html").read_text(encoding="utf-8")
    assert "runner.py" in package and "Run notebooks of the series headless" in package

    widgets = (out / "notebooks" / "99_widgets.html").read_text(encoding="utf-8")
    assert "IntSlider(value=3, description='static fallback')" in widgets
    assert WIDGET_VIEW not in widgets and "require.min.js" not in widgets and "embed-amd" not in widgets
    test_nothing_is_loaded_from_another_host(out)
    test_every_internal_link_points_to_a_file_of_the_site(out)


def test_a_formula_stops_the_build_since_the_site_serves_no_mathjax(tmp_path):
    root = tmp_path / "repo"
    for folder in ("site", "src", "docs"):
        shutil.copytree(ROOT / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    (root / "notebooks").mkdir()
    (root / "docs" / "teaching.md").write_text("# Loss\n\nThe loss is $-\\log p$.\n", encoding="utf-8")
    result = build(root, tmp_path / "html")
    assert result.returncode != 0
    assert "math found" in result.stderr and "MathJax" in result.stderr
    assert not (tmp_path / "html").exists()


def test_the_home_page_and_a_notebook_page_open_in_chromium_with_nothing_from_elsewhere(site):
    """The site served on localhost, opened in Chromium as a reader would: the home page and a
    notebook page render, their figures load, and no request leaves localhost."""
    import functools
    import threading

    from browser import CHROMIUM, CHROMIUM_ARGS, free_port
    from test_browser import browser_or_skip

    browser_or_skip()
    from playwright.sync_api import sync_playwright

    port = free_port()
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    local = f"http://127.0.0.1:{port}/"
    elsewhere, shown = [], {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.on("request", lambda request: None if request.url.startswith((local, "data:"))
                    else elsewhere.append(request.url))
            for name in ("index.html", "notebooks/08_look_inside_the_network.html"):
                page.goto(local + name)
                page.wait_for_load_state("networkidle")
                shown[name] = page.evaluate(
                    "() => ({title: document.querySelector('h1').textContent,"
                    " images: [...document.querySelectorAll('article img')].map(i => i.naturalWidth)})")
            browser.close()
    finally:
        server.shutdown()
    assert elsewhere == []
    assert "handwritten digits" in shown["index.html"]["title"]
    notebook = shown["notebooks/08_look_inside_the_network.html"]
    assert notebook["title"].startswith("08")
    assert len(notebook["images"]) >= 6 and all(width > 100 for width in notebook["images"])


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # no request lines in the test's output
        pass
