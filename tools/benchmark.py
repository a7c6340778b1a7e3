"""Benchmark of the series on this machine: `make bench` -> reports/benchmark.json and a table.

What it measures, and how:
- the whole series (notebooks 01-06) run headless once per seed, each run in its own scratch
  copy of the project under build/bench/ (the real data/, models/ and reports/ are untouched);
  from those runs: the wall time of each notebook, the default 5-epoch fit() time that
  notebook 03 records, and the test accuracy that notebook 04 writes;
- the default's reference result, per data set (MNIST and Fashion-MNIST): the same series per
  seed, from which the mean and spread of the validation and test accuracy and the mean
  learning curves are written to src/mnist_cnn/default_reference.json, the committed file
  that notebooks 03 and 04 compare every run with (`--reference-only` does just this);
- the plain reference: the same untrained model (notebook 02's, made of Keras's own layers)
  and the same data,
  trained by a bare Keras fit() with default settings (Adam at 0.001, validation_split=0.1,
  no project code), in a fresh process per run, once with TensorFlow's deterministic ops and
  once without;
- inference with the final model: images per second on the 10,000 test images in batches
  (the model called through tf.function; the best of five batch sizes, and model.predict for
  comparison), and the latency of one image, median of 100 calls (tf.function and eager);
- peak memory of the series (the largest kernel), the CPU and the library versions.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from mnist_cnn.environment import describe_numerics, library_versions  # noqa: E402
from mnist_cnn.exercises import scratch_project  # noqa: E402
from mnist_cnn.experiments import REFERENCE_FILE, model_signature  # noqa: E402
from mnist_cnn.handoff import load_keras_model, sidecar_path, write_text_atomically  # noqa: E402
from mnist_cnn.paths import LOG_ENV_VAR, ProjectPaths  # noqa: E402
from mnist_cnn.runner import SERIES  # noqa: E402


def cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def run_series(seed: int, dataset: str = "mnist") -> dict:
    """Run notebooks 01-06 with `seed` on `dataset` in a scratch project, in a child process."""
    folder = ROOT / "build" / "bench" / f"{dataset}-seed-{seed}"
    scratch_project(folder, ROOT, dataset=dataset)
    env = dict(os.environ, MNIST_CNN_ROOT=str(folder), MNIST_CNN_SEED=str(seed),
               MNIST_CNN_DATASET=dataset, TF_CPP_MIN_LOG_LEVEL="3")
    env.pop(LOG_ENV_VAR, None)
    code = (
        "import json, sys; from mnist_cnn.runner import run_series; "
        f"print(json.dumps(run_series({list(SERIES)!r}, {dataset!r}, quiet=True)))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                            capture_output=True, text=True)
    timings = json.loads(result.stdout.strip().splitlines()[-1])
    return {**collect_run(folder, seed, dataset), "notebook_seconds": timings}


# The numerics paths the default's spread is measured on: oneDNN on and off, two threads (one
# per core here) and one. Another CPU is another path again (AVX2 against AVX-512).
NUMERICS_PATHS = [{"TF_ENABLE_ONEDNN_OPTS": onednn, "TF_NUM_INTRAOP_THREADS": threads}
                  for onednn in ("1", "0") for threads in ("2", "1")]


def capped_path(isa: str) -> dict[str, str]:
    """The path of a CPU with fewer instructions, as near as this one can come: oneDNN on (what
    the series turns on for x86 CPUs), one thread per core, oneDNN's kernels capped at `isa`
    (ONEDNN_MAX_CPU_ISA, say AVX2: the kernels an AVX2-only CPU runs)."""
    return {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_NUM_INTRAOP_THREADS": str(os.cpu_count()),
            "ONEDNN_MAX_CPU_ISA": isa.upper()}


PATH_SERIES = ("01", "02", "03", "04")  # what a training run's result needs


def run_on_path(seed: int, path: dict[str, str], reuse: bool = False) -> dict:
    """Notebooks 01-04 on MNIST with `seed`, on one numerics path, in a scratch project (with
    `reuse`, a run an earlier call finished there is read instead of run again)."""
    folder = ROOT / "build" / "bench" / "paths" / f"{path_label(path)}-seed-{seed}"
    if reuse and (folder / "reports" / "metrics.json").is_file():  # a finished run of an earlier call
        run = collect_run(folder, seed, "mnist")
        avx512 = "avx512f" in Path("/proc/cpuinfo").read_text()
        numerics = describe_numerics({"onednn": path["TF_ENABLE_ONEDNN_OPTS"] == "1",
                                      "intra_op_threads": int(path["TF_NUM_INTRAOP_THREADS"]),
                                      "cpu": cpu_model(), "avx512": avx512,
                                      "onednn_isa_cap": path.get("ONEDNN_MAX_CPU_ISA", "")})
        return {"seed": seed, "numerics": numerics,
                "val_accuracy": round(run["history"]["val_accuracy"][-1], 6),
                "test_accuracy": round(run["test_accuracy"], 6),
                "fit_seconds": round(run["fit_seconds"], 1), "notebook_seconds": {}}
    scratch_project(folder, ROOT)
    env = dict(os.environ, MNIST_CNN_ROOT=str(folder), MNIST_CNN_SEED=str(seed),
               MNIST_CNN_DATASET="mnist", TF_CPP_MIN_LOG_LEVEL="3", **path)
    env.pop(LOG_ENV_VAR, None)
    if "ONEDNN_MAX_CPU_ISA" not in path:
        env.pop("ONEDNN_MAX_CPU_ISA", None)
    code = (
        "import json; from mnist_cnn.runner import run_series; "
        "from mnist_cnn.environment import describe_numerics; "
        f"timings = run_series({list(PATH_SERIES)!r}, 'mnist', quiet=True); "
        "print(json.dumps({'timings': timings, 'numerics': describe_numerics()}))"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                            capture_output=True, text=True)
    printed = json.loads(result.stdout.strip().splitlines()[-1])
    run = collect_run(folder, seed, "mnist")
    return {"seed": seed, "numerics": printed["numerics"],
            "val_accuracy": round(run["history"]["val_accuracy"][-1], 6),
            "test_accuracy": round(run["test_accuracy"], 6),
            "fit_seconds": round(run["fit_seconds"], 1),
            "notebook_seconds": {k: round(v, 1) for k, v in printed["timings"].items()}}


def run_and_report(seed: int, path: dict[str, str], reuse: bool) -> dict:
    """`run_on_path`, then one line of what it measured."""
    run = run_on_path(seed, path, reuse=reuse)
    print(f"{run['numerics']}, seed {seed}: validation {run['val_accuracy']:.2%}, "
          f"test {run['test_accuracy']:.2%}, fit {run['fit_seconds']:.0f} s, "
          f"notebooks {run['notebook_seconds']}", flush=True)
    return run


def path_label(path: dict[str, str]) -> str:
    cap = f"-isa{path['ONEDNN_MAX_CPU_ISA']}" if "ONEDNN_MAX_CPU_ISA" in path else ""
    return f"onednn{path['TF_ENABLE_ONEDNN_OPTS']}{cap}-threads{path['TF_NUM_INTRAOP_THREADS']}"


def reference_from_paths(seeds: list[int], datasets: list[str]) -> dict[str, list[dict]]:
    """The default's reference runs without running MNIST again: the runs `--paths` made on
    this machine's own path (its oneDNN default, one thread per core) are those runs; the other
    data sets run notebooks 01-04 per seed on that path, in scratch projects."""
    from mnist_cnn.portability import default_onednn

    own = {"TF_ENABLE_ONEDNN_OPTS": "1" if default_onednn() else "0",
           "TF_NUM_INTRAOP_THREADS": str(os.cpu_count())}
    runs: dict[str, list[dict]] = {}
    for dataset in datasets:
        runs[dataset] = []
        for seed in seeds:
            if dataset == "mnist":
                folder = ROOT / "build" / "bench" / "paths" / f"{path_label(own)}-seed-{seed}"
                if not (folder / "reports" / "metrics.json").is_file():
                    raise SystemExit(f"{folder} has no finished run: run --paths first")
            else:
                folder = ROOT / "build" / "bench" / f"{dataset}-01-04-seed-{seed}"
                scratch_project(folder, ROOT, dataset=dataset)
                env = dict(os.environ, MNIST_CNN_ROOT=str(folder), MNIST_CNN_SEED=str(seed),
                           MNIST_CNN_DATASET=dataset, TF_CPP_MIN_LOG_LEVEL="3")
                env.pop(LOG_ENV_VAR, None)
                code = ("from mnist_cnn.runner import run_series; "
                        f"run_series({list(PATH_SERIES)!r}, {dataset!r}, quiet=True)")
                subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True,
                               text=True)
            runs[dataset].append(collect_run(folder, seed, dataset))
            last = runs[dataset][-1]
            print(f"{dataset}, seed {seed}: fit {last['fit_seconds']:.1f} s, validation "
                  f"{last['history']['val_accuracy'][-1]:.4f}, test {last['test_accuracy']:.4f}", flush=True)
    return runs


def write_paths(runs: list[dict], add: bool = False) -> None:
    """The default's results on every numerics path measured, and their spread, into the
    reference file (MNIST): what the quality bars and the noise band are set from. With `add`,
    the runs join those recorded (a run of the same path and seed is replaced)."""
    def stats(values: list[float]) -> dict:
        return {"mean": round(statistics.mean(values), 6), "std": round(statistics.stdev(values), 6),
                "min": round(min(values), 6), "max": round(max(values), 6), "runs": len(values)}

    reference = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))
    measured_on = f"{cpu_model()}, {os.cpu_count()} cores, {dt.date.today().isoformat()}"
    if add:
        new = {(run["numerics"], run["seed"]) for run in runs}
        earlier = reference["datasets"]["mnist"]["paths"]
        added = f"{len(runs)} run{'s' if len(runs) != 1 else ''} added"
        measured_on = f"{earlier.get('measured_on', 'earlier')}; {added}: {measured_on}"
        runs = [run for run in earlier["runs"] if (run["numerics"], run["seed"]) not in new] + runs
    reference["datasets"]["mnist"]["paths"] = {
        "measured_on": measured_on,
        "runs": [{key: run[key] for key in ("numerics", "seed", "val_accuracy", "test_accuracy",
                                            "fit_seconds")} for run in runs],
        "val_accuracy": stats([run["val_accuracy"] for run in runs]),
        "test_accuracy": stats([run["test_accuracy"] for run in runs]),
    }
    write_text_atomically(REFERENCE_FILE, json.dumps(reference, indent=1) + "\n")
    print(f"wrote the numerics paths into {REFERENCE_FILE.relative_to(ROOT)}")


def collect_run(folder: Path, seed: int, dataset: str) -> dict:
    """What the series left in a scratch project: its configuration, curves and results."""
    paths = ProjectPaths(dataset, root=folder)
    model_meta = json.loads(sidecar_path(paths["trained_model"].path).read_text())
    with paths["history"].path.open() as handle:
        history = list(csv.DictReader(handle))
    metrics = json.loads(paths["metrics"].path.read_text())
    # The signature recomputed from the model file, so a reference written from runs of an
    # earlier version carries every key the current comparison uses.
    signature = model_signature(load_keras_model(paths["trained_model"].path))
    return {
        "seed": seed,
        "dataset": dataset,
        "fit_seconds": model_meta["params"]["fit_seconds"],
        "configuration": {**model_meta["configuration"], **signature},
        "history": {name: [float(row[name]) for row in history]
                    for name in ("loss", "accuracy", "val_loss", "val_accuracy")},
        "test_accuracy": metrics["test_accuracy"],
        "folder": folder,
    }


def reference_entry(runs: list[dict]) -> dict:
    """The default's reference result on one data set: what notebooks 03 and 04 compare with."""
    def stats(values: list[float]) -> dict:
        return {"mean": round(statistics.mean(values), 6), "std": round(statistics.stdev(values), 6),
                "per_seed": [round(value, 6) for value in values]}

    configuration = {key: value for key, value in runs[0]["configuration"].items() if key != "SEED"}
    for run in runs[1:]:
        other = {key: value for key, value in run["configuration"].items() if key != "SEED"}
        if other != configuration:
            raise SystemExit(f"seed {run['seed']} ran another configuration than seed {runs[0]['seed']}")
    history = {name: [[run["history"][name][epoch] for run in runs]
                      for epoch in range(len(runs[0]["history"][name]))]
               for name in runs[0]["history"]}
    return {
        "configuration": configuration,
        "seeds": [run["seed"] for run in runs],
        "val_accuracy": stats([run["history"]["val_accuracy"][-1] for run in runs]),
        "test_accuracy": stats([run["test_accuracy"] for run in runs]),
        "history_mean": {name: [round(statistics.mean(v), 6) for v in by_epoch]
                         for name, by_epoch in history.items()},
        "history_std": {name: [round(statistics.stdev(v), 6) for v in by_epoch]
                        for name, by_epoch in history.items()},
        "history_per_seed": {name: [[round(value, 6) for value in run["history"][name]] for run in runs]
                             for name in runs[0]["history"]},
        "fit_seconds": round(statistics.median(run["fit_seconds"] for run in runs), 1),
    }


