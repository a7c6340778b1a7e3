"""mnist_cnn.fused_normalization.BatchNormalization: Keras's layer, computed by the fused kernel."""

from __future__ import annotations

import os
import subprocess
import sys

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from mnist_cnn.from_notebooks import build_network  # noqa: E402
from mnist_cnn.fused_normalization import REGISTERED_NAME, with_fused_batch_normalization  # noqa: E402
from mnist_cnn.fused_normalization import BatchNormalization as FusedBatchNormalization  # noqa: E402
from mnist_cnn.handoff import load_keras_model  # noqa: E402


@pytest.fixture(scope="module")
def feature_maps(real_digits):
    """What a first convolution makes of 64 real MNIST digits: (64, 28, 28, 8), float32."""
    keras.utils.set_random_seed(0)
    conv = keras.layers.Conv2D(8, 3, padding="same")
    return keras.ops.convert_to_numpy(conv(real_digits))


def twin_layers(shape, **options):
    """Keras's layer and ours, built for `shape`, with the same random gamma and beta."""
    keras_layer = keras.layers.BatchNormalization(**options)
    fused_layer = FusedBatchNormalization(**options)
    keras_layer.build(shape)
    fused_layer.build(shape)
    rng = np.random.default_rng(1)
    channels = shape[options.get("axis", -1)]
    weights = [rng.normal(1, 0.3, channels), rng.normal(0, 0.3, channels),
               np.zeros(channels), np.ones(channels)]
    for layer in (keras_layer, fused_layer):
        layer.set_weights([w.astype("float32") for w in weights])
    return keras_layer, fused_layer


def numpy(tensor):
    return keras.ops.convert_to_numpy(tensor)


# Both layers compute in float32: on these feature maps each differs from a float64
# computation by up to 4e-4 (channels with a small variance), so they agree to about 1e-3.
# A real mistake (wrong statistics, scale or shift) moves outputs by 0.1 or more.
FLOAT32_ATOL = 1e-3


def test_it_uses_the_fused_kernel_for_images_and_dense_features(feature_maps):
    layer = FusedBatchNormalization()
    assert layer.fuses(feature_maps)
    assert layer.fuses(feature_maps.reshape(64, -1))
    assert not FusedBatchNormalization(renorm=True).fuses(feature_maps)
    assert not FusedBatchNormalization(axis=1).fuses(feature_maps)
    assert not layer.fuses(feature_maps.astype("float16"))


def test_training_outputs_and_moving_statistics_match_keras(feature_maps):
    keras_layer, fused_layer = twin_layers(feature_maps.shape)
    for _ in range(3):
        expected = numpy(keras_layer(feature_maps, training=True))
        got = numpy(fused_layer(feature_maps, training=True))
        np.testing.assert_allclose(got, expected, atol=FLOAT32_ATOL)
    for name in ("moving_mean", "moving_variance"):
        np.testing.assert_allclose(numpy(getattr(fused_layer, name)),
                                   numpy(getattr(keras_layer, name)), rtol=1e-5, atol=1e-6)
    assert not np.allclose(numpy(fused_layer.moving_mean), 0)  # the statistics did move


def test_inference_uses_the_moving_statistics_like_keras(feature_maps):
    keras_layer, fused_layer = twin_layers(feature_maps.shape)
    for layer in (keras_layer, fused_layer):
        layer.moving_mean.assign(feature_maps.mean(axis=(0, 1, 2)))
        layer.moving_variance.assign(feature_maps.var(axis=(0, 1, 2)))
    np.testing.assert_allclose(numpy(fused_layer(feature_maps, training=False)),
                               numpy(keras_layer(feature_maps, training=False)), atol=FLOAT32_ATOL)


