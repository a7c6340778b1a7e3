"""Experiments: the default's signature, the comparison with the default, the experiment log."""

from __future__ import annotations

import json
import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import matplotlib  # noqa: E402
import pytest  # noqa: E402

matplotlib.use("Agg")

from mnist_cnn import experiments, plots  # noqa: E402
from mnist_cnn.experiments import (  # noqa: E402
    ExperimentLog,
    Reference,
    compare_with_default,
    latest_runs,
    load_references,
    model_signature,
    runs_table,
    training_record,
)
from mnist_cnn.fused_normalization import BatchNormalization as FusedBatchNormalization  # noqa: E402
from mnist_cnn.settings import SHIPPED, names_of  # noqa: E402


def small_cnn(padding="same", filters=4, name="a"):
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(filters, 3, padding=padding, use_bias=False, name=f"{name}_conv"),
        keras.layers.BatchNormalization(name=f"{name}_norm"),
        keras.layers.Flatten(name=f"{name}_flatten"),
        keras.layers.Dense(10, activation="softmax", name=f"{name}_out"),
    ], name=name)


def compiled(model, learning_rate):
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy")
    return model


# ----- signature ---------------------------------------------------------------------------------
def test_the_signature_ignores_layer_names_but_not_their_settings():
    assert model_signature(small_cnn(name="a")) == model_signature(small_cnn(name="b"))
    assert (model_signature(small_cnn(padding="valid"))["architecture"]
            != model_signature(small_cnn())["architecture"])
    assert model_signature(small_cnn(filters=8))["parameters"] == 28 * 28 * 8 * 10 + 10 + 72 + 32


def test_the_signature_names_the_optimizer_and_its_schedule():
    cosine = keras.optimizers.schedules.CosineDecay(0.002, decay_steps=4220)
    assert (model_signature(compiled(small_cnn(), cosine))["optimizer"]
            == "Adam, learning rate cosine decay from 0.002 to 0 over 4,220 steps")
    assert model_signature(compiled(small_cnn(), 0.001))["optimizer"] == "Adam, learning rate constant 0.001"
    assert "optimizer" not in model_signature(small_cnn())


def test_keras_batch_normalization_and_the_fused_one_have_the_same_signature():
    keras_own = small_cnn()
    fused = keras.Sequential([layer if not isinstance(layer, keras.layers.BatchNormalization)
                              else FusedBatchNormalization.from_config(layer.get_config())
                              for layer in keras_own.layers])
    fused.build((None, 28, 28, 1))
    assert model_signature(fused) == model_signature(keras_own)


# ----- the default --------------------------------------------------------------------------------
REFERENCE = Reference(
    dataset="mnist",
    configuration={**SHIPPED, "architecture": "abc", "parameters": 422_314, "structure": "Conv2D > Flatten",
                   "optimizer": "Adam, learning rate cosine decay from 0.002 to 0 over 4,220 steps"},
    seeds=[42, 43, 44],
    val_accuracy={"mean": 0.9920, "std": 0.0005, "per_seed": [0.9918, 0.9925, 0.9917]},
    test_accuracy={"mean": 0.9933, "std": 0.0004, "per_seed": [0.9931, 0.9937, 0.9930]},
    history_mean={"loss": [0.1, 0.05], "val_loss": [0.07, 0.03], "accuracy": [0.96, 0.98],
                  "val_accuracy": [0.979, 0.992]},
    history_std={"loss": [0.0, 0.0], "val_loss": [0.001, 0.001], "accuracy": [0.0, 0.0],
                 "val_accuracy": [0.001, 0.0005]},
    history_per_seed={"loss": [[0.1, 0.05]] * 3, "accuracy": [[0.96, 0.98]] * 3,
                      "val_loss": [[0.07, 0.03], [0.06, 0.02], [0.08, 0.04]],
                      "val_accuracy": [[0.979, 0.992], [0.98, 0.993], [0.978, 0.991]]},
    fit_seconds=90.0,
    measured_on="test",
)


def default_configuration(**changes):
    configuration = {name: SHIPPED[name] for number in ("01", "02", "03")
                     for name in names_of(number)}
    configuration.update({key: REFERENCE.configuration[key]
                          for key in ("architecture", "parameters", "structure", "optimizer")})
    configuration.update(changes)
    return configuration


def compare(**changes):
    return compare_with_default(default_configuration(**changes), "mnist", {"mnist": REFERENCE})


def test_the_default_with_any_seed_is_the_default():
    comparison = compare(SEED=7)
    assert comparison.is_default and comparison.label == "default"
    assert "the quality bars below apply" in comparison.describe()


