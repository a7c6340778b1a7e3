"""Looking inside a trained Sequential CNN: activations, receptive fields, saliency, features.

The notebooks draw the pictures; this module computes the arrays behind them, for any
`keras.Sequential` model of Conv2D / BatchNormalization / Activation / MaxPooling2D /
Flatten / GlobalAveragePooling2D / Dropout / Dense layers (channels-last images), not only the
series' default model:

- what each layer computes (`layer_outputs`) and how much of the image one of its units sees
  (`receptive_fields`, checked independently by `receptive_field_by_gradient`);
- which pixels a prediction depends on: occlusion (`occlusion_map`, `occlusion_pixel_map`),
  Grad-CAM (`grad_cam`, `upsample`) and gradient x input (`gradient_times_input`), and a test
  of such a map: delete the pixels it ranks first and compare with random ones (`deletion_test`);
- what the learned features look like from outside: a 2-D projection (`pca_2d`), how well the
  nearest neighbour in feature space classifies (`knn_accuracy`), which classes lie close
  together (`class_centroid_distances`, `nearest_class_pairs`);
- a controlled change of the input (`shift_images`).

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
GRADIENT_BATCH_SIZE = 500  # images per GradientTape pass (gradients hold one copy per layer)

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


def _scores(model: keras.Model, images, layer_name: str | None = None):
    """Class scores (pre-activation of the last Dense layer) and the output of `layer_name`.

    Runs the layers one by one in inference mode, so that a GradientTape sees both tensors.
    """
    last = _last_dense_index(model)
    x = images
    activation = None
    for layer in model.layers[:last]:
        x = layer(x, training=False)
        if layer.name == layer_name:
            activation = x
    dense = model.layers[last]
    scores = keras.ops.matmul(x, dense.kernel)
    if dense.use_bias:
        scores = scores + dense.bias
    if layer_name is not None and activation is None:
        names = [layer.name for layer in model.layers[:last]]
        raise ValueError(f"No layer {layer_name!r} before the last Dense layer of {model.name}: {names}")
    return scores, activation


def class_scores(model: keras.Model, images: np.ndarray, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """The class scores ("logits") before the softmax for `images` (N, H, W, C): shape (N, classes).

    They are the pre-activation of the last Dense layer (`inputs @ kernel + bias`, the same
    weights), so softmax(scores) equals the model's probabilities.
    """
    images = _as_float_images(images)
    parts = [np.asarray(_scores(model, tf.constant(images[part]))[0])
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


# --------------------------------------------------------------------------- occlusion


def _patch_masks(height: int, width: int, patch: int, stride: int) -> np.ndarray:
    """(h * w, height, width) booleans: patch number p covers mask[p]; h = (height - patch) // stride + 1."""
    if patch < 1 or stride < 1 or patch > min(height, width):
        raise ValueError(f"patch must be 1..{min(height, width)} and stride >= 1 (got {patch}, {stride})")
    tops = range(0, height - patch + 1, stride)
    lefts = range(0, width - patch + 1, stride)
    masks = np.zeros((len(tops) * len(lefts), height, width), bool)
    for index, (top, left) in enumerate((top, left) for top in tops for left in lefts):
        masks[index, top : top + patch, left : left + patch] = True
    return masks


def occlusion_map(
    model: keras.Model,
    images: np.ndarray,
    classes: Sequence[int] | np.ndarray,
    patch: int = 4,
    stride: int = 2,
    fill: float = 0.0,
    batch_size: int = 2048,
) -> np.ndarray:
    """How much p(classes[i]) drops when a square of image i is hidden: shape (N, h, w).

    `images` (N, H, W, C). Entry [i, r, c] is p(class | image) - p(class | image with the
    patch x patch square whose top-left pixel is (r * stride, c * stride) set to `fill`);
    h = (H - patch) // stride + 1 (13 for 28, 4, 2), w likewise. On MNIST the background is
    0, so a 0 patch erases ink and a patch over empty paper changes nothing (drop 0). All the
    occluded copies of all images are predicted together, `batch_size` at a time, by calling
    the model directly in inference mode.
    """
    images = _as_float_images(images)
    classes = np.asarray(classes, dtype=int)
    count, height, width = images.shape[:3]
    masks = _patch_masks(height, width, patch, stride)
    rows = (height - patch) // stride + 1
    cols = (width - patch) // stride + 1
    base = probabilities(model, images, batch_size)[np.arange(count), classes]
    pairs = np.arange(count * len(masks))  # image = pair // patches, patch = pair % patches
    occluded_p = np.empty(len(pairs), "float32")
    for part in _batches(len(pairs), batch_size):
        image_index, patch_index = np.divmod(pairs[part], len(masks))
        batch = np.where(masks[patch_index][..., None], np.float32(fill), images[image_index])
        output = np.asarray(model(batch, training=False))
        occluded_p[part] = output[np.arange(len(batch)), classes[image_index]]
    return (base[:, None] - occluded_p.reshape(count, len(masks))).reshape(count, rows, cols)