def test_gradients_match_keras(feature_maps):
    keras_layer, fused_layer = twin_layers(feature_maps.shape)
    inputs = tf.constant(feature_maps)
    gradients = {}
    for name, layer in (("keras", keras_layer), ("fused", fused_layer)):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            loss = tf.reduce_sum(tf.sin(layer(inputs, training=True)))
        gradients[name] = tape.gradient(loss, [inputs, layer.gamma, layer.beta])
    for expected, got in zip(gradients["keras"], gradients["fused"], strict=True):
        scale = float(np.abs(numpy(expected)).max())
        np.testing.assert_allclose(numpy(got), numpy(expected), atol=FLOAT32_ATOL * scale)


def test_dense_features_match_keras(feature_maps):
    features = feature_maps.reshape(64, -1)[:, :300]
    keras_layer, fused_layer = twin_layers(features.shape)
    np.testing.assert_allclose(numpy(fused_layer(features, training=True)),
                               numpy(keras_layer(features, training=True)), atol=FLOAT32_ATOL)
    np.testing.assert_allclose(numpy(fused_layer.moving_variance),
                               numpy(keras_layer.moving_variance), rtol=1e-5)
    assert fused_layer(features, training=False).shape == features.shape


def test_where_it_cannot_fuse_it_computes_as_keras(feature_maps):
    keras_layer, fused_layer = twin_layers(feature_maps.shape, axis=1)
    np.testing.assert_allclose(numpy(fused_layer(feature_maps, training=True)),
                               numpy(keras_layer(feature_maps, training=True)), atol=1e-6)


def test_a_saved_model_loads_with_the_package_and_with_plain_keras(feature_maps, tmp_path):
    model = keras.Sequential([keras.Input(feature_maps.shape[1:]),
                              FusedBatchNormalization(name="norm"),
                              keras.layers.GlobalAveragePooling2D()])
    model.layers[0].moving_mean.assign(feature_maps.mean(axis=(0, 1, 2)))
    path = tmp_path / "fused.keras"
    model.save(path)
    expected = numpy(model(feature_maps, training=False))

    reloaded = load_keras_model(path, input_shape=feature_maps.shape[1:])
    assert isinstance(reloaded.get_layer("norm"), FusedBatchNormalization)
    np.testing.assert_allclose(numpy(reloaded(feature_maps, training=False)), expected)

    np.save(tmp_path / "inputs.npy", feature_maps)
    without_the_package = subprocess.run(
        [sys.executable, "-c", PLAIN_KERAS_LOAD, str(path), str(tmp_path / "inputs.npy")],
        check=True, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    ).stdout.split()
    assert without_the_package[0] == "BatchNormalization"
    np.testing.assert_allclose(np.load(without_the_package[1]), expected, atol=FLOAT32_ATOL)


PLAIN_KERAS_LOAD = f"""
import sys
import keras, numpy as np
model = keras.saving.load_model(
    sys.argv[1], safe_mode=True,
    custom_objects={{{REGISTERED_NAME!r}: keras.layers.BatchNormalization}})
outputs = keras.ops.convert_to_numpy(model(np.load(sys.argv[2]), training=False))
np.save(sys.argv[2] + ".out.npy", outputs)
print(type(model.get_layer("norm")).__name__, sys.argv[2] + ".out.npy")
"""


def test_a_copy_with_the_fused_layer_computes_what_notebook_02s_network_computes(real_digits):
    keras.utils.set_random_seed(0)
    network = build_network()
    copy = with_fused_batch_normalization(network)
    kinds = {type(layer) for layer in copy.layers if "norm" in layer.name}
    assert kinds == {FusedBatchNormalization}
    norms = [layer for layer in network.layers if "norm" in layer.name]
    assert all(type(layer) is keras.layers.BatchNormalization for layer in norms)
    assert all(np.array_equal(a, b) for a, b in zip(network.get_weights(), copy.get_weights(), strict=True))
    np.testing.assert_allclose(numpy(copy(real_digits, training=False)),
                               numpy(network(real_digits, training=False)), atol=1e-5)
