"""RandomAffine and FixedAffine: the warps of notebook 07 (training augmentation, test-time views),
as saved in `mnist_cnn.from_notebooks`."""

from __future__ import annotations

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mnist_cnn.from_notebooks import FixedAffine, RandomAffine, affine_warp  # noqa: E402
from mnist_cnn.handoff import load_keras_model  # noqa: E402


def one_bright_pixel(row=10, column=12, size=28):
    image = np.zeros((1, size, size, 1), dtype="float32")
    image[0, row, column, 0] = 1.0
    return image


def warp(images, angle=0.0, scale=1.0, shift_x=0.0, shift_y=0.0):
    def one(value):
        return np.array([value], "float32")

    return keras.ops.convert_to_numpy(
        affine_warp(images, one(angle), one(scale), one(shift_x), one(shift_y)))


def bright_position(image):
    return tuple(int(i) for i in np.unravel_index(np.argmax(image[0, ..., 0]), image.shape[1:3]))


def test_identity_transform_leaves_the_image_unchanged(real_digits):
    np.testing.assert_allclose(warp(real_digits[:4]), real_digits[:4], atol=1e-6)


def test_a_shift_moves_the_content_by_that_many_pixels():
    moved = warp(one_bright_pixel(row=10, column=12), shift_x=3.0, shift_y=-2.0)
    assert bright_position(moved) == (8, 15)
    assert moved.max() == pytest.approx(1.0, abs=1e-5)


def test_a_quarter_turn_rotates_about_the_centre():
    # On a 28x28 grid the centre is (13.5, 13.5): a quarter turn maps (row 10, col 12) onto
    # (row 12, col 17) or (row 15, col 10), depending on the direction.
    turned = warp(one_bright_pixel(row=10, column=12), angle=np.pi / 2)
    assert bright_position(turned) in {(12, 17), (15, 10)}
    assert turned.sum() == pytest.approx(1.0, abs=1e-4)


def test_a_zoom_scales_distances_from_the_centre(real_digits):
    image = real_digits[:1]
    ink_rows = np.nonzero(image[0, ..., 0].max(axis=1) > 0.5)[0]
    zoomed = warp(image, scale=1.2)
    zoomed_rows = np.nonzero(zoomed[0, ..., 0].max(axis=1) > 0.5)[0]
    assert np.ptp(zoomed_rows) > np.ptp(ink_rows)


def test_inference_passes_images_through(real_digits):
    layer = RandomAffine(seed=1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(real_digits[:8], training=False)),
                                  real_digits[:8])


def test_training_warps_each_image_differently_and_keeps_the_digit(real_digits):
    images = real_digits[:32]
    warped = keras.ops.convert_to_numpy(RandomAffine(10, 0.1, 0.1, seed=1)(images, training=True))
    assert warped.shape == images.shape and warped.dtype == images.dtype
    assert warped.min() >= 0.0 and warped.max() <= 1.0 + 1e-6
    changed = np.abs(warped - images).reshape(len(images), -1).max(axis=1)
    assert (changed > 0.1).all(), "every image should move"
    # Zoom by up to 10% changes the ink by at most (1.1)^2; shifts of 2.8 pixels keep MNIST's
    # 20x20 digit box inside the frame, so no ink is lost off the edge.
    ink_ratio = warped.reshape(len(images), -1).sum(1) / images.reshape(len(images), -1).sum(1)
    assert ((ink_ratio > 1 / 1.25) & (ink_ratio < 1.25)).all(), ink_ratio


def test_the_same_seed_gives_the_same_warps(real_digits):
    first = RandomAffine(seed=7)(real_digits[:4], training=True)
    second = RandomAffine(seed=7)(real_digits[:4], training=True)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(first),
                                  keras.ops.convert_to_numpy(second))


