"""The data arrives verified, a damaged or missing file says what to do, and a hand-off file is
never half-written."""

from __future__ import annotations

import gzip

import mnist_cnn
from mnist_cnn.data import DamagedFileError, DataError, Files, MissingInputError, copy_offline, load_raw

import keras
import numpy as np
import pytest


def test_real_mnist_loads_verified(mnist_copy):
    raw = load_raw("mnist")
    assert raw.x_train.shape == (60_000, 28, 28) and raw.x_test.shape == (10_000, 28, 28)
    assert raw.x_train.dtype == np.uint8 and raw.y_train.max() == 9
    assert np.bincount(raw.y_test).tolist()[:3] == [980, 1135, 1032]
    assert "verified" in raw.source


def test_a_truncated_file_is_refused_with_what_to_do(mnist_copy):
    labels = mnist_copy / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[:5000])
    with pytest.raises(DataError, match="train-labels-idx1-ubyte.gz is not a readable file.*download it again"):
        load_raw("mnist")


def test_a_changed_file_fails_its_checksum(mnist_copy):
    labels = mnist_copy / "train-labels-idx1-ubyte.gz"
    content = bytearray(gzip.decompress(labels.read_bytes()))
    content[100] = (content[100] + 1) % 10  # one label changed: still a valid IDX file
    labels.write_bytes(gzip.compress(bytes(content)))
    with pytest.raises(DataError, match="does not match the published MNIST data"):
        load_raw("mnist")


def test_swapped_files_are_named_by_their_magic_number(mnist_copy):
    images, labels = mnist_copy / "t10k-images-idx3-ubyte.gz", mnist_copy / "t10k-labels-idx1-ubyte.gz"
    images_bytes = images.read_bytes()
    images.write_bytes(labels.read_bytes())
    labels.write_bytes(images_bytes)
    with pytest.raises(DataError, match="magic number"):
        load_raw("mnist")


def test_a_missing_file_and_no_internet_say_where_to_put_the_data(mnist_copy):
    (mnist_copy / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="lacks t10k-labels-idx1-ubyte.*data/raw/mnist/"):
        load_raw("mnist")


def test_the_offline_copy_is_verified_before_it_is_copied(project):
    from conftest import real_copy

    assert "copied and verified" in copy_offline(real_copy("mnist"), "mnist", project)
    assert load_raw("mnist").x_test.shape == (10_000, 28, 28)
    assert "present and verified" in copy_offline(real_copy("mnist"), "mnist", project)


def test_an_unknown_data_set_lists_the_known_ones():
    with pytest.raises(ValueError, match="'mnist', 'fashion_mnist'"):
        Files("cifar10")


def test_a_missing_input_names_the_notebook_that_writes_it(project):
    with pytest.raises(MissingInputError, match="models/mnist_cnn_trained.keras is missing: run "
                                                "03_compile_and_train.ipynb first"):
        Files("mnist").load_model("trained_model")


def test_a_failed_write_leaves_the_previous_file_whole(project):
    files = Files("mnist")
    files.save_text("model_card", "# the card")
    with pytest.raises(TypeError):
        files.save_text("model_card", 42)  # fails after the file was opened
    assert files["model_card"].read_text() == "# the card"
    assert [path.name for path in files["model_card"].parent.iterdir()] == ["mnist_cnn.md"]


def test_a_model_and_its_record_round_trip(project):
    files = Files("fashion_mnist")
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)])
    files.save_model("untrained_model", model, record={"FILTERS": (32, 64)})
    assert files.relative("untrained_model") == "models/fashion_mnist_cnn_untrained.keras"
    assert files.relative("metrics") == "reports/fashion_mnist/metrics.json"
    reloaded = files.load_model("untrained_model")
    assert all(np.array_equal(a, b) for a, b in zip(model.get_weights(), reloaded.get_weights(), strict=True))
    assert files.load_record("untrained_model") == {"FILTERS": [32, 64]}


def test_a_damaged_model_file_says_which_notebook_to_rerun(project):
    files = Files("mnist")
    files["trained_model"].parent.mkdir(parents=True)
    files["trained_model"].write_bytes(b"not a zip archive")
    with pytest.raises(DamagedFileError, match="not a readable Keras model.*rerun 03_compile_and_train"):
        files.load_model("trained_model")


def test_an_input_older_than_what_it_was_made_from_is_pointed_out(project, capsys):
    files = Files("mnist")
    files.save_json("metrics", {"test_accuracy": 0.99})
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])
    files.save_model("trained_model", model)  # 03 rerun after 04 wrote its metrics
    assert files.load_json("metrics") == {"test_accuracy": 0.99}
    assert ("reports/metrics.json is older than models/mnist_cnn_trained.keras. If you changed an "
            "earlier notebook since, rerun 04_evaluate_on_the_test_set.ipynb") in capsys.readouterr().out


def test_check_reports_a_change_and_asserts_under_make_test(monkeypatch, capsys):
    monkeypatch.delenv(mnist_cnn.STRICT_VARIABLE, raising=False)
    mnist_cnn.check({"the loss falls": True, "the accuracy is above 99%": False})
    out = capsys.readouterr().out
    assert "holds: the loss falls" in out and "does NOT hold: the accuracy is above 99%" in out
    assert "your change did this" in out
    monkeypatch.setenv(mnist_cnn.STRICT_VARIABLE, "1")
    with pytest.raises(AssertionError, match="the accuracy is above 99%"):
        mnist_cnn.check({"the loss falls": True, "the accuracy is above 99%": False})
    mnist_cnn.check({"the loss falls": True})
