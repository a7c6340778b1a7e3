"""The widgets: draw a digit, or push one around, and watch the network answer.

- `DigitCanvas`: a canvas (mouse, pen or finger) with a Clear button, on anywidget: its whole
  front end is the JavaScript below, with no build step.
- `DigitReader` (notebook 06): the canvas, and what the network makes of each drawing: the
  MNIST-style preparation, the ten probabilities and feature maps, redrawn after every stroke.
- `DigitExplorer` (notebook 05): sliders that turn, move, thicken or erase a test digit.

Where a widget cannot run (GitHub, the site, a headless run) each shows a static figure
instead: its display holds a PNG beside the widget, and `strip_widget_views` removes the widget
part from a stored notebook, keeping the picture.

Also here: `load_grayscale` reads any picture as grays, with a clear error for a file that is
not one, and `transform_digit` turns, moves, thickens or erases a 28x28 digit.
"""

from __future__ import annotations

import base64
import io
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets
import keras
import matplotlib.pyplot as plt
import numpy as np
import traitlets
from PIL import Image, ImageOps, UnidentifiedImageError

from . import plots
from .data import SeriesError

SIZE = 28  # MNIST images are 28x28 pixels
SAMPLE_DIGIT = Path(__file__).resolve().parent / "handwritten_digit.png"  # a photographed 7


