"""JupyterLab as the reader's instrument: draw a digit, or push one around, and watch the network.

- `DigitCanvas`: a drawing canvas (mouse, pen or finger) with a Clear button, a small widget of
  the series' own on anywidget: anywidget installs from PyPI with its JupyterLab extension
  prebuilt, so it needs no build step and no internet, and the whole front end is the 60 lines
  of JavaScript below, which a reader can read. (ipysketch-lite, also on anywidget, brings
  colours, fills and line tools a digit does not need, and displays itself when it is made;
  ipycanvas sends every mouse event to Python and back.)
- `DigitReader` (notebook 06): the canvas, and under it what the network makes of the drawing:
  the MNIST-style preparation, the ten probabilities and feature maps, redrawn after every stroke.
- `DigitExplorer` (notebook 05): sliders that rotate, move, thicken or thin, and erase a test
  digit, and the probabilities that follow.

Both show, everywhere a widget cannot run (GitHub, the static site, a headless run, a notebook
opened before its cells ran), a static figure instead: their display holds a PNG of the figure
for the sample digit beside the widget itself. `strip_widget_views` removes the widget part from
a stored notebook, so the committed notebook keeps the picture and no widget state.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Callable, Sequence
from typing import Any

import anywidget
import ipywidgets
import matplotlib.pyplot as plt
import numpy as np
import traitlets
from PIL import Image

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

CANVAS_JS = """
function render({ model, el }) {
  const size = model.get("size");
  const canvas = document.createElement("canvas");
  canvas.width = size;
  canvas.height = size;
  canvas.dataset.testid = "digit-canvas";
  Object.assign(canvas.style, {border: "2px solid #888", cursor: "crosshair", touchAction: "none",
                               width: size + "px", height: size + "px", background: "white"});
  const pen = canvas.getContext("2d");
  const clear = () => { pen.fillStyle = "white"; pen.fillRect(0, 0, size, size); };
  clear();
  pen.lineCap = "round";
  pen.lineJoin = "round";
  pen.strokeStyle = "black";
  pen.lineWidth = model.get("pen_width");
  let drawing = false;
  const at = (event) => {
    const box = canvas.getBoundingClientRect();
    return [(event.clientX - box.left) * size / box.width, (event.clientY - box.top) * size / box.height];
  };
  canvas.addEventListener("pointerdown", (event) => {
    drawing = true;
    canvas.setPointerCapture(event.pointerId);
    const [x, y] = at(event);
    pen.beginPath();
    pen.moveTo(x, y);
    pen.lineTo(x + 0.1, y);
    pen.stroke();
  });
  canvas.addEventListener("pointermove", (event) => {
    if (!drawing) return;
    const [x, y] = at(event);
    pen.lineTo(x, y);
    pen.stroke();
  });
  const finish = () => {
    if (!drawing) return;
    drawing = false;
    model.set("png", canvas.toDataURL("image/png"));
    model.set("strokes", model.get("strokes") + 1);
    model.save_changes();
  };
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  const button = document.createElement("button");
  button.textContent = "Clear";
  button.dataset.testid = "digit-clear";
  button.style.display = "block";
  button.style.marginTop = "6px";
  button.addEventListener("click", () => {
    clear();
    model.set("png", "");
    model.set("strokes", 0);
    model.save_changes();
  });
  el.append(canvas, button);
}
export default { render };
"""


class DigitCanvas(anywidget.AnyWidget):
    """A square canvas to draw a digit on; `png` holds the drawing after each stroke."""

    _esm = CANVAS_JS
    png = traitlets.Unicode("").tag(sync=True)  # a data URL ("data:image/png;base64,...")
    strokes = traitlets.Int(0).tag(sync=True)
    size = traitlets.Int(280).tag(sync=True)
    pen_width = traitlets.Int(22).tag(sync=True)

    def image(self) -> Image.Image | None:
        """The drawing as a PIL image, or None while the canvas is empty."""
        if not self.png:
            return None
        return Image.open(io.BytesIO(base64.b64decode(self.png.split(",", 1)[1])))


def show_in(output: ipywidgets.Output, figure: plt.Figure | None = None, text: str = "") -> None:
    """Replace what `output` shows by `figure` (closed afterwards) or by `text`.

    It sets the widget's `outputs` directly instead of `with output: display(...)`: that sends
    cell outputs which only a front end redirects into the widget, so a headless run (nbval)
    would store them in the cell, and `clear_output` would reach it as an unhandled message."""
    if figure is not None:
        shown = {"output_type": "display_data", "metadata": {},
                 "data": {"image/png": figure_png(figure), "text/plain": repr(figure)}}
    else:
        shown = {"output_type": "stream", "name": "stdout", "text": text}
    output.outputs = (shown,)


def figure_png(figure: plt.Figure) -> str:
    """A figure as base64 PNG (what a notebook stores for an image output); closes it."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


