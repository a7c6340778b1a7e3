"""The training benchmark (`make bench`): the default recipe against the one it replaced.

    python tools/benchmark.py                  # the default and the baseline, seeds 42-46, alternately
    python tools/benchmark.py --levers         # one lever at a time on the baseline, seeds 42-44
    python tools/benchmark.py --backend jax    # the default on Keras's JAX backend (pip install jax)

Each training runs in a fresh process on MNIST's 54,000 training images (03's split), 5 epochs,
and reports its `fit()` seconds, images per second, and validation and test accuracy. The
default is trained by notebook 03's own `train` on notebook 02's `build_network`, with the
values of their parameters cells. The baseline is the series' default until December 2026:
blocks of convolution (padded with zeros, "same"), normalization, ReLU, then pooling; batches
of 64; Adam from 2e-3 along a cosine to 0; no augmentation. Machines of one kind differ twice in
speed, and one machine's speed changes from minute to minute: compare times only as ratios from
one run, which alternates the two recipes seed by seed. Results: reports/benchmark.json and a table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = {"order": "conv-norm-relu-pool", "filters": (32, 64), "batch": 64, "schedule": "cosine",
            "learning_rate": 2e-3, "shift": 0, "dropout": 0.3}
LEVERS = {  # each alone on the baseline
    "steps_per_execution=16": {"steps_per_execution": 16},
    "tf.data pipeline, prefetch": {"pipeline": True},
    "jit_compile=True": {"jit": True},
    "pooling first (conv, pool, norm, ReLU)": {"order": "conv-pool-norm-relu"},
    "batch 128, learning rate 4e-3": {"batch": 128, "learning_rate": 4e-3},
    "one-cycle schedule (20% warm-up), peak 4e-3": {"schedule": "one-cycle", "learning_rate": 4e-3},
    "shifts of up to 2 pixels": {"shift": 2},
    "label smoothing 0.1": {"label_smoothing": 0.1},
    "weight averaging (use_ema)": {"ema": 0.99},
    "filters (16, 32)": {"filters": (16, 32)},
    "padding valid, pooling first": {"padding": "valid", "order": "conv-pool-norm-relu"},
}


def train_once(options: dict, seed: int) -> dict:
    """One 5-epoch training in this process; the default (options None) is notebook 03's."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import mnist_cnn  # noqa: F401  (first: quiet TensorFlow)
    from mnist_cnn.data import Files
    from mnist_cnn.from_notebooks import build_network, one_cycle, train, validation_split
    from mnist_cnn.run import shipped_settings

    import keras
    import numpy as np

    data = Files("mnist", ROOT).load_arrays("processed")
    validation, fit = validation_split(len(data["x_train"]), 0.1, seed)
    x, y = data["x_train"][fit], data["y_train"][fit]
    x_val, y_val = data["x_train"][validation], data["y_train"][validation]
    keras.utils.set_random_seed(seed)
    if options is None:
        settings = shipped_settings("02", "03")
        model = build_network(filters=settings["FILTERS"], kernel_size=settings["KERNEL_SIZE"],
                              dense_units=settings["DENSE_UNITS"], dropout=settings["DROPOUT"],
                              padding=settings["PADDING"], pooling=settings["POOLING"])
        start = time.perf_counter()
        train(model, x, y, None, epochs=settings["EPOCHS"], batch_size=settings["BATCH_SIZE"],
              learning_rate=settings["LEARNING_RATE"], shift=settings["SHIFT"], seed=seed, verbose=0,
              warmup=settings["WARMUP"])
        seconds, batch = time.perf_counter() - start, settings["BATCH_SIZE"]
    else:
        options = {**BASELINE, **options}
        model = lever_network(options)
        steps = 5 * int(np.ceil(len(x) / options["batch"]))
        rate = (one_cycle(options["learning_rate"], steps, 0.2) if options["schedule"] == "one-cycle"
                else keras.optimizers.schedules.CosineDecay(options["learning_rate"], steps))
        optimizer = keras.optimizers.Adam(rate, use_ema="ema" in options, ema_momentum=options.get("ema", 0.99))
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=options.get("label_smoothing", 0))
        model.compile(optimizer, loss,
                      metrics=["accuracy"], steps_per_execution=options.get("steps_per_execution", 1),
                      jit_compile=options.get("jit", False))
        inputs = lever_data(x, y, options, seed)
        start = time.perf_counter()
        model.fit(*inputs, epochs=5, verbose=0)
        seconds, batch = time.perf_counter() - start, options["batch"]
        if "ema" in options:
            model.optimizer.finalize_variable_values(model.trainable_variables)
    accuracy = {name: float(model.evaluate(images, labels, batch_size=1000, verbose=0)[1])
                for name, images, labels in (("val", x_val, y_val), ("test", data["x_test"], data["y_test"]))}
    return {"seed": seed, "fit_seconds": round(seconds, 1), "images_per_second": round(5 * len(x) / seconds),
            "batch": batch, **accuracy}


