"""The data, verified, and the files that each notebook hands to the next.

- `load_raw(dataset)`: the four published arrays of MNIST or Fashion-MNIST, from a local copy
  of the IDX files (verified against the SHA-256 of their decompressed content) or from the
  Keras download (verified the same way).
- `Files(dataset)`: where every hand-off file lives, and how it is written (to a temporary name,
  renamed when complete: an interrupted notebook never leaves half a file) and read (a missing
  file says which notebook makes it; opened alone, outside the repository, as in Colab, the
  series makes it by running that notebook headless).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np


class SeriesError(Exception):
    """An expected problem with the reader's files; the message says what to do.

    IPython calls `_render_traceback_` and shows only the message, not forty lines of Keras."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class DataError(SeriesError):
    """The raw data is missing, damaged or not the published data set."""


class MissingInputError(SeriesError):
    """A file that an earlier notebook writes is not there yet."""


class DamagedFileError(SeriesError):
    """A hand-off file exists but cannot be read."""


IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


@dataclass(frozen=True)
class Dataset:
    name: str
    title: str
    class_names: tuple[str, ...]
    sha256: dict[str, str]  # of each IDX file's decompressed content: any faithful copy verifies
    folder_variable: str  # the environment variable that may name a folder holding the files
    system_folder: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


