"""Choose the default architecture and learning-rate schedule on the validation split alone.

    .venv/bin/python tools/choose_default.py            # every candidate, seeds 42, 43, 44
    .venv/bin/python tools/choose_default.py --only default constant_lr

Each candidate is trained exactly as notebook 03 trains the default (5 epochs, batches of 64,
Adam, categorical crossentropy, TensorFlow's deterministic ops) on the 54,000 images that
notebook 03 fits on, and scored on the 6,000 validation images that notebook 03 holds out with
the same seed. The test set is never loaded: the choice this script supports must leave it
untouched, so that notebook 04's test accuracy stays an honest estimate.

Writes reports/choose_default.json and prints one line per candidate: the mean and spread of
the final validation accuracy over the seeds, its parameters and its fit() time.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from mnist_cnn.environment import import_tensorflow_quietly  # noqa: E402

import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from mnist_cnn.from_notebooks import build_network, validation_split  # noqa: E402
from mnist_cnn.handoff import write_text_atomically  # noqa: E402
from mnist_cnn.raw_data import load_raw_data  # noqa: E402

EPOCHS, BATCH_SIZE, VALIDATION_FRACTION = 5, 64, 0.1


def block(filters, kernel_size, padding, batch_norm, name):
    layers = [keras.layers.Conv2D(filters, kernel_size, padding=padding, use_bias=not batch_norm,
                                  name=f"{name}_conv")]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization(name=f"{name}_norm"))
    layers += [keras.layers.Activation("relu", name=f"{name}_relu"),
               keras.layers.MaxPooling2D(2, name=f"{name}_pool")]
    return layers


def network(first_kernel=3, padding=("valid", "valid"), batch_norm=False, dense_norm=False,
            dropout=(0.0, 0.0), conv_bias=None):
    """conv32-pool-conv64-pool-dense128-softmax with the options of the candidates below."""
    layers = [keras.Input(shape=(28, 28, 1))]
    layers += block(32, first_kernel, padding[0], batch_norm, "block1")
    layers += block(64, 3, padding[1], batch_norm, "block2")
    if conv_bias:  # the 5x5 candidate as first measured: biases kept before the normalization
        for layer in layers:
            if isinstance(layer, keras.layers.Conv2D):
                layer.use_bias = True
    layers += [keras.layers.Flatten(), keras.layers.Dropout(dropout[0])]
    if dense_norm:
        layers += [keras.layers.Dense(128, use_bias=False), keras.layers.BatchNormalization(),
                   keras.layers.Activation("relu")]
    else:
        layers.append(keras.layers.Dense(128, activation="relu"))
    layers += [keras.layers.Dropout(dropout[1]), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential(layers)


# name: (description, builder, learning-rate schedule)
CANDIDATES = {
    "plain": ("conv32-pool-conv64-pool-dense128, no padding, no BN, no dropout",
              lambda: network(), "cosine"),
    "bn_dropout_25_40": ("+ BN after each convolution, dropout 0.25/0.4",
                         lambda: network(batch_norm=True, dropout=(0.25, 0.4)), "cosine"),
    "bn_dropout_10_25": ("+ BN after each convolution, dropout 0.1/0.25",
                         lambda: network(batch_norm=True, dropout=(0.1, 0.25)), "cosine"),
    "bn_same_first": ("the same, padding 'same' in the first convolution",
                      lambda: network(padding=("same", "valid"), batch_norm=True,
                                      dropout=(0.1, 0.25)), "cosine"),
    "bn_5x5_first": ("5x5 first convolution, padding 'same', BN after the convolutions, "
                     "dropout 0.4/0.4",
                     lambda: network(first_kernel=5, padding=("same", "same"), batch_norm=True,
                                     dropout=(0.4, 0.4), conv_bias=True), "cosine"),
    "default": ("padding 'same', BN after both convolutions and the dense layer, dropout 0.3 "
                "(notebook 02)", build_network, "cosine"),
    "default_constant_lr": ("the default network, Adam's default constant learning rate 0.001",
                            build_network, "constant"),
}


def train(name: str, seed: int, x_train, y_train) -> dict:
    description, build, schedule = CANDIDATES[name]
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    validation, fit = validation_split(len(x_train), VALIDATION_FRACTION, seed)
    model = build()
    steps = EPOCHS * int(np.ceil(len(fit) / BATCH_SIZE))
    learning_rate = (keras.optimizers.schedules.CosineDecay(2e-3, decay_steps=steps)
                     if schedule == "cosine" else 1e-3)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate), loss="categorical_crossentropy",
                  metrics=["accuracy"])
    start = time.perf_counter()
    history = model.fit(x_train[fit], y_train[fit], epochs=EPOCHS, batch_size=BATCH_SIZE,
                        validation_data=(x_train[validation], y_train[validation]), verbose=0)
    return {
        "candidate": name, "seed": seed, "parameters": model.count_params(),
        "fit_seconds": round(time.perf_counter() - start, 1),
        "val_accuracy": history.history["val_accuracy"][-1],
        "val_loss": history.history["val_loss"][-1],
        "val_accuracy_per_epoch": history.history["val_accuracy"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[42, 43, 44])
    parser.add_argument("--only", nargs="+", choices=sorted(CANDIDATES), default=list(CANDIDATES))
    parser.add_argument("--output", type=Path, default=ROOT / "reports" / "choose_default.json")
    args = parser.parse_args(argv)

    raw = load_raw_data("mnist", project_root=ROOT)
    x_train = (raw.x_train.astype("float32") / 255)[..., None]
    y_train = keras.utils.to_categorical(raw.y_train, 10).astype("float32")
    del raw  # the test images are not needed, and not used

    runs = []
    if args.output.is_file():  # resume: keep finished runs of the same candidates and seeds
        runs = [run for run in json.loads(args.output.read_text())["runs"]
                if run["candidate"] in args.only and run["seed"] in args.seeds]
    done = {(run["candidate"], run["seed"]) for run in runs}
    for name in args.only:
        for seed in args.seeds:
            if (name, seed) in done:
                continue
            runs.append(train(name, seed, x_train, y_train))
            print(f"{name:<20} seed {seed}: validation accuracy {runs[-1]['val_accuracy']:.4f} "
                  f"({runs[-1]['fit_seconds']:.0f} s)", flush=True)
            write_text_atomically(args.output, json.dumps({"runs": runs}, indent=1) + "\n")

    print(f"\n{'candidate':<20} {'val. accuracy (mean ± std)':>28} {'parameters':>11} {'fit s':>6}")
    summary = {}
    for name in args.only:
        scores = [run["val_accuracy"] for run in runs if run["candidate"] == name]
        seconds = [run["fit_seconds"] for run in runs if run["candidate"] == name]
        parameters = next(run["parameters"] for run in runs if run["candidate"] == name)
        summary[name] = {"description": CANDIDATES[name][0], "schedule": CANDIDATES[name][2],
                         "val_accuracy_mean": statistics.mean(scores),
                         "val_accuracy_std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
                         "val_accuracy_per_seed": scores, "parameters": parameters,
                         "fit_seconds_median": statistics.median(seconds)}
        print(f"{name:<20} {summary[name]['val_accuracy_mean']:>19.2%} ± "
              f"{summary[name]['val_accuracy_std']:.2%} {parameters:>11,} "
              f"{summary[name]['fit_seconds_median']:>6.0f}")
    write_text_atomically(args.output, json.dumps({"runs": runs, "summary": summary}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
