"""Hyperparameters: the shipped values, the notebooks' parameter cells, and the environment."""

from __future__ import annotations

import ast
import json

import pytest
from conftest import PROJECT_ROOT

from mnist_cnn.paths import NOTEBOOKS
from mnist_cnn.settings import (
    HYPERPARAMETERS,
    SHIPPED,
    SettingsError,
    apply_settings,
    names_of,
    parse,
    resolve,
)


def parameters_cell(number: str) -> dict:
    """The assignments of the cell tagged `parameters` in notebook `number`."""
    book = json.loads((PROJECT_ROOT / "notebooks" / NOTEBOOKS[number]).read_text("utf-8"))
    cells = [cell for cell in book["cells"] if "parameters" in cell["metadata"].get("tags", [])]
    assert len(cells) == 1, f"{NOTEBOOKS[number]} needs exactly one cell tagged 'parameters'"
    values = {}
    for node in ast.parse("".join(cells[0]["source"])).body:
        assert isinstance(node, ast.Assign), "the parameters cell holds assignments only"
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


@pytest.mark.parametrize("number", sorted(NOTEBOOKS))
def test_every_parameters_cell_holds_the_shipped_values(number):
    values = parameters_cell(number)
    assert sorted(values) == sorted(names_of(number))
    assert values == {name: SHIPPED[name] for name in names_of(number)}


@pytest.mark.parametrize(("name", "text", "value"), [
    ("FILTERS", "(8, 16)", (8, 16)),
    ("FILTERS", "8,16", (8, 16)),
    ("FILTERS", "[16, 32]", (16, 32)),
    ("EPOCHS", "1", 1),
    ("LEARNING_RATE", "1e-2", 0.01),
    ("LEARNING_RATE", "1", 1.0),
    ("DROPOUT", "0", 0.0),
    ("TRAINING_IMAGES", "None", None),
    ("TRAINING_IMAGES", "6_000", 6000),
    ("DATASET", "fashion_mnist", "fashion_mnist"),
    ("DATASET", "'mnist'", "mnist"),
    ("MY_IMAGE", "images/my digit.png", "images/my digit.png"),
    ("TUNING", "full", "full"),
])
def test_environment_values_are_parsed_to_the_shipped_type(name, text, value):
    parsed = parse(name, text)
    assert parsed == value and type(parsed) is type(value)


@pytest.mark.parametrize(("name", "text", "rule"), [
    ("EPOCHS", "abc", "a positive whole number"),
    ("EPOCHS", "0", "a positive whole number"),
    ("EPOCHS", "2.5", "a positive whole number"),
    ("FILTERS", "(8,)", "two positive whole numbers"),
    ("FILTERS", "8;16", "two positive whole numbers"),
    ("DROPOUT", "1.5", "from 0 up to"),
    ("DATASET", "cifar10", "'mnist' or 'fashion_mnist'"),
    ("TUNING", "fast", "'quick', 'search' or 'full'"),
])
def test_bad_environment_values_say_what_is_wrong_and_what_to_do(name, text, rule):
    with pytest.raises(SettingsError) as failure:
        parse(name, text)
    message = str(failure.value)
    assert f"MNIST_CNN_{name}={text!r}" in message
    assert rule in message
    assert f"The series ships with {name} = {SHIPPED[name]!r}" in message


def shipped(number):
    return {name: SHIPPED[name] for name in names_of(number)}


def test_the_environment_wins_over_the_notebook_and_says_so():
    namespace = {**shipped("02"), "KERNEL_SIZE": 5, "FILTERS": (16, 32)}
    environ = {"MNIST_CNN_FILTERS": "(8, 16)", "MNIST_CNN_DENSE_UNITS": "64"}
    values, sources = resolve("02", namespace, environ)
    assert values["FILTERS"] == (8, 16)
    assert sources["FILTERS"] == "from MNIST_CNN_FILTERS; the notebook says (16, 32)"
    assert values["DENSE_UNITS"] == 64
    assert sources["DENSE_UNITS"] == "from MNIST_CNN_DENSE_UNITS; shipped: 128"
    assert values["KERNEL_SIZE"] == 5
    assert sources["KERNEL_SIZE"] == "set in this notebook; shipped: 3"
    assert sources["DROPOUT"] == "shipped"


def test_the_environment_repeating_the_shipped_value_counts_as_shipped():
    values, sources = resolve("01", shipped("01"), {"MNIST_CNN_DATASET": "mnist"})
    assert sources["DATASET"] == "shipped"


def test_apply_settings_writes_the_values_back_and_prints_them(capsys):
    namespace = shipped("03")
    values = apply_settings("03", namespace, {"MNIST_CNN_EPOCHS": "1"})
    assert namespace["EPOCHS"] == 1 == values["EPOCHS"]
    printed = capsys.readouterr().out
    assert "EPOCHS = 1" in printed and "from MNIST_CNN_EPOCHS; shipped: 5" in printed
    assert "as shipped: DATASET='mnist', SEED=42, BATCH_SIZE=64" in printed


def test_all_shipped_prints_one_line(capsys):
    apply_settings("04", shipped("04"), {})
    assert capsys.readouterr().out == (
        "Settings: all as shipped (DATASET='mnist', SEED=42, EVALUATION_BATCH_SIZE=1000).\n")


def test_a_bad_value_in_the_notebook_is_refused_too():
    with pytest.raises(SettingsError, match=r"DROPOUT = 1.2 \(set in this notebook\) is not valid"):
        resolve("02", {**shipped("02"), "DROPOUT": 1.2}, {})


def test_a_missing_parameter_names_the_line_to_restore():
    namespace = shipped("02")
    del namespace["KERNEL_SIZE"]
    with pytest.raises(SettingsError, match=r"KERNEL_SIZE is not set.*KERNEL_SIZE = 3"):
        resolve("02", namespace, {})


def test_every_hyperparameter_belongs_to_a_notebook_and_its_default_is_valid():
    for name, spec in HYPERPARAMETERS.items():
        assert spec.notebooks and all(number in NOTEBOOKS for number in spec.notebooks), name
        assert (spec.default is None and spec.nullable) or spec.valid(spec.default), name