class _WithStaticFigure:
    """A widget that displays as itself where widgets run, and as a static figure elsewhere."""

    widget: ipywidgets.Widget
    description: str

    def static_figure(self) -> plt.Figure:
        raise NotImplementedError

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, Any]:
        bundle = dict(self.widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["image/png"] = figure_png(self.static_figure())
        bundle["text/plain"] = self.description  # stable: nbval compares it
        return bundle


class DigitReader(_WithStaticFigure):
    """A canvas, and what `classify` makes of each drawing, redrawn after every stroke.

    `prepare` turns a PIL image into an MNIST-style digit (notebook 06's `prepare_digit_image`,
    saved in `mnist_cnn.from_notebooks`); `classify` takes a batch (n, 28, 28, 1) and returns
    probabilities; `feature_maps`, if given, returns the maps to show for a batch of one (H, W,
    channels). `sample` is the image file whose reading is shown until the reader draws (and
    wherever widgets cannot run).
    """

    description = "A canvas to draw a digit on, and what the network reads (shown as a picture here)"

    def __init__(self, classify: Callable, prepare: Callable, class_names: Sequence[str], sample,
                 feature_maps: Callable | None = None):
        from . import plots

        self.classify, self.prepare, self.class_names = classify, prepare, list(class_names)
        self.feature_maps, self.sample, self.plots = feature_maps, sample, plots
        self.canvas = DigitCanvas()
        self.answer = ipywidgets.HTML(value=self._answer_html(None))
        self.output = ipywidgets.Output()
        self.widget = ipywidgets.VBox([
            ipywidgets.HBox([self.canvas, self.answer]),
            self.output,
        ])
        self.canvas.observe(self._redraw, names="png")
        self._show(self.sample, "the sample image (draw on the canvas to replace it)")

    def read(self, source) -> tuple[Any, np.ndarray, np.ndarray | None]:
        """The prepared digit, its probabilities and its feature maps (or None)."""
        digit = self.prepare(source)
        probabilities = np.asarray(self.classify(digit.batch))[0]
        maps = np.asarray(self.feature_maps(digit.batch)) if self.feature_maps else None
        return digit, probabilities, maps

    def _answer_html(self, probabilities: np.ndarray | None) -> str:
        if probabilities is None:
            text = "Draw a digit on the canvas."
        else:
            best = int(np.argmax(probabilities))
            text = (f"The network reads: <b data-testid='digit-prediction'>{self.class_names[best]}"
                    f"</b> ({probabilities[best]:.1%})")
        return f"<div style='font-size:16px; padding:12px; max-width:260px'>{text}</div>"

    def figure(self, source, title: str) -> plt.Figure:
        digit, probabilities, maps = self.read(source)
        return self.plots.plot_reading(digit, probabilities, maps, self.class_names, title)

    def static_figure(self) -> plt.Figure:
        return self.figure(self.sample, "What the network reads in the sample image")

    def _show(self, source, title: str) -> None:
        try:
            digit, probabilities, maps = self.read(source)
        except Exception as error:  # a blank canvas, a stray dot: say it, keep going
            self.answer.value = self._answer_html(None)
            show_in(self.output, text=f"{type(error).__name__}: {error}\n")
            return
        self.answer.value = self._answer_html(probabilities)
        show_in(self.output, self.plots.plot_reading(digit, probabilities, maps, self.class_names,
                                                     f"What the network reads in {title}"))

    def _redraw(self, change) -> None:
        drawing = self.canvas.image()
        if drawing is None:
            self._show(self.sample, "the sample image (draw on the canvas to replace it)")
        else:
            self._show(drawing, "your drawing")


class DigitExplorer(_WithStaticFigure):
    """Sliders that change a test digit, and the probabilities the network gives it.

    `digits` (n, 28, 28) and their `labels`; `classify` as for `DigitReader`. The sliders:
    which digit, rotation (degrees), horizontal and vertical shift (pixels), thickness (steps of
    one pixel, negative thins) and the number of top rows erased (`images.transform_digit`).
    """

    description = "Sliders that rotate, move, thicken and erase a digit (shown as a picture here)"

    def __init__(self, classify: Callable, digits: np.ndarray, labels: np.ndarray,
                 class_names: Sequence[str], start: int = 0):
        from . import images, plots

        self.classify, self.digits, self.labels = classify, np.asarray(digits), np.asarray(labels)
        self.class_names, self.transform, self.plots = list(class_names), images.transform_digit, plots
        self.controls = {
            "index": ipywidgets.IntSlider(start, 0, len(self.digits) - 1, description="test image #"),
            "degrees": ipywidgets.IntSlider(0, -90, 90, 5, description="rotate (°)"),
            "dx": ipywidgets.IntSlider(0, -8, 8, description="move right"),
            "dy": ipywidgets.IntSlider(0, -8, 8, description="move down"),
            "thickness": ipywidgets.IntSlider(0, -1, 3, description="thicken"),
            "erase_top": ipywidgets.IntSlider(0, 0, 20, description="erase top rows"),
        }
        self.output = ipywidgets.Output()
        for control in self.controls.values():
            control.observe(self._redraw, names="value")
        self.widget = ipywidgets.HBox([ipywidgets.VBox(list(self.controls.values())), self.output])
        self._redraw(None)

    def state(self, index=0, degrees=0, dx=0, dy=0, thickness=0, erase_top=0):
        """The changed digit (28, 28) and its probabilities (classes,)."""
        image = self.transform(self.digits[index], degrees, dx, dy, thickness, erase_top)
        return image, np.asarray(self.classify(image[np.newaxis, :, :, np.newaxis]))[0]

    def figure(self, **values) -> plt.Figure:
        image, probabilities = self.state(**values)
        label = self.class_names[self.labels[values.get("index", 0)]]
        changes = ", ".join(f"{name} {value}" for name, value in values.items()
                            if name != "index" and value) or "unchanged"
        title = f"test image #{values.get('index', 0)} (label {label}): {changes}"
        return self.plots.plot_probabilities_of(image, probabilities, self.class_names, title)

    def static_figure(self) -> plt.Figure:
        return self.figure(**{name: control.value for name, control in self.controls.items()})

    def _redraw(self, change) -> None:
        show_in(self.output, self.static_figure())


def strip_widget_views(book) -> int:
    """Remove widget views and widget state from an executed notebook (nbformat); return how many.

    A stored widget view without its state shows as an error in JupyterLab, and its state
    would make every page load the widget's JavaScript; the static figure beside it stays."""
    removed = 0
    for cell in book.cells:
        for output in cell.get("outputs", []):
            if WIDGET_VIEW in output.get("data", {}):
                del output["data"][WIDGET_VIEW]
                removed += 1
    book.metadata.pop("widgets", None)
    return removed
