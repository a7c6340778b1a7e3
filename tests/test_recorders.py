"""mnist_cnn.recorders: per-batch losses and training snapshots, on real digits, without side effects."""

from __future__ import annotations

import os

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from conftest import REAL_MNIST  # noqa: E402

import mnist_cnn.datasets  # noqa: E402
from mnist_cnn.recorders import BatchLossRecorder, TrainingRecorder, loss_tracker  # noqa: E402

N_TRAIN, BATCH, EPOCHS = 640, 64, 2
STEPS_PER_EPOCH = N_TRAIN // BATCH


@pytest.fixture(scope="module", autouse=True)
def deterministic_ops():
    """Deterministic TensorFlow kernels while this module runs, then as before for the other tests.

    TensorFlow has a public switch on, not off: switching back uses its internal module.
    """
    from tensorflow.python.framework import config as internal_config

    was_enabled = internal_config.is_op_determinism_enabled()
    tf.config.experimental.enable_op_determinism()
    yield
    if not was_enabled:
        internal_config.disable_op_determinism()


@pytest.fixture(scope="module")
def digits():
    """640 real training digits (N, 28, 28, 1) float32 0..1 with labels, 16 real test digits and labels."""
    if not REAL_MNIST.is_dir():
        pytest.skip(f"no MNIST copy at {REAL_MNIST} (set MNIST_DATA_DIR)")
    from mnist_cnn.raw_data import load_idx_folder

    raw = load_idx_folder(REAL_MNIST, mnist_cnn.datasets.MNIST)
    x_train = (raw.x_train[:N_TRAIN].astype("float32") / 255)[..., None]
    x_test = (raw.x_test[:16].astype("float32") / 255)[..., None]
    return x_train, raw.y_train[:N_TRAIN].astype(int), x_test, raw.y_test[:16].astype(int)


