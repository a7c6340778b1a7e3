"""Turning a reader's own picture of a digit into an MNIST-style 28x28 image.

MNIST digits were prepared in a fixed way: white ink on a black background, the digit scaled
so that its longer side fills a 20x20 box (aspect ratio kept, edges anti-aliased), then placed
in a 28x28 field so that its centre of mass sits at the centre. A model trained on MNIST expects
exactly that, so `prepare_digit_image` repeats those steps on any image file:

1. load it as grayscale (transparent pixels count as white paper);
2. invert it if the background is light, so the digit is light on dark;
3. remove the paper's grey level and grain, and crop tightly around the digit;
4. scale the crop so its longer side is 20 pixels;
5. place it in a black 28x28 canvas with its centre of mass at pixel (14, 14);
6. scale the values to 0..1, as the notebooks do with the MNIST images.

Centre convention: rows and columns are numbered from 0, and the centre of mass is put at
(row 14, column 14), rounded to a whole pixel, so it ends up between 13.5 and 14.5. Real MNIST
digits follow the same convention (their centres of mass lie between 13.5 and 14.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

SIZE = 28  # MNIST images are 28x28 pixels
BOX = 20  # the digit's longer side fills a 20x20 box
CENTRE = 14.0  # where the centre of mass goes, in 0-indexed pixel coordinates (row, column)
MIN_CONTRAST = 40  # ink fainter than this (0..255) above the paper means "no digit"
GRAIN_SIGMAS = 4.0  # paper this many standard deviations darker than usual is still paper
CROP_THRESHOLD = 25  # the crop box holds the pixels with ink above 25 of 255 (10 %)


@dataclass(frozen=True)
class PreparedDigit:
    """Every stage of the preparation, so a notebook can show them side by side."""

    original: np.ndarray  # uint8 grayscale image as loaded (0 = black, 255 = white)
    inverted: bool  # True if the colours were flipped (the image had a light background)
    cropped: np.ndarray  # uint8, light digit on black, cropped tightly around the digit
    fitted: np.ndarray  # float32 0..255, the crop scaled so its longer side is 20 pixels
    image: np.ndarray  # float32 28x28, values 0..1, white digit on black, centred like MNIST

    @property
    def batch(self) -> np.ndarray:
        """The final image shaped (1, 28, 28, 1): a batch of one, ready for `model.predict`."""
        return self.image.reshape(1, SIZE, SIZE, 1)


def prepare_digit_image(source: str | Path | Image.Image) -> PreparedDigit:
    """Prepare an image file (or an open PIL image) of one digit the way MNIST digits were."""
    name, gray = _load_grayscale(source)

    # MNIST digits are light on a dark background: flip the image if its border is light.
    inverted = bool(np.median(_border(gray)) > 127)
    ink = (255 - gray if inverted else gray).astype(np.float32)

    # Remove the paper: its grey level plus a margin for its grain (4 robust standard
    # deviations of the border pixels; zero for a clean drawing), then stretch the ink to 0..255.
    edges = _border(ink)
    paper = float(np.median(edges))
    grain = 1.4826 * float(np.median(np.abs(edges - paper)))
    low, strongest = paper + GRAIN_SIGMAS * grain, float(ink.max())
    if strongest - low < MIN_CONTRAST:
        raise ImageError(
            f"No digit found in {name}: the image is blank or almost uniform. Draw a dark digit "
            f"on a light background or a light digit on a dark one."
        )
    ink = np.clip((ink - low) / (strongest - low), 0.0, 1.0) * 255

    # Crop to the box around the clear ink, so faint specks and JPEG ripples do not widen it.
    clear = ink > CROP_THRESHOLD
    rows, cols = np.flatnonzero(clear.any(axis=1)), np.flatnonzero(clear.any(axis=0))
    cropped = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].round().astype(np.uint8)

    fitted = _fit_in_box(cropped)
    image = _centre_by_mass(fitted) / 255
    return PreparedDigit(gray, inverted, cropped, fitted, np.clip(image, 0, 1).astype(np.float32))


def _load_grayscale(source: str | Path | Image.Image) -> tuple[str, np.ndarray]:
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


def _border(array: np.ndarray) -> np.ndarray:
    """The pixels along the four edges of a 2-D array."""
    return np.concatenate([array[0], array[-1], array[1:-1, 0], array[1:-1, -1]])


def _fit_in_box(cropped: np.ndarray) -> np.ndarray:
    """The crop resized (anti-aliased) so its longer side is 20 pixels, brightest pixel 255."""
    height, width = cropped.shape
    scale = BOX / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))  # PIL wants (w, h)
    resized = Image.fromarray(cropped.astype(np.float32)).resize(size, Image.Resampling.LANCZOS)
    fitted = np.clip(np.asarray(resized), 0, 255)  # Lanczos can overshoot a little
    return (fitted * (255 / fitted.max())).astype(np.float32)


def _centre_by_mass(fitted: np.ndarray) -> np.ndarray:
    """A black 28x28 canvas with `fitted` placed so its centre of mass is at (14, 14).

    Equivalent to pasting the digit in the middle and then shifting it by the rounded offset of
    its centre of mass; anything shifted past an edge is dropped, never wrapped around.
    """
    rows, cols = np.indices(fitted.shape)
    total = fitted.sum()
    top = round(CENTRE - (rows * fitted).sum() / total)
    left = round(CENTRE - (cols * fitted).sum() / total)
    canvas = Image.new("F", (SIZE, SIZE), 0.0)
    canvas.paste(Image.fromarray(fitted), (left, top))  # clips at the edges
    return np.asarray(canvas)


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
