"""The data sets the series knows: their class names, where their files may be, their checksums."""

from __future__ import annotations

import os
from dataclasses import dataclass

DATASET_ENV_VAR = "MNIST_CNN_DATASET"
DEFAULT_DATASET = "mnist"

IDX_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    class_names: tuple[str, ...]
    data_dir_env_var: str
    system_dirs: tuple[str, ...]
    sha256: dict[str, str]
    get_it: str

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


# SHA-256 of each file's *decompressed* content, so that any faithful copy verifies,
# whatever gzip settings were used to compress it.
MNIST = DatasetInfo(
    name="mnist",
    title="MNIST",
    class_names=tuple(str(digit) for digit in range(10)),
    data_dir_env_var="MNIST_DATA_DIR",
    system_dirs=(),
    sha256={
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
    get_it=(
        "Go online once (Keras downloads and caches it), or copy the four IDX files "
        "(train-images-idx3-ubyte.gz, ...) into data/raw/mnist/, or point MNIST_DATA_DIR "
        "at a folder that holds them (`make data` copies ../shared/mnist when it exists)."
    ),
)

FASHION_MNIST = DatasetInfo(
    name="fashion_mnist",
    title="Fashion-MNIST",
    class_names=(
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
    ),
    data_dir_env_var="FASHION_MNIST_DATA_DIR",
    system_dirs=("/usr/share/datasets/fashion-mnist",),
    sha256={
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
    get_it=(
        "Go online once (Keras downloads and caches it), or copy the four IDX files into "
        "data/raw/fashion_mnist/ (`make data` copies ../shared/fashion_mnist when it exists), "
        "or point FASHION_MNIST_DATA_DIR at a folder that holds them, or install Debian's "
        "package (`sudo apt-get install dataset-fashion-mnist`)."
    ),
)

DATASETS = {info.name: info for info in (MNIST, FASHION_MNIST)}


def get_dataset(name: str | None = None) -> DatasetInfo:
    """The data set called `name`; without a name, the one MNIST_CNN_DATASET names (default mnist)."""
    if name is None:
        name = os.environ.get(DATASET_ENV_VAR, DEFAULT_DATASET)
    key = name.strip().lower().replace("-", "_")
    if key not in DATASETS:
        raise ValueError(
            f"Unknown data set {name!r}: choose one of {', '.join(DATASETS)} "
            f"(set DATASET in the notebook or the {DATASET_ENV_VAR} environment variable)."
        )
    return DATASETS[key]