def test_a_changed_hyperparameter_is_named_and_explains_the_new_signature():
    comparison = compare(FILTERS=[8, 16], architecture="xyz", parameters=104_000,
                         optimizer="Adam, learning rate cosine decay from 0.002 to 0 over 845 steps",
                         EPOCHS=1)
    assert not comparison.is_default
    assert comparison.differences == ["FILTERS = (8, 16) (default (32, 64))", "EPOCHS = 1 (default 5)"]
    assert comparison.label == "FILTERS=(8, 16), EPOCHS=1"
    assert "No quality bar applies" in comparison.describe()


def test_a_change_made_in_the_code_is_seen():
    architecture = compare(architecture="xyz", parameters=181_674)
    assert architecture.differences == [
        "the architecture, changed in the code: 181,674 parameters (default 422,314)"]
    optimizer = compare(optimizer="Adam, learning rate constant 0.001")
    assert optimizer.labels == ["optimizer in the code (Adam, learning rate constant 0.001)"]


def test_a_change_of_the_code_is_seen_even_beside_a_changed_hyperparameter():
    layers = compare(FILTERS=[8, 16], architecture="xyz", parameters=104_000,
                     structure="Conv2D > GlobalAveragePooling2D")
    assert layers.labels == ["FILTERS=(8, 16)", "architecture in the code (104,000 parameters)"]
    schedule = compare(EPOCHS=1, optimizer="Adam, learning rate constant 0.001")
    assert schedule.labels == ["EPOCHS=1", "optimizer in the code (Adam, learning rate constant 0.001)"]
    longer = compare(EPOCHS=1, optimizer="Adam, learning rate cosine decay from 0.002 to 0 over 844 steps")
    assert longer.labels == ["EPOCHS=1"]  # the same schedule, shorter: the hyperparameter explains it


def test_a_run_is_compared_on_validation_accuracy_against_the_noise_band():
    comparison = compare(FILTERS=[8, 16])  # the reference: 99.20% ± 0.05%, a band of ±0.10 points
    assert REFERENCE.noise_band == pytest.approx(0.001)
    assert comparison.against_reference(0.9925) == (
        "validation accuracy: 99.25%, +0.05 points from the default's mean (99.20%); no measurable "
        "difference: within the default's noise band (±0.10 points, two standard deviations over "
        "3 runs: seeds 42, 43, 44).")
    assert "below the default's noise band" in comparison.against_reference(0.9905)
    assert "above the default's noise band" in comparison.against_reference(0.9935)
    assert [comparison.verdict(v) for v in (0.9925, 0.9905, 0.9935)] == ["within noise", "below", "above"]
    alone = compare_with_default(default_configuration(), "fashion_mnist", {"mnist": REFERENCE})
    assert "No reference result of the default is recorded for fashion_mnist" in (
        alone.against_reference(0.9))