def occlusion_pixel_map(maps: np.ndarray, patch: int = 4, stride: int = 2, size: int = 28) -> np.ndarray:
    """Occlusion maps (N, h, w) spread back onto the pixels: shape (N, size, size).

    Each pixel gets the mean drop of the patches (of `occlusion_map` with the same patch and
    stride) that cover it, so the map can be laid over the digit and compared with pixel
    maps. A pixel that no patch covers (when (size - patch) is not a multiple of stride) gets 0.
    """
    maps = np.asarray(maps, dtype="float64")
    count, rows, cols = maps.shape
    if (rows, cols) != ((size - patch) // stride + 1,) * 2:
        raise ValueError(f"maps of shape {maps.shape[1:]} do not come from patch={patch}, stride={stride} "
                         f"on {size}x{size} images")
    total = np.zeros((count, size, size))
    covered = np.zeros((size, size))
    for row in range(rows):
        for col in range(cols):
            window = (slice(row * stride, row * stride + patch), slice(col * stride, col * stride + patch))
            total[(slice(None), *window)] += maps[:, row, col, None, None]
            covered[window] += 1
    return np.divide(total, covered, out=np.zeros_like(total), where=covered > 0).astype("float32")


# --------------------------------------------------------------------------- gradients


def grad_cam(
    model: keras.Model,
    images: np.ndarray,
    classes: Sequence[int] | np.ndarray,
    layer_name: str,
    batch_size: int = GRADIENT_BATCH_SIZE,
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) of class `classes[i]` at convolutional layer `layer_name`.

    `images` (N, H, W, C). With A the layer's output (H', W', K) and y the class score before
    the softmax, each channel k gets the weight a_k = mean over positions of dy/dA_k, and the
    map is ReLU(sum_k a_k A_k). Returns shape (N, H', W') (e.g. (N, 14, 14) at block1_pool of
    the default model), non-negative; `upsample` brings it to the image size.
    """
    images = _as_float_images(images)
    classes = np.asarray(classes, dtype=int)
    maps = []
    for part in _batches(len(images), batch_size):
        with tf.GradientTape() as tape:
            scores, activation = _scores(model, tf.constant(images[part]), layer_name)
            if len(activation.shape) != 4:
                raise ValueError(f"Grad-CAM needs a layer with a spatial output; {layer_name} "
                                 f"outputs shape {tuple(activation.shape)}.")
            chosen = tf.gather(scores, classes[part], axis=1, batch_dims=1)
            total = tf.reduce_sum(chosen)  # images are independent in inference mode
        gradients = tape.gradient(total, activation)
        weights = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
        maps.append(np.asarray(tf.nn.relu(tf.reduce_sum(weights * activation, axis=-1))))
    if not maps:
        shape = tuple(model.get_layer(layer_name).output.shape[1:3])
        return np.zeros((0, *shape), "float32")
    return np.concatenate(maps)


def upsample(maps: np.ndarray, size: int = 28) -> np.ndarray:
    """Maps (N, h, w) resized bilinearly (tf.image.resize) to (N, size, size), to lay over the image."""
    maps = np.asarray(maps, dtype="float32")
    return np.asarray(tf.image.resize(maps[..., None], (size, size), method="bilinear"))[..., 0]


def gradient_times_input(
    model: keras.Model,
    images: np.ndarray,
    classes: Sequence[int] | np.ndarray,
    batch_size: int = GRADIENT_BATCH_SIZE,
) -> np.ndarray:
    """Gradient of the class score (before the softmax) with respect to each pixel, times the pixel.

    `images` (N, H, W, C). Returns (N, H, W) (summed over channels): positive where the ink
    raises the score of `classes[i]`, negative where it lowers it, exactly 0 on the
    background, where the input is 0.
    """
    images = _as_float_images(images)
    classes = np.asarray(classes, dtype=int)
    parts = []
    for part in _batches(len(images), batch_size):
        inputs = tf.constant(images[part])
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            scores, _ = _scores(model, inputs)
            total = tf.reduce_sum(tf.gather(scores, classes[part], axis=1, batch_dims=1))
        gradients = tape.gradient(total, inputs)
        parts.append(np.asarray(tf.reduce_sum(gradients * inputs, axis=-1)))
    return np.concatenate(parts) if parts else np.zeros((0, *images.shape[1:3]), "float32")


# --------------------------------------------------------------------------- deletion test


def _ink(images: np.ndarray) -> np.ndarray:
    images = np.asarray(images)
    return (images.sum(axis=-1) if images.ndim == 4 else images) > 0


def deletion_masks(
    images: np.ndarray, importance: np.ndarray, k: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Which pixels `deletion_test` deletes: two boolean arrays of shape (N, H, W).

    The first marks, for each image (N, H, W[, C]), the k ink pixels (value > 0) that
    `importance` (N, H, W) ranks highest (ties: the first in reading order); the second k ink
    pixels drawn at random without replacement (numpy Generator seeded with `seed`, one
    draw per image in order). An image with fewer than k ink pixels gets all its ink marked
    in both.
    """
    ink = _ink(images)
    importance = np.asarray(importance, dtype="float64").reshape(ink.shape)
    rng = np.random.default_rng(seed)
    by_map = np.zeros(ink.shape, bool)
    random = np.zeros(ink.shape, bool)
    for index in range(len(ink)):
        candidates = np.flatnonzero(ink[index])
        chosen = min(k, candidates.size)
        order = np.argsort(-importance[index].ravel()[candidates], kind="stable")
        by_map[index].flat[candidates[order[:chosen]]] = True
        random[index].flat[rng.choice(candidates, size=chosen, replace=False)] = True
    return by_map, random


def delete_pixels(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """A copy of `images` (N, H, W[, C]) with the pixels marked in `masks` (N, H, W) set to 0."""
    images = np.asarray(images)
    masks = np.asarray(masks, bool)
    return np.where(masks[..., None] if images.ndim == 4 else masks, np.zeros((), images.dtype), images)


def deletion_test(
    model: keras.Model,
    images: np.ndarray,
    classes: Sequence[int] | np.ndarray,
    importance: np.ndarray,
    k: int,
    seed: int = 0,
) -> dict:
    """Does a saliency map point at the pixels the prediction needs? Delete them and see.

    For each image (N, H, W, C), set to 0 the k ink pixels that `importance` (N, H, W) ranks
    highest, and separately k random ink pixels (see `deletion_masks`), and measure the drop
    of p(classes[i]). Returns {"drop_by_map": (N,), "drop_random": (N,), "mean_drop_by_map":
    float, "mean_drop_random": float, "p_original": (N,), "pixels_deleted": (N,) int}. A map
    that finds the evidence makes drop_by_map larger than drop_random.
    """
    images = _as_float_images(images)
    classes = np.asarray(classes, dtype=int)
    by_map, random = deletion_masks(images, importance, k, seed)
    rows = np.arange(len(images))
    original = probabilities(model, images)[rows, classes]
    after_map = probabilities(model, delete_pixels(images, by_map))[rows, classes]
    after_random = probabilities(model, delete_pixels(images, random))[rows, classes]
    drop_by_map = original - after_map
    drop_random = original - after_random
    return {
        "drop_by_map": drop_by_map,
        "drop_random": drop_random,
        "mean_drop_by_map": float(drop_by_map.mean()) if len(images) else float("nan"),
        "mean_drop_random": float(drop_random.mean()) if len(images) else float("nan"),
        "p_original": original,
        "pixels_deleted": by_map.reshape(len(images), -1).sum(axis=1),
    }


# --------------------------------------------------------------------------- feature spaces


def _flat(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype="float64")
    return features.reshape(len(features), -1)


def _top_directions(centred: np.ndarray, count: int, block: int = 6, max_iterations: int = 2000):
    """The `count` leading right singular vectors (count, D) of `centred`, and their singular values.

    A full SVD of 2,000 x 3,136 features takes from 4 to 30 seconds on two busy cores; the
    leading directions alone come from block subspace iteration (`block` random vectors,
    multiplied by C^T C and re-orthonormalized, with a Rayleigh-Ritz step every 5 rounds,
    until the leading directions move by less than about 5e-7 radians) in about a second.
    Small problems take the exact SVD.
    """
    rows, columns = centred.shape
    if min(rows, columns) <= 8 * block:
        _, singular, directions = np.linalg.svd(centred, full_matrices=False)
        return directions[:count], singular[:count]
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(centred.T @ rng.normal(size=(rows, block)))  # (D, block)
    previous = None
    for iteration in range(1, max_iterations + 1):
        basis, _ = np.linalg.qr(centred.T @ (centred @ basis))
        if iteration % 5 and iteration != max_iterations:
            continue
        _, singular, rotation = np.linalg.svd(centred @ basis, full_matrices=False)  # Rayleigh-Ritz
        directions = (basis @ rotation.T)[:, :count].T
        if previous is not None and (np.abs((directions * previous).sum(axis=1)) > 1 - 1e-13).all():
            break
        previous = directions
    return directions, singular[:count]


def pca_2d(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of `features` (N, D) (or (N, ...), flattened).

    Centres the features and finds the two directions of largest variance, the leading right
    singular vectors of the centred matrix (numpy only: an SVD, or subspace iteration when
    the matrix is large). Returns (points (N, 2): the coordinates along those directions,
    explained_variance_ratio (2,): the share of the total variance along each). The sign of
    each direction is chosen so that its largest component is positive (an SVD leaves it free).
    """
    features = _flat(features)
    centred = features - features.mean(axis=0)
    total = float((centred**2).sum())
    if total == 0:
        return np.zeros((len(features), 2)), np.zeros(2)
    directions, singular = _top_directions(centred, 2)
    signs = np.sign(directions[np.arange(len(directions)), np.abs(directions).argmax(axis=1)])
    directions = directions * signs[:, None]
    return centred @ directions.T, singular**2 / total


def knn_accuracy(
    reference_features: np.ndarray,
    reference_labels: np.ndarray,
    query_features: np.ndarray,
    query_labels: np.ndarray,
    k: int = 1,
    chunk_size: int = 256,
) -> float:
    """Accuracy of k-nearest-neighbour classification of the queries by the references.

    Features (N, D) (or (N, ...), flattened), Euclidean distance, computed `chunk_size`
    queries at a time (a (chunk_size, N_reference) matrix, never (N_q, N_r, D)). Each query
    gets the majority label of its k nearest references; a tie goes to the tied label with
    the nearest reference. Returns the fraction of queries whose label it finds (float).
    """
    references = _flat(reference_features)
    queries = _flat(query_features)
    reference_labels = np.asarray(reference_labels)
    query_labels = np.asarray(query_labels)
    if not 1 <= k <= len(references):
        raise ValueError(f"k must be between 1 and the number of references ({len(references)}), got {k}")
    reference_norms = (references**2).sum(axis=1)
    correct = 0
    for part in _batches(len(queries), chunk_size):
        chunk = queries[part]
        squared = (chunk**2).sum(axis=1)[:, None] - 2 * chunk @ references.T + reference_norms[None, :]
        if k < len(references):
            nearest = np.argpartition(squared, k - 1, axis=1)[:, :k]
        else:
            nearest = np.tile(np.arange(len(references)), (len(chunk), 1))
        order = np.argsort(np.take_along_axis(squared, nearest, axis=1), axis=1, kind="stable")
        labels = reference_labels[np.take_along_axis(nearest, order, axis=1)]  # nearest first
        votes = (labels[:, :, None] == labels[:, None, :]).sum(axis=2)  # votes of each neighbour's label
        winner = labels[np.arange(len(chunk)), np.argmax(votes == votes.max(axis=1, keepdims=True), axis=1)]
        correct += int((winner == query_labels[part]).sum())
    return correct / len(queries) if len(queries) else float("nan")


def class_centroid_distances(features: np.ndarray, labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Euclidean distances between the mean feature vectors of the classes: shape (num_classes, num_classes).

    `features` (N, D) (or (N, ...), flattened), `labels` (N,) in 0..num_classes-1. Symmetric,
    zero on the diagonal; a class with no example has NaN distances.
    """
    features = _flat(features)
    labels = np.asarray(labels)
    centroids = np.full((num_classes, features.shape[1]), np.nan)
    for label in range(num_classes):
        members = features[labels == label]
        if len(members):
            centroids[label] = members.mean(axis=0)
    distances = np.linalg.norm(centroids[:, None, :] - centroids[None, :, :], axis=-1)
    np.fill_diagonal(distances, 0.0)
    return distances


def nearest_class_pairs(
    distances: np.ndarray, class_names: Sequence[str], count: int = 5
) -> list[tuple[str, str, float]]:
    """The `count` closest pairs of classes in a (C, C) distance matrix, closest first.

    Returns [(name_a, name_b, distance), ...], each unordered pair once (a before b in the
    class order), pairs with a NaN distance left out.
    """
    distances = np.asarray(distances)
    pairs = [
        (class_names[a], class_names[b], float(distances[a, b]))
        for a in range(len(class_names))
        for b in range(a + 1, len(class_names))
        if not np.isnan(distances[a, b])
    ]
    return sorted(pairs, key=lambda pair: pair[2])[:count]


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
