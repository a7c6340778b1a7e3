"""Sphinx configuration of the reference site (`make site`): the stored notebooks rendered as
they are (nothing is executed), the docs, and Colab launch buttons. Every file the pages load is
served by the site itself, so it works offline."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Repository"]

project = "How a convolutional network learns to read handwritten digits"
author = "the authors of the mnist-cnn series"
copyright = "the series' authors (code: MIT); MNIST: Yann LeCun, Corinna Cortes, Christopher Burges"
extensions = ["myst_nb"]
root_doc = "index"
nb_execution_mode = "off"
# No widget JavaScript from a CDN: a widget shows as its stored static figure.
nb_ipywidgets_js: dict = {}
nb_mime_priority_overrides = [("*", "application/vnd.jupyter.widget-view+json", None),
                              ("*", "application/javascript", None)]
myst_heading_anchors = 3
suppress_warnings = ["mystnb.unknown_mime_type"]

html_theme = "sphinx_book_theme"
html_title = "How a CNN learns MNIST"
html_theme_options = {
    "repository_url": REPOSITORY,
    "repository_branch": "main",
    "launch_buttons": {"colab_url": "https://colab.research.google.com"},
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_navbar_depth": 1,
}
html_last_updated_fmt = None
