"""Experiments: is this run the default, how does it compare, and the log of every run.

- `model_signature(model)`: what the code built, derived from the model itself (a checksum of
  the layers' settings, the parameter count, the optimizer and its learning-rate schedule), so
  that a change made in the code (`padding="valid"`, another layer) is seen as well as a
  change of a named hyperparameter.
- `compare_with_default(configuration, dataset)`: the default is the shipped value of every
  hyperparameter, with the shipped code, on a data set, with any seed. The default's reference
  result (mean and spread over seeds 42, 43, 44, measured by `make bench`) is the committed
  file `default_reference.json` beside this module.
- `ExperimentLog`: one JSON object per line, one line per training run, appended in a single
  write and never rewritten; a damaged line (a write cut short) is reported and skipped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .settings import SHIPPED, names_of

REFERENCE_FILE = Path(__file__).with_name("default_reference.json")
NOT_COMPARED = ("DATASET", "SEED")  # the default is the default with any seed, per data set
SIGNATURE_KEYS = ("architecture", "structure", "parameters", "optimizer")


# ----- what the code built ----------------------------------------------------------------------
def _schedule_text(learning_rate: Any) -> str:
    import keras

    if isinstance(learning_rate, keras.optimizers.schedules.CosineDecay):
        config = learning_rate.get_config()
        if not config.get("warmup_steps"):
            start = config["initial_learning_rate"]
            return (f"cosine decay from {start:g} to {start * config['alpha']:g} over "
                    f"{config['decay_steps']:,} steps")
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        config = learning_rate.get_config()
        config.pop("name", None)
        settings = ", ".join(f"{key}={value}" for key, value in sorted(config.items()))
        return f"{type(learning_rate).__name__}({settings})"
    return f"constant {float(learning_rate):g}"


def structure_of(layers: list) -> str:
    """The layers' classes and their settings that are words, not numbers ("same", "relu"):
    what no hyperparameter of notebook 02 can change, so a difference is a change of code."""
    parts = []
    for name, config in layers:
        words = [f"{key}={value}" for key, value in sorted(config.items())
                 if isinstance(value, str) and key != "data_format"]
        parts.append(f"{name}({', '.join(words)})" if words else name)
    return " > ".join(parts)


def _without_numbers(text: str) -> str:
    return re.sub(r"\d[\d,.]*(?:e-?\d+)?", "#", text)


def model_signature(model: Any) -> dict[str, Any]:
    """The architecture (a checksum of every layer's class and settings, names left out), its
    structure (the same without the numbers), the parameter count and, for a compiled model,
    its optimizer and learning-rate schedule."""
    layers = []
    for layer in model.layers:
        config = {key: value for key, value in layer.get_config().items()
                  if key not in ("name", "trainable", "dtype")}
        layers.append([type(layer).__name__, config])
    text = json.dumps(layers, sort_keys=True, default=str)
    signature = {
        "architecture": hashlib.sha256(text.encode()).hexdigest()[:16],
        "parameters": int(model.count_params()),
        "structure": structure_of(layers),
    }
    optimizer = getattr(model, "optimizer", None)
    if optimizer is not None:
        learning_rate = getattr(optimizer, "_learning_rate", None)
        if learning_rate is None:
            learning_rate = optimizer.learning_rate
        signature["optimizer"] = f"{type(optimizer).__name__}, learning rate {_schedule_text(learning_rate)}"
    return signature


# ----- the default and its reference result -------------------------------------------------------
@dataclass(frozen=True)
class Reference:
    """The default configuration's results on one data set, over several seeds (and, for MNIST,
    over the numerics paths measured: oneDNN on and off, two threads and one)."""

    dataset: str
    configuration: dict[str, Any]
    seeds: list[int]
    val_accuracy: dict[str, Any]  # mean, std, per_seed
    test_accuracy: dict[str, Any]
    history_mean: dict[str, list[float]]  # per-epoch means of loss, accuracy, val_loss, ...
    history_std: dict[str, list[float]]
    history_per_seed: dict[str, list[list[float]]]  # name -> one curve per seed, in `seeds` order
    fit_seconds: float
    measured_on: str
    paths: dict[str, Any] | None = None  # runs on every numerics path, and their spread

    def spread(self, metric: str) -> dict[str, Any]:
        """Mean, standard deviation, lowest and highest value of `metric` over every run of the
        default measured: the seeds on every numerics path where they were measured."""
        if self.paths and metric in self.paths:
            return self.paths[metric]
        values = getattr(self, metric)["per_seed"]
        return {**getattr(self, metric), "min": min(values), "max": max(values), "runs": len(values)}

    def runs_described(self) -> str:
        """"12 runs: seeds 42, 43, 44 on 4 numerics paths" (or on one machine's path)."""
        seeds = ", ".join(str(seed) for seed in self.seeds)
        if self.paths:
            count = len({run["numerics"] for run in self.paths["runs"]})
            return f"{len(self.paths['runs'])} runs: seeds {seeds} on {count} numerics paths"
        return f"{len(self.seeds)} runs: seeds {seeds}"

    def summary(self, metric: str) -> str:
        stats = self.spread(metric)
        return (f"{stats['mean']:.2%} ± {stats['std']:.2%} (lowest {stats['min']:.2%}, highest "
                f"{stats['max']:.2%}; {self.runs_described()})")

    @property
    def noise_band(self) -> float:
        """How far the default's validation accuracy moves with nothing changed but the seed
        and the numerics path: two standard deviations over every run of it measured. A run
        whose validation accuracy lies within this band of the default's mean shows no
        measurable effect (docs/performance.md, "How much a number moves")."""
        return 2 * self.spread("val_accuracy")["std"]

    def judge(self, val_accuracy: float) -> tuple[float, str]:
        """A run's validation accuracy against the default's: the gap to its mean in points and
        "within noise", "above" or "below" its noise band."""
        gap = val_accuracy - self.spread("val_accuracy")["mean"]
        verdict = "within noise" if abs(gap) <= self.noise_band else "above" if gap > 0 else "below"
        return round(100 * gap, 3) + 0.0, verdict  # + 0.0: a tie is 0.0, not -0.0


def paired_comparison(correct_a: Any, correct_b: Any) -> dict[str, Any]:
    """Two models scored on the same test images, compared image by image (McNemar's exact
    test): the images only A gets right, those only B gets right, and the two-sided p-value of
    a split at least that uneven if neither model were better. Images both get right or both
    get wrong say nothing about which is better, so subtracting two accuracies (each ±0.08
    points) overstates the noise of the difference; this uses only the images they disagree on."""
    import numpy as np

    a, b = np.asarray(correct_a, dtype=bool), np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError(f"the two models were scored on different images ({a.shape} and {b.shape})")
    only_a, only_b = int((a & ~b).sum()), int((~a & b).sum())
    disagreements, fewer = only_a + only_b, min(only_a, only_b)
    tail = sum(math.comb(disagreements, k) for k in range(fewer + 1)) / 2 ** disagreements
    return {"only_a": only_a, "only_b": only_b, "p_value": min(1.0, 2 * tail) if disagreements else 1.0}


def test_sampling_error(accuracy: float, images: int) -> float:
    """The standard error of an accuracy measured on `images` independent test images (the
    binomial one): how much the score would move on another test set of the same size."""
    return math.sqrt(accuracy * (1 - accuracy) / images)


def load_references(path: Path = REFERENCE_FILE) -> dict[str, Reference]:
    if not Path(path).is_file():
        return {}
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return {name: Reference(dataset=name, measured_on=data.get("measured_on", "?"), **entry)
            for name, entry in data["datasets"].items()}


def _same(a: Any, b: Any) -> bool:
    a = tuple(a) if isinstance(a, list) else a
    b = tuple(b) if isinstance(b, list) else b
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9)
    return a == b


