"""The raw-data loader: verified IDX files, and clear errors for every way they can be broken."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import (
    PROJECT_ROOT,
    REAL_MNIST,
    dataset_for,
    real_folder,
    tiny_arrays,
    write_idx_folder,
)

import mnist_cnn.datasets
from mnist_cnn.datasets import IDX_FILES, get_dataset
from mnist_cnn.errors import DataError
from mnist_cnn.raw_data import (
    IMAGES_MAGIC,
    LABELS_MAGIC,
    RawData,
    idx_content,
    load_idx_folder,
    load_raw_data,
    parse_idx,
)

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
FIX = "copy or download it again"


REAL_FASHION = real_folder("FASHION_MNIST_DATA_DIR", PROJECT_ROOT.parent / "shared" / "fashion_mnist",
                            PROJECT_ROOT / "data" / "raw" / "fashion_mnist")


def with_one_wrong_checksum(dataset):
    sha = dict(dataset.sha256)
    sha[TRAIN_LABELS] = "0" * 64
    return dataclasses.replace(dataset, sha256=sha)


# ----- broken files ---------------------------------------------------------------------------
def test_tiny_folder_loads(tiny_idx_folder):
    raw = load_idx_folder(tiny_idx_folder.folder, tiny_idx_folder.dataset)
    np.testing.assert_array_equal(raw.x_train, tiny_idx_folder.arrays[TRAIN_IMAGES])
    np.testing.assert_array_equal(raw.y_test, tiny_idx_folder.arrays["t10k-labels-idx1-ubyte"])
    assert raw.x_train.shape == (12, 28, 28) and raw.x_test.shape == (5, 28, 28)
    assert raw.x_train.dtype == np.uint8
    assert raw.sha256 == tiny_idx_folder.dataset.sha256


def test_truncated_gzip_is_rejected(tiny_idx_folder):
    gz = tiny_idx_folder.folder / f"{TRAIN_IMAGES}.gz"
    data = gz.read_bytes()
    gz.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated or corrupted") as info:
        load_idx_folder(tiny_idx_folder.folder, tiny_idx_folder.dataset)
    assert f"{TRAIN_IMAGES}.gz" in str(info.value)
    assert FIX in str(info.value)


def test_corrupted_gzip_is_rejected(tiny_idx_folder):
    gz = tiny_idx_folder.folder / f"{TRAIN_IMAGES}.gz"
    data = bytearray(gz.read_bytes())
    middle = len(data) // 2
    for i in range(middle, middle + 16):
        data[i] ^= 0xFF
    gz.write_bytes(bytes(data))
    with pytest.raises(DataError, match="not a readable gzip file") as info:
        load_idx_folder(tiny_idx_folder.folder, tiny_idx_folder.dataset)
    assert f"{TRAIN_IMAGES}.gz" in str(info.value)
    assert FIX in str(info.value)


def test_labels_file_under_an_images_name_is_rejected(tiny_idx_folder):
    folder = tiny_idx_folder.folder
    shutil.copyfile(folder / f"{TRAIN_LABELS}.gz", folder / f"{TRAIN_IMAGES}.gz")
    with pytest.raises(DataError, match="magic number 0x00000801, expected 0x00000803") as info:
        load_idx_folder(folder, tiny_idx_folder.dataset)
    message = str(info.value)
    assert f"{TRAIN_IMAGES}.gz" in message
    assert "Check that the right file has the right name" in message


def test_header_announcing_more_bytes_than_present_is_rejected(tiny_idx_folder):
    content = tiny_idx_folder.contents[TRAIN_IMAGES]
    # A valid gzip stream of truncated IDX content: gzip cannot notice, the header check must.
    (tiny_idx_folder.folder / f"{TRAIN_IMAGES}.gz").write_bytes(gzip.compress(content[:-100]))
    with pytest.raises(DataError, match=r"header announces \(12, 28, 28\)") as info:
        load_idx_folder(tiny_idx_folder.folder, tiny_idx_folder.dataset)
    assert f"{TRAIN_IMAGES}.gz" in str(info.value)
    assert "Copy it again" in str(info.value)


def test_image_and_label_counts_that_disagree_are_rejected(tmp_path):
    arrays = tiny_arrays()
    arrays[TRAIN_LABELS] = arrays[TRAIN_LABELS][:-1]  # 12 images, 11 labels
    contents = write_idx_folder(tmp_path / "idx", arrays)
    dataset = dataset_for(contents)  # checksums match, so the count check is reached
    with pytest.raises(DataError, match="12 images but train-labels holds 11 labels") as info:
        load_idx_folder(tmp_path / "idx", dataset)
    assert "do not belong together" in str(info.value)


def test_checksum_mismatch_is_rejected(tiny_idx_folder):
    arrays = dict(tiny_idx_folder.arrays)
    images = arrays[TRAIN_IMAGES].copy()
    images[3, 14, 14] ^= 0x01  # one bit of one pixel: still a perfectly valid IDX file
    arrays[TRAIN_IMAGES] = images
    write_idx_folder(tiny_idx_folder.folder, arrays)
    with pytest.raises(DataError, match="does not match the published MNIST data") as info:
        load_idx_folder(tiny_idx_folder.folder, tiny_idx_folder.dataset)
    assert TRAIN_IMAGES in str(info.value)
    assert FIX in str(info.value)


def test_one_wrong_published_checksum_is_rejected(tiny_idx_folder):
    with pytest.raises(DataError, match=f"{TRAIN_LABELS} from .* does not match"):
        load_idx_folder(tiny_idx_folder.folder, with_one_wrong_checksum(tiny_idx_folder.dataset))


def test_empty_data_folder_is_rejected(tmp_path):
    (tmp_path / "empty").mkdir()
    dataset = mnist_cnn.datasets.MNIST
    with pytest.raises(DataError, match="is empty") as info:
        load_idx_folder(tmp_path / "empty", dataset)
    assert "empty" in str(info.value) and dataset.get_it in str(info.value)


def test_folder_lacking_one_file_is_rejected(tiny_idx_folder):
    (tiny_idx_folder.folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match="lacks t10k-labels-idx1-ubyte") as info:
        load_idx_folder(tiny_idx_folder.folder, tiny_idx_folder.dataset)
    assert tiny_idx_folder.dataset.get_it in str(info.value)


def test_missing_folder_named_by_env_var_is_rejected(tmp_path, clean_env, tiny_idx_folder):
    # data/raw/mnist holds valid data, but the folder the reader named must be the one used.
    root = tmp_path / "project"
    write_idx_folder(root / "data" / "raw" / "mnist", tiny_idx_folder.arrays)
    clean_env.setenv("MNIST_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="does not exist") as info:
        load_raw_data(tiny_idx_folder.dataset, project_root=root, allow_download=False)
    message = str(info.value)
    assert "nowhere" in message and "MNIST_DATA_DIR" in message


def test_no_local_copy_without_download_says_how_to_get_the_data(tmp_path, clean_env):
    with pytest.raises(DataError, match="No local copy of MNIST was found") as info:
        load_raw_data("mnist", project_root=tmp_path, allow_download=False)
    message = str(info.value)
    assert "data/raw/mnist/" in message and "MNIST_DATA_DIR" in message


def test_env_var_folder_wins_over_data_raw(tmp_path, clean_env):
    root = tmp_path / "project"
    write_idx_folder(root / "data" / "raw" / "mnist", tiny_arrays(seed=1))
    env_arrays = tiny_arrays(seed=2)
    dataset = dataset_for(write_idx_folder(tmp_path / "elsewhere", env_arrays))
    clean_env.setenv("MNIST_DATA_DIR", str(tmp_path / "elsewhere"))
    raw = load_raw_data(dataset, project_root=root, allow_download=False)
    np.testing.assert_array_equal(raw.x_train, env_arrays[TRAIN_IMAGES])
    assert "elsewhere" in raw.source


def test_data_raw_is_used_without_env_var(tmp_path, clean_env):
    root = tmp_path / "project"
    arrays = tiny_arrays(seed=3)
    dataset = dataset_for(write_idx_folder(root / "data" / "raw" / "mnist", arrays))
    raw = load_raw_data(dataset, project_root=root, allow_download=False)
    np.testing.assert_array_equal(raw.y_train, arrays[TRAIN_LABELS])


# ----- formats and fingerprints ---------------------------------------------------------------
def test_plain_idx_files_are_accepted(tmp_path):
    arrays = tiny_arrays()
    dataset = dataset_for(write_idx_folder(tmp_path / "plain", arrays, compress=False))
    assert not list((tmp_path / "plain").glob("*.gz"))
    raw = load_idx_folder(tmp_path / "plain", dataset)
    np.testing.assert_array_equal(raw.x_test, arrays["t10k-images-idx3-ubyte"])


@pytest.mark.parametrize("name", IDX_FILES)
def test_idx_content_round_trips(name):
    array = tiny_arrays()[name]
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    content = idx_content(array)
    parsed = parse_idx(content, name, magic)
    assert parsed.dtype == np.uint8 and parsed.shape == array.shape
    np.testing.assert_array_equal(parsed, array)
    assert idx_content(parsed) == content


def test_fingerprint_changes_with_any_checksum(tiny_idx_folder):
    raw = load_idx_folder(tiny_idx_folder.folder, tiny_idx_folder.dataset)
    again = load_idx_folder(tiny_idx_folder.folder, tiny_idx_folder.dataset)
    assert raw.fingerprint == again.fingerprint
    for name in IDX_FILES:
        sha = dict(raw.sha256)
        sha[name] = "f" * 64
        changed = dataclasses.replace(raw, sha256=sha)
        assert isinstance(changed, RawData)
        assert changed.fingerprint != raw.fingerprint


# ----- data-set choice ------------------------------------------------------------------------
def test_get_dataset_default_is_mnist(clean_env):
    assert get_dataset() is mnist_cnn.datasets.MNIST


def test_get_dataset_follows_env_var(clean_env):
    clean_env.setenv("MNIST_CNN_DATASET", "fashion_mnist")
    assert get_dataset() is mnist_cnn.datasets.FASHION_MNIST


@pytest.mark.parametrize("spelling", ["Fashion-MNIST", "fashion-mnist", " fashion_mnist "])
def test_get_dataset_accepts_usual_spellings(spelling):
    assert get_dataset(spelling) is mnist_cnn.datasets.FASHION_MNIST


def test_get_dataset_rejects_unknown_names():
    with pytest.raises(ValueError, match="Unknown data set 'cifar10'") as info:
        get_dataset("cifar10")
    assert "mnist, fashion_mnist" in str(info.value)
    assert "MNIST_CNN_DATASET" in str(info.value)


# ----- the real data sets ---------------------------------------------------------------------
def check_real_data(folder: Path, dataset) -> None:
    raw = load_idx_folder(folder, dataset)
    assert raw.x_train.shape == (60000, 28, 28) and raw.y_train.shape == (60000,)
    assert raw.x_test.shape == (10000, 28, 28) and raw.y_test.shape == (10000,)
    for array in (raw.x_train, raw.y_train, raw.x_test, raw.y_test):
        assert array.dtype == np.uint8
    assert set(np.unique(raw.y_train)) == set(range(10))
    assert set(np.unique(raw.y_test)) == set(range(10))
    assert raw.sha256 == dataset.sha256
    with pytest.raises(DataError, match="does not match the published"):
        load_idx_folder(folder, with_one_wrong_checksum(dataset))


@pytest.mark.skipif(not REAL_MNIST.is_dir(), reason=f"no MNIST copy at {REAL_MNIST}")
def test_real_mnist_loads_and_verifies():
    check_real_data(REAL_MNIST, mnist_cnn.datasets.MNIST)


@pytest.mark.skipif(not REAL_FASHION.is_dir(), reason=f"no Fashion-MNIST copy at {REAL_FASHION}")
def test_real_fashion_mnist_loads_and_verifies():
    check_real_data(REAL_FASHION, mnist_cnn.datasets.FASHION_MNIST)
