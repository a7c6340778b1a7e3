"""Keras callbacks that watch training without changing it.

- `BatchLossRecorder` keeps the loss of every batch. Keras 3 does not hand it over: the
  `logs["loss"]` that `on_train_batch_end` receives is the mean over the epoch so far
  (weighted by batch size), a curve far smoother than the batch losses. The recorder reads
  the model's loss tracker (a `keras.metrics.Mean`, the first of `model.metrics`) before
  and after each batch: the batch adds `batch_size * loss` to its `total` and `batch_size`
  to its `count`, so the differences give the batch's own loss.
- `TrainingRecorder` takes snapshots at chosen optimizer steps: the kernel of one layer
  (the first convolution's filters, by default) and the model's probabilities for a fixed
  set of images, so a notebook can show the filters and the predictions taking shape.

Both need Keras to call the batch hooks after every batch. With `steps_per_execution=N`
(notebook 07's search uses 16) Keras runs N batches per call and calls the hooks once, so both
refuse such a model with a ValueError that says what to do. Neither changes training: they
only read variables, and the snapshots call the model in inference mode, which updates no
variable (no moving statistics of BatchNormalization, no random-generator state of Dropout);
`TrainingRecorder` checks this at every snapshot.
"""

from __future__ import annotations

from collections.abc import Iterable

import keras
import numpy as np


def _refuse_steps_per_execution(model: keras.Model, recorder: str) -> None:
    steps = int(getattr(model, "steps_per_execution", 1) or 1)
    if steps > 1:
        raise ValueError(
            f"{recorder} needs the batch hooks after every batch, but {model.name} was compiled with "
            f"steps_per_execution={steps}: Keras then runs {steps} batches per call and calls the hooks "
            f"once, after the last of them. Compile the model with steps_per_execution=1 for the "
            f"training you record (it is slower), or record per epoch instead."
        )


def loss_tracker(model: keras.Model) -> keras.metrics.Mean:
    """The `keras.metrics.Mean` in which a compiled Keras 3 model accumulates the training loss.

    It is the metric named "loss" of the public `model.metrics` (the first one once the model
    is compiled); `model._loss_tracker` is the fallback. Returns the metric, whose `total` and
    `count` variables (scalars) hold the sum of batch_size * loss and the number of samples
    since the last reset (the start of each epoch).
    """
    candidates = [metric for metric in model.metrics if metric.name == "loss"]
    candidates.append(getattr(model, "_loss_tracker", None))
    for metric in candidates:
        if isinstance(metric, keras.metrics.Mean) and hasattr(metric, "total") and hasattr(metric, "count"):
            return metric
    raise ValueError(
        f"{model.name} has no loss tracker (a keras.metrics.Mean named 'loss'): compile the model "
        f"with a loss before training it."
    )


def _value(variable) -> float:
    return float(keras.ops.convert_to_numpy(variable))


class BatchLossRecorder(keras.callbacks.Callback):
    """The training loss of every batch, not the running mean that Keras logs.

    Attributes, one entry per batch, over all epochs (and all `fit` calls) in order:
    `losses` (float: the mean loss of that batch, as `train_on_batch` would return it,
    regularization included), `running_means` (float: the `logs["loss"]` Keras passed, the
    mean over the epoch so far) and `epoch_of_batch` (int: the epoch, as `fit` counts it).

    The loss tracker keeps its sum in float32: the per-batch loss is exact to about
    1e-7 x (the epoch's summed loss) / (batch size x the batch loss) relative, below 1e-4
    for an MNIST epoch. Refuses (ValueError) a model compiled with steps_per_execution > 1.
    """

    def __init__(self):
        super().__init__()
        self.losses: list[float] = []
        self.running_means: list[float] = []
        self.epoch_of_batch: list[int] = []
        self._epoch = 0
        self._tracker = None
        self._before: tuple[float, float] | None = None

    def _state(self) -> tuple[float, float]:
        # Variable.numpy() is about twice as fast as keras.ops.convert_to_numpy here, and this
        # runs after every batch.
        return float(self._tracker.total.numpy()), float(self._tracker.count.numpy())

    def on_train_begin(self, logs=None):
        _refuse_steps_per_execution(self.model, type(self).__name__)
        self._tracker = loss_tracker(self.model)

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = int(epoch)
        self._before = self._state()  # the tracker starts the epoch from 0 (read once, to be sure)

    def on_train_batch_end(self, batch, logs=None):
        # Two reads per batch: this batch's "after" is the next one's "before".
        total, count = self._state()
        total_before, count_before = self._before
        samples = count - count_before
        self.losses.append((total - total_before) / samples if samples > 0 else float("nan"))
        logged = (logs or {}).get("loss")
        self.running_means.append(float(logged) if logged is not None else total / count)
        self.epoch_of_batch.append(self._epoch)
        self._before = (total, count)


