"""The widgets' Python side (what a headless notebook run cannot show): reading a picture, the
canvas, the reader of notebook 06, the explorer of notebook 05, their static fallback."""

from __future__ import annotations

import base64
import io

import mnist_cnn  # noqa: F401  (first: quiet TensorFlow)
from mnist_cnn.data import load_raw
from mnist_cnn.widgets import (
    SAMPLE_DIGIT,
    WIDGET_VIEW,
    DigitCanvas,
    DigitExplorer,
    DigitReader,
    ImageError,
    ProgressBar,
    load_grayscale,
    strip_widget_views,
    transform_digit,
)

import keras
import matplotlib
import nbformat
import numpy as np
import pytest
from PIL import Image

matplotlib.use("Agg")
CLASSES = list("0123456789")


@pytest.fixture(scope="module")
def digits():
    import os

    from conftest import real_copy

    os.environ["MNIST_DATA_DIR"] = str(real_copy("mnist"))
    raw = load_raw("mnist")
    return (raw.x_train[:3000] / 255).astype("float32"), raw.y_train[:3000], \
        (raw.x_test[:100] / 255).astype("float32"), raw.y_test[:100]


@pytest.fixture(scope="module")
def model(digits):
    """A small CNN trained for a few seconds on 3,000 real digits."""
    x, y, _, _ = digits
    keras.utils.set_random_seed(0)
    net = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu", name="block1_relu"),
                            keras.layers.MaxPooling2D(2), keras.layers.Flatten(),
                            keras.layers.Dense(10, activation="softmax")])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    net.fit(x[..., None], y, epochs=3, batch_size=64, verbose=0)
    return lambda batch: net(batch, training=False)


def prepare(source):
    from mnist_cnn.from_notebooks import prepare_digit_image  # notebook 06's method

    return prepare_digit_image(source)


def as_drawing(digit: np.ndarray) -> Image.Image:
    """A real digit as a reader draws it: 280x280, dark ink on white paper."""
    return Image.fromarray((255 - digit * 255).astype("uint8")).resize((280, 280), Image.Resampling.BILINEAR)


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_a_file_that_is_not_a_picture_is_refused_by_its_name_only(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    with pytest.raises(ImageError, match="notes.png is not an image file.*PNG, JPEG") as error:
        load_grayscale(tmp_path / "notes.png")
    assert str(tmp_path) not in str(error.value)
    with pytest.raises(ImageError, match="my_digit.png does not exist"):
        load_grayscale(tmp_path / "my_digit.png")
    with pytest.raises(ImageError, match="LAB colour mode, which cannot be made grayscale"):
        load_grayscale(Image.new("LAB", (60, 80)))


def test_a_transparent_or_16_bit_picture_reads_as_grays():
    name, gray = load_grayscale(SAMPLE_DIGIT)
    assert name == "handwritten_digit.png" and gray.dtype == np.uint8 and gray.ndim == 2
    clear = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    assert load_grayscale(clear)[1].min() == 255  # transparent paper is white
    deep = Image.fromarray(np.full((10, 10), 65535, np.uint16))
    assert load_grayscale(deep)[1].max() == 255


def test_transform_moves_turns_thickens_and_erases_a_real_digit(digits):
    digit = digits[2][0]
    np.testing.assert_array_equal(transform_digit(digit), digit)
    moved = transform_digit(digit, dx=2, dy=-1)
    assert moved.sum() == pytest.approx(digit.sum(), rel=1e-5)
    assert transform_digit(digit, dx=27)[:, :27].sum() == 0  # pushed out, never wrapped
    thick, thin = transform_digit(digit, thickness=1), transform_digit(digit, thickness=-1)
    assert (thick >= digit).all() and (thin <= digit).all()
    assert transform_digit(digit, erase_top=10)[:10].sum() == 0
    back = transform_digit(transform_digit(digit, degrees=30), degrees=-30)
    assert np.abs(back - digit).mean() < 0.05


def test_the_canvas_gives_back_the_drawing_it_holds():
    canvas = DigitCanvas()
    assert canvas.image() is None
    canvas.png = data_url(Image.new("RGB", (280, 280), "white"))
    assert canvas.image().size == (280, 280)
    assert "pointerdown" in canvas._esm and "Clear" in canvas._esm  # mouse, pen and touch


def test_a_drawing_is_read_like_the_digit_it_shows(model, digits):
    reader = DigitReader(model, prepare, CLASSES, sample=SAMPLE_DIGIT)
    agree = 0
    for digit in digits[2][:20]:
        reader.canvas.png = data_url(as_drawing(digit))  # what a stroke sends
        expected = CLASSES[int(np.argmax(model(prepare(as_drawing(digit)).batch)))]
        assert f"<b data-testid='digit-prediction'>{expected}</b>" in reader.answer.value
        agree += expected == CLASSES[int(np.argmax(model(digit[None, :, :, None])))]
    assert agree >= 16  # preparing a drawing MNIST's way gives back (nearly) the digit
    reader.canvas.png = data_url(Image.new("RGB", (280, 280), "white"))
    assert "Draw a digit on the canvas." in reader.answer.value  # a blank canvas: said, not crashed


def test_the_display_holds_the_widget_and_a_static_figure_and_the_store_keeps_the_figure(model):
    reader = DigitReader(model, prepare, CLASSES, sample=SAMPLE_DIGIT)
    bundle = reader._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle["text/plain"] == DigitReader.description
    assert Image.open(io.BytesIO(base64.b64decode(bundle["image/png"]))).size[0] > 600
    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell("reader")]
    book.cells[0].outputs = [nbformat.v4.new_output("execute_result", data=bundle)]
    book.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    assert strip_widget_views(book) == 1
    assert set(book.cells[0].outputs[0]["data"]) == {"image/png", "text/plain"} and "widgets" not in book.metadata


def test_the_explorer_shows_what_the_sliders_do(model, digits):
    x_test, y_test = digits[2], digits[3]
    explorer = DigitExplorer(model, x_test, y_test, CLASSES, start=3)
    image, probabilities = explorer.state(index=3, degrees=30, dx=2, thickness=1)
    expected = transform_digit(x_test[3], degrees=30, dx=2, thickness=1)
    np.testing.assert_array_equal(image, expected)
    np.testing.assert_allclose(probabilities, model(expected[None, :, :, None])[0], atol=1e-6)
    explorer.controls["degrees"].value = 45  # moving a slider redraws
    assert explorer.static_figure().texts[0].get_text() == f"test image #3 (label {CLASSES[y_test[3]]}): degrees 45"


def test_the_progress_bar_follows_training(digits, monkeypatch):
    monkeypatch.setenv("MNIST_CNN_HEADLESS", "1")
    x, y = digits[0][:640, ..., None], digits[1][:640]
    net = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                            keras.layers.Dense(10, activation="softmax")])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    bar = ProgressBar(every_seconds=0)
    net.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[bar])
    assert bar.step == 20 and bar.bar.value == 1 and bar.label.value.startswith("done in")
