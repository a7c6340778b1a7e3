"""Draw notebooks/images/handwritten_digit.png, the sample "photo" of a handwritten 7.

Notebook 06 shows how to prepare a reader's own picture of a digit; this script makes a stand-in
for such a picture, so the notebook runs without one: a slanted 7 with a small crossbar in
blue-grey ink on off-white paper, with soft uneven lighting and some paper grain.
The noise is seeded, so running the script again gives the same file:

    .venv/bin/python tools/make_sample_digit.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUTPUT = Path(__file__).resolve().parents[1] / "notebooks" / "images" / "handwritten_digit.png"
WIDTH, HEIGHT = 240, 300
PAPER = (235, 232, 225)  # off-white
INK = (40, 40, 60)  # dark blue-grey ballpoint


def draw_seven() -> Image.Image:
    """The clean drawing: a stroke along the top, a slanted stem and a short crossbar."""
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    pen = ImageDraw.Draw(image)
    # The top bar rises slightly to the right, then the stem bends down and to the left.
    stroke = [
        (62, 82),
        (110, 78),
        (152, 72),
        (176, 70),
        (166, 110),
        (146, 162),
        (126, 214),
        (112, 250),
    ]
    pen.line(stroke, fill=INK, width=18, joint="curve")
    pen.line([(106, 168), (136, 166), (188, 160)], fill=INK, width=16, joint="curve")  # crossbar
    for x, y in (stroke[0], stroke[-1], (106, 168), (188, 160)):  # round pen tips
        pen.ellipse((x - 8, y - 8, x + 8, y + 8), fill=INK)
    return image.filter(ImageFilter.GaussianBlur(1.2))  # ink bleeds a little into paper


def photograph(image: Image.Image, seed: int = 7) -> Image.Image:
    """The drawing as a phone camera might see it: lighting falls off towards one corner."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:HEIGHT, 0:WIDTH]
    light = 1.02 - 0.10 * (rows / HEIGHT + cols / WIDTH) / 2  # brighter at the top left
    pixels = np.asarray(image, dtype=np.float64) * light[..., None]
    # Paper grain: noise drawn at a third of the resolution and enlarged smoothly (blotchy, like
    # real paper and camera noise, and it keeps the PNG small, under 60 KB).
    grain = rng.normal(0, 3.0, size=(HEIGHT // 3, WIDTH // 3)).astype(np.float32)
    grain = Image.fromarray(grain).resize((WIDTH, HEIGHT), Image.Resampling.BILINEAR)
    pixels += np.asarray(grain)[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).round().astype(np.uint8))


if __name__ == "__main__":
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    photograph(draw_seven()).save(OUTPUT, optimize=True)
    print(f"wrote {OUTPUT.name} ({OUTPUT.stat().st_size // 1024} KB)")
