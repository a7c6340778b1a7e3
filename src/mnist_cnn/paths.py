"""Where the series keeps its files, and which notebook writes each one."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .datasets import DatasetInfo, get_dataset

ROOT_ENV_VAR = "MNIST_CNN_ROOT"
LOG_ENV_VAR = "MNIST_CNN_EXPERIMENT_LOG"  # another experiment log (the runner's --inplace uses it)

NOTEBOOKS = {
    "01": "01_load_and_preprocess_data.ipynb",
    "02": "02_build_the_cnn.ipynb",
    "03": "03_compile_and_train.ipynb",
    "04": "04_evaluate_on_the_test_set.ipynb",
    "05": "05_predict_and_analyze_errors.ipynb",
    "06": "06_save_reload_and_use.ipynb",
    "07": "07_tune_the_cnn.ipynb",
    "08": "08_look_inside_the_network.ipynb",
    "09": "09_under_the_hood.ipynb",
}
# How a reader goes through the series: the six stages of the study, the look inside the
# trained network, the optional tuning, and the appendix last.
READING_ORDER = ("01", "02", "03", "04", "05", "06", "08", "07", "09")


def find_project_root(start: Path | None = None) -> Path:
    """The folder that holds `pyproject.toml` and `notebooks/`, searched upwards from `start`.

    MNIST_CNN_ROOT overrides the search (handy when a notebook is copied elsewhere).
    """
    if os.environ.get(ROOT_ENV_VAR):
        return Path(os.environ[ROOT_ENV_VAR]).resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "pyproject.toml").is_file() and (folder / "notebooks").is_dir():
            return folder
    raise FileNotFoundError(
        f"Cannot find the project folder above {here}: open the notebooks from the cloned "
        f"repository, or set {ROOT_ENV_VAR} to the folder that holds pyproject.toml."
    )


@dataclass(frozen=True)
class Artifact:
    """A file that one notebook writes and later ones read."""

    key: str
    path: Path
    notebook: str  # the notebook that writes it

    def relative(self, root: Path) -> str:
        return self.path.relative_to(root).as_posix()


class ProjectPaths:
    """All paths of the series for one data set; MNIST keeps the short, documented names."""

    def __init__(self, dataset: str | DatasetInfo | None = None, root: Path | None = None):
        self.dataset = dataset if isinstance(dataset, DatasetInfo) else get_dataset(dataset)
        self.root = Path(root).resolve() if root else find_project_root()
        name = self.dataset.name
        self.notebooks = self.root / "notebooks"
        self.data = self.root / "data"
        self.raw = self.data / "raw" / name
        self.processed_dir = self.data / "processed"
        self.models = self.root / "models"
        self.reports = self.root / "reports" if name == "mnist" else self.root / "reports" / name
        self.figures = self.reports / "figures"
        self.runs = self.root / "build" / "runs" / name
        # One log for every data set: each record names its data set.
        self.experiment_log = Path(
            os.environ.get(LOG_ENV_VAR) or self.root / "reports" / "experiments.jsonl"
        )

        def artifact(key: str, path: Path, notebook: str) -> Artifact:
            return Artifact(key, path, NOTEBOOKS[notebook])

        self.artifacts = {
            a.key: a
            for a in (
                artifact("processed", self.processed_dir / f"{name}.npz", "01"),
                artifact("untrained_model", self.models / f"{name}_cnn_untrained.keras", "02"),
                artifact("trained_model", self.models / f"{name}_cnn_trained.keras", "03"),
                artifact("history", self.reports / "history.csv", "03"),
                artifact("metrics", self.reports / "metrics.json", "04"),
                artifact("predictions", self.reports / "predictions.csv", "05"),
                artifact("final_model", self.models / f"{name}_cnn.keras", "06"),
                artifact("model_card", self.models / f"{name}_cnn.md", "06"),
                artifact("tuning_trials", self.reports / "tuning_trials.csv", "07"),
                artifact("tuned_model", self.models / f"{name}_cnn_tuned.keras", "07"),
                artifact("tuned_model_card", self.models / f"{name}_cnn_tuned.md", "07"),
                artifact("tuned_ensemble", self.models / f"{name}_cnn_tuned_ensemble.keras", "07"),
                # 07's quick mode (what `make test` runs) writes apart, so that it never
                # replaces the results of a full search.
                artifact("tuning_trials_quick", self.reports / "tuning_trials_quick.csv", "07"),
                artifact("tuned_model_quick", self.models / f"{name}_cnn_tuned_quick.keras", "07"),
                artifact("tuned_model_card_quick", self.models / f"{name}_cnn_tuned_quick.md", "07"),
                artifact("tuned_ensemble_quick",
                         self.models / f"{name}_cnn_tuned_ensemble_quick.keras", "07"),
            )
        }

    def run_marker(self, notebook: str) -> Path:
        """Where a run of `notebook` (its file name) records that it started."""
        return self.runs / f"{Path(notebook).stem}.json"

    def __getitem__(self, key: str) -> Artifact:
        return self.artifacts[key]

    def relative(self, path: Path | Artifact) -> str:
        """A path as the reader should see it: relative to the project, never this machine's."""
        path = path.path if isinstance(path, Artifact) else Path(path)
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.name

    def __repr__(self) -> str:
        return f"ProjectPaths(dataset={self.dataset.name!r})"