def _text(value: Any) -> str:
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return f"{value:,}"
    return repr(value) if not isinstance(value, str) else value


@dataclass(frozen=True)
class Comparison:
    """How one run's configuration stands against the default on its data set."""

    dataset: str
    differences: list[str]  # "FILTERS = (8, 16) (default (32, 64))", ...
    reference: Reference | None
    changed: dict[str, Any] = field(default_factory=dict)  # name -> this run's value
    labels: list[str] = field(default_factory=list)  # short: "FILTERS=(8, 16)", ...
    seed: int | None = None

    @property
    def label(self) -> str:
        """The changes in a few words, for a table or a legend ("default" if none)."""
        return ", ".join(self.labels) or "default"

    @property
    def is_default(self) -> bool:
        return not self.differences

    def describe(self) -> str:
        if self.is_default:
            return (f"This run is the default (every hyperparameter and the code as shipped, "
                    f"on {self.dataset}): the quality bars below apply to it.")
        return ("This run is an experiment; it differs from the default in:\n"
                + "\n".join(f"  - {difference}" for difference in self.differences)
                + "\nNo quality bar applies to an experiment: it is compared with the "
                  "default instead.")

    def against_reference(self, value: float) -> str:
        """One sentence: a run's validation accuracy against the default's noise band. Runs are
        compared on validation accuracy only: the test set is used once, to report."""
        if self.reference is None:
            return (f"validation accuracy: {value:.2%}. No reference result of the default is "
                    f"recorded for {self.dataset} (`make bench` writes it).")
        mean = self.reference.spread("val_accuracy")["mean"]
        gap, band = 100 * (value - mean), 100 * self.reference.noise_band
        if abs(gap) <= band:
            verdict = "no measurable difference: within the default's noise band"
        else:
            verdict = f"{'above' if gap > 0 else 'below'} the default's noise band"
        return (f"validation accuracy: {value:.2%}, {gap:+.2f} points from the default's mean "
                f"({mean:.2%}); {verdict} (±{band:.2f} points, two standard deviations over "
                f"{self.reference.runs_described()}).")

    def verdict(self, value: float) -> str:
        """"within noise", "above" or "below": a validation accuracy against the default's band."""
        return "no reference" if self.reference is None else self.reference.judge(value)[1]


