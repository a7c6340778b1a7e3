"""Probes into a trained Sequential CNN: activations, receptive fields, class scores, shifts.

The notebooks draw the pictures; this module computes the arrays behind them, for any
`keras.Sequential` model of Conv2D / BatchNormalization / Activation / MaxPooling2D /
Flatten / GlobalAveragePooling2D / Dropout / Dense layers (channels-last images), not only the
series' default model:

- what the model and each of its layers compute (`probabilities`, `layer_outputs`,
  `class_scores`) and how much of the image one unit sees (`receptive_fields`, checked
  independently by `receptive_field_by_gradient`);
- a controlled change of the input (`shift_images`).

The methods notebook 08 teaches (occlusion, gradient x input, Grad-CAM, the deletion test,
PCA, nearest neighbours) are defined in that notebook, beside their explanation, and saved
into `mnist_cnn.from_notebooks`.

Everything runs in inference mode (`training=False`): Dropout is off and BatchNormalization
uses its moving statistics, so a computation changes no variable of the model. Scores
"before the softmax" are the pre-activation of the last Dense layer (`class_scores`):
gradients of softmax probabilities saturate and mix the classes, those of the scores do not.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

BATCH_SIZE = 1000  # images per forward pass of layer_outputs / class_scores

# Layers that act on each position separately: a unit sees what the unit below it saw.
ELEMENTWISE_LAYERS = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.Activation,
    keras.layers.ReLU,
    keras.layers.LeakyReLU,
    keras.layers.Softmax,
    keras.layers.Dropout,  # also SpatialDropout2D, a subclass
    keras.layers.GaussianNoise,
    keras.layers.GaussianDropout,
    keras.layers.Rescaling,
)
POOLING_LAYERS = (keras.layers.MaxPooling2D, keras.layers.AveragePooling2D)
# Layers whose output mixes the whole image: every unit after them sees all of the input.
GLOBAL_LAYERS = (
    keras.layers.Flatten,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalMaxPooling2D,
)


# --------------------------------------------------------------------------- forward passes


def _batches(count: int, batch_size: int):
    for start in range(0, count, batch_size):
        yield slice(start, min(start + batch_size, count))


def _as_float_images(images) -> np.ndarray:
    return np.asarray(images, dtype="float32")


def probabilities(model: keras.Model, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The model's output for `images` (N, H, W, C): shape (N, classes), float32.

    The model is called directly (`model(batch, training=False)`), batch by batch: no
    `predict()`, whose fixed cost per call dominates for small batches.
    """
    images = _as_float_images(images)
    outputs = [np.asarray(model(images[part], training=False)) for part in _batches(len(images), batch_size)]
    if not outputs:
        return np.zeros((0, *model.output_shape[1:]), "float32")
    return np.concatenate(outputs)


def layer_outputs(
    model: keras.Model, images: np.ndarray, names: Sequence[str] | str, batch_size: int = BATCH_SIZE
) -> dict[str, np.ndarray]:
    """Activations of the named layers for `images` (N, H, W, C), in inference mode.

    One forward pass per batch of `batch_size` images through a sub-model that outputs all
    the named layers at once. Returns {name: array of shape (N, *that layer's output shape)},
    e.g. (N, 28, 28, 32) for block1_conv of the default model, (N, 3136) for flatten.
    """
    if isinstance(names, str):
        names = [names]
    names = list(names)
    if not names:
        return {}
    inputs = model.inputs[0] if len(model.inputs) == 1 else model.inputs
    sub_model = keras.Model(inputs, [model.get_layer(name).output for name in names])
    images = _as_float_images(images)
    parts: list[list[np.ndarray]] = [[] for _ in names]
    for part in _batches(len(images), batch_size):
        outputs = sub_model(images[part], training=False)
        if len(names) == 1 and not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        for collected, output in zip(parts, outputs, strict=True):
            collected.append(np.asarray(output))
    result = {}
    for name, collected in zip(names, parts, strict=True):
        shape = tuple(model.get_layer(name).output.shape[1:])
        result[name] = np.concatenate(collected) if collected else np.zeros((0, *shape), "float32")
    return result


def _last_dense_index(model: keras.Model) -> int:
    """Where the layer that computes the class scores is; checks what follows it."""
    layers = model.layers
    dense = [index for index, layer in enumerate(layers) if isinstance(layer, keras.layers.Dense)]
    if not dense:
        raise ValueError(f"{model.name} has no Dense layer: it has no class scores to explain.")
    index = dense[-1]
    for layer in layers[index + 1 :]:
        if not isinstance(layer, (keras.layers.Activation, keras.layers.Softmax, keras.layers.Dropout)):
            raise ValueError(
                f"{model.name}: layer {layer.name!r} ({type(layer).__name__}) follows the last Dense "
                f"layer {layers[index].name!r}; the class scores must come from the last Dense layer "
                f"(its softmax either in the layer or in an Activation layer after it)."
            )
    return index


