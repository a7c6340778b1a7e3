"""Notebook 06's `prepare_digit_image` (saved in `mnist_cnn.from_notebooks`) and the helpers of
`mnist_cnn.images`: any image file of a digit becomes an MNIST-style 28x28 array.

Centre convention (notebook 06's): pixel rows and columns are numbered from 0 and the centre of
mass is moved to (14, 14) by a whole-pixel shift, so it must lie within 0.5 of 14.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from mnist_cnn.errors import ImageError
from mnist_cnn.from_notebooks import PreparedDigit, centre_by_mass, prepare_digit_image

WHITE, BLACK, DARK_INK = 255, 0, 30


def draw_digit(size: tuple[int, int], ink, paper, mode: str = "L") -> Image.Image:
    """A digit-like stroke (a 4 with a long stem) drawn on `paper`, scaled to `size` (w, h)."""
    width, height = size
    image = Image.new(mode, size, paper)
    points = [(0.55, 0.15), (0.2, 0.6), (0.8, 0.6)]  # the open triangle of a 4
    stem = [(0.6, 0.3), (0.6, 0.85)]
    pen = ImageDraw.Draw(image)
    stroke = max(1, round(min(size) * 0.07))
    for line in (points, stem):
        pen.line([(x * width, y * height) for x, y in line], fill=ink, width=stroke)
    return image


def save(image: Image.Image, path: Path, **options) -> Path:
    image.save(path, **options)
    return path


def rgb_dark_on_white(folder: Path) -> Path:
    return save(draw_digit((200, 300), (40, 40, 60), (250, 250, 245), "RGB"), folder / "rgb.png")


def gray_light_on_dark(folder: Path) -> Path:
    return save(draw_digit((200, 300), WHITE, BLACK), folder / "light_on_dark.png")


def rgba_transparent(folder: Path) -> Path:
    # Transparent pixels are (0, 0, 0, 0): read without compositing they would be black, like
    # the ink, and the image would look blank.
    return save(draw_digit((180, 220), (0, 0, 0, 255), (0, 0, 0, 0), "RGBA"), folder / "rgba.png")


def palette(folder: Path) -> Path:
    image = draw_digit((150, 150), (20, 20, 120), (240, 240, 240), "RGB")
    return save(image.convert("P", palette=Image.Palette.ADAPTIVE, colors=8), folder / "p.png")


def gray_16_bit(folder: Path) -> Path:
    # 16-bit values (0..65535): Pillow's convert("L") would clip them all to 255.
    path = save(draw_digit((160, 200), 2_000, 60_000, "I;16"), folder / "16bit.png")
    with Image.open(path) as image:
        assert image.mode.startswith("I")  # still 16-bit when read back
    return path


def bilevel(folder: Path) -> Path:
    return save(draw_digit((120, 160), 0, 1, "1"), folder / "bilevel.png")


def gray_with_alpha(folder: Path) -> Path:
    return save(draw_digit((120, 160), (0, 255), (0, 0), "LA"), folder / "la.png")


def tiny(folder: Path) -> Path:
    return save(draw_digit((10, 12), BLACK, WHITE), folder / "tiny.png")


def jpeg(folder: Path) -> Path:
    image = draw_digit((200, 300), (30, 30, 30), (235, 232, 225), "RGB")
    return save(image, folder / "photo.jpg", quality=80)


MAKERS = [
    rgb_dark_on_white,
    gray_light_on_dark,
    rgba_transparent,
    palette,
    gray_16_bit,
    bilevel,
    gray_with_alpha,
    tiny,
    jpeg,
]
LIGHT_BACKGROUND = {maker.__name__ for maker in MAKERS} - {"gray_light_on_dark"}


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    rows, cols = np.indices(image.shape)
    return (rows * image).sum() / image.sum(), (cols * image).sum() / image.sum()


def border(image: np.ndarray) -> np.ndarray:
    return np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])


@pytest.mark.parametrize("make", MAKERS, ids=lambda maker: maker.__name__)
def test_any_image_becomes_an_mnist_style_digit(tmp_path, make):
    prepared = prepare_digit_image(make(tmp_path))
    image = prepared.image

    assert isinstance(prepared, PreparedDigit)
    assert image.shape == (28, 28) and image.dtype == np.float32
    assert image.min() >= 0.0 and image.max() <= 1.0 and image.max() > 0.9
    assert prepared.batch.shape == (1, 28, 28, 1)
    assert prepared.inverted == (make.__name__ in LIGHT_BACKGROUND)

    # The stages: uint8 grayscale as loaded, uint8 crop, then the crop scaled into the 20x20 box.
    assert prepared.original.dtype == np.uint8 and prepared.original.ndim == 2
    assert prepared.cropped.dtype == np.uint8
    assert prepared.fitted.dtype == np.float32 and max(prepared.fitted.shape) == 20

    # The digit fits the 20x20 box (its longer side 19-20 px: Lanczos may leave an edge at 0).
    rows, cols = np.nonzero(image)
    assert 19 <= max(np.ptp(rows), np.ptp(cols)) + 1 <= 20

    # Centre of mass at (14, 14) to the nearest pixel, and a black background around the digit.
    row, col = centre_of_mass(image)
    assert abs(row - 14) <= 0.5 + 1e-6 and abs(col - 14) <= 0.5 + 1e-6
    assert border(image).max() == 0 and (image == 0).mean() > 0.5


def test_dark_on_light_and_light_on_dark_give_the_same_digit():
    dark_on_light = prepare_digit_image(draw_digit((200, 300), DARK_INK, 230))
    light_on_dark = prepare_digit_image(draw_digit((200, 300), 255 - DARK_INK, 255 - 230))

    assert dark_on_light.inverted and not light_on_dark.inverted
    np.testing.assert_allclose(dark_on_light.image, light_on_dark.image, atol=1e-5)


def test_a_path_and_an_open_image_give_the_same_result(tmp_path):
    path = rgb_dark_on_white(tmp_path)
    from_path = prepare_digit_image(path)
    from_str = prepare_digit_image(str(path))
    with Image.open(path) as image:
        from_image = prepare_digit_image(image)

    np.testing.assert_array_equal(from_path.image, from_str.image)
    np.testing.assert_array_equal(from_path.image, from_image.image)


def test_a_photo_stored_rotated_with_an_exif_tag_is_turned_upright(tmp_path):
    upright = draw_digit((200, 300), BLACK, WHITE)
    exif = Image.Exif()
    exif[0x0112] = 3  # Orientation: "rotate 180 degrees to display"
    path = save(upright.rotate(180), tmp_path / "rotated.png", exif=exif)

    np.testing.assert_allclose(
        prepare_digit_image(path).image, prepare_digit_image(upright).image, atol=1e-5
    )


def test_an_mnist_like_image_comes_back_almost_unchanged():
    # A light 3-px stroke on black, 20 px tall, with its centre of mass at (14, 14) to the
    # nearest pixel: an image already prepared the MNIST way.
    digit = Image.new("L", (20, 20), BLACK)
    pen = ImageDraw.Draw(digit)
    pen.line([(11, 1), (3, 13), (17, 13)], fill=WHITE, width=3)
    pen.line([(13, 5), (13, 19)], fill=WHITE, width=3)
    row, col = centre_of_mass(np.asarray(digit, dtype=np.float64))
    canvas = Image.new("L", (28, 28), BLACK)
    canvas.paste(digit, (round(14 - col), round(14 - row)))
    mnist_like = np.asarray(canvas, dtype=np.float32) / 255
    row, col = centre_of_mass(mnist_like)
    assert np.ptp(np.nonzero(mnist_like)[0]) + 1 == 20 and abs(row - 14) <= 0.5 >= abs(col - 14)

    again = prepare_digit_image(canvas).image

    assert np.corrcoef(again.ravel(), mnist_like.ravel())[0, 1] > 0.99


def test_centring_drops_pixels_pushed_past_the_edge_instead_of_wrapping_them():
    fitted = np.zeros((20, 20), dtype=np.float32)
    fitted[0, 0] = 255  # nearly all the mass in the top-left corner...
    fitted[19, 19] = 1  # ...so this pixel is pushed past the bottom-right edge

    canvas = centre_by_mass(fitted)

    assert canvas[14, 14] == 255 and canvas.sum() == 255  # np.roll would put it at (5, 5)


def test_a_text_file_named_png_is_refused_with_its_name_only(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("not a picture of a digit\n")

    with pytest.raises(ImageError, match="notes.png is not an image file") as error:
        prepare_digit_image(path)
    assert str(tmp_path) not in str(error.value)
    assert "PNG, JPEG" in str(error.value)


def test_a_missing_file_is_refused_with_its_name_only(tmp_path):
    with pytest.raises(ImageError, match="my_digit.png does not exist") as error:
        prepare_digit_image(tmp_path / "my_digit.png")
    assert str(tmp_path) not in str(error.value)


@pytest.mark.parametrize("colour", [WHITE, 128, BLACK], ids=["white", "grey", "black"])
def test_a_blank_image_is_refused(tmp_path, colour):
    path = save(Image.new("RGB", (100, 120), (colour,) * 3), tmp_path / "blank.png")

    with pytest.raises(ImageError, match="No digit found in blank.png") as error:
        prepare_digit_image(path)
    assert "dark digit on a light background" in str(error.value)
    assert str(tmp_path) not in str(error.value)


def test_noise_alone_is_not_a_digit():
    noise = np.random.default_rng(0).normal(230, 4, size=(120, 100)).clip(0, 255)

    with pytest.raises(ImageError, match="No digit found"):
        prepare_digit_image(Image.fromarray(noise.astype(np.uint8)))


def test_a_colour_mode_without_grays_is_refused_with_a_clear_message():
    with pytest.raises(ImageError, match="LAB colour mode, which cannot be made grayscale"):
        prepare_digit_image(Image.new("LAB", (60, 80)))


def test_the_steps_of_notebook_06_give_what_prepare_digit_image_gives(tmp_path):
    from mnist_cnn.from_notebooks import as_ink, centre_by_mass, crop_to_ink, fit_in_box, remove_paper
    from mnist_cnn.images import load_grayscale

    name, gray = load_grayscale(jpeg(tmp_path))
    ink, inverted = as_ink(gray)
    fitted = fit_in_box(crop_to_ink(remove_paper(ink, name)))
    by_steps = np.clip(centre_by_mass(fitted) / 255, 0, 1)

    assert name == "photo.jpg" and inverted
    np.testing.assert_array_equal(by_steps, prepare_digit_image(tmp_path / "photo.jpg").image)


# ----- transform_digit: what the explorer of notebook 05 does to a digit ---------------------------
def test_transform_with_no_change_returns_the_digit(real_digits):
    from mnist_cnn.images import transform_digit

    digit = real_digits[0, :, :, 0]
    np.testing.assert_array_equal(transform_digit(digit), digit)


def test_transform_moves_the_ink_without_wrapping(real_digits):
    from mnist_cnn.images import transform_digit

    digit = real_digits[0, :, :, 0]
    moved = transform_digit(digit, dx=2, dy=-1)
    assert moved.sum() == pytest.approx(digit.sum())  # all the ink is still there
    before, after = centre_of_mass(digit), centre_of_mass(moved)
    assert after[0] == pytest.approx(before[0] - 1, abs=1e-4)
    assert after[1] == pytest.approx(before[1] + 2, abs=1e-4)
    far = transform_digit(digit, dx=27)
    assert far[:, :27].sum() == 0  # pushed out to the right, not wrapped to the left


def test_transform_rotates_about_the_centre(real_digits):
    from mnist_cnn.images import transform_digit

    digit = real_digits[0, :, :, 0]  # a 7: its top bar is horizontal
    quarter = transform_digit(digit, degrees=90)
    # A quarter turn counter-clockwise about the centre (13.5, 13.5): ink above the centre
    # goes to its left, ink right of it goes above it.
    (row, col), (new_row, new_col) = (np.subtract(centre_of_mass(image), 13.5)
                                      for image in (digit, quarter))
    assert new_col == pytest.approx(row, abs=0.3) and new_row == pytest.approx(-col, abs=0.3)
    back = transform_digit(transform_digit(digit, degrees=30), degrees=-30)
    assert np.abs(back - digit).mean() < 0.05  # two bilinear resamplings blur a little


def test_transform_thickens_and_thins_strokes(real_digits):
    from mnist_cnn.images import transform_digit

    digit = real_digits[2, :, :, 0]
    thick, thin = transform_digit(digit, thickness=1), transform_digit(digit, thickness=-1)
    assert (thick >= digit).all() and (thick > 0.5).sum() > (digit > 0.5).sum()
    assert (thin <= digit).all() and (thin > 0.5).sum() < (digit > 0.5).sum()


def test_transform_erases_the_top_rows(real_digits):
    from mnist_cnn.images import transform_digit

    digit = real_digits[0, :, :, 0]
    erased = transform_digit(digit, erase_top=10)
    assert erased[:10].sum() == 0 and np.array_equal(erased[10:], digit[10:])
