"""The set-up and run commands behind `make data` and `make run`."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REAL_MNIST

from mnist_cnn import runner
from mnist_cnn.datasets import IDX_FILES
from mnist_cnn.errors import DataError
from mnist_cnn.handoff import sidecar_path
from mnist_cnn.offline_copies import prepare

ROOT = Path(__file__).resolve().parents[1]
REAL_MNIST_COPY = REAL_MNIST  # ../shared/mnist, else the copy `make data` made in data/raw/mnist
needs_mnist = pytest.mark.skipif(not REAL_MNIST_COPY.is_dir(), reason=f"no MNIST copy at {REAL_MNIST_COPY}")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'copy'\n")
    (tmp_path / "notebooks").mkdir()
    return tmp_path


@needs_mnist
def test_prepare_copies_and_verifies_then_reports_present(root):
    message = prepare(REAL_MNIST_COPY, "mnist", root)
    assert "copied and verified 4 files into data/raw/mnist/" in message
    assert sorted(p.name for p in (root / "data" / "raw" / "mnist").iterdir()) == sorted(
        f"{name}.gz" for name in IDX_FILES
    )
    assert "present and verified" in prepare(REAL_MNIST_COPY, "mnist", root)


@needs_mnist
def test_prepare_refuses_a_damaged_copy_and_copies_nothing(root, tmp_path):
    damaged = tmp_path / "damaged"
    shutil.copytree(REAL_MNIST_COPY, damaged)
    labels = damaged / "t10k-labels-idx1-ubyte.gz"
    labels.write_bytes(labels.read_bytes()[: len(labels.read_bytes()) // 2])
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte.gz is not a readable gzip file"):
        prepare(damaged, "mnist", root)
    assert not (root / "data" / "raw" / "mnist").exists()


def test_prepare_without_a_copy_says_the_download_will_be_used(root, tmp_path):
    message = prepare(tmp_path / "nowhere", "mnist", root)
    assert "no offline copy" in message and "download it with Keras" in message


def write_with_sidecar(path: Path, text: str, written_at: dt.datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    sidecar_path(path).write_text(json.dumps({"written_at": written_at.isoformat()}))


def test_report_compares_on_validation_and_shows_the_test_accuracy_once(root, monkeypatch):
    """The summary of `make run` judges a run by its validation accuracy against the default's
    noise band; the test accuracy is printed, never compared."""
    from mnist_cnn.experiments import load_references

    monkeypatch.setenv("MNIST_CNN_ROOT", str(root))
    started = dt.datetime.now(dt.UTC)
    metrics = {"test_accuracy": 0.9931, "test_errors": 69, "test_images": 10000, "changes": []}
    write_with_sidecar(root / "reports" / "metrics.json", json.dumps(metrics), started)
    write_with_sidecar(root / "reports" / "history.csv", "epoch,val_accuracy\n1,0.98\n2,0.9918\n", started)
    write_with_sidecar(root / "models" / "mnist_cnn.keras", "zip", started)
    reference = load_references()["mnist"]
    lines = runner.report("mnist", started).splitlines()
    assert lines[0] == "this run (MNIST): the default"
    assert lines[1].startswith("  validation accuracy: 99.18%, ")
    assert f"(±{100 * reference.noise_band:.2f} points, two standard deviations over" in lines[1]
    assert lines[2] == ("  test accuracy, measured once and not used to compare: 99.31% "
                        "(69 errors in 10,000 test images)")
    assert lines[3] == "final model: models/mnist_cnn.keras"
    assert not any("test" in line and ("points" in line or "default" in line) for line in lines)
    metrics["changes"] = ["EPOCHS=1"]
    write_with_sidecar(root / "reports" / "metrics.json", json.dumps(metrics), started)
    assert runner.report("mnist", started).splitlines()[0] == "this run (MNIST): an experiment: EPOCHS=1"


def test_report_never_shows_an_earlier_runs_results(root, monkeypatch):
    """Files written before this run started are not this run's results: say there are none."""
    monkeypatch.setenv("MNIST_CNN_ROOT", str(root))
    earlier = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    write_with_sidecar(root / "reports" / "metrics.json", json.dumps(
        {"test_accuracy": 0.9931, "test_errors": 69, "test_images": 10000}), earlier)
    write_with_sidecar(root / "models" / "mnist_cnn.keras", "zip", earlier)
    started = dt.datetime.now(dt.UTC)
    assert runner.report("mnist", started, ["03", "04"]).splitlines() == [
        "test accuracy (MNIST): none from this run (notebook 04 did not run to the end)"]
    assert runner.report("mnist", started, ["01", "02"]) == ""


