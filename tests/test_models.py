"""Keras models as hand-off files: safe-mode loading, round trips and clear refusals."""

from __future__ import annotations

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from mnist_cnn.errors import MissingArtifactError, StaleArtifactError  # noqa: E402
from mnist_cnn.handoff import HandoffFiles, load_keras_model, model_content_id  # noqa: E402
from mnist_cnn.paths import NOTEBOOKS  # noqa: E402

FINGERPRINT = "d" * 64


def tiny_cnn(input_shape=(28, 28, 1), seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=input_shape),
            keras.layers.Conv2D(2, 3, activation="relu"),
            keras.layers.MaxPooling2D(4),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def sample_images(n=4, shape=(28, 28, 1)):
    return np.random.default_rng(0).random((n, *shape), dtype=np.float32)


@pytest.fixture
def saved_model_path(tmp_path):
    path = tmp_path / "tiny.keras"
    tiny_cnn().save(path)
    return path


def test_save_and_load_model_round_trip(project):
    HandoffFiles(project, "01").save_arrays(
        "processed", {"x_train": sample_images()}, data_fingerprint=FINGERPRINT
    )
    writer = HandoffFiles(project, "02", seed=0)
    writer.load_arrays("processed")
    model = tiny_cnn()
    writer.save_model("untrained_model", model, params={"filters": 2})
    assert project["untrained_model"].path.is_file()

    reader = HandoffFiles(project, "03")
    loaded = reader.load_model("untrained_model")
    images = sample_images()
    np.testing.assert_array_equal(
        loaded.predict(images, verbose=0), model.predict(images, verbose=0)
    )
    assert model_content_id(loaded) == model_content_id(model)
    assert reader.inputs["untrained_model"] == model_content_id(model)


def test_model_content_id_tracks_weights():
    model = tiny_cnn(seed=0)
    before = model_content_id(model)
    twin = keras.models.clone_model(model)
    twin.set_weights(model.get_weights())
    assert model_content_id(twin) == before  # the same layers and weights in another object: the same id
    weights = model.get_weights()
    weights[0] = weights[0] + 1.0
    model.set_weights(weights)
    assert model_content_id(model) != before


def test_missing_model_file(tmp_path):
    with pytest.raises(MissingArtifactError, match="nothing.keras does not exist"):
        load_keras_model(tmp_path / "nothing.keras")


def test_garbage_keras_file_is_refused(tmp_path):
    path = tmp_path / "garbage.keras"
    path.write_bytes(os.urandom(2048))
    with pytest.raises(StaleArtifactError, match="garbage.keras is not a readable Keras model"):
        load_keras_model(path, fix="rerun 02_build_the_cnn.ipynb")


def test_truncated_keras_zip_is_refused(saved_model_path):
    data = saved_model_path.read_bytes()
    saved_model_path.write_bytes(data[: len(data) // 2])
    with pytest.raises(StaleArtifactError, match="tiny.keras is not a readable") as info:
        load_keras_model(saved_model_path, fix="save the model again")
    assert str(info.value).endswith("-> save the model again.")


def test_model_for_other_input_shape_is_refused(tmp_path):
    path = tmp_path / "rgb.keras"
    tiny_cnn(input_shape=(32, 32, 3)).save(path)
    with pytest.raises(StaleArtifactError, match=r"inputs of shape \(32, 32, 3\)") as info:
        load_keras_model(path)
    assert "not (28, 28, 1) images" in str(info.value)
    assert load_keras_model(path, input_shape=(32, 32, 3)).input_shape == (None, 32, 32, 3)


def test_lambda_layer_is_refused_by_safe_mode(tmp_path):
    path = tmp_path / "lambda.keras"
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Lambda(lambda x: x * 2.0),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )
    model.save(path)
    with pytest.raises(StaleArtifactError, match="lambda.keras is not a readable") as info:
        load_keras_model(path)
    assert "Lambda" in str(info.value) and "arbitrary code execution" in str(info.value)


def test_damaged_model_artifact_names_the_notebook(project):
    HandoffFiles(project, "01").save_arrays(
        "processed", {"x_train": sample_images()}, data_fingerprint=FINGERPRINT
    )
    writer = HandoffFiles(project, "02")
    writer.load_arrays("processed")
    # A notebook-02 artifact whose content is not a model, with a matching sidecar.
    writer._write("untrained_model", lambda p: p.write_bytes(b"PK\x05\x06" + bytes(18)), None, None)
    with pytest.raises(StaleArtifactError, match=f"rerun {NOTEBOOKS['02']}"):
        HandoffFiles(project, "03").load_model("untrained_model")