DATASETS = {dataset.name: dataset for dataset in (
    Dataset("mnist", "MNIST", tuple("0123456789"), {
        "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
        "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
        "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
        "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    }, "MNIST_DATA_DIR"),
    Dataset("fashion_mnist", "Fashion-MNIST", (
        "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
        "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"), {
        "train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }, "FASHION_MNIST_DATA_DIR", "/usr/share/datasets/fashion-mnist"),
)}


def get_dataset(name: str) -> Dataset:
    key = str(name).strip().lower().replace("-", "_")
    if key not in DATASETS:
        raise ValueError(f"Unknown data set {name!r}: DATASET must be one of {', '.join(map(repr, DATASETS))}.")
    return DATASETS[key]


def find_root(start: Path | None = None) -> Path:
    """The folder the series writes into: the repository (or student edition) that holds the
    notebooks, found upwards from the working folder; elsewhere (a notebook opened alone, as in
    Colab) the working folder itself. MNIST_CNN_HOME overrides both."""
    if os.environ.get("MNIST_CNN_HOME"):
        return Path(os.environ["MNIST_CNN_HOME"]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    return here


# ---------------------------------------------------------------------------------------------
# The raw data


@dataclass(frozen=True)
class Raw:
    """The four arrays of a data set exactly as published (uint8), and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def _idx_bytes(path: Path) -> bytes:
    try:
        return gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        raise DataError(f"{path.name} is not a readable file: it is truncated or corrupted ({error}). "
                        "Delete it and copy or download it again.") from error


def _parse_idx(content: bytes, name: str) -> np.ndarray:
    """The uint8 array of an IDX file: a magic number (0x0803 images, 0x0801 labels), the size
    of each dimension, then the values."""
    dimensions = 3 if "images" in name else 1
    magic = int.from_bytes(content[:4], "big")
    if magic != 0x0800 + dimensions:
        raise DataError(f"{name} has magic number 0x{magic:08x}, not 0x{0x800 + dimensions:08x}: it is "
                        "not an MNIST-format file of that kind. Check that each file has the right name.")
    shape = tuple(int.from_bytes(content[4 + 4 * i:8 + 4 * i], "big") for i in range(dimensions))
    header = 4 + 4 * dimensions
    if len(content) != header + int(np.prod(shape)):
        raise DataError(f"{name} holds {len(content)} bytes, but its header announces {shape}: the "
                        "file is truncated. Copy or download it again.")
    return np.frombuffer(content, np.uint8, offset=header).reshape(shape)


def _idx_content(array: np.ndarray) -> bytes:
    header = (0x0800 + array.ndim).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def _verify(dataset: Dataset, name: str, content: bytes, where: str) -> None:
    digest = hashlib.sha256(content).hexdigest()
    if digest != dataset.sha256[name]:
        raise DataError(f"{name} from {where} does not match the published {dataset.title} data (SHA-256 "
                        f"{digest[:12]}..., not {dataset.sha256[name][:12]}...). Delete it and copy or "
                        "download it again.")


def _idx_file(folder: Path, name: str) -> Path | None:
    return next((path for path in (folder / f"{name}.gz", folder / name) if path.is_file()), None)


def read_idx_folder(folder: Path, dataset: Dataset) -> Raw:
    """The four IDX files of `dataset` in `folder`, verified."""
    missing = [name for name in IDX_FILES if _idx_file(folder, name) is None]
    if missing:
        raise DataError(f"The data folder {folder.name}/ lacks {', '.join(missing)}. {_how_to_get(dataset)}")
    arrays = []
    for name in IDX_FILES:
        content = _idx_bytes(_idx_file(folder, name))
        arrays.append(_parse_idx(content, name))
        _verify(dataset, name, content, f"{folder.name}/")
    return Raw(*arrays, source=f"local IDX files ({folder.name}/), verified")


def _how_to_get(dataset: Dataset) -> str:
    return (f"Go online once (Keras downloads and caches it), or copy the four IDX files into "
            f"data/raw/{dataset.name}/, or set {dataset.folder_variable} to a folder that holds them.")


def load_raw(dataset: str | Dataset = "mnist", root: Path | None = None) -> Raw:
    """The published arrays of `dataset`: from the folder named by its environment variable, or
    data/raw/<name>/, or a system folder (Debian's Fashion-MNIST package); else the Keras
    download. Every copy is checked against the published checksums."""
    dataset = dataset if isinstance(dataset, Dataset) else get_dataset(dataset)
    named = os.environ.get(dataset.folder_variable)
    if named:
        return read_idx_folder(Path(named), dataset)
    for folder in (find_root(root) / "data" / "raw" / dataset.name, Path(dataset.system_folder or "/nonexistent")):
        if folder.is_dir() and any(folder.iterdir()):
            return read_idx_folder(folder, dataset)
    import keras

    try:
        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, dataset.name).load_data()
    except Exception as error:  # a failed download raises many kinds of error
        raise DataError(f"No local copy of {dataset.title} was found and the download failed "
                        f"({type(error).__name__}). {_how_to_get(dataset)}") from error
    arrays = (x_train, y_train, x_test, y_test)
    for name, array in zip(IDX_FILES, arrays, strict=True):
        _verify(dataset, name, _idx_content(array), "the Keras download")
    return Raw(*arrays, source="the Keras download (keras.datasets), verified")


def copy_offline(source: Path, dataset: str, root: Path) -> str:
    """Copy a verified offline copy of the IDX files into data/raw/<dataset>/ (`make data`)."""
    info = get_dataset(dataset)
    target = root / "data" / "raw" / info.name
    if all(_idx_file(target, name) for name in IDX_FILES):
        read_idx_folder(target, info)
        return f"{info.title}: data/raw/{info.name}/ is present and verified"
    if not source.is_dir():
        return f"{info.title}: no offline copy at {source}; notebook 01 will download it (needs internet)"
    read_idx_folder(source, info)  # verify before copying anything
    target.mkdir(parents=True, exist_ok=True)
    for name in IDX_FILES:
        file = _idx_file(source, name)
        shutil.copyfile(file, target / (file.name + ".partial"))
        os.replace(target / (file.name + ".partial"), target / file.name)
    return f"{info.title}: copied and verified the 4 files into data/raw/{info.name}/"


# ---------------------------------------------------------------------------------------------
# The hand-off files

NOTEBOOKS = {
    "01": "01_load_and_preprocess_data.ipynb",
    "02": "02_build_the_cnn.ipynb",
    "03": "03_compile_and_train.ipynb",
    "04": "04_evaluate_on_the_test_set.ipynb",
    "05": "05_predict_and_analyze_errors.ipynb",
    "06": "06_save_reload_and_use.ipynb",
    "07a": "07a_tune_the_cnn.ipynb",
    "07b": "07b_ensembles_and_test_time_augmentation.ipynb",
    "08a": "08a_look_inside_the_network.ipynb",
    "08b": "08b_why_did_it_say_that.ipynb",
    "09": "09_under_the_hood.ipynb",
}
READING_ORDER = ("01", "02", "03", "04", "05", "06", "08a", "08b", "07a", "07b", "09")

# key: (file, the notebook that writes it, the files it is made from). {name} is the data set;
# Fashion-MNIST's reports go to reports/fashion_mnist/.
ARTIFACTS = {
    "processed": ("data/processed/{name}.npz", "01", ()),
    "untrained_model": ("models/{name}_cnn_untrained.keras", "02", ("processed",)),
    "trained_model": ("models/{name}_cnn_trained.keras", "03", ("processed", "untrained_model")),
    "history": ("{reports}/history.csv", "03", ("processed", "untrained_model")),
    "metrics": ("{reports}/metrics.json", "04", ("trained_model",)),
    "predictions": ("{reports}/predictions.csv", "05", ("trained_model",)),
    "final_model": ("models/{name}_cnn.keras", "06", ("trained_model",)),
    "model_card": ("models/{name}_cnn.md", "06", ("trained_model", "metrics")),
    "tuning_trials": ("{reports}/tuning_trials.csv", "07a", ("processed",)),
    "tuned_model": ("models/{name}_cnn_tuned.keras", "07a", ("processed",)),
    "ensemble": ("models/{name}_cnn_ensemble.keras", "07b", ("processed", "trained_model")),
}


class Files:
    """The hand-off files of the series for one data set.

    files = Files("mnist")
    data = files.load_arrays("processed")        # written by notebook 01
    files.save_model("trained_model", model)      # read by 04, 05, 06, ...
    """

    def __init__(self, dataset: str = "mnist", root: Path | None = None):
        self.dataset = get_dataset(dataset)
        self.root = Path(root).resolve() if root else find_root()
        self.class_names = list(self.dataset.class_names)

    def __getitem__(self, key: str) -> Path:
        name = self.dataset.name
        reports = "reports" if name == "mnist" else f"reports/{name}"
        return self.root / ARTIFACTS[key][0].format(name=name, reports=reports)

    def relative(self, path: Path | str) -> str:
        """A path as the reader should see it: relative to the project, never this machine's folders."""
        path = self[path] if isinstance(path, str) and path in ARTIFACTS else Path(path)
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.name

    @property
    def experiment_log(self) -> Path:
        """One line per training run, every data set (notebook 04 appends; `make clean` clears)."""
        return Path(os.environ.get("MNIST_CNN_EXPERIMENT_LOG") or self.root / "reports" / "experiments.csv")

    def raw(self) -> Raw:
        return load_raw(self.dataset, self.root)

    # Writing: to a temporary name in the same folder, renamed when complete.

    def _write(self, key: str, write) -> Path:
        path = self[key]
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.stem}.partial{path.suffix}")
        try:
            write(partial)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        return path

    def save_arrays(self, key: str, arrays: dict[str, np.ndarray]) -> Path:
        return self._write(key, lambda path: np.savez(path, **arrays))

    def save_model(self, key: str, model, record: dict | None = None) -> Path:
        """The model as a .keras file, and `record` (what made it: settings, times) beside it."""
        saved = self._write(key, model.save)
        if record is not None:
            self._record_path(key).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")
        return saved

    def save_json(self, key: str, value: dict) -> Path:
        return self._write(key, lambda path: path.write_text(json.dumps(value, indent=2, default=str),
                                                             encoding="utf-8"))

    def save_csv(self, key: str, frame) -> Path:
        return self._write(key, lambda path: frame.to_csv(path, index=False))

    def save_text(self, key: str, text: str) -> Path:
        return self._write(key, lambda path: path.write_text(text, encoding="utf-8"))

    # Reading: a missing file names the notebook that makes it.

    def _require(self, key: str) -> Path:
        path = self[key]
        writer = NOTEBOOKS[ARTIFACTS[key][1]]
        if not path.is_file():
            if (self.root / "notebooks").is_dir():  # the repository: the reader runs the notebooks
                raise MissingInputError(f"{self.relative(path)} is missing: run {writer} first "
                                        f"(with DATASET = {self.dataset.name!r}).")
            self._make(key, writer)
        newer = [self.relative(self[source]) for source in ARTIFACTS[key][2]
                 if self[source].is_file() and self[source].stat().st_mtime > path.stat().st_mtime]
        if newer:
            print(f"Note: {self.relative(path)} is older than {' and '.join(newer)}. If you changed "
                  f"an earlier notebook since, rerun {writer}, then this one.")
        return path

    def _make(self, key: str, writer: str) -> None:
        """Opened alone (Colab, a notebook copied elsewhere): run the writer headless here."""
        from .run import run_notebook

        print(f"{self.relative(key)} is missing: making it by running {writer} headless "
              "(the notebooks before it too, if needed; a minute or two)...", flush=True)
        run_notebook(packaged_notebook(writer), self.root, {"DATASET": self.dataset.name})
        if not self[key].is_file():
            raise MissingInputError(f"{writer} ran but did not write {self.relative(key)}.")

    def load_arrays(self, key: str) -> dict[str, np.ndarray]:
        with np.load(self._require(key), allow_pickle=False) as arrays:
            return dict(arrays)

    def load_model(self, key: str):
        return load_model(self._require(key), f"rerun {NOTEBOOKS[ARTIFACTS[key][1]]}")

    def load_record(self, key: str) -> dict:
        """What `save_model` recorded beside the model (settings, times)."""
        self._require(key)
        path = self._record_path(key)
        return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}

    def load_json(self, key: str) -> dict:
        return json.loads(self._require(key).read_text(encoding="utf-8"))

    def load_csv(self, key: str):
        import pandas as pd

        return pd.read_csv(self._require(key))

    def _record_path(self, key: str) -> Path:
        return self[key].with_suffix(".json")


def load_model(path: Path | str, fix: str = "save the model again"):
    """A .keras file loaded in safe mode (no code stored in the file runs), with a clear message
    for a file that is not a readable model."""
    import zipfile

    import keras

    from . import from_notebooks  # noqa: F401  (registers the layers the notebooks define)

    path = Path(path)
    if not zipfile.is_zipfile(path):
        raise DamagedFileError(f"{path.name} is not a readable Keras model: a .keras file is a zip archive "
                               f"and this one is not (damaged, truncated or another format): {fix}.")
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many kinds of error for a broken archive
        raise DamagedFileError(f"{path.name} is not a readable Keras model ({type(error).__name__}): "
                               f"{fix}.") from error


def packaged_notebook(name: str) -> Path:
    """A lesson notebook as installed with the package (the wheel carries them), or the
    repository's own when the package is installed from a checkout."""
    here = Path(__file__).resolve().parent
    for folder in (here / "notebooks", here.parents[1] / "notebooks"):
        if (folder / name).is_file():
            return folder / name
    raise MissingInputError(f"{name} is not installed with the package: reinstall mnist-cnn.")
