"""Data augmentation for small grey-scale digits: one random affine warp per image.

Keras ships `RandomRotation`, `RandomTranslation` and `RandomZoom` as three layers. Chained,
each one resamples the image with bilinear interpolation, so a training digit is blurred three
times while the test digits stay sharp. `RandomAffine` draws a rotation, a zoom and a shift per
image, composes them into one affine matrix and resamples once: one interpolation instead of
three, so less blur and less arithmetic. That is a design choice, not a measured win: the two
were compared on one seed only (notebook 07's exercise 4), and their difference is inside the
noise (docs/performance.md, "How much a number moves").

`FixedAffine` applies one given warp to every image, in training and at inference: notebook
07 uses a few of them for test-time augmentation (the network sees each test digit as is and
slightly rotated, shifted and zoomed, and its probabilities are averaged).

The layers live in the package, registered with Keras, so a saved model that contains them
loads anywhere `mnist_cnn` is importable (`HandoffFiles.load_model` imports this module first).
At inference (`training=False`) `RandomAffine` returns its input unchanged.
"""

from __future__ import annotations

import math

import keras
from keras import ops


def affine_matrices(angle, scale, shift_x, shift_y, height: int, width: int):
    """The 8-number transforms of `keras.ops.image.affine_transform`, one row per image.

    Each output pixel (x, y) reads the input at the point that the warp (rotation by `angle`
    radians and zoom by `scale` about the image centre, then a shift of `shift_x`, `shift_y`
    pixels) maps onto (x, y); all arguments are 1-D tensors of the same length.
    """
    centre_x, centre_y = (width - 1) / 2, (height - 1) / 2
    cos, sin = ops.cos(angle) / scale, ops.sin(angle) / scale
    offset_x = centre_x - cos * (centre_x + shift_x) + sin * (centre_y + shift_y)
    offset_y = centre_y - sin * (centre_x + shift_x) - cos * (centre_y + shift_y)
    zeros = ops.zeros_like(cos)
    return ops.stack([cos, -sin, offset_x, sin, cos, offset_y, zeros, zeros], axis=1)


def affine_warp(images, angle, scale, shift_x, shift_y):
    """`images` (batch, height, width, channels) warped by `affine_matrices`, resampled once
    (bilinear); points from outside the image are 0."""
    height, width = images.shape[1], images.shape[2]
    transform = affine_matrices(angle, scale, shift_x, shift_y, height, width)
    return ops.image.affine_transform(images, transform, interpolation="bilinear",
                                      fill_mode="constant", fill_value=0,
                                      data_format="channels_last")


@keras.saving.register_keras_serializable(package="mnist_cnn")
class RandomAffine(keras.layers.Layer):
    """Randomly rotate (up to +-`degrees`), zoom (by up to +-`zoom`, a fraction) and shift (by
    up to +-`shift` of the height and width) each training image, with a single resampling.
    Pixels that come from outside the image are 0 (background)."""

    def __init__(self, degrees: float = 10.0, shift: float = 0.1, zoom: float = 0.1,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        if degrees < 0 or not 0 <= shift < 1 or not 0 <= zoom < 1:
            raise ValueError(
                f"RandomAffine needs degrees >= 0 and shift, zoom in [0, 1); got degrees={degrees}, "
                f"shift={shift}, zoom={zoom}."
            )
        self.degrees, self.shift, self.zoom, self.seed = degrees, shift, zoom, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=None):
        if not training:
            return images
        count = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]

        def uniform(limit):
            return keras.random.uniform((count,), -limit, limit, seed=self.seed_generator)

        angle = uniform(self.degrees * math.pi / 180)
        scale = 1 + uniform(self.zoom)
        shift_x, shift_y = uniform(self.shift) * width, uniform(self.shift) * height
        return affine_warp(images, angle, scale, shift_x, shift_y)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "degrees": self.degrees, "shift": self.shift,
                "zoom": self.zoom, "seed": self.seed}


@keras.saving.register_keras_serializable(package="mnist_cnn")
class FixedAffine(keras.layers.Layer):
    """Warp every image the same way, in training and at inference: rotate by `degrees`
    (positive turns the digit counter-clockwise as `plt.imshow` draws it), zoom by the factor
    `scale` about the centre (1.1 draws the digit 10% larger), then shift by `shift_x` pixels
    to the right and `shift_y` pixels down. One bilinear resampling; pixels from outside are 0."""

    def __init__(self, degrees: float = 0.0, scale: float = 1.0, shift_x: float = 0.0,
                 shift_y: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        if not -90 <= degrees <= 90 or not 0.5 <= scale <= 2 or max(abs(shift_x), abs(shift_y)) > 14:
            raise ValueError(
                "FixedAffine is for small warps that keep the digit in the frame: it needs "
                "-90 <= degrees <= 90, 0.5 <= scale <= 2 and shifts of at most 14 pixels; got "
                f"degrees={degrees}, scale={scale}, shift_x={shift_x}, shift_y={shift_y}."
            )
        self.degrees, self.scale, self.shift_x, self.shift_y = degrees, scale, shift_x, shift_y

    def call(self, images):
        def per_image(value):
            return ops.full((ops.shape(images)[0],), value, dtype=images.dtype)

        return affine_warp(images, per_image(self.degrees * math.pi / 180), per_image(self.scale),
                           per_image(self.shift_x), per_image(self.shift_y))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "degrees": self.degrees, "scale": self.scale,
                "shift_x": self.shift_x, "shift_y": self.shift_y}