def lever_network(options: dict):
    """The baseline's network (notebook 02's layers), with its blocks in either order."""
    import keras

    layers = [keras.Input((28, 28, 1))]
    for number, filters in enumerate(options["filters"], 1):
        conv = keras.layers.Conv2D(filters, 3, padding=options.get("padding", "same"), use_bias=False,
                                   name=f"block{number}_conv")
        norm, relu = keras.layers.BatchNormalization(), keras.layers.Activation("relu")
        pool = keras.layers.MaxPooling2D(2)
        layers += [conv, pool, norm, relu] if options["order"] == "conv-pool-norm-relu" else [conv, norm, relu, pool]
    layers += [keras.layers.Flatten(), keras.layers.Dropout(options["dropout"]),
               keras.layers.Dense(128, use_bias=False), keras.layers.BatchNormalization(),
               keras.layers.Activation("relu"), keras.layers.Dropout(options["dropout"]),
               keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential(layers)


def lever_data(x, y, options: dict, seed: int) -> tuple:
    """What fit() gets: the arrays, or a tf.data pipeline (shuffled, shifted, prefetched)."""
    import keras
    import tensorflow as tf

    if not options["shift"] and not options.get("pipeline"):
        return x, y, options["batch"]
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(len(x), seed=seed).batch(options["batch"])
    if options["shift"]:
        move = keras.layers.RandomTranslation(options["shift"] / 28, options["shift"] / 28,
                                              fill_mode="constant", interpolation="nearest", seed=seed)
        dataset = dataset.map(lambda images, labels: (move(images, training=True), labels))
    return dataset.prefetch(tf.data.AUTOTUNE), None, None


def run(options: dict | None, seed: int, backend: str = "tensorflow") -> dict:
    """`train_once` in a fresh process (no state carried between trainings)."""
    code = f"import json, sys; sys.path.insert(0, {str(ROOT / 'tools')!r}); import benchmark; " \
           f"print(json.dumps(benchmark.train_once({options!r}, {seed})))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "KERAS_BACKEND": backend})
    if result.returncode:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def summary(runs: list[dict]) -> dict:
    return {"runs": runs, "fit_seconds_median": statistics.median(r["fit_seconds"] for r in runs),
            "val_mean": statistics.mean(r["val"] for r in runs), "test_mean": statistics.mean(r["test"] for r in runs),
            "test_min": min(r["test"] for r in runs), "val_min": min(r["val"] for r in runs),
            "val_max": max(r["val"] for r in runs), "test_max": max(r["test"] for r in runs)}


def row(name: str, result: dict, base: dict | None = None) -> str:
    ratio = f"{result['fit_seconds_median'] / base['fit_seconds_median']:.2f}" if base else "1.00"
    return (f"| {name} | {result['fit_seconds_median']:.0f} | {ratio} | "
            f"{statistics.median(r['images_per_second'] for r in result['runs']):,.0f} | "
            f"{100 * result['val_mean']:.2f} | {100 * result['test_mean']:.2f} | {100 * result['test_min']:.2f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levers", action="store_true", help="one lever at a time, seeds 42-44")
    parser.add_argument("--backend", default="tensorflow", help="Keras backend of the default's runs")
    parser.add_argument("--seeds", type=int, nargs="+")
    args = parser.parse_args()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    print(f"{cpu}, {os.cpu_count()} cores; TF_ENABLE_ONEDNN_OPTS={os.environ.get('TF_ENABLE_ONEDNN_OPTS', '1')}")
    header = ("| recipe | fit() s (median) | time vs baseline | images/s | validation % (mean) | "
              "test % (mean) | test % (lowest) |\n|---|---|---|---|---|---|---|")
    report = {"cpu": cpu, "date": time.strftime("%Y-%m-%d")}
    if args.levers:
        seeds = args.seeds or [42, 43, 44]
        rows = {"baseline": [], **{name: [] for name in LEVERS}}
        for seed in seeds:  # the baseline and every lever on one seed, then the next seed
            for name in rows:
                rows[name].append(run(LEVERS.get(name, {}), seed))
                print(name, rows[name][-1], flush=True)
        results = {name: summary(runs) for name, runs in rows.items()}
        print(header)
        for name, result in results.items():
            print(row(name, result, results["baseline"]))
        report["levers"] = results
    else:
        seeds = args.seeds or [42, 43, 44, 45, 46]
        default, baseline = [], []
        for seed in seeds:
            baseline.append(run({}, seed))
            default.append(run(None, seed, args.backend))
            print(f"seed {seed}: baseline {baseline[-1]}, default {default[-1]}", flush=True)
        report.update(default=summary(default), baseline=summary(baseline), backend=args.backend)
        print(header)
        print(row("baseline (until December 2026)", report["baseline"]))
        print(row(f"the default ({args.backend})", report["default"], report["baseline"]))
    out = ROOT / "reports" / ("benchmark_levers.json" if args.levers else "benchmark.json")
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=1))
    print(f"wrote {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