def tiny_model(steps_per_execution: int = 1) -> keras.Model:
    """A small compiled CNN without dropout, with batch normalization; always the same weights."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(4, 3, padding="same", use_bias=False, name="block1_conv"),
            keras.layers.BatchNormalization(name="block1_norm"),
            keras.layers.Activation("relu", name="block1_relu"),
            keras.layers.MaxPooling2D(4, name="block1_pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="class_probabilities"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"], steps_per_execution=steps_per_execution)
    return model


def train(model, digits, callbacks=()):
    x_train, y_train = digits[:2]
    model.fit(x_train, y_train, batch_size=BATCH, epochs=EPOCHS, shuffle=False, verbose=0,
              callbacks=list(callbacks))
    return model


def all_variables(model):
    """Every weight of the model (trainable or not) and every variable of its optimizer, as arrays."""
    return [np.asarray(v) for v in model.weights] + [np.asarray(v) for v in model.optimizer.variables]


def test_loss_tracker_is_found_through_the_public_metrics():
    model = tiny_model()
    tracker = loss_tracker(model)
    assert tracker is model.metrics[0]
    assert isinstance(tracker, keras.metrics.Mean) and tracker.name == "loss"
    uncompiled = keras.Sequential([keras.Input(shape=(3,)), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="compile the model"):
        loss_tracker(uncompiled)


def test_batch_losses_equal_train_on_batch_of_the_same_batches(digits):
    recorder = BatchLossRecorder()
    train(tiny_model(), digits, [recorder])
    assert len(recorder.losses) == EPOCHS * STEPS_PER_EPOCH
    assert recorder.epoch_of_batch == [epoch for epoch in range(EPOCHS) for _ in range(STEPS_PER_EPOCH)]

    # Independent recomputation: the same initial weights and optimizer, one batch at a time.
    x_train, y_train = digits[:2]
    reference = tiny_model()
    expected = []
    for _ in range(EPOCHS):
        for start in range(0, N_TRAIN, BATCH):
            expected.append(float(reference.train_on_batch(
                x_train[start : start + BATCH], y_train[start : start + BATCH], return_dict=True)["loss"]))
    np.testing.assert_allclose(recorder.losses, expected, rtol=1e-4)

    # What Keras logs is the running mean of the epoch so far: smoother, not the batch losses.
    losses = np.array(recorder.losses).reshape(EPOCHS, STEPS_PER_EPOCH)
    running = np.array(recorder.running_means).reshape(EPOCHS, STEPS_PER_EPOCH)
    means_so_far = np.cumsum(losses, axis=1) / np.arange(1, STEPS_PER_EPOCH + 1)
    np.testing.assert_allclose(running, means_so_far, rtol=1e-5)
    np.testing.assert_allclose(running[:, 0], losses[:, 0], rtol=1e-5)
    assert (np.abs(running[:, 1:] - losses[:, 1:]) > 1e-3).mean() > 0.8
    assert np.abs(np.diff(running[0, 1:])).sum() < np.abs(np.diff(losses[0, 1:])).sum()


@pytest.mark.parametrize(
    "make", [BatchLossRecorder, lambda: TrainingRecorder([0, 4], np.zeros((2, 28, 28, 1)))])
def test_recorders_refuse_steps_per_execution(digits, make):
    model = tiny_model(steps_per_execution=4)
    before = all_variables(model)
    with pytest.raises(ValueError, match=r"steps_per_execution=4.*steps_per_execution=1"):
        train(model, digits, [make()])
    for old, new in zip(before, all_variables(model), strict=True):
        np.testing.assert_array_equal(old, new)  # refused before the first batch


def test_training_recorder_snapshots(digits):
    x_test = digits[2]
    model = tiny_model()
    initial_kernel = np.asarray(model.get_layer("block1_conv").kernel).copy()
    initial_probabilities = np.asarray(model(x_test, training=False))
    last = EPOCHS * STEPS_PER_EPOCH
    recorder = TrainingRecorder([5, 0, 1, last, last + 100], x_test)
    train(model, digits, [recorder])
    assert recorder.steps == [0, 1, 5, last]  # in order; a step never reached is not captured
    assert len(recorder.filters) == len(recorder.probabilities) == 4
    np.testing.assert_array_equal(recorder.filters[0], initial_kernel)
    np.testing.assert_array_equal(recorder.filters[-1], np.asarray(model.get_layer("block1_conv").kernel))
    assert not np.array_equal(recorder.filters[0], recorder.filters[1])  # one step changes the filters
    assert recorder.filters[0].shape == (3, 3, 1, 4)
    np.testing.assert_allclose(recorder.probabilities[0], initial_probabilities, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(recorder.probabilities[-1], np.asarray(model(x_test, training=False)),
                               rtol=1e-6, atol=1e-7)
    for probabilities in recorder.probabilities:
        assert probabilities.shape == (16, 10)
        np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # Training learns: the recorded predictions of the last step are better than the first's.
    labels = digits[3]
    rows = np.arange(16)
    assert recorder.probabilities[-1][rows, labels].mean() > recorder.probabilities[0][rows, labels].mean()


def test_training_recorder_needs_a_layer_with_a_kernel(digits):
    with pytest.raises(ValueError, match="no_such_layer"):
        train(tiny_model(), digits, [TrainingRecorder([0], digits[2], filters_layer="no_such_layer")])
    with pytest.raises(ValueError, match="no kernel"):
        train(tiny_model(), digits, [TrainingRecorder([0], digits[2], filters_layer="block1_pool")])


def test_recording_does_not_change_training(digits):
    plain = train(tiny_model(), digits)
    recorders = [BatchLossRecorder(), TrainingRecorder(range(0, 21), digits[2])]
    recorded = train(tiny_model(), digits, recorders)
    assert len(recorders[1].steps) == 21 and len(recorders[0].losses) == 20
    plain_variables, recorded_variables = all_variables(plain), all_variables(recorded)
    assert len(plain_variables) == len(recorded_variables)
    for a, b, variable in zip(plain_variables, recorded_variables, plain.weights + plain.optimizer.variables,
                              strict=True):
        assert np.array_equal(a, b), variable.path
    assert not np.array_equal(all_variables(tiny_model())[0], plain_variables[0])  # training did change them
