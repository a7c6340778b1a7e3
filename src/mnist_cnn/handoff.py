"""Hand-off files between notebooks: written atomically, recorded, and checked when read.

Every artifact gets a small sidecar, `<file>.meta.json`, that records which notebook wrote it
and in which run, from which data (a fingerprint of the verified raw files), with which seed,
library versions and hyperparameters, the SHA-256 of the file itself, and a content id of every
input it was made from. Reading an artifact checks all of that, so a reader is told to rerun a
notebook instead of silently using a damaged, foreign or out-of-date file.

Each notebook run also leaves a marker, `build/runs/<dataset>/<notebook>.json`, when it starts.
If the notebook that writes a file was started again after it last wrote that file, that run
failed (or was interrupted, or is still running): a later notebook reading the file says it is
using the last good file and which run made it.

The *configuration* of an artifact is everything that shaped it: the settings (hyperparameters)
of the notebook that wrote it, those of its inputs, and the signature of the model it holds or
was made from (`experiments.model_signature`). It is recorded in the sidecar and passed along
the chain like the inputs, so notebook 04 knows every hyperparameter of the model it evaluates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .environment import describe_numerics, library_versions
from .errors import MissingArtifactError, StaleArtifactError
from .paths import NOTEBOOKS, Artifact, ProjectPaths


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _local_time(stamp: str | None) -> str:
    if not stamp:
        return "an unknown time"
    moment = dt.datetime.fromisoformat(stamp).astimezone()
    return f"{moment:%Y-%m-%d %H:%M:%S}"

SIDECAR_SUFFIX = ".meta.json"


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def arrays_content_id(arrays: dict[str, np.ndarray]) -> str:
    """A checksum of the arrays themselves (names, dtypes, shapes, values), not of the file."""
    digest = hashlib.sha256()
    for name in sorted(arrays):
        array = np.ascontiguousarray(arrays[name])
        digest.update(f"{name}|{array.dtype.str}|{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def model_content_id(model: Any) -> str:
    """A checksum of a Keras model's architecture and weights (the same model gives the same id)."""
    digest = hashlib.sha256(model.to_json().encode())
    for weight in model.weights:
        digest.update(np.ascontiguousarray(weight.numpy()).tobytes())
    return digest.hexdigest()


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path`; renamed onto `path` only if the block succeeds.

    An interrupted or failing write leaves the previous good file (or none), never half a file.
    The temporary name keeps the suffix, because Keras and numpy choose formats by it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(path)
    temporary = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def _remove_leftovers(path: Path) -> None:
    """Delete temporary files that a killed process left beside `path` (never read as data)."""
    for leftover in path.parent.glob(f".{path.stem}.partial-*{path.suffix}"):
        pid = leftover.name.removeprefix(f".{path.stem}.partial-").removesuffix(path.suffix)
        if pid.isdigit() and not _process_alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def write_text_atomically(path: Path, text: str) -> None:
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")


class HandoffFiles:
    """Reads and writes the hand-off files of one notebook, keeping their provenance.

    Every artifact read through this object becomes an input of every artifact written
    through it afterwards, so the chain from raw data to final model is recorded by itself.
    """

    def __init__(
        self,
        paths: ProjectPaths,
        notebook: str,
        seed: int | None = None,
        settings: dict[str, Any] | None = None,
        quiet: bool = False,
    ):
        from .experiments import new_run_id

        if notebook not in NOTEBOOKS:
            raise ValueError(f"notebook must be one of {sorted(NOTEBOOKS)}, not {notebook!r}")
        self.paths = paths
        self.notebook = NOTEBOOKS[notebook]
        self.seed = seed
        self.settings = dict(settings or {})
        self.quiet = quiet
        self.inputs: dict[str, str] = {}
        self.upstream_configuration: dict[str, Any] = {}
        self.signature: dict[str, Any] = {}
        self.data_fingerprint: str | None = None
        self.notices: list[str] = []
        self.run_id = new_run_id(notebook)
        self.started_at = _now()
        write_text_atomically(
            self.paths.run_marker(self.notebook),
            json.dumps({"run_id": self.run_id, "started_at": self.started_at}),
        )

    @property
    def configuration(self) -> dict[str, Any]:
        """Everything that shaped what this notebook writes: its inputs' configuration, its
        own settings, and the signature of the last model it saved."""
        return {**self.upstream_configuration, **self.settings, **self.signature}

    # ----- checking -------------------------------------------------------------------------
    def _rel(self, artifact: Artifact) -> str:
        return self.paths.relative(artifact.path)

    def read_meta(self, key: str) -> dict[str, Any]:
        """The sidecar of artifact `key`, after checking the file is complete and up to date."""
        artifact = self.paths[key]
        rel, maker = self._rel(artifact), artifact.notebook
        if not artifact.path.is_file():
            raise MissingArtifactError(f"{rel} is missing: run {maker} first.")
        meta_file = sidecar_path(artifact.path)
        try:
            meta = json.loads(meta_file.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as error:
            raise StaleArtifactError(
                f"{rel} has no readable record of where it came from ({meta_file.name}: "
                f"{type(error).__name__}); it may be from an older version or an interrupted "
                f"run: rerun {maker}."
            ) from error
        if file_sha256(artifact.path) != meta.get("file_sha256"):
            raise StaleArtifactError(
                f"{rel} is not the file that {maker} wrote (it was changed, copied over or "
                f"only partly written since): rerun {maker}."
            )
        if meta.get("dataset") != self.paths.dataset.name:
            raise StaleArtifactError(
                f"{rel} was made from {meta.get('dataset')}, but this run uses "
                f"{self.paths.dataset.name}: rerun {maker} for {self.paths.dataset.name}."
            )
        fingerprint = meta.get("data_fingerprint")
        if self.data_fingerprint is not None and fingerprint != self.data_fingerprint:
            raise StaleArtifactError(
                f"{rel} was made from other data than the files already read in this "
                f"notebook: rerun the series from {maker}."
            )
        for input_key, recorded_id in meta.get("inputs", {}).items():
            if input_key not in self.paths.artifacts:
                raise StaleArtifactError(
                    f"{rel} was made from an input this version does not know ({input_key}): "
                    f"rerun {maker}."
                )
            source = self.paths[input_key]
            current_id = self._current_content_id(source)
            if current_id is not None and current_id != recorded_id:
                raise StaleArtifactError(
                    f"{rel} is older than its input {self._rel(source)}, which was rewritten "
                    f"with other content since: rerun {maker} (and the notebooks after it)."
                )
        self._notice_failed_rerun(artifact, meta)
        return meta

    def _notice_failed_rerun(self, artifact: Artifact, meta: dict[str, Any]) -> None:
        """Say so when the writer of `artifact` started again after writing it, and wrote nothing."""
        if artifact.notebook == self.notebook:
            return  # a notebook reading its own earlier output
        try:
            marker = json.loads(self.paths.run_marker(artifact.notebook).read_text("utf-8"))
            started = dt.datetime.fromisoformat(marker["started_at"])
            written = dt.datetime.fromisoformat(meta["written_at"])
        except (OSError, ValueError, KeyError, TypeError):
            return
        if marker.get("run_id") == meta.get("run_id") or started <= written:
            return
        made_by = f"run {meta['run_id']}" if meta.get("run_id") else "an earlier run"
        notice = (
            f"Note: {self._rel(artifact)} is the last good file, written by {artifact.notebook} "
            f"at {_local_time(meta['written_at'])} ({made_by}). {artifact.notebook} was started "
            f"again at {_local_time(marker['started_at'])} and has not written it since: that run "
            f"failed, was interrupted or has not finished. What follows uses the older file."
        )
        if notice not in self.notices:
            self.notices.append(notice)
            if not self.quiet:
                print(notice)

    @staticmethod
    def _current_content_id(artifact: Artifact) -> str | None:
        try:
            meta = json.loads(sidecar_path(artifact.path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None  # reported when that input itself is read
        return meta.get("content_id") if isinstance(meta, dict) else None

    def _accept(self, key: str, meta: dict[str, Any]) -> None:
        self.inputs[key] = meta["content_id"]
        self.data_fingerprint = meta.get("data_fingerprint")
        configuration = meta.get("configuration")
        if isinstance(configuration, dict):
            self.upstream_configuration.update(configuration)

    # ----- writing --------------------------------------------------------------------------
    def _write(
        self,
        key: str,
        write: Callable[[Path], None],
        content_id: str | None,
        params: dict[str, Any] | None,
        data_fingerprint: str | None = None,
    ) -> Path:
        artifact = self.paths[key]
        if artifact.notebook != self.notebook:
            raise ValueError(f"{self._rel(artifact)} is written by {artifact.notebook} only.")
        fingerprint = data_fingerprint or self.data_fingerprint
        if fingerprint is None:
            raise ValueError("Read an input (or pass data_fingerprint) before writing an artifact.")
        with atomic_path(artifact.path) as temporary:
            write(temporary)
            file_id = file_sha256(temporary)
            meta = {
                "artifact": self._rel(artifact),
                "written_by": self.notebook,
                "dataset": self.paths.dataset.name,
                "data_fingerprint": fingerprint,
                "file_sha256": file_id,
                "content_id": content_id or file_id,
                "inputs": dict(self.inputs),
                "seed": self.seed,
                "run_id": self.run_id,
                "configuration": self.configuration,
                "params": params or {},
                "versions": library_versions(),
                "numerics": describe_numerics() if "tensorflow" in sys.modules else None,
                "written_at": _now(),
            }
            # Sidecar first, file last: until both are in place the pair reads as stale.
            write_text_atomically(sidecar_path(artifact.path), json.dumps(meta, indent=2))
        return artifact.path

    def save_arrays(
        self,
        key: str,
        arrays: dict[str, np.ndarray],
        params: dict[str, Any] | None = None,
        data_fingerprint: str | None = None,
    ) -> Path:
        """Save named arrays as an uncompressed .npz (readable without pickle)."""

        def write(path: Path) -> None:
            with open(path, "wb") as handle:
                np.savez(handle, **arrays)

        return self._write(key, write, arrays_content_id(arrays), params, data_fingerprint)

    def save_model(self, key: str, model: Any, params: dict[str, Any] | None = None) -> Path:
        """Save a Keras model in the native .keras format; its signature joins the configuration."""
        from .experiments import model_signature

        self.signature = model_signature(model)
        return self._write(key, model.save, model_content_id(model), params)

    def save_dataframe(self, key: str, frame: Any, params: dict[str, Any] | None = None) -> Path:
        return self._write(key, lambda path: frame.to_csv(path, index=False), None, params)

    def save_json(self, key: str, data: dict[str, Any], params: dict[str, Any] | None = None):
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        return self._write(key, lambda path: path.write_text(text, encoding="utf-8"), None, params)

    def save_text(self, key: str, text: str, params: dict[str, Any] | None = None) -> Path:
        return self._write(key, lambda path: path.write_text(text, encoding="utf-8"), None, params)

    # ----- reading --------------------------------------------------------------------------
    def load_arrays(self, key: str) -> dict[str, np.ndarray]:
        meta = self.read_meta(key)
        path = self.paths[key].path
        try:
            with np.load(path, allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError) as error:
            raise StaleArtifactError(
                f"{self._rel(self.paths[key])} cannot be read as arrays ({error}): "
                f"rerun {self.paths[key].notebook}."
            ) from error
        self._accept(key, meta)
        return arrays

    def load_model(self, key: str, input_shape: tuple[int, ...] = (28, 28, 1)) -> Any:
        meta = self.read_meta(key)
        artifact = self.paths[key]
        model = load_keras_model(artifact.path, input_shape, fix=f"rerun {artifact.notebook}")
        self._accept(key, meta)
        return model

    def load_dataframe(self, key: str) -> Any:
        import pandas as pd

        meta = self.read_meta(key)
        frame = pd.read_csv(self.paths[key].path)
        self._accept(key, meta)
        return frame

    def load_json(self, key: str) -> dict[str, Any]:
        meta = self.read_meta(key)
        data = json.loads(self.paths[key].path.read_text(encoding="utf-8"))
        self._accept(key, meta)
        return data


def load_keras_model(
    path: Path, input_shape: tuple[int, ...] = (28, 28, 1), fix: str = "save the model again"
) -> Any:
    """Load a .keras file in safe mode and check it takes images of `input_shape`.

    Safe mode refuses to run Python code stored in the file (lambda layers), so loading a
    model from elsewhere cannot run someone else's code. The layers the series defines (notebook
    07's warps, appendix 09's fused batch normalization) are registered with Keras first, so
    models using them load.
    """
    import keras

    from . import from_notebooks, fused_normalization  # noqa: F401  (registers the series' layers with Keras)

    path = Path(path)
    name = path.name
    if not path.is_file():
        raise MissingArtifactError(f"{name} does not exist: {fix}.")
    if not zipfile.is_zipfile(path):
        raise StaleArtifactError(
            f"{name} is not a readable Keras model: a .keras file is a zip archive and this one "
            f"is not (damaged, truncated or another format) -> {fix}."
        )
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            model = keras.saving.load_model(path, safe_mode=True)
    except Exception as error:  # Keras raises many types for a broken archive
        details = " ".join(str(error).split()) or "no details"
        for shown in (str(path.resolve()), str(path)):  # never show this machine's folders
            details = details.replace(shown, name)
        if len(details) > 300:
            details = details[:300].rsplit(" ", 1)[0] + " ..."
        raise StaleArtifactError(
            f"{name} is not a readable Keras model ({type(error).__name__}: {details}) "
            f"-> {fix}."
        ) from error
    got = tuple(model.input_shape[1:]) if hasattr(model, "input_shape") else None
    if got != tuple(input_shape):
        raise StaleArtifactError(
            f"{name} is a model for inputs of shape {got}, not {tuple(input_shape)} images: "
            f"{fix}."
        )
    return model