class ImageError(SeriesError):
    """A picture that cannot be read as a digit."""


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
        self.classify, self.prepare, self.class_names = classify, prepare, list(class_names)
        self.feature_maps, self.sample = feature_maps, sample
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
        return plots.plot_reading(digit, probabilities, maps, self.class_names, title)

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
        show_in(self.output, plots.plot_reading(digit, probabilities, maps, self.class_names,
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
    one pixel, negative thins) and the number of top rows erased (`transform_digit`).
    """

    description = "Sliders that rotate, move, thicken and erase a digit (shown as a picture here)"

    def __init__(self, classify: Callable, digits: np.ndarray, labels: np.ndarray,
                 class_names: Sequence[str], start: int = 0):
        self.classify, self.digits, self.labels = classify, np.asarray(digits), np.asarray(labels)
        self.class_names = list(class_names)
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
        image = transform_digit(self.digits[index], degrees, dx, dy, thickness, erase_top)
        return image, np.asarray(self.classify(image[np.newaxis, :, :, np.newaxis]))[0]

    def figure(self, **values) -> plt.Figure:
        image, probabilities = self.state(**values)
        label = self.class_names[self.labels[values.get("index", 0)]]
        changes = ", ".join(f"{name} {value}" for name, value in values.items()
                            if name != "index" and value) or "unchanged"
        title = f"test image #{values.get('index', 0)} (label {label}): {changes}"
        return plots.plot_probabilities_of(image, probabilities, self.class_names, title)

    def static_figure(self) -> plt.Figure:
        return self.figure(**{name: control.value for name, control in self.controls.items()})

    def _redraw(self, change) -> None:
        show_in(self.output, self.static_figure())


class ProgressBar(keras.callbacks.Callback):
    """A live progress bar for `fit()` in JupyterLab or Colab: the epoch, the share of its steps
    done, the loss so far and the time left. Keras's own bar (verbose=1) redraws itself with
    control characters that a stored notebook would keep; this one is a widget, shown only where
    someone watches (not in a headless run), beside `verbose=2`'s one line per epoch."""

    def __init__(self, every_seconds: float = 0.5):
        super().__init__()
        self.every, self.shown = every_seconds, not os.environ.get("MNIST_CNN_HEADLESS")
        self.bar = ipywidgets.FloatProgress(min=0, max=1, layout={"width": "420px"})
        self.label = ipywidgets.Label()

    def on_train_begin(self, logs=None):
        self.steps = self.params.get("steps") or 1
        self.start = self.last = time.perf_counter()
        self.step = 0
        if self.shown:
            from IPython.display import display

            display(ipywidgets.HBox([self.bar, self.label]))

    def on_train_batch_end(self, batch, logs=None):
        self.step += 1
        now = time.perf_counter()
        if now - self.last >= self.every:
            self.last = now
            done = self.step / (self.steps * self.params.get("epochs", 1))
            left = (now - self.start) * (1 - done) / done
            loss = f", loss {logs['loss']:.3f}" if logs and "loss" in logs else ""
            self.bar.value = done
            self.label.value = f"epoch {self.step // self.steps + 1}{loss}, about {left:.0f} s left"

    def on_train_end(self, logs=None):
        self.bar.value = 1
        self.label.value = f"done in {time.perf_counter() - self.start:.0f} s"


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



def load_grayscale(source: str | Path | Image.Image) -> tuple[str, np.ndarray]:
    """The file's name (never its full path, for messages) and its uint8 grayscale pixels."""
    if isinstance(source, Image.Image):
        name = Path(getattr(source, "filename", "") or "the image").name
        return name, _to_grayscale(source, name)
    path = Path(source)
    if not path.exists():
        raise ImageError(
            f"{path.name} does not exist: check the file name and the folder it is in."
        )
    try:
        with Image.open(path) as image:
            image.load()
            return path.name, _to_grayscale(image, path.name)
    except (UnidentifiedImageError, OSError) as error:
        raise ImageError(
            f"{path.name} is not an image file that Pillow can read: give a PNG, JPEG, BMP or "
            f"GIF of one digit."
        ) from error


def _to_grayscale(image: Image.Image, name: str) -> np.ndarray:
    """Grayscale uint8 pixels of an image in any mode, transparent areas shown as white."""
    image = ImageOps.exif_transpose(image)  # phone photos store their rotation separately
    if image.mode.startswith("I"):
        # 16-bit grayscale holds 0..65535; convert("L") would clip it rather than scale it.
        return np.clip(np.asarray(image, dtype=np.float64) / 257, 0, 255).round().astype(np.uint8)
    try:
        if image.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in image.info:
            white = Image.new("RGBA", image.size, "white")
            image = Image.alpha_composite(white, image.convert("RGBA"))
        return np.asarray(image.convert("L"))
    except ValueError as error:  # a colour mode Pillow cannot convert, such as LAB
        raise ImageError(
            f"{name} uses the {image.mode} colour mode, which cannot be made grayscale: "
            f"save it as a PNG or JPEG and try again."
        ) from error


def transform_digit(image: np.ndarray, degrees: float = 0.0, dx: int = 0, dy: int = 0,
                    thickness: int = 0, erase_top: int = 0) -> np.ndarray:
    """A 28x28 digit (values 0..1) turned, moved, made thicker or thinner, or partly erased.

    In this order: rotated by `degrees` (counter-clockwise, about the image centre, bilinear),
    strokes thickened (`thickness` > 0: each step spreads the ink to the 8 neighbours, the
    brightest wins) or thinned (< 0: each step keeps a pixel only as bright as its darkest
    neighbour), moved `dx` pixels right and `dy` down (the border filled with 0, never
    wrapped), and the top `erase_top` rows of the image set to 0. Returns float32, 28x28.
    """
    result = np.asarray(image, dtype=np.float32).reshape(SIZE, SIZE)
    if degrees:
        # About the image's centre (PIL's default: (14, 14) in its coordinates, where a pixel
        # spans one unit, which is between pixels 13 and 14 in numpy's).
        result = np.asarray(Image.fromarray(result).rotate(degrees, resample=Image.Resampling.BILINEAR))
    for _ in range(abs(int(thickness))):
        padded = np.pad(result, 1)
        windows = np.stack([padded[r:r + SIZE, c:c + SIZE] for r in range(3) for c in range(3)])
        result = windows.max(axis=0) if thickness > 0 else windows.min(axis=0)
    if dx or dy:
        moved = np.zeros_like(result)
        rows = slice(max(dy, 0), SIZE + min(dy, 0)), slice(max(-dy, 0), SIZE + min(-dy, 0))
        cols = slice(max(dx, 0), SIZE + min(dx, 0)), slice(max(-dx, 0), SIZE + min(-dx, 0))
        if rows[0].start < rows[0].stop and cols[0].start < cols[0].stop:
            moved[rows[0], cols[0]] = result[rows[1], cols[1]]
        result = moved
    if erase_top:
        result = result.copy()
        result[:max(0, int(erase_top))] = 0.0
    return np.clip(result, 0.0, 1.0).astype(np.float32)
