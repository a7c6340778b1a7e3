"""The hyperparameters of the series, their shipped values, and setting them from outside.

Every notebook keeps its hyperparameters as named variables in one cell (tagged `parameters`,
papermill's convention), and the next cell calls `apply_settings`, which

1. lets the environment override any of them without editing the notebook: the variable
   `FILTERS` is set by `MNIST_CNN_FILTERS="(16, 32)"`, `EPOCHS` by `MNIST_CNN_EPOCHS=1`, and so
   on (a teacher's class variant, a test, `make run`);
2. checks every value, so a typo stops here with a message instead of deep inside Keras;
3. prints what is in effect, and where each value that is not the shipped one came from.

**Which value wins.** When both the environment and the notebook set a hyperparameter, the
environment wins, and the printout says so ("from MNIST_CNN_EPOCHS; the notebook says 3").
The rule is the same for values injected by papermill: they count as the notebook's.

`SHIPPED` holds the value of every hyperparameter as the series ships it. A unit test checks
that the notebooks' parameter cells say the same, so this file and the notebooks cannot drift.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from .errors import SeriesError

ENV_PREFIX = "MNIST_CNN_"


class SettingsError(SeriesError):
    """A hyperparameter has a value the series cannot use; the message says which and why."""


@dataclass(frozen=True)
class Hyperparameter:
    name: str
    default: Any
    notebooks: tuple[str, ...]  # the notebooks whose parameter cell holds it
    rule: str  # what a valid value is, in words (used in error messages)
    valid: Callable[[Any], bool]
    nullable: bool = False  # None is a valid value (TRAINING_IMAGES: "all of them")

    @property
    def env_var(self) -> str:
        return ENV_PREFIX + self.name


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _fraction(low_open: bool = False) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool):
            return False
        return (0 < value < 1) if low_open else (0 <= value < 1)

    return check


def _positive_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _filters(value: Any) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and all(_positive_int(v) for v in value)


def _one_of(*choices: str) -> Callable[[Any], bool]:
    return lambda value: value in choices


_ALL = ("01", "02", "03", "04", "05", "06", "07", "08", "09")

HYPERPARAMETERS: dict[str, Hyperparameter] = {
    spec.name: spec
    for spec in (
        Hyperparameter("DATASET", "mnist", _ALL, "'mnist' or 'fashion_mnist'",
                       _one_of("mnist", "fashion_mnist")),
        Hyperparameter("SEED", 42, _ALL, "a whole number", lambda v: isinstance(v, int)
                       and not isinstance(v, bool) and v >= 0),
        Hyperparameter("PIXEL_SCALE", 255.0, ("01",), "a positive number", _positive_number),
        Hyperparameter("FILTERS", (32, 64), ("02",),
                       "two positive whole numbers, e.g. (32, 64)", _filters),
        Hyperparameter("KERNEL_SIZE", 3, ("02",), "a positive whole number", _positive_int),
        Hyperparameter("DENSE_UNITS", 128, ("02",), "a positive whole number", _positive_int),
        Hyperparameter("DROPOUT", 0.3, ("02",), "a number from 0 up to (not including) 1",
                       _fraction()),
        Hyperparameter("EPOCHS", 5, ("03",), "a positive whole number", _positive_int),
        Hyperparameter("BATCH_SIZE", 64, ("03", "07"), "a positive whole number", _positive_int),
        Hyperparameter("LEARNING_RATE", 2e-3, ("03",), "a positive number", _positive_number),
        Hyperparameter("VALIDATION_FRACTION", 0.1, ("03", "07"),
                       "a number between 0 and 1 (both excluded)", _fraction(low_open=True)),
        Hyperparameter("TRAINING_IMAGES", None, ("03",),
                       "None (all of them) or a positive whole number", _positive_int,
                       nullable=True),
        Hyperparameter("EVALUATION_BATCH_SIZE", 1000, ("04",), "a positive whole number",
                       _positive_int),
        Hyperparameter("PREDICTION_BATCH_SIZE", 1000, ("05",), "a positive whole number",
                       _positive_int),
        Hyperparameter("GALLERY_SIZE", 30, ("05",), "a positive whole number", _positive_int),
        Hyperparameter("CONFIDENCE_THRESHOLD", 0.9, ("05",), "a number between 0 and 1",
                       lambda v: isinstance(v, int | float) and 0 <= v <= 1),
        Hyperparameter("MY_IMAGE", "images/handwritten_digit.png", ("06",),
                       "the path of an image file", lambda v: isinstance(v, str) and bool(v)),
        Hyperparameter("LATENCY_REPEATS", 100, ("09",), "a positive whole number",
                       _positive_int),
        Hyperparameter("TIMED_STEPS", 40, ("09",), "a positive whole number", _positive_int),
        Hyperparameter("TUNING", "quick", ("07",), "'quick', 'search' or 'full'",
                       _one_of("quick", "search", "full")),
        Hyperparameter("ANALYSIS_IMAGES", 2000, ("08",), "a positive whole number",
                       lambda v: _positive_int(v) and v >= 20),
        Hyperparameter("DELETION_IMAGES", 200, ("08",), "a positive whole number", _positive_int),
        Hyperparameter("OCCLUSION_PATCH", 4, ("08",), "a whole number from 1 to 14",
                       lambda v: _positive_int(v) and v <= 14),
    )
}

SHIPPED: dict[str, Any] = {name: spec.default for name, spec in HYPERPARAMETERS.items()}


def names_of(notebook: str) -> list[str]:
    """The hyperparameters in `notebook`'s parameter cell, in the order of the registry."""
    return [name for name, spec in HYPERPARAMETERS.items() if notebook in spec.notebooks]