def compare_with_default(configuration: Mapping[str, Any], dataset: str,
                         references: Mapping[str, Reference] | None = None) -> Comparison:
    """Compare a run's recorded configuration (hyperparameters and model signature) with the
    default: the shipped hyperparameters and the code signature of the reference run.

    A changed hyperparameter also changes the signature (more filters, more parameters;
    more epochs, a longer schedule), so a signature difference is reported as a change made
    in the code only when no hyperparameter of the notebook that shapes it was changed.
    """
    references = load_references() if references is None else references
    reference = references.get(dataset)
    expected = dict(SHIPPED)
    if reference is not None:
        expected.update({key: reference.configuration[key] for key in SIGNATURE_KEYS
                         if key in reference.configuration})
    changed = {key: value for key, value in configuration.items()
               if key not in NOT_COMPARED and key in expected and not _same(value, expected[key])}
    named = {key: value for key, value in changed.items() if key not in SIGNATURE_KEYS}
    differences = [f"{key} = {_text(value)} (default {_text(expected[key])})"
                   for key, value in named.items()]
    labels = [f"{key}={_text(value)}" for key, value in named.items()]
    # A hyperparameter of 02 changes the architecture's numbers, one of 03 the schedule's; a
    # change of the code shows as a different structure, or as a difference no hyperparameter
    # explains.
    structure_changed = "structure" in changed and "structure" in expected
    if structure_changed or (changed.keys() & {"architecture", "parameters"}
                             and not named.keys() & set(names_of("02"))):
        parameters = _text(configuration.get("parameters"))
        differences.append(f"the architecture, changed in the code: {parameters} parameters "
                           f"(default {_text(expected.get('parameters'))})")
        labels.append(f"architecture in the code ({parameters} parameters)")
    optimizer = changed.get("optimizer")
    if optimizer is not None and (_without_numbers(optimizer) != _without_numbers(expected["optimizer"])
                                  or not named.keys() & set(names_of("03"))):
        differences.append(f"the optimizer, changed in the code: {optimizer} "
                           f"(default {expected['optimizer']})")
        labels.append(f"optimizer in the code ({optimizer})")
    return Comparison(dataset, differences, reference, changed, labels, configuration.get("SEED"))


# ----- the experiment log ----------------------------------------------------------------------
def new_run_id(notebook_number: str) -> str:
    now = dt.datetime.now(dt.UTC)
    return f"{now:%Y%m%d-%H%M%S}-{notebook_number}-{os.urandom(2).hex()}"


@dataclass
class LogContents:
    records: list[dict[str, Any]]
    problems: list[str]  # damaged lines, in words


