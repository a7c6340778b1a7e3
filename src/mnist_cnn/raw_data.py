"""Loading MNIST-format data: local IDX files when present (verified), else the Keras download."""

from __future__ import annotations

import gzip
import hashlib
import os
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .datasets import IDX_FILES, DatasetInfo, get_dataset
from .errors import DataError

IMAGES_MAGIC = 0x00000803  # uint8 data, 3 dimensions
LABELS_MAGIC = 0x00000801  # uint8 data, 1 dimension


@dataclass(frozen=True)
class RawData:
    """The four arrays of an MNIST-format data set, exactly as published (uint8)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str  # where the arrays came from, for the reader
    sha256: dict[str, str]  # verified SHA-256 of each file's decompressed IDX content

    @property
    def fingerprint(self) -> str:
        """One checksum for the whole data set, recorded in every hand-off file."""
        joined = "".join(f"{name}={self.sha256[name]};" for name in IDX_FILES)
        return hashlib.sha256(joined.encode()).hexdigest()


def read_idx_bytes(path: Path) -> bytes:
    """The decompressed bytes of an IDX file (`.gz` or plain), with a clear error if unreadable."""
    path = Path(path)
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as handle:
                return handle.read()
        return path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        kind = "gzip file" if path.suffix == ".gz" else "file"
        raise DataError(
            f"{path.name} is not a readable {kind}: it is truncated or corrupted ({error}). "
            f"Delete it and copy or download it again."
        ) from error


def parse_idx(content: bytes, name: str, expected_magic: int) -> np.ndarray:
    """The array stored in IDX content: a big-endian header, then raw uint8 values."""
    if len(content) < 8:
        raise DataError(f"{name} is too short to be an IDX file ({len(content)} bytes).")
    magic = int.from_bytes(content[:4], "big")
    if magic != expected_magic:
        raise DataError(
            f"{name} has magic number 0x{magic:08x}, expected 0x{expected_magic:08x}: "
            f"it is not an MNIST-format {'image' if expected_magic == IMAGES_MAGIC else 'label'} "
            f"file. Check that the right file has the right name."
        )
    ndim = content[3]
    header_size = 4 + 4 * ndim
    shape = tuple(int.from_bytes(content[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected_size = header_size + int(np.prod(shape))
    if len(content) != expected_size:
        raise DataError(
            f"{name} holds {len(content)} bytes but its header announces {shape} "
            f"({expected_size} bytes): the file is truncated or corrupted. Copy it again."
        )
    return np.frombuffer(content, dtype=np.uint8, offset=header_size).reshape(shape)


def idx_content(array: np.ndarray) -> bytes:
    """The IDX bytes of a uint8 array (the inverse of `parse_idx`), to checksum Keras' arrays."""
    magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
    header = magic.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, dtype=np.uint8).tobytes()


def _verify(name: str, content: bytes, dataset: DatasetInfo, where: str) -> str:
    digest = hashlib.sha256(content).hexdigest()
    if digest != dataset.sha256[name]:
        raise DataError(
            f"{name} from {where} does not match the published {dataset.title} data "
            f"(SHA-256 {digest[:12]}... instead of {dataset.sha256[name][:12]}...). "
            f"Delete it and copy or download it again."
        )
    return digest


def find_idx_file(folder: Path, name: str) -> Path | None:
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def load_idx_folder(folder: Path, dataset: DatasetInfo) -> RawData:
    """Read and verify the four IDX files of `dataset` in `folder`."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"The data folder {folder} does not exist. {dataset.get_it}")
    missing = [name for name in IDX_FILES if find_idx_file(folder, name) is None]
    if missing:
        what = "is empty" if len(missing) == len(IDX_FILES) else f"lacks {', '.join(missing)}"
        raise DataError(f"The data folder {folder} {what}. {dataset.get_it}")
    arrays, digests = {}, {}
    for name in IDX_FILES:
        path = find_idx_file(folder, name)
        content = read_idx_bytes(path)
        magic = IMAGES_MAGIC if "images" in name else LABELS_MAGIC
        arrays[name] = parse_idx(content, path.name, magic)
        digests[name] = _verify(name, content, dataset, f"{folder}")
    for split in ("train", "t10k"):
        images, labels = arrays[f"{split}-images-idx3-ubyte"], arrays[f"{split}-labels-idx1-ubyte"]
        if len(images) != len(labels):
            raise DataError(
                f"{split}-images holds {len(images)} images but {split}-labels holds "
                f"{len(labels)} labels in {folder}: the files do not belong together."
            )
    return RawData(
        x_train=arrays["train-images-idx3-ubyte"],
        y_train=arrays["train-labels-idx1-ubyte"],
        x_test=arrays["t10k-images-idx3-ubyte"],
        y_test=arrays["t10k-labels-idx1-ubyte"],
        source=f"local IDX files ({folder.name}/)",
        sha256=digests,
    )


def local_data_folders(dataset: DatasetInfo, project_root: Path | None = None) -> list[Path]:
    """Folders searched for the IDX files, in order: the environment variable, data/raw, system."""
    folders = []
    if os.environ.get(dataset.data_dir_env_var):
        folders.append(Path(os.environ[dataset.data_dir_env_var]))
    if project_root is not None:
        folders.append(Path(project_root) / "data" / "raw" / dataset.name)
    folders.extend(Path(folder) for folder in dataset.system_dirs)
    return folders


def download_with_keras(dataset: DatasetInfo) -> RawData:
    """Download (or reuse Keras' cache of) the data set, and verify it like the local files."""
    import keras  # imported here: reading local files needs no TensorFlow

    loader = getattr(keras.datasets, dataset.name)
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # network errors come in many types
        raise DataError(
            f"No local copy of {dataset.title} was found and the download failed "
            f"({type(error).__name__}: {error}). {dataset.get_it}"
        ) from error
    arrays = dict(zip(IDX_FILES, (x_train, y_train, x_test, y_test), strict=True))
    digests = {
        name: _verify(name, idx_content(array), dataset, "the Keras download")
        for name, array in arrays.items()
    }
    return RawData(x_train, y_train, x_test, y_test, "keras.datasets download", digests)


def load_raw_data(
    dataset: str | DatasetInfo | None = None,
    project_root: Path | None = None,
    allow_download: bool = True,
) -> RawData:
    """The raw uint8 arrays of `dataset`, verified against the published checksums.

    A local copy wins (the folder in the data set's environment variable, then data/raw/NAME,
    then a system folder such as Debian's); without one, Keras downloads the data.
    """
    dataset = dataset if isinstance(dataset, DatasetInfo) else get_dataset(dataset)
    for folder in local_data_folders(dataset, project_root):
        env_folder = os.environ.get(dataset.data_dir_env_var)
        named_by_env = env_folder is not None and Path(env_folder) == folder
        if named_by_env or folder.is_dir():
            # A folder the reader named must work; data/raw or a system folder may be absent.
            return load_idx_folder(folder, dataset)
    if not allow_download:
        raise DataError(f"No local copy of {dataset.title} was found. {dataset.get_it}")
    return download_with_keras(dataset)