class TrainingRecorder(keras.callbacks.Callback):
    """Snapshots of a layer's kernel and of the model's predictions at chosen training steps.

    `steps`: global optimizer steps (step 0 = the initial model, before the first batch;
    step s = after s updates, read from `model.optimizer.iterations`). `images` (n, H, W, C):
    the fixed images whose probabilities are recorded. `filters_layer`: the layer whose
    kernel is copied (e.g. the Conv2D kernel (3, 3, 1, 32) of block1_conv).

    Attributes, one entry per captured step, in order: `steps` (int), `filters` (arrays of
    the kernel's shape) and `probabilities` ((n, classes) arrays, the model called directly in
    inference mode). Steps that training never reaches are not captured. Raises RuntimeError
    if a snapshot changed a variable of the model (it cannot in inference mode; the check
    makes sure), ValueError for steps_per_execution > 1 or an unknown layer.
    """

    def __init__(self, steps: Iterable[int], images: np.ndarray, filters_layer: str = "block1_conv",
                 batch_size: int = 1000):
        super().__init__()
        self.wanted = sorted({int(step) for step in steps})
        if self.wanted and self.wanted[0] < 0:
            raise ValueError(f"Training steps count from 0, got {self.wanted[0]}.")
        self.images = np.asarray(images, dtype="float32")
        self.filters_layer = filters_layer
        self.batch_size = batch_size
        self.steps: list[int] = []
        self.filters: list[np.ndarray] = []
        self.probabilities: list[np.ndarray] = []

    def _step(self) -> int:
        return int(_value(self.model.optimizer.iterations))

    def _predict(self) -> np.ndarray:
        size = self.batch_size
        parts = [
            keras.ops.convert_to_numpy(self.model(self.images[start : start + size], training=False))
            for start in range(0, len(self.images), size)
        ]
        return np.concatenate(parts) if parts else np.zeros((0, *self.model.output_shape[1:]), "float32")

    def _capture(self, step: int) -> None:
        if step not in self.wanted or step in self.steps:
            return
        if self._step() != step:  # one batch hook per optimizer step, or the count is wrong
            raise RuntimeError(f"Counted {step} training steps, but the optimizer made {self._step()}.")
        state = [keras.ops.convert_to_numpy(v).copy() for v in self.model.non_trainable_variables]
        probabilities = self._predict()
        for variable, before in zip(self.model.non_trainable_variables, state, strict=True):
            if not np.array_equal(keras.ops.convert_to_numpy(variable), before):
                raise RuntimeError(
                    f"Calling {self.model.name} to record its predictions changed {variable.path}: "
                    f"the recording would change training."
                )
        kernel = self.model.get_layer(self.filters_layer).kernel
        self.steps.append(step)
        self.filters.append(np.array(keras.ops.convert_to_numpy(kernel), copy=True))
        self.probabilities.append(probabilities)

    def on_train_begin(self, logs=None):
        _refuse_steps_per_execution(self.model, type(self).__name__)
        layer = self.model.get_layer(self.filters_layer)  # ValueError names the missing layer
        if not hasattr(layer, "kernel"):
            raise ValueError(f"Layer {self.filters_layer!r} has no kernel to record.")
        # Counted in Python after this, one per batch: reading the optimizer's counter at
        # every batch would wait for TensorFlow each time.
        self._next_step = self._step()
        self._capture(self._next_step)

    def on_train_batch_end(self, batch, logs=None):
        self._next_step += 1
        if self._next_step in self.wanted:
            self._capture(self._next_step)


class ProgressPrinter(keras.callbacks.Callback):
    """One short line every `every` epochs (and after the last): how far a long training is.

    For trainings of many minutes run with `verbose=0`, so that a reader in JupyterLab sees
    how far it is and how long an epoch takes, without a line per epoch in the stored output.
    """

    def __init__(self, label: str, every: int = 5):
        super().__init__()
        self.label = label
        self.every = every

    def on_train_begin(self, logs=None):
        import time

        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        import time

        done, total = epoch + 1, self.params.get("epochs")
        if done % self.every and done != total:
            return
        seconds = (time.perf_counter() - self._start) / done
        accuracy = (logs or {}).get("val_accuracy")
        shown = f", validation accuracy {accuracy:.4f}" if accuracy is not None else ""
        print(f"{self.label}: epoch {done}/{total}{shown} ({seconds:.0f} s per epoch)", flush=True)