class ExperimentLog:
    """`reports/experiments.jsonl`: one JSON object per line, one line per training run.

    Each record is appended with one `write` on a file opened in append mode, so two runs
    never interleave and an existing record is never touched. A line that does not parse
    (a write cut short by a crash or a full disk) is reported by `read` and skipped; the next
    append starts on a line of its own.
    """

    def __init__(self, path: Path):
        self.path = Path(path)

    def read(self) -> LogContents:
        if not self.path.is_file():
            return LogContents([], [])
        records, problems = [], []
        lines = self.path.read_bytes().split(b"\n")
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not a JSON object")
            except ValueError:
                what = ("is truncated (its write was cut short)" if number == len(lines)
                        else "is damaged (an earlier write was cut short)")
                problems.append(f"{self.path.name} line {number} {what}: it is ignored, "
                                f"and the log is not rewritten")
                continue
            records.append(record)
        return LogContents(records, problems)

    def append(self, record: Mapping[str, Any]) -> None:
        line = json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as handle:
            if handle.tell() > 0:
                with open(self.path, "rb") as reader:
                    reader.seek(-1, os.SEEK_END)
                    if reader.read(1) != b"\n":
                        line = "\n" + line  # a damaged last line stays on a line of its own
            handle.write(line.encode())

    def has(self, run_id: str) -> bool:
        return any(record.get("run_id") == run_id for record in self.read().records)


def latest_runs(records: Iterable[Mapping[str, Any]], dataset: str) -> list[dict[str, Any]]:
    """The runs on `dataset`, one per configuration and seed (a repeated run counts once, as its
    latest), oldest first."""
    latest: dict[str, dict[str, Any]] = {}
    for record in records:
        if record.get("dataset") != dataset:
            continue
        key = json.dumps([record.get("seed"), record.get("changes", [])])
        latest.pop(key, None)
        latest[key] = dict(record)
    return list(latest.values())


def training_record(comparison: Comparison, model_meta: Mapping[str, Any],
                    history: Mapping[str, Iterable[float]], test: Mapping[str, float]) -> dict:
    """The log record of one training run: who, what changed, how it learned, how it scored.

    `model_meta` is the trained model's sidecar (notebook 03 wrote it), `history` its
    per-epoch curves, `test` the test loss and accuracy that notebook 04 measured.
    """
    curves = {name: [float(value) for value in values] for name, values in history.items()
              if name != "epoch"}
    return {
        # A model saved before runs had ids is named by its time.
        "run_id": model_meta.get("run_id") or f"saved-{model_meta.get('written_at')}",
        "time": model_meta.get("written_at"),
        "dataset": comparison.dataset,
        "seed": model_meta.get("seed"),
        "default": comparison.is_default,
        "changes": comparison.labels,
        "changed": {key: list(value) if isinstance(value, tuple) else value
                    for key, value in comparison.changed.items()},
        "epochs": len(curves.get("loss", [])),
        "history": curves,
        "val_accuracy": curves["val_accuracy"][-1],
        "val_loss": curves["val_loss"][-1],
        "test_accuracy": float(test["test_accuracy"]),
        "test_loss": float(test["test_loss"]),
        "fit_seconds": model_meta.get("params", {}).get("fit_seconds"),
        "numerics": model_meta.get("numerics"),  # the kernels that trained it
    }


def runs_table(runs: list[Mapping[str, Any]], reference: Reference | None,
               current_run_id: str | None = None) -> Any:
    """One row per run (the default's reference first): what changed, epochs, the validation
    accuracy in % and its gap to the default's mean in points, read against the default's noise
    band, fit() seconds, and last the test accuracy, shown for the record: runs are compared on
    validation accuracy, never on the test set."""
    import pandas as pd

    rows = []
    if reference is not None:
        spread = reference.spread("val_accuracy")
        rows.append({
            "run": f"default reference ({spread['runs']} runs)",
            "changes": "default", "seed": ", ".join(str(seed) for seed in reference.seeds),
            "epochs": len(reference.history_mean["loss"]),
            "val accuracy %": 100 * spread["mean"],
            "val vs default (points)": 0.0,
            "verdict": f"band ±{100 * reference.noise_band:.2f}",
            "fit s": reference.fit_seconds,
            "test accuracy %": 100 * reference.spread("test_accuracy")["mean"],
        })
    for run in runs:
        gap, verdict = ((float("nan"), "no reference") if reference is None
                        else reference.judge(run["val_accuracy"]))
        rows.append({
            "run": run["run_id"] + ("  <- this run" if run["run_id"] == current_run_id else ""),
            "changes": ", ".join(run.get("changes", [])) or "default",
            "seed": str(run.get("seed")), "epochs": run.get("epochs"),
            "val accuracy %": 100 * run["val_accuracy"],
            "val vs default (points)": gap, "verdict": verdict,
            "fit s": run.get("fit_seconds"),
            "test accuracy %": 100 * run["test_accuracy"],
        })
    return pd.DataFrame(rows)
