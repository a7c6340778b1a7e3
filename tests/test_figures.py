"""mnist_cnn.plots, the figures that look inside the network (notebooks 02, 03 and 08).

Each figure is drawn from real MNIST digits and a small network of the series' architecture,
then read back from matplotlib's objects: the values drawn, where they sit, their colour
scale, their labels. A helper that drew the wrong thing (another map, a shifted window, a
colour scale not centred on 0, a wrong count) fails here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import matplotlib  # noqa: E402

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import rich.console  # noqa: E402
from conftest import REAL_MNIST  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import mnist_cnn.datasets  # noqa: E402
from mnist_cnn import plots, probes  # noqa: E402
from mnist_cnn.from_notebooks import (  # noqa: E402
    build_network,
    gradient_times_input,
    occlusion_map,
    occlusion_pixel_map,
    pca_2d,
)

CLASS_NAMES = list(mnist_cnn.datasets.MNIST.class_names)
FILTERS = (4, 8)
DENSE_UNITS = 16
TRAINING_STEPS = (0, 5, 10, 20, 40)  # steps at which the watched digits' probabilities are recorded
WATCHED = 8  # watched digits, as in notebook 03


# ----- fixtures -------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def mnist():
    """The real MNIST arrays (uint8 images, labels)."""
    if not REAL_MNIST.is_dir():
        pytest.skip(f"no MNIST copy at {REAL_MNIST} (set MNIST_DATA_DIR)")
    from mnist_cnn.raw_data import load_idx_folder

    return load_idx_folder(REAL_MNIST, mnist_cnn.datasets.MNIST)


@pytest.fixture(scope="module")
def labels(mnist, real_digits) -> np.ndarray:
    """The true classes of `real_digits` (the first 64 test digits)."""
    return mnist.y_test[: len(real_digits)].astype(int)


def default_cnn(seed: int = 0, filters: tuple[int, int] = FILTERS, units: int = DENSE_UNITS
                ) -> keras.Sequential:
    """Notebook 02's network (its saved `build_network`), with fewer filters and units unless
    told (notebook 02's are 32 and 64 filters, 128 units)."""
    keras.utils.set_random_seed(seed)
    return build_network(filters=filters, dense_units=units)


@pytest.fixture(scope="module")
def untrained() -> keras.Sequential:
    return default_cnn(seed=0)


@pytest.fixture(scope="module")
def training(mnist, real_digits, labels):
    """The same network (same initial weights as `untrained`) trained for 40 steps of 32 real
    digits, with the probability of the true class of the first 8 test digits at TRAINING_STEPS,
    shape (steps, 8), as notebook 03's recorder keeps it."""
    model = default_cnn(seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    x_train = (mnist.x_train[: 32 * TRAINING_STEPS[-1]].astype("float32") / 255)[..., None]
    y_train = mnist.y_train[: len(x_train)].astype(int)
    watched = real_digits[:WATCHED]
    true = labels[:WATCHED]
    recorded = []
    for step in range(TRAINING_STEPS[-1] + 1):
        if step in TRAINING_STEPS:
            recorded.append(probes.probabilities(model, watched)[np.arange(WATCHED), true])
        if step < TRAINING_STEPS[-1]:
            batch = slice(32 * step, 32 * (step + 1))
            model.train_on_batch(x_train[batch], y_train[batch])
    return model, np.array(recorded)


@pytest.fixture(scope="module")
def trained(training) -> keras.Sequential:
    return training[0]


# ----- reading figures back ---------------------------------------------------------------------------
def image_data(axis: plt.Axes, index: int = 0) -> np.ndarray:
    """The array of the `index`-th image drawn in `axis` (masked values as NaN)."""
    return np.ma.filled(np.ma.asarray(axis.images[index].get_array(), dtype=float), np.nan)


def colour_limits(axis: plt.Axes, index: int = 0) -> tuple[float, float]:
    return tuple(float(v) for v in axis.images[index].get_clim())


def cell(axis: plt.Axes) -> tuple[int, int]:
    """(row, column) of a subplot in its grid."""
    spec = axis.get_subplotspec()
    return spec.rowspan.start, spec.colspan.start


def rectangles(axis: plt.Axes) -> list[Rectangle]:
    return [patch for patch in axis.patches if isinstance(patch, Rectangle)]


def covered_pixels(rectangle: Rectangle) -> tuple[list[int], list[int]]:
    """The rows and columns (also outside a 28x28 image) whose pixel centres lie inside `rectangle`."""
    x0, y0 = rectangle.get_xy()
    centres = np.arange(-28, 56)
    rows = centres[(centres > y0) & (centres < y0 + rectangle.get_height())]
    cols = centres[(centres > x0) & (centres < x0 + rectangle.get_width())]
    return rows.tolist(), cols.tolist()


def window_by_hand(image: np.ndarray, size: int, row: int, col: int) -> np.ndarray:
    """The size x size window centred on (row, col), zeros outside the image (padding "same")."""
    half = size // 2
    window = np.zeros((size, size))
    for i in range(size):
        for j in range(size):
            r, c = row + i - half, col + j - half
            if 0 <= r < image.shape[0] and 0 <= c < image.shape[1]:
                window[i, j] = image[r, c]
    return window


# ----- plot_convolution_step --------------------------------------------------------------------------
def test_convolution_step_works_out_the_value_the_layer_computes(real_digits, trained):
    digit = real_digits[0, :, :, 0]
    kernel = trained.get_layer("block1_conv").get_weights()[0][:, :, 0, 0]
    feature_map = probes.layer_outputs(trained, real_digits[:1], "block1_conv")["block1_conv"][0, :, :, 0]
    strongest = np.unravel_index(np.abs(feature_map).argmax(), feature_map.shape)
    # On the stroke, where the value is largest; and a corner, where the window covers the zero border.
    for row, col in ((int(strongest[0]), int(strongest[1])), (0, 27)):
        window = window_by_hand(digit, 3, row, col)
        expected = float((window * kernel).sum())
        assert expected == pytest.approx(float(feature_map[row, col]), abs=1e-5)  # what Keras computes

        figure = plots.plot_convolution_step(digit, kernel, row, col)
        digit_axis, window_axis, kernel_axis, product_axis = figure.axes
        drawn_sum = float(re.search(r"sum = ([+-]\d+\.\d+)$", product_axis.get_title()).group(1))
        assert drawn_sum == pytest.approx(expected, abs=1e-4)

        np.testing.assert_allclose(image_data(digit_axis), digit)
        (frame,) = rectangles(digit_axis)
        assert covered_pixels(frame) == ([row - 1, row, row + 1], [col - 1, col, col + 1])
        assert f"row {row}, column {col}" in digit_axis.get_title()

        np.testing.assert_allclose(image_data(window_axis), window, atol=1e-7)
        assert colour_limits(window_axis) == (0.0, 1.0)
        written = {text.get_position(): text.get_text() for text in window_axis.texts}
        assert written == {(j, i): format(window[i, j], ".2f") for i in range(3) for j in range(3)}

        np.testing.assert_allclose(image_data(kernel_axis), kernel)
        top = float(np.abs(kernel).max())
        assert colour_limits(kernel_axis) == pytest.approx((-top, top))

        products = window * kernel
        np.testing.assert_allclose(image_data(product_axis), products, atol=1e-6)
        low, high = colour_limits(product_axis)
        assert low == -high and high == pytest.approx(np.abs(products).max() or 1.0, rel=1e-5)
        plt.close(figure)


def test_convolution_step_matches_keras_for_an_even_kernel(real_digits):
    digit = real_digits[0, :, :, 0]
    keras.utils.set_random_seed(1)
    layer = keras.layers.Conv2D(1, 4, padding="same", use_bias=False)
    feature_map = np.asarray(layer(real_digits[:1]))[0, :, :, 0]
    kernel = layer.get_weights()[0][:, :, 0, 0]
    row, col = (int(v) for v in np.unravel_index(np.abs(feature_map).argmax(), feature_map.shape))

    figure = plots.plot_convolution_step(digit, kernel, row, col)
    drawn_sum = float(re.search(r"sum = ([+-]\d+\.\d+)$", figure.axes[3].get_title()).group(1))
    assert drawn_sum == pytest.approx(float(feature_map[row, col]), abs=1e-4)


# ----- plot_feature_maps ----------------------------------------------------------------------------------
def test_feature_maps_one_axes_per_map_each_on_its_own_scale(real_digits, untrained):
    digit = real_digits[0, :, :, 0]
    names = ["block1_conv", "block1_norm", "block1_relu", "block1_pool"]
    stages = probes.layer_outputs(untrained, real_digits[:1], names)
    maps = [digit] + [stages[name][0, :, :, 0] for name in names]
    titles = ["digit"] + names
    signed = [False, True, True, False, False]
    assert min(maps[1].min(), maps[2].min()) < 0 < maps[3].max()  # both kinds of map really occur

    figure = plots.plot_feature_maps(maps, titles, ncols=3, signed=signed, suptitle="block 1",
                                     row_labels=["first row", "second row"])
    axes = figure.axes
    assert len(axes) == 6 and [cell(axis) for axis in axes] == [(r, c) for r in range(2) for c in range(3)]
    for axis, values, title, is_signed in zip(axes, maps, titles, signed, strict=False):
        (drawn,) = axis.images
        np.testing.assert_allclose(image_data(axis), values)
        assert axis.get_title() == title
        low, high = colour_limits(axis)
        if is_signed:
            assert drawn.get_cmap().name == "RdBu_r"
            assert (low, high) == pytest.approx((-np.abs(values).max(), np.abs(values).max()))
        else:
            assert drawn.get_cmap().name == "gray_r"
            assert (low, high) == pytest.approx((0.0, values.max()))
    assert not axes[5].images and not axes[5].axison  # the unused sixth cell is blank
    assert [axes[0].get_ylabel(), axes[3].get_ylabel()] == ["first row", "second row"]
    assert figure.get_suptitle() == "block 1"


def test_feature_maps_one_flag_for_all_maps(real_digits, untrained):
    relu = probes.layer_outputs(untrained, real_digits[:1], "block1_relu")["block1_relu"][0]
    grey_paper = 0.25 + 0.75 * real_digits[1, :, :, 0]  # no value at 0: the scale still starts at 0
    maps = [*np.moveaxis(relu, -1, 0), grey_paper]
    figure = plots.plot_feature_maps(maps, [f"map {c}" for c in range(len(maps))], signed=False)
    assert len(figure.axes) == len(maps)
    for axis, values in zip(figure.axes, maps, strict=True):
        np.testing.assert_allclose(image_data(axis), values)
        assert colour_limits(axis) == pytest.approx((0.0, float(values.max()) or 1.0))


# ----- plot_filters ---------------------------------------------------------------------------------------
def first_filters(model) -> np.ndarray:
    return np.moveaxis(model.get_layer("block1_conv").get_weights()[0][:, :, 0, :], -1, 0)


def check_filters(figure, kernels: np.ndarray, labels: list[str], most: int = 16) -> None:
    """Every filter drawn once, under its number, in its condition's row of its block of at most
    `most` filters, on its condition's colour scale (the same for all its filters, centred on 0)."""
    conditions, count = kernels.shape[:2]
    blocks = int(np.ceil(count / most))
    columns = int(np.ceil(count / blocks))
    assert columns <= most and len(figure.axes) == conditions * count
    seen = set()
    for axis in figure.axes:
        row, column = cell(axis)
        block, place = divmod(row, conditions + 1)  # per block: a row for the numbers, then the conditions
        assert place >= 1 and column < columns
        condition, index = place - 1, block * columns + column
        seen.add((condition, index))
        np.testing.assert_allclose(image_data(axis), kernels[condition, index])
        top = float(np.abs(kernels[condition]).max())
        assert colour_limits(axis) == pytest.approx((-top, top))  # the whole condition's scale, centred on 0
        assert axis.get_title() == (f"{index}" if condition == 0 else "")  # each block headed by the numbers
        assert axis.get_ylabel() == (labels[condition] if column == 0 else "")
    assert len(seen) == conditions * count


def test_filters_one_row_per_condition_each_row_on_one_symmetric_scale(untrained, trained):
    kernels = np.stack([first_filters(untrained), first_filters(trained)])
    assert not np.allclose(kernels[0], kernels[1])  # training moved the weights
    figure = plots.plot_filters(kernels, ["initialised", "learned"], suptitle="block1_conv's filters")
    check_filters(figure, kernels, ["initialised", "learned"])
    assert len({cell(axis)[0] for axis in figure.axes}) == 2  # 4 filters: one block, no wrapping
    assert figure.get_suptitle() == "block1_conv's filters"


def test_filters_wrap_into_blocks_of_sixteen_each_filter_above_itself():
    rng = np.random.default_rng(0)
    kernels = rng.normal(size=(3, 32, 3, 3)) * np.array([1.0, 0.1, 5.0])[:, None, None, None]
    labels = ["step 0", "step 20", "step 4,220"]
    figure = plots.plot_filters(kernels, labels, suptitle="32 filters")
    check_filters(figure, kernels, labels)
    figure.canvas.draw()
    by_index = {(int(axis.get_title()) if axis.get_title() else None): axis for axis in figure.axes
                if cell(axis)[0] % 4 == 1}
    for index in range(16):  # filter 16 + i right below filter i's block, in the same column
        above, below = by_index[index].get_position(), by_index[16 + index].get_position()
        assert above.x0 == pytest.approx(below.x0) and below.y1 < above.y0


# ----- plot_receptive_fields ------------------------------------------------------------------------------
def test_receptive_fields_one_square_per_box(real_digits, untrained):
    digit = real_digits[0, :, :, 0]
    boxes = []
    for field in probes.receptive_fields(untrained):
        if field["layer"] in ("block1_conv", "block1_pool", "block2_conv", "block2_pool"):
            centre = field["start"] + (14 // field["jump"]) * field["jump"]  # the unit nearest the centre
            top, bottom = int(centre - (field["size"] - 1) / 2), int(centre + (field["size"] - 1) / 2)
            boxes.append((f"{field['layer']}: {field['size']}×{field['size']}", top, bottom, top, bottom))
    boxes.append(("dense: 28×28", 0, 27, 0, 27))
    assert [bottom - top + 1 for _, top, bottom, _, _ in boxes] == [3, 4, 8, 10, 28]

    figure = plots.plot_receptive_fields(digit, boxes)
    (axis,) = figure.axes
    np.testing.assert_allclose(image_data(axis), digit)
    drawn = rectangles(axis)
    assert len(drawn) == len(boxes)
    for rectangle, (label, top, bottom, left, right) in zip(drawn, boxes, strict=True):
        assert covered_pixels(rectangle) == (list(range(top, bottom + 1)), list(range(left, right + 1)))
        assert rectangle.get_label() == label and not rectangle.get_fill()
    assert [text.get_text() for text in axis.get_legend().get_texts()] == [box[0] for box in boxes]
    assert len({to_rgba(rectangle.get_edgecolor()) for rectangle in drawn}) == len(boxes)


# ----- plot_architecture ----------------------------------------------------------------------------------
def test_architecture_one_labelled_row_per_layer(trained):
    figure = plots.plot_architecture(trained)
    (axis,) = figure.axes
    layers = trained.layers
    blocks = sorted(rectangles(axis), key=lambda patch: -patch.get_y())  # top to bottom
    texts = axis.texts
    assert [text.get_text() for text in texts[:3]] == ["layer", "output shape", "weights"]
    assert len(blocks) == len(layers) and len(texts) == 3 + 3 * len(layers)
    right_of_blocks = max(block.get_x() + block.get_width() for block in blocks)
    for index, (layer, block) in enumerate(zip(layers, blocks, strict=True)):
        shape = tuple(layer.output.shape[1:])
        name, drawn_shape, weights = texts[3 + 3 * index:6 + 3 * index]
        assert name.get_text() == layer.name
        assert drawn_shape.get_text() == " × ".join(str(d) for d in shape)
        assert weights.get_text() == f"{layer.count_params():,}"
        middle = block.get_y() + block.get_height() / 2
        for text in (name, drawn_shape, weights):  # its label: on the block's row, to its right, level
            assert text.get_position()[1] == pytest.approx(middle)
            assert text.get_position()[0] > right_of_blocks and text.get_rotation() == 0
        if len(shape) == 3:
            assert block.get_width() == pytest.approx(0.08 * shape[0])  # slab width: image size
            assert block.get_height() == pytest.approx(min(0.42, 0.05 * np.sqrt(shape[2])))  # channels
        else:
            assert block.get_width() == pytest.approx(0.25 * np.log2(shape[0]))  # bar: log of the length
    rows = [block.get_y() + block.get_height() / 2 for block in blocks]
    assert all(np.diff(rows) < 0)  # one row per layer, in the model's order
    # One colour per kind of layer, named in the legend.
    colour_of = {}
    for layer, block in zip(layers, blocks, strict=True):
        colour_of.setdefault(type(layer).__name__, set()).add(to_rgba(block.get_facecolor()))
    assert all(len(colours) == 1 for colours in colour_of.values())
    assert len({colours.pop() for colours in colour_of.values()}) == len(colour_of)
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert sorted(legend) == sorted(colour_of)
    assert sum(layer.count_params() for layer in layers) == trained.count_params()
    assert axis.get_title(loc="left").startswith(
        f"mnist_cnn: {len(layers)} layers, {trained.count_params():,} weights")


# ----- plot_journey ---------------------------------------------------------------------------------------
def test_journey_draws_each_stage_of_the_digit_and_highlights_the_answer(real_digits, trained):
    names = ["block1_relu", "block2_relu", "dense_relu", "class_probabilities"]
    journey = probes.layer_outputs(trained, real_digits[:1], names)
    digit = real_digits[0, :, :, 0]
    figure = plots.plot_journey(digit, journey, CLASS_NAMES)
    by_title = {axis.get_title(): axis for axis in figure.axes}

    np.testing.assert_allclose(image_data(by_title["input\n28×28"]), digit)
    for layer, title, columns in (("block1_relu", f"block 1:\n{FILTERS[0]} maps of 28×28", 4),
                                  ("block2_relu", f"block 2:\n{FILTERS[1]} maps of 14×14", 8)):
        maps = journey[layer][0]
        canvas = image_data(by_title[title])
        height, width, count = maps.shape
        assert canvas.shape == (int(np.ceil(count / columns)) * (height + 1) - 1, columns * (width + 1) - 1)
        for channel in range(count):
            r, c = divmod(channel, columns)
            tile = canvas[r * (height + 1):r * (height + 1) + height, c * (width + 1):c * (width + 1) + width]
            values = maps[:, :, channel]
            np.testing.assert_allclose(tile, values / (values.max() or 1.0), rtol=1e-6)

    probabilities = journey["class_probabilities"][0]
    bars_axis = by_title["softmax:\nthe answer"]
    bars = rectangles(bars_axis)
    assert len(bars) == 10
    np.testing.assert_allclose([bar.get_width() for bar in bars], probabilities, rtol=1e-6)
    centres = [bar.get_y() + bar.get_height() / 2 for bar in bars]
    tick_names = [text.get_text() for text in bars_axis.get_yticklabels()]
    ticks = dict(zip(bars_axis.get_yticks(), tick_names, strict=True))
    assert [ticks[centre] for centre in centres] == CLASS_NAMES  # each bar named by its class
    colours = [to_rgba(bar.get_facecolor()) for bar in bars]
    highlighted = [k for k, colour in enumerate(colours) if colours.count(colour) == 1]
    assert highlighted == [int(probabilities.argmax())]
    assert bars_axis.get_xlim() == (0, 1)

    (dense_axis,) = [axis for axis in figure.axes if "dense layer" in axis.get_xlabel()]
    np.testing.assert_allclose(image_data(dense_axis), journey["dense_relu"][:1], rtol=1e-6)
    assert f"the {DENSE_UNITS} numbers" in dense_axis.get_xlabel()


# ----- plot_confidence -------------------------------------------------------------------------------
def test_confidence_counts_right_and_wrong_answers_each_on_its_own_panel(mnist, trained):
    """Notebook 05's figure: the bars are the counts of real answers per confidence bin, written
    above each bar, right answers left and wrong ones right, the threshold on both."""
    images = (mnist.x_test[:1_000].astype("float32") / 255)[..., None]
    probabilities = probes.probabilities(trained, images)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == mnist.y_test[:1_000]
    assert 0 < correct.sum() < len(correct)  # both panels have answers to count
    figure = plots.plot_confidence(confidence, correct, threshold=0.9)
    left, right = figure.axes
    bins = np.linspace(0.1, 1.0, 10)
    for axis, chosen, name in ((left, correct, "right"), (right, ~correct, "wrong")):
        heights = [bar.get_height() for bar in axis.patches]
        expected, _ = np.histogram(confidence[chosen], bins=bins)
        assert heights == list(expected) and sum(heights) == chosen.sum()
        assert [round(bar.get_x(), 6) for bar in axis.patches] == list(np.round(bins[:-1], 6))
        written = [text.get_text() for text in axis.texts]
        assert written == [f"{count:,}" if count else "" for count in expected]
        assert axis.get_title() == f"{name} answers ({chosen.sum():,})"
        assert axis.get_ylim()[1] > max(heights)  # the tallest bar's count fits
        dashed = [line for line in axis.get_lines() if line.get_linestyle() == "--"]
        assert len(dashed) == 1 and list(dashed[0].get_xdata()) == [0.9, 0.9]
        # 0.9 is a bin edge: the line passes under the count above that bin, which sits on white
        for text in axis.texts:
            assert text.get_zorder() > dashed[0].get_zorder()  # text is drawn after lines
            assert text.get_bbox_patch().get_facecolor() == (1.0, 1.0, 1.0, 1.0)
    assert left.get_ylabel() == "test images"
    assert [text.get_text() for text in right.get_legend().get_texts()] == ["threshold 0.9"]
    assert not plots.plot_confidence(confidence, correct).axes[0].get_lines()  # no threshold, no line


# ----- plot_saliency --------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def saliency_cases(real_digits, labels, trained):
    """Right answers then mistakes of the trained network, and two saliency maps of each (notebook 08)."""
    probabilities = probes.probabilities(trained, real_digits)
    predicted = probabilities.argmax(axis=1)
    right = np.flatnonzero(predicted == labels)[:4]
    wrong = np.flatnonzero(predicted != labels)[:4]
    assert len(right) == len(wrong) == 4
    cases = np.concatenate([right, wrong])
    images = real_digits[cases]
    maps = {
        "occlusion": occlusion_pixel_map(occlusion_map(trained, images, predicted[cases])),
        "gradient × input": gradient_times_input(trained, images, predicted[cases]),
    }
    titles = [f"{labels[i]} → said {predicted[i]} ({probabilities[i].max():.0%})" for i in cases]
    return images[..., 0], maps, titles


@pytest.mark.parametrize("count", [8, 7])
def test_saliency_groups_side_by_side_each_map_over_its_image(saliency_cases, count):
    images, maps, titles = saliency_cases
    images, titles = images[:count], titles[:count]
    maps = {name: values[:count] for name, values in maps.items()}
    groups, columns = ("right answers", "confident mistakes"), 1 + len(maps)
    per_group = int(np.ceil(count / len(groups)))

    figure = plots.plot_saliency(images, maps, titles, group_titles=groups, scales={"occlusion": 1.0})
    at = {cell(axis): axis for axis in figure.axes}
    assert sorted(at) == [(r, c) for r in range(per_group) for c in range(len(groups) * columns)]
    for index in range(per_group * len(groups)):
        group, row = divmod(index, per_group)
        cells = [at[row, group * columns + k] for k in range(columns)]
        if index >= count:
            assert all(not axis.images and not axis.axison for axis in cells)
            continue
        np.testing.assert_allclose(image_data(cells[0]), images[index])
        assert cells[0].get_title().replace("\n", " ") == titles[index]  # broken into lines if too wide
        for axis, (name, values) in zip(cells[1:], maps.items(), strict=True):
            assert axis.get_title() == name
            assert len(axis.images) == 2  # the digit, then the heat over it
            np.testing.assert_allclose(image_data(axis, 0), images[index])
            heat = np.clip(values[index], 0, None)
            np.testing.assert_allclose(image_data(axis, 1), heat)
            top = 1.0 if name == "occlusion" else float(heat.max()) or 1.0
            assert colour_limits(axis, 1) == pytest.approx((0.0, top))
    assert [text.get_text() for text in figure.texts] == list(groups)
    assert len({colour_limits(at[r, 2], 1) for r in range(per_group)}) > 1  # per-image scales differ


def test_saliency_group_titles_are_centred_over_their_groups(saliency_cases):
    images, maps, titles = saliency_cases
    figure = plots.plot_saliency(images, maps, titles, scales={"occlusion": 1.0})
    figure.canvas.draw()
    columns = 1 + len(maps)
    first_row = sorted((axis for axis in figure.axes if cell(axis)[0] == 0), key=lambda a: cell(a)[1])
    for group, text in enumerate(figure.texts):
        left = first_row[group * columns].get_position().x0
        right = first_row[(group + 1) * columns - 1].get_position().x1
        assert text.get_position()[0] == pytest.approx((left + right) / 2, abs=0.01)


# ----- plot_embedding -------------------------------------------------------------------------------------
def test_embedding_one_scatter_per_class_and_the_mistakes_apart(real_digits, labels, trained):
    features = probes.layer_outputs(trained, real_digits, "dense_relu")["dense_relu"]
    points, _ = pca_2d(features)
    mistakes = probes.probabilities(trained, real_digits).argmax(axis=1) != labels
    assert 0 < mistakes.sum() < len(labels) and set(labels) == set(range(10))

    figure = plots.plot_embedding(points, labels, CLASS_NAMES, mistakes, title="dense features")
    (axis,) = figure.axes
    *classes, errors = axis.collections
    assert len(classes) == 10
    for k, scatter in enumerate(classes):
        assert scatter.get_label() == CLASS_NAMES[k]
        np.testing.assert_allclose(scatter.get_offsets(), points[labels == k])
    assert len({tuple(scatter.get_facecolor()[0]) for scatter in classes}) == 10
    np.testing.assert_allclose(errors.get_offsets(), points[mistakes])
    assert errors.get_label() == f"misclassified ({int(mistakes.sum())})"
    legend = [text.get_text() for text in axis.get_legend().get_texts()]
    assert legend == [*CLASS_NAMES, f"misclassified ({int(mistakes.sum())})"]
    names_at = {text.get_text(): text.get_position() for text in axis.texts}
    for k, name in enumerate(CLASS_NAMES):  # each class's name at the centre of its points
        assert names_at[name] == pytest.approx(tuple(points[labels == k].mean(axis=0)))
    assert axis.get_title() == "dense features"


# ----- plot_shift_robustness ------------------------------------------------------------------------------
def test_shift_robustness_thick_line_is_the_mean_of_the_directions(real_digits, labels, trained):
    keras.utils.set_random_seed(0)
    dense_net = keras.Sequential([keras.Input(shape=(28, 28, 1)), keras.layers.Flatten(),
                                  keras.layers.Dense(10, activation="softmax")])
    shifts = list(range(0, 5))
    directions = {"left": (-1, 0), "right": (1, 0), "up": (0, -1), "down": (0, 1)}
    curves = {}
    for name, model in (("CNN", trained), ("dense network", dense_net)):
        for direction, (dx, dy) in directions.items():
            curves[name, direction] = [
                float(probes.probabilities(model, probes.shift_images(real_digits, dx * s, dy * s))
                      [np.arange(len(labels)), labels].mean())
                for s in shifts]

    figure = plots.plot_shift_robustness(shifts, curves)
    (axis,) = figure.axes
    thick = [line for line in axis.lines if line.get_linewidth() == 3]
    assert [line.get_label() for line in thick] == ["CNN", "dense network"]
    for line in thick:
        network = line.get_label()
        own = [values for (name, _), values in curves.items() if name == network]
        thin = [other for other in axis.lines
                if other not in thick and to_rgba(other.get_color()) == to_rgba(line.get_color())]
        assert sorted(tuple(other.get_ydata()) for other in thin) == sorted(tuple(values) for values in own)
        assert len({tuple(values) for values in own}) > 1  # the directions differ: the mean means something
        np.testing.assert_allclose(line.get_ydata(), np.mean(own, axis=0))
        np.testing.assert_array_equal(line.get_xdata(), shifts)
    assert len(axis.lines) == len(curves) + 2
    assert to_rgba(thick[0].get_color()) != to_rgba(thick[1].get_color())
    assert list(axis.get_xticks()) == shifts
    assert [text.get_text() for text in axis.get_legend().get_texts()] == ["CNN", "dense network"]


# ----- plot_probabilities_over_training -------------------------------------------------------------------
def test_probabilities_over_training_heatmap_is_the_recorded_probabilities(real_digits, labels, training):
    _, probabilities = training
    assert probabilities.shape == (len(TRAINING_STEPS), WATCHED)
    assert probabilities[-1].mean() > probabilities[0].mean()  # the network learned a little
    digits = real_digits[:WATCHED]
    true_names = [CLASS_NAMES[k] for k in labels[:WATCHED]]

    figure = plots.plot_probabilities_over_training(digits, TRAINING_STEPS, probabilities, true_names)
    drawn = [axis for axis in figure.axes if axis.images]
    (heat_axis,) = [axis for axis in drawn if image_data(axis).shape == probabilities.shape]
    digit_axes = [axis for axis in drawn if image_data(axis).shape == (28, 28)]
    assert len(digit_axes) == WATCHED

    np.testing.assert_allclose(image_data(heat_axis), probabilities)
    assert colour_limits(heat_axis) == (0.0, 1.0)
    assert [t.get_text() for t in heat_axis.get_xticklabels()] == true_names
    steps = [text.get_text() for text in heat_axis.get_yticklabels()]
    assert steps == [f"after {step:,} steps" for step in TRAINING_STEPS]
    written = {text.get_position(): text.get_text() for text in heat_axis.texts}
    assert written == {(c, r): f"{p:.2f}" for (r, c), p in np.ndenumerate(probabilities)}

    # Each digit is drawn above its own column of the heatmap.
    figure.canvas.draw()
    box = heat_axis.get_position()
    cell_width = box.width / WATCHED
    for column, axis in enumerate(sorted(digit_axes, key=lambda a: a.get_position().x0)):
        np.testing.assert_allclose(image_data(axis), digits[column, :, :, 0])
        middle = axis.get_position().x0 + axis.get_position().width / 2
        assert abs(middle - (box.x0 + (column + 0.5) * cell_width)) < cell_width / 4


def test_probabilities_over_training_title_does_not_miscount(real_digits, labels, training):
    _, probabilities = training
    count = 5
    figure = plots.plot_probabilities_over_training(real_digits[:count], TRAINING_STEPS,
                                                    probabilities[:, :count],
                                                    [CLASS_NAMES[k] for k in labels[:count]])
    assert "eight" not in figure.get_suptitle()


# ----- print_summary --------------------------------------------------------------------------------------
def check_plain_summary(model, out: str, err: str) -> None:
    assert err == ""
    assert "\x1b[" not in out and "<" not in out  # no colour codes, no HTML
    lines = out.rstrip("\n").splitlines()
    assert lines[0] == f'Model: "{model.name}"'
    assert lines[-1].startswith(" Non-trainable params: ")  # nothing printed after the table's totals
    for layer in model.layers:
        assert sum(line.startswith(f"│ {layer.name} (") for line in lines) == 1
    assert f" Total params: {model.count_params():,} (" in out
    assert model.count_params() >= 1000  # so that the count above is written with a comma


def test_print_summary_prints_the_plain_table_and_nothing_else(untrained, capsys):
    detect = rich.console._is_jupyter
    assert plots.print_summary(untrained) is None
    out, err = capsys.readouterr()
    check_plain_summary(untrained, out, err)
    assert rich.console._is_jupyter is detect  # rich's Jupyter detection is put back


def test_print_summary_is_plain_text_even_where_rich_detects_jupyter(untrained, capsys, monkeypatch):
    def in_jupyter():
        return True

    monkeypatch.setattr(rich.console, "_is_jupyter", in_jupyter)
    plots.print_summary(untrained)
    out, err = capsys.readouterr()
    check_plain_summary(untrained, out, err)
    assert rich.console._is_jupyter is in_jupyter


def test_print_summary_keeps_the_param_column_without_a_terminal(untrained, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # what rich falls back to when no terminal answers
    plots.print_summary(untrained)
    out, _ = capsys.readouterr()
    assert "Param #" in out
    for layer in untrained.layers:
        (row,) = [line for line in out.splitlines() if line.startswith(f"│ {layer.name} (")]
        assert row.rstrip().rstrip("│").split("│")[-1].strip() == f"{layer.count_params():,}"


# ----- readable in JupyterLab ---------------------------------------------------------------------------
LAB_WIDTH_PX = 930  # Lab's output area in a 1,400 px window is ~950 px; a wider image is shrunk, text and all
SMALLEST_PT = 12.6  # the notebook's body text, 14 px, at the series' 80 dpi (1 pt = 80/72 px)
PLOTTING_HELPERS = sorted(
    name for name, value in vars(plots).items()
    if callable(value) and getattr(value, "__module__", None) == plots.__name__
    and not name.startswith("_") and name not in ("use_style", "print_summary", "log_ticks")
)  # log_ticks formats an axis, not a figure: its own test is at the end
FASHION_NAMES = list(mnist_cnn.datasets.FASHION_MNIST.class_names)


def every_figure(mnist, real_digits, labels, trained, training, saliency_cases):
    """(helper, case, figure) for every public plotting helper of `plots`, at the sizes the
    notebooks draw (32 and 64 filters, 30 gallery images, 11 snapshots...) and with the longest
    texts they pass (Fashion-MNIST's class names, an experiment's changes)."""
    rng = np.random.default_rng(0)
    full = default_cnn(seed=1, filters=(32, 64), units=128)  # notebook 02's network, untrained
    digit = real_digits[0, :, :, 0]
    names = ["block1_relu", "block2_relu", "dense_relu", "class_probabilities"]
    journey = probes.layer_outputs(full, real_digits[:1], names)
    probabilities = probes.probabilities(trained, real_digits)
    predicted = probabilities.argmax(axis=1)

    for class_names in (CLASS_NAMES, FASHION_NAMES):
        yield "show_images", "01's first 30", plots.show_images(
            real_digits[:30], titles=[class_names[k] for k in labels[:30]],
            suptitle="The first 30 training images and their labels")
        yield "show_images", "05's gallery", plots.show_images(
            real_digits[:30], titles=[f"{class_names[t]}→{class_names[p]}\n({0.99:.0%})"
                                      for t, p in zip(labels[:30], predicted[:30], strict=True)],
            ncols=10, size=1.25, title_colors=["crimson"] * 30,
            suptitle="The 30 most confident of 77 mistakes")
        yield "plot_class_balance", class_names[0], plots.plot_class_balance(
            mnist.y_train, mnist.y_test, class_names)
        errors = rng.integers(0, 30, (10, 10)) * (1 - np.eye(10, dtype=int))
        confusion = np.diag(rng.integers(850, 1150, 10)) + errors
        yield "plot_confusion_matrix", class_names[0], plots.plot_confusion_matrix(
            confusion, class_names, title="Fashion-MNIST test set: true vs predicted")
        points = rng.normal(size=(len(labels), 2))
        yield "plot_embedding", class_names[0], plots.plot_embedding(
            points, labels, class_names, predicted != labels,
            title="Dense-layer features of 2,000 test digits, PCA (48% of the variance)")
    history = {key: list(np.linspace(0.9, 0.99, 5))
               for key in ("loss", "accuracy", "val_loss", "val_accuracy")}
    yield "plot_learning_curves", "5 epochs", plots.plot_learning_curves(history)
    yield "plot_confidence", "", plots.plot_confidence(rng.uniform(0.2, 1, 1000),
                                                       rng.uniform(size=1000) < 0.99)
    ranges = {"val_loss": (0.02, 0.08), "val_accuracy": (0.97, 0.99)}
    reference = type("Reference", (), {"seeds": [42, 43, 44], "history_per_seed": {
        metric: rng.uniform(*bounds, (3, 5)) for metric, bounds in ranges.items()}})()
    runs = [{"run_id": f"r{k}", "seed": 42 + k % 3,
             "changes": ["LEARNING_RATE=0.01", "BATCH_SIZE=256", "AUGMENT=True"][: k % 4],
             "history": {metric: list(rng.uniform(*bounds, 5)) for metric, bounds in ranges.items()}}
            for k in range(10)]
    yield "plot_runs", "8 runs", plots.plot_runs(runs, reference, current_run_id="r9")
    kernel = trained.get_layer("block1_conv").get_weights()[0][:, :, 0, 0]
    yield "plot_convolution_step", "3×3", plots.plot_convolution_step(digit, kernel, 8, 14)
    yield "plot_convolution_step", "5×5", plots.plot_convolution_step(digit, rng.normal(size=(5, 5)), 8, 14)
    hand_made = [digit if k % 4 == 0 else rng.normal(size=(28, 28)) for k in range(12)]
    yield "plot_feature_maps", "02's hand-made filters", plots.plot_feature_maps(
        hand_made, ["1", "vertical edges", "horizontal edges", "blur"] * 3, ncols=4,
        signed=[False, True, True, False] * 3, suptitle="Hand-made filters on three MNIST images")
    stages = probes.layer_outputs(full, real_digits[:1],
                                  ["block1_conv", "block1_norm", "block1_relu", "block1_pool"])
    yield "plot_feature_maps", "02's block 1", plots.plot_feature_maps(
        [stages[name][0, :, :, 0] for name in stages], [f"{name}\n28×28" for name in stages],
        signed=[True, True, False, False],
        suptitle="Filter 0 through block 1: convolution, normalization, ReLU, pooling")
    yield "plot_feature_maps", "08's 4 rows of 8", plots.plot_feature_maps(
        [np.abs(rng.normal(size=(14, 14))) for _ in range(32)], [f"channel {c + 30}" for c in range(32)],
        ncols=8, signed=False, size=1.6, row_labels=["untrained\nblock1_relu", "trained\nblock1_relu",
                                                     "untrained\nblock2_relu", "trained\nblock2_relu"],
        suptitle="Feature maps of a test digit (7), after ReLU")
    yield "plot_filters", "03's 5 snapshots", plots.plot_filters(
        rng.normal(size=(5, 32, 3, 3)), [f"step {step:,}" for step in (0, 20, 100, 844, 4220)],
        suptitle="The 32 filters of block1_conv during training")
    yield "plot_filters", "08's before and after", plots.plot_filters(
        rng.normal(size=(2, 32, 3, 3)), ["initialised (02)", "learned (03)"],
        suptitle="The 32 filters of block1_conv")
    yield "plot_receptive_fields", "", plots.plot_receptive_fields(digit, [
        ("block1_conv: 3×3", 13, 15, 13, 15), ("block1_pool: 4×4", 12, 15, 12, 15),
        ("block2_conv: 8×8", 10, 17, 10, 17), ("block2_pool: 10×10", 9, 18, 9, 18),
        ("dense: 28×28", 0, 27, 0, 27)])
    yield "plot_architecture", "02's network", plots.plot_architecture(full)
    yield "plot_journey", "08's network", plots.plot_journey(digit, journey, CLASS_NAMES)
    images, maps, titles = saliency_cases
    yield "plot_saliency", "", plots.plot_saliency(images, maps, titles, scales={"occlusion": 1.0})
    yield "plot_saliency", "Fashion-MNIST", plots.plot_saliency(
        images, maps, [f"{FASHION_NAMES[k]} → {FASHION_NAMES[9 - k]} (97%)" for k in range(len(images))])
    curves = {(network, direction): list(rng.uniform(0, 1, 5)) for network in ("CNN", "dense network")
              for direction in ("left", "right", "up", "down")}
    yield "plot_shift_robustness", "", plots.plot_shift_robustness(list(range(5)), curves)
    steps = [0, 5, 20, 50, 100, 200, 844, 1688, 2532, 3376, 4220]
    yield "plot_probabilities_over_training", "03's 11 snapshots", plots.plot_probabilities_over_training(
        real_digits[:8], steps, rng.uniform(size=(len(steps), 8)), [FASHION_NAMES[k] for k in labels[:8]])
    from PIL import Image

    from mnist_cnn.from_notebooks import prepare_digit_image

    photo = prepare_digit_image(Image.fromarray((255 - 255 * digit).astype(np.uint8)))
    block1 = journey["block1_relu"][0]
    for maps_shown in (block1, None):
        yield "plot_reading", "with maps" if maps_shown is not None else "", plots.plot_reading(
            photo, probabilities[0], maps_shown, CLASS_NAMES,
            "What the network reads in the sample image (draw on the canvas to replace it)")
    yield "plot_probabilities_of", "", plots.plot_probabilities_of(
        digit, probabilities[0], FASHION_NAMES,
        "test digit 3 (a Ankle boot): degrees -45, dx -6, dy 4, thickness -1, erase_top 12")
    changes = {"rotation (degrees)": range(-90, 91, 15), "horizontal shift (pixels)": range(-6, 7, 2),
               "thickness (pixels, negative thins)": range(-1, 4), "top rows erased": range(0, 17, 4)}
    sweeps = {name: (list(values), list(rng.uniform(size=len(values))), list(rng.uniform(size=len(values))))
              for name, values in changes.items()}
    yield "plot_robustness_sweeps", "", plots.plot_robustness_sweeps(sweeps)


def test_every_figure_fits_lab_and_its_text_is_as_large_as_the_notebooks(
        mnist, real_digits, labels, trained, training, saliency_cases):
    problems, drawn = [], set()
    saved = os.environ.get("MNIST_CNN_FIGURES_DIR")  # set it to look at the figures
    with matplotlib.rc_context():
        plots.use_style()
        for number, (helper, case, figure) in enumerate(every_figure(
                mnist, real_digits, labels, trained, training, saliency_cases)):
            drawn.add(helper)
            figure.canvas.draw()  # lays out the constrained figures
            where = f"{helper} ({case})" if case else helper
            width = figure.get_tightbbox(figure.canvas.get_renderer()).width * 80
            if width > LAB_WIDTH_PX:
                problems.append(f"{where}: {width:.0f} px wide at 80 dpi")
            small = sorted({f"{text.get_text()!r} at {text.get_fontsize():g} pt"
                            for text in figure.findobj(matplotlib.text.Text)
                            if text.get_visible() and text.get_text().strip()
                            and text.get_fontsize() < SMALLEST_PT})
            if small:
                problems.append(f"{where}: {', '.join(small[:5])}")
            if saved:
                figure.savefig(f"{saved}/{number:02d}_{helper}.png", dpi=80)
            plt.close(figure)
    assert drawn == set(PLOTTING_HELPERS)  # a new helper gets a case above
    assert not problems, "\n".join(problems)


NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
WIDEST_FIGSIZE = 11.6  # inches: 930 px at 80 dpi
NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
# A literal size only: `fontsize=12` or `"fontsize": 12`, `figsize=(14, ...)`; computed ones are left
# to the figure test above.
FONT_SIZE = re.compile(r"""(?:\bfontsize\s*=|["']fontsize["']\s*:)\s*""" + NUMBER + r"\s*(?=[,)}\n]|$)")
FIGURE_WIDTH = re.compile(r"\bfigsize\s*=\s*[(\[]\s*" + NUMBER + r"\s*,")


def test_the_notebooks_draw_no_small_text_and_no_wide_figure():
    import nbformat

    books = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    assert len(books) >= 8
    problems = []
    for path in books:
        for index, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "code":
                continue
            where = f"{path.name}, cell {index} (id {cell.get('id')})"
            problems += [f"{where}: {match.group(0).strip()} (text below 13 pt)"
                         for match in FONT_SIZE.finditer(cell.source) if float(match.group(1)) < 13]
            problems += [f"{where}: {match.group(0)} (wider than {WIDEST_FIGSIZE} in)"
                         for match in FIGURE_WIDTH.finditer(cell.source)
                         if float(match.group(1)) > WIDEST_FIGSIZE]
    assert not problems, "\n".join(problems)


def test_the_notebook_scan_finds_what_it_looks_for():
    found = [float(m.group(1)) for m in FONT_SIZE.finditer(
        'ax.set_title(t, fontsize=8)\nax.text(0, 1, s, fontsize = 12.5, va="top")\n'
        'sns.heatmap(m, annot_kws={"fontsize": 9})\nax.text(0, 1, s, fontsize=base * 2)')]
    assert found == [8.0, 12.5, 9.0]
    widths = [float(m.group(1)) for m in FIGURE_WIDTH.finditer(
        "plt.subplots(1, 2, figsize=(12, 3))\nplt.figure(figsize=(ncols * 2, 3))\n"
        "plt.figure(figsize=[16.5, 4])")]
    assert widths == [12.0, 16.5]


# ----- log_ticks: the log axes of notebook 07's trial plots -----------------------------------------
def tick_labels(axis) -> dict[float, str]:
    """The labelled major ticks inside the axis's view, as drawn: {value: label}."""
    low, high = sorted(axis.get_view_interval())
    return {tick.get_loc(): tick.label1.get_text() for tick in axis.get_major_ticks()
            if low <= tick.get_loc() <= high and tick.label1.get_text()}


def test_log_ticks_label_1_2_5_per_decade_or_more_within_one_decade():
    figure, (wide, narrow) = plt.subplots(1, 2)
    errors = np.array([0.004, 0.01, 0.03, 0.8])  # validation errors over more than two decades
    parameters = np.array([90_000, 120_000, 250_000, 600_000])  # less than a decade apart
    wide.scatter(errors, errors)
    narrow.scatter(parameters, parameters)
    for axis in (wide, narrow):
        axis.set(xscale="log", yscale="log")
    plots.log_ticks(wide.yaxis, errors, "percent")
    plots.log_ticks(narrow.xaxis, parameters, "thousands")
    figure.canvas.draw()

    percent = tick_labels(wide.yaxis)
    assert {0.01: "1%", 0.02: "2%", 0.05: "5%", 0.1: "10%"}.items() <= percent.items()
    assert not {value for value in percent if str(value).startswith(("0.03", "0.3"))}  # 1, 2, 5 only
    thousands = tick_labels(narrow.xaxis)
    assert {100_000: "100k", 200_000: "200k", 300_000: "300k", 500_000: "500k"}.items() <= thousands.items()
    assert not any(tick.label1.get_text() for tick in narrow.xaxis.get_minor_ticks())  # unlabelled
    with pytest.raises(ValueError, match="labels must be one of plain, percent, thousands"):
        plots.log_ticks(wide.xaxis, labels="seconds")
    plt.close(figure)
