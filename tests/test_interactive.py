"""The drawing canvas, the digit reader (notebook 06) and the explorer (notebook 05)."""

from __future__ import annotations

import base64
import io
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import matplotlib  # noqa: E402
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image  # noqa: E402

matplotlib.use("Agg")

from mnist_cnn.from_notebooks import prepare_digit_image  # noqa: E402
from mnist_cnn.images import transform_digit  # noqa: E402
from mnist_cnn.interactive import (  # noqa: E402
    WIDGET_VIEW,
    DigitCanvas,
    DigitExplorer,
    DigitReader,
    strip_widget_views,
)

CLASSES = [str(k) for k in range(10)]


@pytest.fixture(scope="module")
def labelled_digits():
    from conftest import REAL_MNIST

    from mnist_cnn.datasets import MNIST
    from mnist_cnn.raw_data import load_idx_folder

    if not REAL_MNIST.is_dir():
        pytest.skip("no MNIST copy")
    raw = load_idx_folder(REAL_MNIST, MNIST)
    return (raw.x_train[:3000] / 255).astype("float32"), raw.y_train[:3000], \
        (raw.x_test[:200] / 255).astype("float32"), raw.y_test[:200]


@pytest.fixture(scope="module")
def model(labelled_digits):
    """A small CNN trained for a few seconds on 3,000 real digits."""
    x, y, _, _ = labelled_digits
    keras.utils.set_random_seed(0)
    net = keras.Sequential([
        keras.Input((28, 28, 1)), keras.layers.Conv2D(8, 3, activation="relu", name="block1_relu"),
        keras.layers.MaxPooling2D(2), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax"),
    ])
    net.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    net.fit(x[..., None], y, epochs=3, batch_size=64, verbose=0)
    return net


def as_drawing(digit: np.ndarray) -> Image.Image:
    """A real digit as a reader's drawing: 280x280, dark ink on white paper."""
    return Image.fromarray((255 - digit * 255).astype("uint8")).resize((280, 280), Image.Resampling.BILINEAR)


def data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def sample_file(tmp_path, digit) -> str:
    path = tmp_path / "sample.png"
    as_drawing(digit).save(path)
    return str(path)


def test_the_canvas_gives_back_the_drawing_it_holds():
    canvas = DigitCanvas()
    assert canvas.image() is None
    drawn = Image.new("RGB", (280, 280), "white")
    canvas.png = data_url(drawn)
    assert canvas.image().size == (280, 280)
    assert "pointerdown" in canvas._esm and "Clear" in canvas._esm  # mouse, pen and touch


def test_a_drawing_is_read_like_the_digit_it_shows(model, labelled_digits, tmp_path):
    _, _, x_test, _ = labelled_digits
    classify = lambda batch: model(batch, training=False)  # noqa: E731
    reader = DigitReader(classify, prepare_digit_image, CLASSES, sample=sample_file(tmp_path, x_test[1]))
    agree = 0
    for digit in x_test[:20]:
        reader.canvas.png = data_url(as_drawing(digit))  # what a stroke sends
        expected = CLASSES[int(np.argmax(classify(prepare_digit_image(as_drawing(digit)).batch)))]
        assert f"<b data-testid='digit-prediction'>{expected}</b>" in reader.answer.value
        direct = CLASSES[int(np.argmax(classify(digit[None, :, :, None])))]
        agree += expected == direct
    assert agree >= 16  # the MNIST-style preparation of a drawing gives back (nearly) the digit
    reader.canvas.png = ""  # Clear: back to the sample
    sample_answer = CLASSES[int(np.argmax(classify(prepare_digit_image(reader.sample).batch)))]
    assert f"'digit-prediction'>{sample_answer}<" in reader.answer.value


def test_a_blank_canvas_says_so_and_keeps_going(model, labelled_digits, tmp_path):
    _, _, x_test, _ = labelled_digits
    reader = DigitReader(lambda batch: model(batch, training=False), prepare_digit_image, CLASSES,
                         sample=sample_file(tmp_path, x_test[0]))
    reader.canvas.png = data_url(Image.new("RGB", (280, 280), "white"))
    assert "Draw a digit on the canvas." in reader.answer.value


