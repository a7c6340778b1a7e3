"""Reading a picture of a digit, and moving a digit about, for the notebooks' widgets.

The MNIST-style preparation of a reader's own picture (invert, crop, fit in a 20x20 box,
centre by mass) is taught, and defined, in notebook 06 (`prepare_digit_image`, saved in
`mnist_cnn.from_notebooks`). What stays here is plumbing it uses and a widget helper:

- `load_grayscale(source)`: any image file (or open PIL image), in any size and colour mode,
  as uint8 grays (0 black, 255 white; transparent areas white), with a clear error that names
  the file (never its full path) for a file that is missing, not an image, or in a colour mode
  that cannot be made gray;
- `transform_digit(image, ...)`: a 28x28 digit turned, moved, thickened or partly erased
  (notebook 05's explorer).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError

SIZE = 28  # MNIST images are 28x28 pixels


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
