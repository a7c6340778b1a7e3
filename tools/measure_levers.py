"""Measure one training-speed lever at a time (the figures in docs/performance.md).

    .venv/bin/python tools/measure_levers.py --epochs 2

Each variant trains the untrained model of notebook 02 (run notebooks 01-02 first) with the
recipe of notebook 03, changing one thing, in a fresh process, and prints the fit() time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

VARIANTS = {
    "recipe of notebook 03": {},
    "recipe with notebook 03's recorders (every batch's loss, snapshots)": {"recorders": True},
    "the fused BatchNormalization of appendix 09 instead of Keras's own": {"fused_batch_norm": True},
    "steps_per_execution=16": {"steps_per_execution": 16},
    "XLA (jit_compile=True)": {"jit_compile": True},
    "no deterministic ops": {"deterministic": False},
    "bfloat16 mixed precision": {"policy": "mixed_bfloat16"},
    "tf.data pipeline (shuffle, batch, prefetch)": {"tf_data": True},
    "one inter-op thread (intra-op: one per core)": {"inter_op_threads": 1},
    "one inter-op thread, bfloat16 mixed precision": {"inter_op_threads": 1,
                                                      "policy": "mixed_bfloat16"},
}

TRAIN = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from mnist_cnn.environment import import_tensorflow_quietly
import_tensorflow_quietly()
import keras, numpy as np, tensorflow as tf
options, epochs, root = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if "inter_op_threads" in options:
    tf.config.threading.set_inter_op_parallelism_threads(options["inter_op_threads"])
    tf.config.threading.set_intra_op_parallelism_threads(os.cpu_count())
keras.utils.set_random_seed(42)
if options.get("deterministic", True):
    tf.config.experimental.enable_op_determinism()
if "policy" in options:
    keras.mixed_precision.set_global_policy(options["policy"])
data = np.load(f"{root}/data/processed/mnist.npz")
x, y = data["x_train"], data["y_train"]
untrained = keras.saving.load_model(f"{root}/models/mnist_cnn_untrained.keras")
if options.get("fused_batch_norm"):
    from mnist_cnn.fused_normalization import with_fused_batch_normalization
    untrained = with_fused_batch_normalization(untrained)
model = keras.models.clone_model(untrained) if "policy" in options else untrained
steps = epochs * int(np.ceil(0.9 * len(x) / 64))
model.compile(optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(2e-3, steps)),
              loss="categorical_crossentropy", metrics=["accuracy"],
              steps_per_execution=options.get("steps_per_execution", 1),
              jit_compile=options.get("jit_compile", False))
callbacks = []
if options.get("recorders"):  # what notebook 03 records while it trains
    from mnist_cnn.recorders import BatchLossRecorder, TrainingRecorder
    per_epoch = int(np.ceil(54000 / 64))
    watch = [0, 5, 20, 50, 100, 200, *[e * per_epoch for e in range(1, epochs + 1)]]
    callbacks = [BatchLossRecorder(), TrainingRecorder(watch, x[54000:54008])]
start = time.perf_counter()
if options.get("tf_data"):
    dataset = (tf.data.Dataset.from_tensor_slices((x[:54000], y[:54000]))
               .shuffle(54000, seed=42).batch(64).prefetch(tf.data.AUTOTUNE))
    model.fit(dataset, epochs=epochs, verbose=0)
else:
    model.fit(x[:54000], y[:54000], epochs=epochs, batch_size=64, verbose=0, callbacks=callbacks)
print(json.dumps({"fit_seconds": time.perf_counter() - start}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds over all variants (interleaved, so drift hits all alike)")
    parser.add_argument("--only", nargs="+", default=[],
                        help="measure only the variants whose name contains one of these words")
    args = parser.parse_args()
    variants = {name: options for name, options in VARIANTS.items()
                if not args.only or any(word in name for word in args.only)}
    if not (ROOT / "models" / "mnist_cnn_untrained.keras").is_file():
        print("run notebooks 01 and 02 first (make run)", file=sys.stderr)
        return 1
    timings = {name: [] for name in variants}
    for round_number in range(1, args.repeats + 1):
        for name, options in variants.items():
            result = subprocess.run(
                [sys.executable, "-c", TRAIN, json.dumps(options), str(args.epochs), str(ROOT)],
                capture_output=True, text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"),
            )
            if result.returncode:
                print(f"{name:<48} failed: {result.stderr.strip().splitlines()[-1]}")
                continue
            timings[name].append(json.loads(result.stdout.strip().splitlines()[-1])["fit_seconds"])
            print(f"round {round_number}  {name:<48} {timings[name][-1]:6.1f} s for {args.epochs} epochs",
                  flush=True)
    if args.repeats > 1:
        # This machine is at times slowed down from outside (a run then takes up to twice as
        # long), which only ever adds time: the fastest round shows what the code costs.
        print(f"\nmedian and fastest of {args.repeats} rounds, {args.epochs} epochs:")
        for name, seconds in timings.items():
            if seconds:
                print(f"{name:<48} median {statistics.median(seconds):6.1f} s, fastest "
                      f"{min(seconds):6.1f} s  ({', '.join(f'{s:.1f}' for s in seconds)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
