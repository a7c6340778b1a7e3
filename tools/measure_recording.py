"""What recording the training costs (notebook 03): the time spent inside the recorders.

    .venv/bin/python tools/measure_recording.py            # 5 epochs, as notebook 03 trains

Trains the untrained model of notebook 02 (run 01-02 first) with the recipe of notebook 03,
with notebook 03's two recorders, and times every call of their batch hooks. This measures the
recording itself, which a comparison of two whole fit() times on this machine cannot: they
vary by more than the recording costs (docs/performance.md). A batch callback that does
nothing is also timed against none, for what Keras's batch hooks cost by themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRAIN = """
import json, os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from mnist_cnn.environment import import_tensorflow_quietly
import_tensorflow_quietly()
import keras, numpy as np, tensorflow as tf
from mnist_cnn.handoff import load_keras_model
from mnist_cnn.recorders import BatchLossRecorder, TrainingRecorder
mode, epochs, root = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with np.load(f"{root}/data/processed/mnist.npz") as data:
    x, y = data["x_train"][:54000], data["y_train"][:54000]
keras.utils.set_random_seed(42)
tf.config.experimental.enable_op_determinism()
model = load_keras_model(f"{root}/models/mnist_cnn_untrained.keras")
per_epoch = int(np.ceil(len(x) / 64))
schedule = keras.optimizers.schedules.CosineDecay(2e-3, epochs * per_epoch)
model.compile(optimizer=keras.optimizers.Adam(schedule), loss="categorical_crossentropy",
              metrics=["accuracy"])
inside = [0.0]

def timed(cls):
    class Timed(cls):
        def on_train_batch_end(self, batch, logs=None):
            start = time.perf_counter()
            super().on_train_batch_end(batch, logs)
            inside[0] += time.perf_counter() - start
    return Timed

class DoNothing(keras.callbacks.Callback):
    def on_train_batch_end(self, batch, logs=None):
        pass

watch = [0, 5, 20, 50, 100, 200, *[epoch * per_epoch for epoch in range(1, epochs + 1)]]
callbacks = {"none": [], "nothing": [DoNothing()],
             "recorders": [timed(BatchLossRecorder)(), timed(TrainingRecorder)(watch, x[:8])]}[mode]
start = time.perf_counter()
model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=callbacks)
print(json.dumps({"fit_seconds": time.perf_counter() - start, "inside_hooks": inside[0]}))
"""


def run(mode: str, epochs: int) -> dict:
    result = subprocess.run([sys.executable, "-c", TRAIN, mode, str(epochs), str(ROOT)],
                            capture_output=True, text=True, check=True,
                            env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    if not (ROOT / "models" / "mnist_cnn_untrained.keras").is_file():
        print("run notebooks 01 and 02 first (make run)", file=sys.stderr)
        return 1
    started = time.perf_counter()
    recorded = run("recorders", args.epochs)
    share = recorded["inside_hooks"] / recorded["fit_seconds"]
    print(f"{args.epochs} epochs with notebook 03's recorders: fit() {recorded['fit_seconds']:.1f} s, "
          f"of which {recorded['inside_hooks']:.2f} s inside the recorders ({share:.1%})")
    for mode in ("none", "nothing"):
        print(f"1 epoch, {'no callback' if mode == 'none' else 'a batch callback doing nothing'}: "
              f"fit() {run(mode, 1)['fit_seconds']:.1f} s")
    print(f"({(time.perf_counter() - started) / 60:.1f} minutes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
