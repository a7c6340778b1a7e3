"""Shared helpers of the MNIST CNN notebook series.

The teaching code (preprocessing, the model, training, evaluation, the methods that look
inside) stays in the notebooks; what later notebooks reuse of it is copied from their `#@save`
cells into the generated module `from_notebooks`. The rest of the package is infrastructure
(docs/architecture.md): paths, verified data loading, hand-off files with their provenance
checks, settings, the experiment log, the widgets' plumbing, plotting and the runner.
"""

from .datasets import DATASETS, DatasetInfo, get_dataset
from .environment import describe_numerics, import_tensorflow_quietly, library_versions
from .errors import DataError, ImageError, MissingArtifactError, SeriesError, StaleArtifactError
from .handoff import HandoffFiles, load_keras_model
from .paths import NOTEBOOKS, ProjectPaths, find_project_root
from .settings import SettingsError, apply_settings

__all__ = [
    "DATASETS",
    "NOTEBOOKS",
    "DataError",
    "DatasetInfo",
    "HandoffFiles",
    "ImageError",
    "MissingArtifactError",
    "ProjectPaths",
    "SeriesError",
    "SettingsError",
    "StaleArtifactError",
    "apply_settings",
    "describe_numerics",
    "find_project_root",
    "get_dataset",
    "import_tensorflow_quietly",
    "library_versions",
    "load_keras_model",
]