def _scores(model: keras.Model, images):
    """Class scores: the pre-activation of the last Dense layer, the layers run one by one."""
    last = _last_dense_index(model)
    x = images
    for layer in model.layers[:last]:
        x = layer(x, training=False)
    dense = model.layers[last]
    scores = keras.ops.matmul(x, dense.kernel)
    return scores + dense.bias if dense.use_bias else scores


def class_scores(model: keras.Model, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The class scores ("logits") before the softmax for `images` (N, H, W, C): shape (N, classes).

    They are the pre-activation of the last Dense layer (`inputs @ kernel + bias`, the same
    weights), so softmax(scores) equals the model's probabilities.
    """
    images = _as_float_images(images)
    parts = [np.asarray(_scores(model, tf.constant(images[part])))
             for part in _batches(len(images), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, model.output_shape[-1]), "float32")


# --------------------------------------------------------------------------- receptive fields


def _pair(value) -> tuple[int, int]:
    if isinstance(value, int):
        return value, value
    return int(value[0]), int(value[1])


def _window(layer: keras.layers.Layer) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], str]:
    """Kernel (or pool) size, strides and dilation of a convolution or pooling layer, and its padding."""
    config = layer.get_config()
    if config.get("data_format", "channels_last") != "channels_last":
        raise ValueError(f"{layer.name}: only channels-last images are supported.")
    if isinstance(layer, POOLING_LAYERS):
        size = _pair(config["pool_size"])
        strides = _pair(config["strides"]) if config.get("strides") is not None else size
        dilation = (1, 1)
    else:
        size = _pair(config["kernel_size"])
        strides = _pair(config.get("strides", 1))
        dilation = _pair(config.get("dilation_rate", 1))
    return size, strides, dilation, config.get("padding", "valid").lower()


def _is_convolution(layer: keras.layers.Layer) -> bool:
    return "kernel_size" in layer.get_config() and not isinstance(layer, keras.layers.Dense)


def receptive_fields(model: keras.Model) -> list[dict]:
    """The receptive field of every layer of a Sequential CNN, in layer order.

    Returns one dict per layer: {"layer": name, "kind": class name, "size": r, "jump": j,
    "start": c}. A unit of the layer's output sees an r x r square of the input image; two
    neighbouring units are j input pixels apart; unit (row, col) is centred on input pixel
    (c + row * j, c + col * j) (c may end in .5: the centre falls between two pixels). The
    standard recurrence, per axis:

        r_out = r_in + (k - 1) * dilation * j_in,   j_out = j_in * stride,
        c_out = c_in + ((k - 1) * dilation / 2 - left padding) * j_in

    for Conv2D and pooling layers (k: kernel or pool size); elementwise layers
    (BatchNormalization, Activation, Dropout, ...) pass the field through. Flatten, global
    pooling and every layer after them see the whole input: size = the input's side (28),
    jump and start None. The size is not clipped at the border: a field near the edge
    partly covers the zero padding.
    """
    input_shape = tuple(model.input_shape[1:])
    whole = int(max(input_shape[0], input_shape[1]))
    shape = (None, *input_shape)
    size, jump, start = np.array([1, 1]), np.array([1, 1]), np.array([0.0, 0.0])
    is_global = False
    rows = []
    for layer in model.layers:
        in_shape = shape
        shape = tuple(layer.compute_output_shape(in_shape))
        # A Dense layer on a flat input mixes everything; on feature maps it acts per position.
        if isinstance(layer, GLOBAL_LAYERS) or (isinstance(layer, keras.layers.Dense) and len(in_shape) != 4):
            is_global = True
        if is_global:
            rows.append({"layer": layer.name, "kind": type(layer).__name__, "size": whole, "jump": None,
                         "start": None})
            continue
        if isinstance(layer, POOLING_LAYERS) or _is_convolution(layer):
            kernel, strides, dilation, padding = _window(layer)
            for axis in (0, 1):
                span = (kernel[axis] - 1) * dilation[axis] + 1
                pad_left = 0
                if padding == "same":
                    length = in_shape[1 + axis]
                    out = -(-length // strides[axis])
                    pad_left = max((out - 1) * strides[axis] + span - length, 0) // 2
                start[axis] = start[axis] + ((span - 1) / 2 - pad_left) * jump[axis]
                size[axis] = size[axis] + (span - 1) * jump[axis]
                jump[axis] = jump[axis] * strides[axis]
        elif not isinstance(layer, (*ELEMENTWISE_LAYERS, keras.layers.Dense)):
            raise ValueError(
                f"receptive_fields does not know how layer {layer.name!r} ({type(layer).__name__}) "
                f"maps its input to its output."
            )
        if size[0] != size[1] or jump[0] != jump[1] or start[0] != start[1]:
            raise ValueError(f"{layer.name}: the receptive field is not square ({size}, {jump}, {start}).")
        centre = float(start[0])
        rows.append({"layer": layer.name, "kind": type(layer).__name__, "size": int(size[0]),
                     "jump": int(jump[0]), "start": int(centre) if centre.is_integer() else centre})
    return rows


def _linear_copy(model: keras.Model, layer_name: str) -> keras.Model:
    """The model up to `layer_name`, made linear and positive: see receptive_field_by_gradient."""
    names = [layer.name for layer in model.layers]
    if layer_name not in names:
        raise ValueError(f"No layer {layer_name!r} in {model.name}: {names}")
    copies = []
    for layer in model.layers[: names.index(layer_name) + 1]:
        config = layer.get_config()
        if isinstance(layer, keras.layers.MaxPooling2D):
            copies.append(keras.layers.AveragePooling2D(
                pool_size=config["pool_size"], strides=config["strides"], padding=config["padding"]))
        elif isinstance(layer, keras.layers.GlobalMaxPooling2D):
            copies.append(keras.layers.GlobalAveragePooling2D())
        elif isinstance(layer, (keras.layers.AveragePooling2D, keras.layers.Flatten,
                                keras.layers.GlobalAveragePooling2D)):
            copies.append(type(layer).from_config(config))
        elif _is_convolution(layer) or isinstance(layer, keras.layers.Dense):
            config = {**config, "activation": "linear", "name": f"linear_{layer.name}"}
            copies.append(type(layer).from_config(config))
        elif isinstance(layer, ELEMENTWISE_LAYERS):
            continue  # identity
        else:
            raise ValueError(f"No linear stand-in for layer {layer.name!r} ({type(layer).__name__}).")
    linear = keras.Sequential([keras.Input(shape=model.input_shape[1:]), *copies])
    for variable in linear.weights:
        is_bias = variable.name == "bias"
        variable.assign(np.zeros(variable.shape) if is_bias else np.ones(variable.shape))
    return linear


def receptive_field_by_gradient(
    model: keras.Model, layer_name: str, row: int, col: int, channel: int = 0
) -> tuple[int, int, int, int]:
    """The input pixels that unit (row, col, channel) of `layer_name` depends on, measured.

    An independent check of `receptive_fields`: a linear copy of the model up to
    `layer_name` (convolution kernels all ones, biases zero, BatchNormalization and
    Activation removed, MaxPooling2D replaced by AveragePooling2D of the same size, strides
    and padding), so that every path from a pixel to the unit has a positive weight; the
    gradient of the unit with respect to an input of ones is then nonzero exactly on the
    pixels the unit sees. For a layer with a flat output (Dense) `channel` picks the unit and
    row, col are ignored. Returns the bounding box (top, bottom, left, right) of those pixels,
    inclusive indices; at the border it is clipped to the image.
    """
    linear = _linear_copy(model, layer_name)
    inputs = tf.ones((1, *model.input_shape[1:]), "float32")
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        output = linear(inputs, training=False)
        unit = output[0, row, col, channel] if len(output.shape) == 4 else output[0, channel]
    gradient = np.abs(np.asarray(tape.gradient(unit, inputs))[0]).sum(axis=-1)
    rows, cols = np.nonzero(gradient > 0)
    if rows.size == 0:
        raise ValueError(f"Unit ({row}, {col}, {channel}) of {layer_name} depends on no input pixel.")
    return int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())


# --------------------------------------------------------------------------- controlled inputs


def shift_images(images: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """`images` (N, H, W[, C]) moved by whole pixels: dx > 0 right, dy > 0 down; same shape and dtype.

    What leaves the frame is lost and what enters is 0 (the MNIST background): nothing wraps
    around.
    """
    images = np.asarray(images)
    shifted = np.zeros_like(images)
    height, width = images.shape[1:3]
    if abs(dx) >= width or abs(dy) >= height:
        return shifted
    source = (slice(None), slice(max(0, -dy), height - max(0, dy)), slice(max(0, -dx), width - max(0, dx)))
    target = (slice(None), slice(max(0, dy), height - max(0, -dy)), slice(max(0, dx), width - max(0, -dx)))
    shifted[target] = images[source]
    return shifted