def test_the_spread_over_numerics_paths_replaces_the_spread_over_seeds():
    over_paths = {"runs": [{"numerics": f"path {k % 2}", "seed": 42 + k // 2} for k in range(6)],
                  "val_accuracy": {"mean": 0.992, "std": 0.002, "min": 0.989, "max": 0.995, "runs": 6},
                  "test_accuracy": {"mean": 0.993, "std": 0.0004, "min": 0.9926, "max": 0.9937, "runs": 6}}
    reference = Reference(**{**REFERENCE.__dict__, "paths": over_paths})
    assert reference.noise_band == pytest.approx(0.004)
    assert reference.runs_described() == "6 runs: seeds 42, 43, 44 on 2 numerics paths"
    assert reference.summary("test_accuracy") == (
        "99.30% ± 0.04% (lowest 99.26%, highest 99.37%; 6 runs: seeds 42, 43, 44 on 2 numerics paths)")


def test_a_paired_comparison_counts_the_images_the_models_disagree_on():
    import numpy as np

    a = np.array([True] * 90 + [True] * 8 + [False] * 2)
    b = np.array([True] * 90 + [False] * 8 + [True] * 2)
    result = experiments.paired_comparison(a, b)
    assert (result["only_a"], result["only_b"]) == (8, 2)
    assert result["p_value"] == pytest.approx(2 * (1 + 10 + 45) / 1024)  # exact binomial, 10 disagreements
    assert experiments.paired_comparison(a, a)["p_value"] == 1.0
    with pytest.raises(ValueError, match="different images"):
        experiments.paired_comparison(a, b[:50])


def test_the_test_sampling_error_is_the_binomial_one():
    assert experiments.test_sampling_error(0.993, 10_000) == pytest.approx(0.000834, abs=1e-6)


def test_the_committed_reference_describes_the_shipped_hyperparameters():
    references = load_references()
    assert "mnist" in references, "src/mnist_cnn/default_reference.json must hold MNIST (make bench)"
    for dataset, reference in references.items():
        for name, value in reference.configuration.items():
            if name in SHIPPED and name not in ("DATASET", "SEED"):
                assert experiments._same(value, SHIPPED[name]), (dataset, name)
        assert reference.configuration["DATASET"] == dataset
        assert len(reference.seeds) >= 3
        assert len(reference.history_mean["val_accuracy"]) == SHIPPED["EPOCHS"]


# ----- the log ------------------------------------------------------------------------------------
def record(run_id, seed=42, changes=(), test_accuracy=0.993):
    return {"run_id": run_id, "dataset": "mnist", "seed": seed, "changes": list(changes),
            "test_accuracy": test_accuracy, "val_accuracy": 0.99, "epochs": 2,
            "history": {"val_loss": [0.05, 0.03], "val_accuracy": [0.98, 0.99]},
            "fit_seconds": 10.0}


def test_the_log_appends_one_line_per_run_and_reads_them_back(tmp_path):
    log = ExperimentLog(tmp_path / "reports" / "experiments.jsonl")
    assert log.read().records == []
    log.append(record("a"))
    first = log.path.read_bytes()
    log.append(record("b", changes=["EPOCHS=1"]))
    assert log.path.read_bytes().startswith(first), "an append never rewrites what is there"
    lines = log.path.read_text().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == ["a", "b"]
    assert log.has("b") and not log.has("c")


def test_a_truncated_last_line_is_reported_and_the_next_record_starts_a_line(tmp_path):
    log = ExperimentLog(tmp_path / "experiments.jsonl")
    log.append(record("a"))
    complete = json.dumps(record("b")) + "\n"
    with open(log.path, "ab") as handle:
        handle.write(complete[:40].encode())  # a write cut short
    contents = log.read()
    assert [r["run_id"] for r in contents.records] == ["a"]
    assert contents.problems == ["experiments.jsonl line 2 is truncated (its write was cut short): "
                                 "it is ignored, and the log is not rewritten"]
    log.append(record("c"))
    contents = log.read()
    assert [r["run_id"] for r in contents.records] == ["a", "c"]
    assert contents.problems == ["experiments.jsonl line 2 is damaged (an earlier write was cut "
                                 "short): it is ignored, and the log is not rewritten"]


def test_a_repeated_configuration_shows_once_as_its_latest():
    runs = latest_runs([record("a"), record("b", changes=["EPOCHS=1"]), record("c"),
                        record("d", seed=43), {**record("e"), "dataset": "fashion_mnist"}], "mnist")
    assert [run["run_id"] for run in runs] == ["b", "c", "d"]


def test_the_record_and_the_table_of_a_run():
    comparison = compare(EPOCHS=2)
    meta = {"run_id": "r1", "written_at": "2026-11-26T07:00:00+00:00", "seed": 42,
            "params": {"fit_seconds": 12.5}}
    history = {"epoch": [1, 2], "loss": [0.2, 0.1], "accuracy": [0.9, 0.95],
               "val_loss": [0.1, 0.05], "val_accuracy": [0.97, 0.98]}
    logged = training_record(comparison, meta, history, {"test_accuracy": 0.985, "test_loss": 0.05})
    assert logged["changes"] == ["EPOCHS=2"] and logged["changed"] == {"EPOCHS": 2}
    assert logged["val_accuracy"] == 0.98 and logged["epochs"] == 2 and "epoch" not in logged["history"]
    json.dumps(logged)  # a log line must be plain JSON
    table = runs_table([logged], REFERENCE, current_run_id="r1")
    assert list(table["run"]) == ["default reference (3 runs)", "r1  <- this run"]
    assert table["val vs default (points)"].iloc[1] == pytest.approx(100 * (0.98 - 0.992))
    assert list(table["verdict"]) == ["band ±0.10", "below"]
    # runs are ranked on validation accuracy: the test accuracy is shown last, and nothing is
    # computed from it
    assert list(table.columns)[-1] == "test accuracy %"
    assert not any("vs" in column and "test" in column for column in table.columns)
    figure = plots.plot_runs([logged], REFERENCE, current_run_id="r1")
    labels = figure.axes[1].get_legend_handles_labels()[1]
    assert labels == ["default, seeds 42, 43, 44: range", "default, seed 42",
                      "EPOCHS=2 (seed 42) - this run"]
    dashed = figure.axes[1].lines[0]
    assert list(dashed.get_ydata()) == [0.979, 0.992]  # the default with the run's own seed


def test_the_saved_network_is_the_default_s_network():
    """build_network() as notebook 02 saved it, with no change, has the default's signature."""
    from mnist_cnn.from_notebooks import build_network

    reference = load_references()["mnist"].configuration
    signature = model_signature(build_network())
    assert {key: signature[key] for key in ("architecture", "parameters", "structure")} == {
        key: reference[key] for key in ("architecture", "parameters", "structure")}
    assert model_signature(build_network(padding="valid"))["parameters"] == 225_706
    assert model_signature(build_network(pooling="average"))["parameters"] == 29_098
