"""Trained models kept on disk, so that a long notebook that is stopped resumes where it was.

Notebook 07's full run trains up to eleven networks, minutes each. `TrainedModels(folder)` keeps
each trained model under a name derived from everything that decides it (configuration, epochs,
training images, seed, the data's fingerprint): run the notebook again and the finished
trainings are loaded instead of repeated; change any of those and the name changes, so a model
trained for other settings is never taken for this one.

    cache = TrainedModels(paths.root / "build" / "tuning-final" / DATASET)
    key = [config, epochs, len(x_fit), seed, handoff.data_fingerprint]
    found = cache.load(key)  # (model, record) or None
    if found is None:
        ...  # train the model
        cache.save(key, model, {"seconds": seconds, "val_accuracy": val_accuracy})

The record (a small JSON dict saved beside the model) is written after the model, so a save cut
short leaves no record, and the model is trained again rather than read half-written.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .handoff import atomic_path, load_keras_model, write_text_atomically


def cache_key(parts: Any) -> str:
    """16 hex digits of the SHA-256 of `parts` written as JSON (dict keys sorted; a numpy number
    as the Python number it holds, so `np.int64(30)` and `30` give one key; any other value that
    JSON cannot write by its `str`)."""
    text = json.dumps(parts, sort_keys=True, default=_plain)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") and getattr(value, "ndim", None) == 0 else str(value)


class TrainedModels:
    """A folder of trained Keras models, each found again by the key it was saved under."""

    def __init__(self, folder: Path | str):
        self.folder = Path(folder)

    def path(self, key: Any) -> Path:
        """Where the model of `key` is (or would be) kept."""
        return self.folder / f"{cache_key(key)}.keras"

    def load(self, key: Any) -> tuple[Any, dict[str, Any]] | None:
        """The model saved under `key` and its record, or None if there is none (yet)."""
        model_path = self.path(key)
        record_path = model_path.with_suffix(".json")
        if not (model_path.is_file() and record_path.is_file()):
            return None
        record = json.loads(record_path.read_text(encoding="utf-8"))
        return load_keras_model(model_path, fix="delete it and run the notebook again"), record

    def save(self, key: Any, model: Any, record: dict[str, Any]) -> Path:
        """Keep `model` and `record` (JSON-serializable) under `key`; the model's path."""
        model_path = self.path(key)
        with atomic_path(model_path) as temporary:
            model.save(temporary)
        write_text_atomically(model_path.with_suffix(".json"), json.dumps(record, sort_keys=True))
        return model_path