def write_reference(runs_by_dataset: dict[str, list[dict]]) -> None:
    reference = {
        "about": "The default configuration's results, per data set, over seeds: written by "
                 "tools/benchmark.py (make bench); notebooks 03 and 04 compare every run with it.",
        "measured_on": f"{cpu_model()}, {os.cpu_count()} cores, "
                       f"{dt.date.today().isoformat()}, "
                       + ", ".join(f"{k} {v}" for k, v in library_versions().items()),
        "datasets": {dataset: reference_entry(runs) for dataset, runs in runs_by_dataset.items()},
    }
    if REFERENCE_FILE.exists():  # the numerics paths (--paths) are measured apart: keep them
        earlier = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))["datasets"]
        for dataset, entry in reference["datasets"].items():
            if "paths" in earlier.get(dataset, {}):
                entry["paths"] = earlier[dataset]["paths"]
    write_text_atomically(REFERENCE_FILE, json.dumps(reference, indent=1) + "\n")
    print(f"wrote {REFERENCE_FILE.relative_to(ROOT)}")


BASELINE_FIT = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from mnist_cnn.environment import import_tensorflow_quietly
import_tensorflow_quietly()
import keras, numpy as np, tensorflow as tf
from mnist_cnn.raw_data import load_raw_data
model_file, root, deterministic, seed = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
keras.utils.set_random_seed(seed)
if deterministic:
    tf.config.experimental.enable_op_determinism()