@pytest.mark.parametrize("settings", [{"degrees": -1}, {"shift": 1.0}, {"zoom": -0.1}])
def test_impossible_ranges_are_refused(settings):
    with pytest.raises(ValueError, match="RandomAffine needs"):
        RandomAffine(**settings)


def test_a_model_with_the_layer_saves_and_loads_in_safe_mode(tmp_path, real_digits):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        RandomAffine(8, 0.05, 0.05, seed=3, name="augment"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax"),
    ])
    path = tmp_path / "augmented.keras"
    model.save(path)
    loaded = load_keras_model(path)
    assert isinstance(loaded.get_layer("augment"), RandomAffine)
    assert loaded.get_layer("augment").get_config()["degrees"] == 8
    images = real_digits[:4]
    np.testing.assert_allclose(loaded(images, training=False), model(images, training=False),
                               atol=1e-6)


def fixed(images, **warp_settings):
    return keras.ops.convert_to_numpy(FixedAffine(**warp_settings)(images))


def test_fixed_affine_without_settings_is_the_identity(real_digits):
    np.testing.assert_allclose(fixed(real_digits[:4]), real_digits[:4], atol=1e-6)


def test_fixed_affine_shifts_right_and_down_by_pixels():
    moved = fixed(one_bright_pixel(row=10, column=12), shift_x=2, shift_y=3)
    assert bright_position(moved) == (13, 14)


def test_fixed_affine_positive_degrees_turn_counter_clockwise_on_screen():
    # A pixel straight above the centre (13.5, 13.5) goes to its left on a quarter turn.
    turned = fixed(one_bright_pixel(row=3, column=14), degrees=90)
    row, column = bright_position(turned)
    assert abs(row - 13.5) <= 1 and column < 6


def test_fixed_affine_scale_above_one_draws_the_digit_larger(real_digits):
    image = real_digits[:1]
    larger = fixed(image, scale=1.2)
    smaller = fixed(image, scale=0.8)
    ink = [(warped[0, ..., 0] > 0.5).sum() for warped in (smaller, image, larger)]
    assert ink[0] < ink[1] < ink[2]


def test_fixed_affine_warps_every_image_alike_in_training_and_at_inference(real_digits):
    layer = FixedAffine(degrees=5, scale=1.05, shift_x=1, shift_y=-1)
    images = real_digits[:8]
    at_inference = keras.ops.convert_to_numpy(layer(images, training=False))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(layer(images, training=True)),
                                  at_inference)
    np.testing.assert_allclose(at_inference[3:4], fixed(images[3:4], degrees=5, scale=1.05,
                                                          shift_x=1, shift_y=-1), atol=1e-6)
    assert np.abs(at_inference - images).max() > 0.1


@pytest.mark.parametrize("settings", [{"degrees": 100}, {"scale": 0.0}, {"shift_x": 20}])
def test_fixed_affine_refuses_warps_that_lose_the_digit(settings):
    with pytest.raises(ValueError, match="FixedAffine is for small warps"):
        FixedAffine(**settings)


def test_a_model_averaging_fixed_views_saves_and_loads(tmp_path, real_digits):
    # The shape of notebook 07's test-time augmentation: one network, several views, averaged.
    keras.utils.set_random_seed(0)
    network = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                keras.layers.Dense(10, activation="softmax")], name="network")
    images = keras.Input((28, 28, 1))
    views = [images, FixedAffine(degrees=5, name="turn")(images),
             FixedAffine(shift_x=1, name="right")(images)]
    model = keras.Model(images, keras.layers.Average()([network(view) for view in views]))
    path = tmp_path / "views.keras"
    model.save(path)
    loaded = load_keras_model(path)
    assert loaded.get_layer("turn").get_config()["degrees"] == 5
    batch = real_digits[:4]
    expected = np.mean([keras.ops.convert_to_numpy(network(view)) for view in
                        (batch, fixed(batch, degrees=5), fixed(batch, shift_x=1))], axis=0)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(batch)), expected, atol=1e-6)