def _normalise(spec: Hyperparameter, value: Any) -> Any:
    """JSON and literal syntax give lists and ints where the series uses tuples and floats."""
    if isinstance(value, list):
        value = tuple(value)
    if isinstance(spec.default, float) and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    return value


def parse(name: str, text: str) -> Any:
    """The value of hyperparameter `name` written as `text` (an environment variable's value)."""
    spec = HYPERPARAMETERS[name]
    text = text.strip()
    if spec.nullable and text.lower() in ("", "none", "all"):
        return None
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        value = text  # a bare word: DATASET=fashion_mnist, TUNING=full, MY_IMAGE=path
    if isinstance(spec.default, tuple) and isinstance(value, int):
        value = (value,)
    value = _normalise(spec, value)
    check(name, value, f"{spec.env_var}={text!r}")
    return value


def check(name: str, value: Any, source: str) -> None:
    spec = HYPERPARAMETERS[name]
    if value is None and spec.nullable:
        return
    if not spec.valid(value):
        raise SettingsError(
            f"{name} = {value!r} ({source}) is not valid: {name} must be {spec.rule}. "
            f"The series ships with {name} = {spec.default!r}."
        )


def resolve(notebook: str, namespace: Mapping[str, Any],
            environ: Mapping[str, str] | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The values in effect for `notebook`, and where each came from ("shipped", ...)."""
    environ = os.environ if environ is None else environ
    values, sources = {}, {}
    for name in names_of(notebook):
        spec = HYPERPARAMETERS[name]
        if name not in namespace:
            raise SettingsError(
                f"{name} is not set: the parameters cell of this notebook must define it "
                f"(as shipped: {name} = {spec.default!r})."
            )
        in_notebook = _normalise(spec, namespace[name])
        check(name, in_notebook, "set in this notebook")
        values[name] = parse(name, environ[spec.env_var]) if spec.env_var in environ else in_notebook
        if values[name] == in_notebook == spec.default:
            sources[name] = "shipped"
        elif spec.env_var not in environ:
            sources[name] = f"set in this notebook; shipped: {spec.default!r}"
        elif in_notebook == spec.default:
            sources[name] = f"from {spec.env_var}; shipped: {spec.default!r}"
        else:
            sources[name] = f"from {spec.env_var}; the notebook says {in_notebook!r}"
    return values, sources


def describe(values: Mapping[str, Any], sources: Mapping[str, str]) -> str:
    shipped = [f"{name}={value!r}" for name, value in values.items() if sources[name] == "shipped"]
    changed = [name for name in values if sources[name] != "shipped"]
    if not changed:
        return "Settings: all as shipped (" + ", ".join(shipped) + ")."
    width = max(len(name) for name in changed)
    lines = ["Settings that differ from the shipped ones (the environment wins over the notebook):"]
    lines += [f"  {name:<{width}} = {values[name]!r:<12} {sources[name]}" for name in changed]
    if shipped:
        lines.append("  as shipped: " + ", ".join(shipped))
    return "\n".join(lines)


def apply_settings(notebook: str, namespace: MutableMapping[str, Any],
                   environ: Mapping[str, str] | None = None, quiet: bool = False) -> dict[str, Any]:
    """Resolve `notebook`'s hyperparameters, write them back into `namespace`, print them.

    Call it as `settings = apply_settings("03", globals())` right after the parameters cell.
    Returns the values in effect (name -> value), which the hand-off files record.
    """
    values, sources = resolve(notebook, namespace, environ)
    namespace.update(values)
    if not quiet:
        print(describe(values, sources))
    return values