raw = load_raw_data("mnist", project_root=root)
x_train = (raw.x_train.astype("float32") / 255)[..., None]
x_test = (raw.x_test.astype("float32") / 255)[..., None]
y_train = keras.utils.to_categorical(raw.y_train, 10)
y_test = keras.utils.to_categorical(raw.y_test, 10)
model = keras.saving.load_model(model_file, compile=False)
assert not any(type(layer).__module__.startswith("mnist_cnn") for layer in model.layers)
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
start = time.perf_counter()
model.fit(x_train, y_train, epochs=5, batch_size=64, validation_split=0.1, verbose=0)
seconds = time.perf_counter() - start
_, accuracy = model.evaluate(x_test, y_test, batch_size=1000, verbose=0)
print(json.dumps({"fit_seconds": seconds, "test_accuracy": accuracy}))
"""


def baseline_fit(model_file: Path, deterministic: bool, seed: int) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", BASELINE_FIT, str(model_file), str(ROOT), "1" if deterministic else "0",
         str(seed)],
        check=True, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


INFERENCE = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from mnist_cnn.environment import import_tensorflow_quietly
import_tensorflow_quietly()
import keras, numpy as np, tensorflow as tf
import mnist_cnn.fused_normalization  # registers appendix 09's fused layer, for a model that uses it
model = keras.saving.load_model(sys.argv[1], safe_mode=True)
x_test = np.load(sys.argv[2])["x_test"]

def best_of(function, repeats):
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return timings

predict = best_of(lambda: model.predict(x_test, batch_size=1000, verbose=0), 5)
serve = tf.function(lambda batch: model(batch, training=False), reduce_retracing=True)
throughput = {}
for batch_size in (128, 256, 500, 1000, 2500):
    batches = [tf.constant(x_test[i:i + batch_size]) for i in range(0, len(x_test), batch_size)]
    serve(batches[0])
    timings = best_of(lambda: [serve(batch).numpy() for batch in batches], 5)
    throughput[batch_size] = len(x_test) / sorted(timings)[len(timings) // 2]
best_batch = max(throughput, key=throughput.get)
one = tf.constant(x_test[:1])
serve(one)
single = best_of(lambda: serve(one).numpy(), 100)
model(x_test[:1], training=False)
eager = best_of(lambda: model(x_test[:1], training=False).numpy(), 100)
print(json.dumps({
    "predict_images_per_second": len(x_test) / sorted(predict)[len(predict) // 2],
    "inference_images_per_second": throughput[best_batch],
    "inference_batch_size": best_batch,
    "inference_by_batch_size": {str(k): round(v) for k, v in throughput.items()},
    "single_image_latency_ms": 1000 * sorted(single)[len(single) // 2],
    "single_image_eager_latency_ms": 1000 * sorted(eager)[len(eager) // 2],
}))
"""


