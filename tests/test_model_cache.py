"""The resume cache of notebook 07 (`mnist_cnn.model_cache`): a trained model kept on disk is
found again by its key, and only by its key."""

from __future__ import annotations

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402

from mnist_cnn.from_notebooks import RandomAffine  # noqa: E402
from mnist_cnn.model_cache import TrainedModels, cache_key  # noqa: E402


def small_network(seed: int = 0):
    """A small network of notebook 07's kind, with its augmentation layer."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1)),
        RandomAffine(seed=seed, name="augment"),
        keras.layers.Conv2D(4, 3, name="conv"),
        keras.layers.Flatten(),
        keras.layers.Dense(10, activation="softmax", name="probabilities"),
    ])


CONFIG = {"filters": 16, "augmentation": True, "learning_rate": 0.001}


def test_the_key_depends_on_every_part_and_not_on_the_order_of_a_dicts_keys():
    key = cache_key([CONFIG, 30, 54_000, 42, "fingerprint"])
    assert len(key) == 16 and int(key, 16) >= 0  # 16 hex digits
    assert key == cache_key([dict(reversed(list(CONFIG.items()))), 30, 54_000, 42, "fingerprint"])
    assert key == cache_key([CONFIG, np.int64(30), 54_000, 42, "fingerprint"])  # numpy numbers too
    others = {cache_key([CONFIG, 30, 54_000, 43, "fingerprint"]),  # another seed
              cache_key([CONFIG, 1, 54_000, 42, "fingerprint"]),  # other epochs
              cache_key([{**CONFIG, "filters": 32}, 30, 54_000, 42, "fingerprint"]),
              cache_key([CONFIG, 30, 54_000, 42, "other data"])}
    assert key not in others and len(others) == 4


def test_a_saved_model_is_loaded_again_with_its_record(tmp_path, real_digits):
    cache = TrainedModels(tmp_path / "tuning-final")
    key = [CONFIG, 30, 54_000, 42, "fingerprint"]
    assert cache.load(key) is None  # nothing trained yet

    model = small_network()
    path = cache.save(key, model, {"seconds": 12.5, "val_accuracy": 0.99})

    assert path == cache.path(key) and path.is_file() and path.suffix == ".keras"
    assert sorted(p.name for p in path.parent.iterdir()) == sorted([path.name, path.stem + ".json"])
    loaded, record = cache.load(key)
    assert record == {"seconds": 12.5, "val_accuracy": 0.99}
    assert isinstance(loaded.get_layer("augment"), RandomAffine)
    np.testing.assert_array_equal(loaded.predict(real_digits[:8], verbose=0),
                                  model.predict(real_digits[:8], verbose=0))
    assert cache.load([CONFIG, 30, 54_000, 43, "fingerprint"]) is None  # another seed: not this one


def test_a_model_without_its_record_is_not_used(tmp_path):
    """The record is written after the model: a save cut short between the two trains again."""
    cache = TrainedModels(tmp_path)
    key = [CONFIG, 1, 3_000, 42, "fingerprint"]
    cache.save(key, small_network(), {"seconds": 1.0, "val_accuracy": 0.5})
    cache.path(key).with_suffix(".json").unlink()

    assert cache.load(key) is None