def test_the_display_holds_the_widget_and_a_static_figure(model, labelled_digits, tmp_path):
    _, _, x_test, _ = labelled_digits
    maps = keras.Model(model.inputs[0], model.get_layer("block1_relu").output)
    reader = DigitReader(lambda batch: model(batch, training=False), prepare_digit_image, CLASSES,
                         sample=sample_file(tmp_path, x_test[0]),
                         feature_maps=lambda batch: maps(batch)[0])
    bundle = reader._repr_mimebundle_()
    assert WIDGET_VIEW in bundle and bundle["text/plain"] == DigitReader.description
    png = Image.open(io.BytesIO(base64.b64decode(bundle["image/png"])))
    assert png.size[0] > 600  # the reading of the sample: stages, bars, feature maps

    book = nbformat.v4.new_notebook()
    book.cells = [nbformat.v4.new_code_cell("reader")]
    book.cells[0].outputs = [nbformat.v4.new_output("execute_result", data=bundle)]
    book.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    assert strip_widget_views(book) == 1
    assert set(book.cells[0].outputs[0]["data"]) == {"image/png", "text/plain"}
    assert "widgets" not in book.metadata


def test_the_explorer_shows_what_the_sliders_do(model, labelled_digits):
    _, _, x_test, y_test = labelled_digits
    classify = lambda batch: model(batch, training=False)  # noqa: E731
    explorer = DigitExplorer(classify, x_test, y_test, CLASSES, start=3)
    image, probabilities = explorer.state(index=3, degrees=30, dx=2, thickness=1)
    expected = transform_digit(x_test[3], degrees=30, dx=2, thickness=1)
    np.testing.assert_array_equal(image, expected)
    np.testing.assert_allclose(probabilities, classify(expected[None, :, :, None])[0], atol=1e-6)
    explorer.controls["degrees"].value = 45  # moving a slider redraws
    title = explorer.static_figure().texts[0].get_text()
    assert title == f"test image #3 (label {CLASSES[y_test[3]]}): degrees 45"
    assert set(explorer._repr_mimebundle_()) >= {"image/png", "text/plain", WIDGET_VIEW}


def test_a_headless_kernel_gets_one_stable_output_per_widget(tmp_path):
    """What nbval sees: a kernel with no front end. The widgets' figures go into the widgets'
    own state, never into the cell as extra outputs or `clear_output` messages."""
    from jupyter_client.manager import start_new_kernel

    digits = np.zeros((4, 28, 28), "float32")
    digits[:, 5:23, 12:16] = 1.0  # a stroke, like a 1
    np.save(tmp_path / "digits.npy", digits)
    as_drawing(digits[0]).save(tmp_path / "sample.png")
    code = f"""
import numpy as np
from mnist_cnn.from_notebooks import prepare_digit_image
from mnist_cnn.interactive import DigitExplorer, DigitReader
digits = np.load({str(tmp_path / "digits.npy")!r})
uniform = lambda batch: np.full((len(batch), 10), 0.1)
explorer = DigitExplorer(uniform, digits, np.arange(4), [str(k) for k in range(10)])
explorer.controls["degrees"].value = 30
reader = DigitReader(uniform, prepare_digit_image, [str(k) for k in range(10)],
                     sample={str(tmp_path / "sample.png")!r})
display(explorer, reader)
"""
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        message_id = client.execute(code)
        seen = []
        while True:
            message = client.get_iopub_msg(timeout=60)
            if message["parent_header"].get("msg_id") != message_id:
                continue
            if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
                break
            seen.append(message)
        reply = client.get_shell_msg(timeout=60)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok", reply["content"]
    kinds = [message["msg_type"] for message in seen]
    errors = [message["content"] for message in seen if message["msg_type"] in ("error", "stream")]
    assert "clear_output" not in kinds and not errors, errors
    shown = [message["content"]["data"]["text/plain"] for message in seen
             if message["msg_type"] == "display_data"]
    assert shown == [DigitExplorer.description, DigitReader.description]