def test_runner_rejects_unknown_notebook_numbers(capsys):
    with pytest.raises(SystemExit):
        runner.main(["99"])
    assert "unknown notebook numbers ['99']" in capsys.readouterr().err


def test_tensorflow_imports_without_start_up_noise():
    """The setup cell's quiet import: nothing from TensorFlow's C++ start-up reaches stderr."""
    code = (
        "from mnist_cnn import import_tensorflow_quietly\n"
        "import_tensorflow_quietly()\n"
        "import keras, tensorflow\n"
        "print(keras.__version__)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env=env, check=True)
    assert result.stdout.strip().startswith("3.")
    assert result.stderr == ""


def test_benchmark_serves_a_model_with_the_series_layers(tmp_path, real_digits):
    """tools/benchmark.py times inference in a fresh process: it must load a model that uses
    the fused BatchNormalization of appendix 09 (it once failed there, after 20 minutes of training)."""
    import importlib.util

    import keras
    import numpy as np

    from mnist_cnn.fused_normalization import BatchNormalization

    spec = importlib.util.spec_from_file_location(
        "benchmark", Path(__file__).resolve().parents[1] / "tools" / "benchmark.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)

    np.savez(tmp_path / "mnist.npz", x_test=real_digits)
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(4, 3, use_bias=False),
                              BatchNormalization(), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    model.save(tmp_path / "model.keras")

    figures = benchmark.inference(tmp_path / "model.keras", tmp_path / "mnist.npz")
    assert set(figures) >= {"inference_images_per_second", "predict_images_per_second",
                            "single_image_latency_ms", "single_image_eager_latency_ms"}
    assert all(value > 0 for value in figures.values() if isinstance(value, float))


def test_benchmark_adds_a_capped_paths_runs_to_those_recorded(tmp_path, monkeypatch):
    """`tools/benchmark.py --onednn-isa AVX2` adds its runs to the reference's numerics paths:
    a run of the same path and seed is replaced, the others kept, the spread recomputed."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "benchmark", Path(__file__).resolve().parents[1] / "tools" / "benchmark.py")
    benchmark = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(benchmark)
    earlier = [{"numerics": "oneDNN on, 2 threads, X", "seed": seed, "val_accuracy": value,
                "test_accuracy": 0.993, "fit_seconds": 100.0} for seed, value in ((42, 0.99), (43, 0.994))]
    earlier.append({**earlier[0], "numerics": "oneDNN on (AVX2 at most), 2 threads, X", "val_accuracy": 0.5})
    reference = tmp_path / "default_reference.json"
    reference.write_text(json.dumps({"datasets": {"mnist": {"paths": {"runs": earlier}}}}))
    monkeypatch.setattr(benchmark, "REFERENCE_FILE", reference)
    monkeypatch.setattr(benchmark, "ROOT", tmp_path)
    added = {**earlier[2], "val_accuracy": 0.992}
    benchmark.write_paths([added], add=True)
    paths = json.loads(reference.read_text())["datasets"]["mnist"]["paths"]
    assert paths["runs"] == earlier[:2] + [added]
    assert paths["val_accuracy"]["runs"] == 3 and paths["val_accuracy"]["min"] == 0.99
    assert "1 run added" in paths["measured_on"]
    assert benchmark.path_label(benchmark.capped_path("AVX2")).startswith("onednn1-isaAVX2-threads")


def test_a_slow_test_without_a_worker_group_stops_the_collection(tmp_path):
    """`make integration` runs slow tests two at a time; the conftest refuses one that does not
    say which group it must share a worker with."""
    shutil.copy(Path(__file__).with_name("conftest.py"), tmp_path / "conftest.py")
    (tmp_path / "test_new.py").write_text(
        "import pytest\n\n\n@pytest.mark.slow\ndef test_trains():\n    pass\n\n\n"
        "@pytest.mark.slow\n@pytest.mark.xdist_group('mine')\ndef test_grouped():\n    pass\n")
    def collect() -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m", "slow",
                               "-p", "no:cacheprovider", str(tmp_path)],
                              cwd=tmp_path, capture_output=True, text=True)
    result = collect()
    assert result.returncode == 4 and "test_new.py::test_trains" in result.stderr + result.stdout
    grouped = "@pytest.mark.slow\n@pytest.mark.xdist_group('x')\ndef test_trains"
    (tmp_path / "test_new.py").write_text((tmp_path / "test_new.py").read_text().replace(
        "@pytest.mark.slow\ndef test_trains", grouped))
    assert collect().returncode == 0


def test_make_tests_last_line_names_every_skipped_test(tmp_path):
    """`make test` ends with tools/test_summary.py over the JUnit reports of its pytest runs: a
    skipped test (the browser tests without Chromium) is named with its reason, not counted as
    passed; a failure or a missing report is not "all checks passed"."""
    (tmp_path / "test_some.py").write_text(
        "import pytest\n\n\ndef test_runs():\n    assert 1 + 1 == 2\n\n\n"
        "def test_needs_a_browser():\n    pytest.skip('Chromium is not installed')\n")
    report = tmp_path / "reports" / "unit.xml"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", str(tmp_path / "test_some.py")],
                   cwd=tmp_path, capture_output=True, check=True)
    summary_tool = [sys.executable, str(Path(__file__).parents[1] / "tools" / "test_summary.py")]

    def summarize(*reports: Path) -> subprocess.CompletedProcess:
        return subprocess.run([*summary_tool, *map(str, reports)], capture_output=True, text=True)

    skipped = summarize(report)
    assert skipped.returncode == 0
    assert "1 test passed, 1 SKIPPED" in skipped.stdout
    assert "test_needs_a_browser: Chromium is not installed" in skipped.stdout
    assert "all checks passed" not in skipped.stdout

    (tmp_path / "test_some.py").write_text("def test_runs():\n    assert 1 + 1 == 2\n")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", str(tmp_path / "test_some.py")],
                   cwd=tmp_path, capture_output=True, check=True)
    assert "all checks passed (1 test, none skipped)" in summarize(report).stdout

    # An xfail ran and failed as marked: counted apart, not as a skip. A module skipped at
    # collection keeps its reason.
    (tmp_path / "test_some.py").write_text(
        "import pytest\n\n\ndef test_runs():\n    assert 1 + 1 == 2\n\n\n"
        "@pytest.mark.xfail(reason='rounding differs on ARM')\n"
        "def test_known():\n    assert 0.1 + 0.2 == 0.3\n")
    (tmp_path / "test_module.py").write_text(
        "import pytest\n\npytest.skip(\"needs JupyterLab (the 'lab' extra)\", allow_module_level=True)\n\n\n"
        "def test_lab():\n    pass\n")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", str(tmp_path / "test_some.py")],
                   cwd=tmp_path, capture_output=True, check=True)
    xfailed = summarize(report)
    assert xfailed.returncode == 0
    assert "all checks passed (1 test, none skipped, 1 marked expected to fail (xfail))" in xfailed.stdout
    assert "test_known: rounding differs on ARM" in xfailed.stdout
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", str(tmp_path / "test_module.py")],
                   cwd=tmp_path, capture_output=True)  # exit status 5: no test collected
    module = summarize(report)
    assert "0 tests passed, 1 SKIPPED" in module.stdout
    assert "skipped at collection: needs JupyterLab (the 'lab' extra)\n" in module.stdout

    (tmp_path / "test_some.py").write_text("def test_runs():\n    assert 1 + 1 == 3\n")
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    f"--junitxml={report}", str(tmp_path / "test_some.py")],
                   cwd=tmp_path, capture_output=True)
    failed = summarize(report)
    assert failed.returncode == 1 and "1 test FAILED" in failed.stdout

    missing = summarize(report, tmp_path / "reports" / "integration.xml")
    assert missing.returncode == 2 and "integration.xml is missing" in missing.stderr


def test_the_runner_under_make_test_fails_when_the_shipped_series_is_not_the_default(root, monkeypatch):
    """`make test` runs the Fashion-MNIST series with --expect-default: were the series as
    shipped logged as an experiment (a stale signature), the notebooks' claims would only be
    printed, never asserted; the runner says so and fails."""
    monkeypatch.setenv("MNIST_CNN_ROOT", str(root))
    started = dt.datetime.now(dt.UTC)
    assert "wrote no metrics.json" in runner.not_the_default("fashion_mnist", started)
    metrics_file = runner.ProjectPaths("fashion_mnist")["metrics"].path
    metrics = {"test_accuracy": 0.92, "test_errors": 800, "test_images": 10000, "changes": []}
    write_with_sidecar(metrics_file, json.dumps(metrics), started)
    assert runner.not_the_default("fashion_mnist", started) is None
    metrics["changes"] = ["architecture in the code (422,314 parameters)"]
    write_with_sidecar(metrics_file, json.dumps(metrics), started)
    why = runner.not_the_default("fashion_mnist", started)
    assert "logged this run as an experiment (architecture in the code" in why
    assert "default_reference.json" in why
    # A setting left in the environment is not a stale reference: the message says which to unset.
    metrics["changes"] = ["EPOCHS=3"]
    write_with_sidecar(metrics_file, json.dumps(metrics), started)
    monkeypatch.setenv("MNIST_CNN_EPOCHS", "3")
    why = runner.not_the_default("fashion_mnist", started)
    assert "unset MNIST_CNN_EPOCHS in the environment" in why and "default_reference.json" not in why
    monkeypatch.delenv("MNIST_CNN_EPOCHS")  # then it was edited in notebook 03
    why = runner.not_the_default("fashion_mnist", started)
    assert "restore the shipped value of EPOCHS in its notebook" in why
    # An optimizer label holds "=" too (a schedule's arguments): a change in the code, not a setting.
    metrics["changes"] = ["optimizer in the code (Adam, learning rate ExponentialDecay(decay_rate=0.9))"]
    write_with_sidecar(metrics_file, json.dumps(metrics), started)
    why = runner.not_the_default("fashion_mnist", started)
    assert "default_reference.json" in why and "unset" not in why and "restore" not in why


def test_make_test_runs_the_fashion_series_expecting_the_default():
    """The gate above acts only if `make test` passes --expect-default; `make fashion` does not."""
    def dry_run(target):
        return subprocess.run(["make", "-n", target], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.splitlines()

    fashion_series = [line for line in dry_run("test") if "runner --dataset fashion_mnist" in line]
    assert len(fashion_series) == 1 and "--expect-default" in fashion_series[0].split()
    reader = [line for line in dry_run("fashion") if "runner --dataset fashion_mnist" in line]
    assert len(reader) == 1 and "--expect-default" not in reader[0]


def test_the_runner_refuses_to_restore_part_of_the_series_on_another_numerics_path(root, monkeypatch, capsys):
    """The stored notebooks quote each other's numbers; re-storing some of them on another kind
    of machine would make 04's error count disagree with 05's. --new-path is the way to say
    that everything is being re-stored."""
    import nbformat

    stored = "oneDNN on, 2 threads, AMD EPYC (AVX-512)"
    here = "oneDNN on, 2 threads, Intel(R) Xeon(R) Processor (AVX-512)"
    book = nbformat.v4.new_notebook(metadata={"mnist_cnn": {"outputs_computed_on": stored}})
    nbformat.write(book, root / "notebooks" / runner.NOTEBOOKS["03"])
    monkeypatch.setenv("MNIST_CNN_ROOT", str(root))
    assert runner.stored_outputs_path() == stored
    assert runner.mixing_paths(["08"], stored, stored) is None
    assert runner.mixing_paths(["08"], here, None) is None  # nothing recorded: nothing to mix
    why = runner.mixing_paths(["05", "08"], here, stored)
    assert stored in why and here in why and "05 08" in why and "--new-path" in why

    executed = []
    monkeypatch.setattr(runner, "_numerics_of_kernels", lambda: here)
    monkeypatch.setattr(runner, "run_series", lambda *args, **kwargs: executed.append(args) or {})
    monkeypatch.setattr(runner, "warn_if_saved_code_is_stale", lambda: None)
    assert runner.main(["--inplace", "08"]) == 2 and not executed
    assert "refused: the stored notebooks were computed on" in capsys.readouterr().err
    assert runner.main(["--inplace", "--solutions", "08"]) == 2 and not executed
    assert runner.main(["08"]) == 0 and executed  # not --inplace: build/executed/, nothing stored
    monkeypatch.setattr(runner, "_numerics_of_kernels", lambda: stored)
    assert runner.main(["--inplace", "08"]) == 0  # the stored kind of machine
    monkeypatch.setattr(runner, "_numerics_of_kernels", lambda: here)
    assert runner.main(["--inplace", "--new-path", "08"]) == 0