def inference(model_file: Path, processed: Path) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", INFERENCE, str(model_file), str(processed)],
        check=True, capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "benchmark.json")
    parser.add_argument("--reference-datasets", nargs="*", default=["mnist", "fashion_mnist"],
                        help="data sets whose default reference result is measured and written "
                             "to src/mnist_cnn/default_reference.json (none: keep the file)")
    parser.add_argument("--reference-only", action="store_true",
                        help="only run the series per seed and write the reference result")
    parser.add_argument("--reference-from-existing", action="store_true",
                        help="write the reference result from the series already run in build/bench/")
    parser.add_argument("--reuse", action="store_true",
                        help="with --paths: read the runs an interrupted call finished")
    parser.add_argument("--reference-from-paths", action="store_true",
                        help="after --paths: write the reference result from its runs on this machine's "
                             "own path (MNIST) and notebooks 01-04 per seed (the other data sets)")
    parser.add_argument("--paths", action="store_true",
                        help="only run notebooks 01-04 per seed on every numerics path (oneDNN on "
                             "and off, 2 threads and 1, and with AVX-512 oneDNN capped at AVX2) "
                             "and write their spread to the reference")
    parser.add_argument("--onednn-isa", metavar="ISA",
                        help="only run notebooks 01-04 per seed with oneDNN's kernels capped at ISA "
                             "(AVX2: an AVX2-only CPU's kernels) and add the runs to the reference's paths")
    args = parser.parse_args(argv)
    if args.onednn_isa:
        write_paths([run_and_report(seed, capped_path(args.onednn_isa), args.reuse)
                     for seed in args.seeds], add=True)
        return 0
    if args.paths:
        from mnist_cnn.portability import default_onednn

        own = "1" if default_onednn() else "0"
        runs = []  # this machine's own path last: its runs double as the reference (--reference-from-paths)
        capped = [capped_path("AVX2")] if "avx512f" in Path("/proc/cpuinfo").read_text() else []
        for path in capped + sorted(NUMERICS_PATHS, key=lambda path: (path["TF_ENABLE_ONEDNN_OPTS"] == own,
                                                                     path["TF_NUM_INTRAOP_THREADS"] != "1")):
            runs += [run_and_report(seed, path, args.reuse) for seed in args.seeds]
        write_paths(runs)
        return 0
    if args.reference_from_paths:
        write_reference(reference_from_paths(args.seeds, args.reference_datasets))
        return 0
    if args.reference_from_existing:
        bench = ROOT / "build" / "bench"
        write_reference({dataset: [collect_run(bench / f"{dataset}-seed-{seed}", seed, dataset)
                                   for seed in args.seeds] for dataset in args.reference_datasets})
        return 0
    if len(args.seeds) < 3:
        parser.error("give at least 3 seeds: the figures are medians and spreads over seeds")

    started = time.perf_counter()
    runs_by_dataset = {}
    for dataset in dict.fromkeys(["mnist", *args.reference_datasets]):
        runs_by_dataset[dataset] = []
        for seed in args.seeds:
            print(f"series on {dataset} with seed {seed} ...", flush=True)
            runs_by_dataset[dataset].append(run_series(seed, dataset))
            last = runs_by_dataset[dataset][-1]
            print(f"  fit {last['fit_seconds']:.1f} s, test accuracy {last['test_accuracy']:.4f}",
                  flush=True)
    runs = runs_by_dataset["mnist"]
    if args.reference_datasets:
        write_reference({dataset: runs_by_dataset[dataset] for dataset in args.reference_datasets})
    if args.reference_only:
        return 0
    peak_memory_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024

    first = runs[0]["folder"]
    untrained = first / "models" / "mnist_cnn_untrained.keras"
    baseline, baseline_deterministic = [], []
    for seed in args.seeds:
        print(f"bare Keras fit, seed {seed} ...", flush=True)
        baseline.append(baseline_fit(untrained, deterministic=False, seed=seed))
        baseline_deterministic.append(baseline_fit(untrained, deterministic=True, seed=seed))
        print(f"  {baseline[-1]['fit_seconds']:.1f} s (deterministic ops: "
              f"{baseline_deterministic[-1]['fit_seconds']:.1f} s)", flush=True)
    print("inference ...", flush=True)
    speed = inference(first / "models" / "mnist_cnn.keras", first / "data" / "processed" / "mnist.npz")

    accuracies = [run["test_accuracy"] for run in runs]
    fit_seconds = statistics.median(run["fit_seconds"] for run in runs)
    baseline_seconds = statistics.median(run["fit_seconds"] for run in baseline)
    deterministic_seconds = statistics.median(run["fit_seconds"] for run in baseline_deterministic)
    per_notebook = {
        number: statistics.median(run["notebook_seconds"][number] for run in runs) for number in SERIES
    }
    report = {
        "fit_seconds": round(fit_seconds, 2),
        "fit_seconds_per_seed": [round(run["fit_seconds"], 2) for run in runs],
        "baseline_fit_seconds": round(baseline_seconds, 2),
        "fit_ratio": round(fit_seconds / baseline_seconds, 3),
        "baseline_test_accuracy_mean": round(statistics.mean(r["test_accuracy"] for r in baseline), 5),
        "determinism_cost_ratio": round(deterministic_seconds / baseline_seconds, 3),
        "test_accuracy_mean": round(statistics.mean(accuracies), 5),
        "test_accuracy_std": round(statistics.stdev(accuracies), 5),
        "test_accuracy_per_seed": [round(a, 5) for a in accuracies],
        "seeds": args.seeds,
        "inference_images_per_second": round(speed["inference_images_per_second"]),
        "inference_batch_size": speed["inference_batch_size"],
        "inference_by_batch_size": speed["inference_by_batch_size"],
        "single_image_eager_latency_ms": round(speed["single_image_eager_latency_ms"], 3),
        "predict_images_per_second": round(speed["predict_images_per_second"]),
        "single_image_latency_ms": round(speed["single_image_latency_ms"], 3),
        "pipeline_seconds": {**{k: round(v, 1) for k, v in per_notebook.items()},
                             "total": round(sum(per_notebook.values()), 1)},
        "peak_memory_mb": round(peak_memory_mb),
        "cpu": cpu_model(),
        "cpu_cores": os.cpu_count(),
        "versions": library_versions(),
        "benchmark_minutes": round((time.perf_counter() - started) / 60, 1),
    }
    write_text_atomically(args.output, json.dumps(report, indent=2) + "\n")

    rows = [
        ("default fit() time, median of seeds", f"{report['fit_seconds']:.1f} s"),
        ("bare Keras fit() of the same model", f"{report['baseline_fit_seconds']:.1f} s"),
        ("fit_ratio (below 1: faster than bare)", f"{report['fit_ratio']:.3f}"),
        ("cost of deterministic ops (bare fit)", f"x{report['determinism_cost_ratio']:.3f}"),
        ("test accuracy, mean ± std", f"{report['test_accuracy_mean']:.2%} ± "
                                      f"{report['test_accuracy_std']:.2%} over {len(accuracies)} seeds"),
        ("bare Keras fit() test accuracy", f"{report['baseline_test_accuracy_mean']:.2%}"),
        ("inference, test set in batches", f"{report['inference_images_per_second']:,} images/s "
                                           f"(tf.function, batches of {report['inference_batch_size']})"),
        ("inference with model.predict", f"{report['predict_images_per_second']:,} images/s"),
        ("one image, tf.function", f"{report['single_image_latency_ms']:.2f} ms"),
        ("one image, model called eagerly", f"{report['single_image_eager_latency_ms']:.2f} ms"),
        ("series 01-06, median per seed", f"{report['pipeline_seconds']['total']:.0f} s "
                                          f"({', '.join(f'{k}: {v:.0f}' for k, v in per_notebook.items())})"),
        ("peak memory (largest kernel)", f"{report['peak_memory_mb']:,} MB"),
        ("machine", f"{report['cpu']}, {report['cpu_cores']} cores"),
    ]
    width = max(len(name) for name, _ in rows)
    print()
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    print(f"\nwrote {args.output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
