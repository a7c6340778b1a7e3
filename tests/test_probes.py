"""mnist_cnn.probes and the methods notebook 08 defines (saved in mnist_cnn.from_notebooks): looking
inside a CNN, checked on real MNIST digits against slow references."""

from __future__ import annotations

import os
from collections import Counter

os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import mnist_cnn  # noqa: E402

mnist_cnn.import_tensorflow_quietly()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from conftest import REAL_MNIST  # noqa: E402

import mnist_cnn.datasets  # noqa: E402
from mnist_cnn import from_notebooks, probes  # noqa: E402


class Digits:
    """Real MNIST digits scaled to 0..1 with a channel axis, and their labels."""

    def __init__(self, raw):
        self.x_train = (raw.x_train[:3000].astype("float32") / 255)[..., None]
        self.y_train = raw.y_train[:3000].astype(int)
        self.x_test = (raw.x_test[:1100].astype("float32") / 255)[..., None]
        self.y_test = raw.y_test[:1100].astype(int)


@pytest.fixture(scope="module")
def digits() -> Digits:
    """3,000 real training and 1,100 real test digits (N, 28, 28, 1) float32 0..1, with labels."""
    if not REAL_MNIST.is_dir():
        pytest.skip(f"no MNIST copy at {REAL_MNIST} (set MNIST_DATA_DIR)")
    from mnist_cnn.raw_data import load_idx_folder

    return Digits(load_idx_folder(REAL_MNIST, mnist_cnn.datasets.MNIST))


@pytest.fixture(scope="module")
def tiny_model(digits) -> keras.Model:
    """A small CNN trained for 2 epochs on 3,000 real digits (about 90% test accuracy)."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1), name="image"),
            keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(2, name="pool1"),
            keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
            keras.layers.MaxPooling2D(2, name="pool2"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, activation="softmax", name="class_probabilities"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(digits.x_train, digits.y_train, batch_size=32, epochs=2, verbose=0)
    return model


@pytest.fixture(scope="module")
def classified(digits, tiny_model):
    """The first 64 test digits, their labels, and whether the tiny model gets them right."""
    images, labels = digits.x_test[:64], digits.y_test[:64]
    right = probes.probabilities(tiny_model, images).argmax(axis=1) == labels
    assert right.mean() > 0.8, "the tiny model did not learn: the checks below would mean little"
    return images, labels, right


def default_model() -> keras.Model:
    """Notebook 02's network (its saved `build_network`), untrained."""
    keras.utils.set_random_seed(0)
    return from_notebooks.build_network()


def with_linear_output(model: keras.Model) -> keras.Model:
    """A copy of `model` whose last layer has no softmax (it outputs the class scores), same weights."""
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        if layer is model.layers[-1]:
            config["activation"] = "linear"
        layers.append(layer.__class__.from_config(config))
    copy = keras.Sequential([keras.Input(shape=model.input_shape[1:]), *layers])
    copy.set_weights(model.get_weights())
    return copy


# --------------------------------------------------------------------------- activations


def test_layer_outputs_equal_the_layers_called_one_by_one(digits, tiny_model):
    images = digits.x_test  # 1,100 digits: two batches of the sub-model
    names = ["conv1", "pool2", "flatten", "class_probabilities"]
    outputs = probes.layer_outputs(tiny_model, images, names)
    assert list(outputs) == names
    x = tf.constant(images)
    for layer in tiny_model.layers:
        x = layer(x, training=False)
        if layer.name in names:
            assert outputs[layer.name].shape == (len(images), *x.shape[1:])
            np.testing.assert_allclose(outputs[layer.name], np.asarray(x), rtol=1e-5, atol=1e-6)
    assert outputs["conv1"].shape == (1100, 28, 28, 8)
    assert outputs["flatten"].shape == (1100, 7 * 7 * 16)
    single = probes.layer_outputs(tiny_model, images[:3], "conv2")
    as_list = probes.layer_outputs(tiny_model, images[:3], ["conv2"])
    np.testing.assert_allclose(single["conv2"], as_list["conv2"])


def test_layer_outputs_of_the_default_model_use_inference_mode(real_digits):
    model = default_model()
    norm = model.get_layer("block1_norm")
    norm.moving_mean.assign(np.full(32, 0.2, "float32"))
    norm.moving_variance.assign(np.full(32, 4.0, "float32"))
    outputs = probes.layer_outputs(model, real_digits, ["block1_conv", "block1_norm", "class_probabilities"])
    expected = (outputs["block1_conv"] - 0.2) / np.sqrt(4.0 + norm.epsilon)  # gamma 1, beta 0
    np.testing.assert_allclose(outputs["block1_norm"], expected, rtol=1e-4, atol=1e-5)
    # Dropout is off: the same images give the same probabilities as the model in inference mode.
    np.testing.assert_allclose(outputs["class_probabilities"], np.asarray(model(real_digits, training=False)),
                               rtol=1e-5, atol=1e-6)


def test_class_scores_are_the_logits_of_the_probabilities(classified, tiny_model):
    images = classified[0]
    scores = probes.class_scores(tiny_model, images)
    logits = np.asarray(with_linear_output(tiny_model)(images))
    np.testing.assert_allclose(scores, logits, rtol=1e-5, atol=1e-5)
    softmax = np.exp(scores - scores.max(axis=1, keepdims=True))
    softmax /= softmax.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax, probes.probabilities(tiny_model, images), rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- receptive fields


def test_receptive_fields_of_the_default_model():
    fields = {row["layer"]: row for row in probes.receptive_fields(default_model())}
    assert [(name, fields[name]["size"], fields[name]["jump"]) for name in
            ("block1_conv", "block1_norm", "block1_relu", "block1_pool",
             "block2_conv", "block2_pool")] == [
        ("block1_conv", 3, 1), ("block1_norm", 3, 1), ("block1_relu", 3, 1), ("block1_pool", 4, 2),
        ("block2_conv", 8, 2), ("block2_pool", 10, 4)]
    for name in ("flatten", "dropout_features", "dense", "dense_norm", "dense_relu", "class_probabilities"):
        assert fields[name]["size"] == 28
    assert fields["block1_pool"]["kind"] == "MaxPooling2D"
    assert fields["block1_norm"]["kind"] == "BatchNormalization"


def strided_model() -> keras.Model:
    """Strides, dilation, 'valid' and odd 'same' padding: a harder case for the recurrence."""
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            keras.layers.Conv2D(4, 5, strides=2, padding="same", name="conv_s2"),
            keras.layers.Activation("relu", name="relu"),
            keras.layers.Conv2D(4, 3, dilation_rate=2, padding="valid", name="conv_d2"),
            keras.layers.MaxPooling2D(3, strides=2, padding="same", name="pool_3s2"),
            keras.layers.Conv2D(4, 2, padding="same", name="conv_k2"),
            keras.layers.GlobalAveragePooling2D(name="gap"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ]
    )


@pytest.mark.parametrize("build", [default_model, strided_model])
def test_receptive_field_by_gradient_matches_the_recurrence(build):
    model = build()
    checked = 0
    for field in probes.receptive_fields(model):
        if field["jump"] is None:
            continue
        side = model.get_layer(field["layer"]).output.shape[1]
        half = (field["size"] - 1) / 2
        for row, col in ((side // 2, side // 2 - 1), (side // 2 - 1, side // 2)):
            centre = (field["start"] + row * field["jump"], field["start"] + col * field["jump"])
            assert all(half <= c <= 27 - half for c in centre), "a unit away from the border"
            top, bottom, left, right = probes.receptive_field_by_gradient(model, field["layer"], row, col)
            assert bottom - top + 1 == field["size"] == right - left + 1, field
            assert ((top + bottom) / 2, (left + right) / 2) == centre, field
            checked += 1
    assert checked >= 10


def test_receptive_field_by_gradient_is_clipped_at_the_border_and_whole_after_flatten():
    model = default_model()
    assert probes.receptive_field_by_gradient(model, "block2_pool", 0, 0) == (0, 6, 0, 6)  # 10 wide, from -3
    assert probes.receptive_field_by_gradient(model, "dense", 0, 0, channel=5) == (0, 27, 0, 27)
    with pytest.raises(ValueError, match="No layer 'nope'"):
        probes.receptive_field_by_gradient(model, "nope", 0, 0)


# --------------------------------------------------------------------------- occlusion


def slow_occlusion_map(model, image, label, patch, stride, fill):
    """One model call per occluded copy: the reference for occlusion_map."""
    base = float(np.asarray(model(image[None], training=False))[0, label])
    side = (28 - patch) // stride + 1
    result = np.zeros((side, side))
    for row in range(side):
        for col in range(side):
            copy = image.copy()
            copy[row * stride : row * stride + patch, col * stride : col * stride + patch] = fill
            result[row, col] = base - float(np.asarray(model(copy[None], training=False))[0, label])
    return result


@pytest.mark.parametrize(("patch", "stride", "fill"), [(4, 2, 0.0), (5, 3, 0.5)])
def test_occlusion_map_matches_a_slow_reference(classified, tiny_model, patch, stride, fill):
    images, labels, _ = classified
    maps = from_notebooks.occlusion_map(tiny_model, images[:2], labels[:2], patch=patch, stride=stride,
                                        fill=fill)
    side = (28 - patch) // stride + 1
    assert maps.shape == (2, side, side)
    for index in range(2):
        expected = slow_occlusion_map(tiny_model, images[index], labels[index], patch, stride, fill)
        np.testing.assert_allclose(maps[index], expected, atol=2e-6)


def test_occlusion_of_paper_changes_nothing_and_of_ink_lowers_the_true_class(classified, tiny_model):
    images, labels, right = classified
    maps = from_notebooks.occlusion_map(tiny_model, images, labels)
    assert maps.shape == (64, 13, 13)
    masks = np.zeros((13, 13, 28, 28), bool)  # the 4x4 square at each of its 13 x 13 positions
    for row in range(13):
        for col in range(13):
            masks[row, col, 2 * row : 2 * row + 4, 2 * col : 2 * col + 4] = True
    masks = masks.reshape(169, 28, 28)
    ink_in_patch = (images[:, None, :, :, 0] * masks[None]).sum(axis=(2, 3)).reshape(64, 13, 13)
    assert (ink_in_patch == 0).sum() > 1000
    np.testing.assert_allclose(maps[ink_in_patch == 0], 0.0, atol=1e-6)  # an empty patch: same image
    # On each digit the model gets right, hiding some patch of ink lowers p(true class) clearly.
    biggest = maps[right].reshape(right.sum(), -1).max(axis=1)
    assert (biggest > 0).all()
    assert np.median(biggest) > 0.02
    # ... and the patch that hurts most holds ink.
    worst = maps[right].reshape(right.sum(), -1).argmax(axis=1)
    assert (ink_in_patch[right].reshape(right.sum(), -1)[np.arange(right.sum()), worst] > 0).all()


def test_occlusion_pixel_map_averages_the_patches_over_each_pixel():
    rng = np.random.default_rng(0)
    for patch, stride in ((4, 2), (5, 2), (3, 3)):
        side = (28 - patch) // stride + 1
        maps = rng.normal(size=(3, side, side))
        pixels = from_notebooks.occlusion_pixel_map(maps, patch=patch, stride=stride)
        assert pixels.shape == (3, 28, 28)
        for y, x in ((0, 0), (5, 9), (13, 14), (27, 27), (26, 3)):
            covering = [maps[:, r, c] for r in range(side) for c in range(side)
                        if r * stride <= y < r * stride + patch and c * stride <= x < c * stride + patch]
            expected = np.mean(covering, axis=0) if covering else np.zeros(3)
            np.testing.assert_allclose(pixels[:, y, x], expected, rtol=1e-5, atol=1e-6)
    ones = from_notebooks.occlusion_pixel_map(np.ones((1, 13, 13)))
    np.testing.assert_allclose(ones, 1.0)


# --------------------------------------------------------------------------- gradients


def test_grad_cam_equals_a_hand_computation(classified, tiny_model):
    images, labels, _ = classified
    maps = from_notebooks.grad_cam(tiny_model, images, labels, "conv2")
    assert maps.shape == (64, 14, 14)
    assert (maps >= 0).all() and maps.max() > 0
    scores_model = with_linear_output(tiny_model)
    grad_model = keras.Model(scores_model.inputs[0],
                             [scores_model.get_layer("conv2").output, scores_model.outputs[0]])
    for index in (0, 7, 63):
        with tf.GradientTape() as tape:
            activation, scores = grad_model(images[index : index + 1], training=False)
            score = scores[0, labels[index]]
        gradient = np.asarray(tape.gradient(score, activation))[0]  # (14, 14, 16)
        weights = gradient.mean(axis=(0, 1))
        expected = np.maximum((np.asarray(activation)[0] * weights).sum(axis=-1), 0)
        np.testing.assert_allclose(maps[index], expected, rtol=1e-4, atol=1e-6 * max(1, expected.max()))
    other = from_notebooks.grad_cam(tiny_model, images[:4], (labels[:4] + 1) % 10, "conv2")
    assert not np.allclose(other, maps[:4]), "the map must depend on the class"


def test_upsample_is_bilinear_to_the_image_size():
    maps = np.zeros((2, 7, 7), "float32")
    maps[0] = 3.0
    maps[1, 2, 5] = 1.0
    big = from_notebooks.upsample(maps)
    assert big.shape == (2, 28, 28)
    np.testing.assert_allclose(big[0], 3.0, rtol=1e-6)
    row, col = np.unravel_index(big[1].argmax(), (28, 28))
    assert 8 <= row < 12 and 20 <= col < 24  # inside the 4x4 block of cell (2, 5)
    assert big[1].min() >= 0 and big[1].max() <= 1 + 1e-6
    assert from_notebooks.upsample(np.ones((1, 14, 14)), size=56).shape == (1, 56, 56)


def test_gradient_times_input_is_zero_on_paper_and_a_true_gradient(classified, tiny_model):
    images, labels, _ = classified
    saliency = from_notebooks.gradient_times_input(tiny_model, images, labels)
    assert saliency.shape == (64, 28, 28)
    paper = images[..., 0] == 0
    assert (saliency[paper] == 0).all()
    assert (np.abs(saliency[~paper]) > 0).mean() > 0.5
    scores_model = with_linear_output(tiny_model)
    for index in (3, 40):
        x = tf.constant(images[index : index + 1])
        with tf.GradientTape() as tape:
            tape.watch(x)
            score = scores_model(x, training=False)[0, labels[index]]
        expected = (np.asarray(tape.gradient(score, x)) * images[index : index + 1])[0, ..., 0]
        np.testing.assert_allclose(saliency[index], expected, rtol=1e-4, atol=1e-6)


# --------------------------------------------------------------------------- deletion test


def test_deletion_masks_take_the_top_k_ink_pixels(classified):
    images = classified[0]
    k = 40
    by_map, random = from_notebooks.deletion_masks(images, images[..., 0], k, seed=3)
    ink = images[..., 0] > 0
    assert by_map.shape == random.shape == (64, 28, 28)
    assert (by_map.sum(axis=(1, 2)) == k).all() and (random.sum(axis=(1, 2)) == k).all()
    assert not (by_map & ~ink).any() and not (random & ~ink).any()
    for index in range(64):
        pixels = images[index, ..., 0]
        assert pixels[by_map[index]].min() >= pixels[ink[index] & ~by_map[index]].max()  # brightest first
    assert (by_map != random).any()
    again = from_notebooks.deletion_masks(images, images[..., 0], k, seed=3)[1]
    np.testing.assert_array_equal(again, random)  # the seed fixes the random pixels
    deleted = from_notebooks.delete_pixels(images, by_map)
    assert deleted.shape == images.shape
    assert (deleted[by_map] == 0).all()
    np.testing.assert_array_equal(deleted[~by_map], images[~by_map])


def test_deletion_test_on_a_trained_model(classified, tiny_model):
    images, labels, _ = classified
    k = 40
    drops = from_notebooks.deletion_test(tiny_model, images, labels, images[..., 0], k)
    by_map, random = from_notebooks.deletion_masks(images, images[..., 0], k)
    p = probes.probabilities(tiny_model, images)[np.arange(64), labels]
    for masks, drop in zip((by_map, random), drops, strict=True):
        assert drop.shape == (64,) and np.isfinite(drop).all()
        deleted = from_notebooks.delete_pixels(images, masks)
        after = probes.probabilities(tiny_model, deleted)[np.arange(64), labels]
        np.testing.assert_allclose(drop, p - after, atol=1e-6)
    # A map that points at the evidence hurts more than chance: gradient x input vs random.
    saliency = from_notebooks.gradient_times_input(tiny_model, images, labels)
    drop_by_map, drop_random = from_notebooks.deletion_test(tiny_model, images, labels, saliency, k)
    assert drop_by_map.mean() > drop_random.mean() + 0.05


def test_deletion_test_with_fewer_ink_pixels_than_k(classified, tiny_model):
    images, labels, _ = classified
    sparse = images[:4].copy()
    sparse[:, :, 14:] = 0  # only the left half of the ink remains
    ink = (sparse[..., 0] > 0).sum(axis=(1, 2))
    k = int(ink.max()) + 10
    by_map, random = from_notebooks.deletion_masks(sparse, sparse[..., 0], k)
    np.testing.assert_array_equal(by_map, sparse[..., 0] > 0)
    np.testing.assert_array_equal(random, sparse[..., 0] > 0)
    np.testing.assert_array_equal(by_map.sum(axis=(1, 2)), ink)
    drop_by_map, drop_random = from_notebooks.deletion_test(tiny_model, sparse, labels[:4], sparse[..., 0], k)
    np.testing.assert_allclose(drop_by_map, drop_random, atol=1e-7)  # both: blank images


# --------------------------------------------------------------------------- feature spaces


def test_pca_2d_recovers_a_known_dominant_direction():
    rng = np.random.default_rng(0)
    rotation, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    spread = np.array([10.0, 3.0, 1.0, 1.0, 0.5, 0.5])
    data = (rng.normal(size=(2000, 6)) * spread) @ rotation.T + 5.0
    points, ratio = from_notebooks.pca_2d(data)
    assert points.shape == (2000, 2) and ratio.shape == (2,)
    # The first coordinate is the projection on the dominant direction (up to sign).
    projection = (data - data.mean(axis=0)) @ rotation[:, 0]
    assert abs(np.corrcoef(points[:, 0], projection)[0, 1]) > 0.999
    np.testing.assert_allclose(ratio, spread[:2] ** 2 / (spread**2).sum(), rtol=0.1)
    np.testing.assert_allclose(points.mean(axis=0), 0.0, atol=1e-9)


def test_pca_2d_of_real_digits_matches_the_gram_eigenvectors(digits):
    features = digits.x_train[:300].reshape(300, -1).astype("float64")
    points, ratio = from_notebooks.pca_2d(features)
    centred = features - features.mean(axis=0)
    # Exact reference: C C^T = U S^2 U^T, and the principal coordinates are U S.
    values, vectors = np.linalg.eigh(centred @ centred.T)
    values, vectors = values[::-1], vectors[:, ::-1]
    np.testing.assert_allclose(ratio, values[:2] / values.sum(), rtol=1e-9)
    for axis in (0, 1):
        expected = vectors[:, axis] * np.sqrt(values[axis])
        np.testing.assert_allclose(np.abs(points[:, axis]), np.abs(expected), atol=1e-5)
    assert np.var(points[:, 0]) > np.var(points[:, 1])


def brute_force_knn(references, reference_labels, queries, query_labels, k):
    correct = 0
    for query, label in zip(queries, query_labels, strict=True):
        distances = [float(np.linalg.norm(query - reference)) for reference in references]
        nearest = sorted(range(len(references)), key=lambda index: (distances[index], index))[:k]
        votes = Counter(reference_labels[index] for index in nearest)
        best = max(votes.values())
        winner = next(reference_labels[index] for index in nearest if votes[reference_labels[index]] == best)
        correct += winner == label
    return correct / len(queries)


def test_knn_accuracy_matches_a_brute_force_loop_on_real_digits(digits):
    references = digits.x_train[:300].reshape(300, -1)
    reference_labels = digits.y_train[:300]
    queries, query_labels = digits.x_test[:80].reshape(80, -1), digits.y_test[:80]
    assert from_notebooks.knn_accuracy(references, reference_labels, references, reference_labels) == 1.0
    for k in (1, 2, 4, 5):
        expected = brute_force_knn(references, reference_labels, queries, query_labels, k)
        assert from_notebooks.knn_accuracy(references, reference_labels, queries, query_labels,
                                           k=k) == pytest.approx(expected)
    assert 0.6 < from_notebooks.knn_accuracy(references, reference_labels, queries, query_labels) < 1.0


def test_knn_ties_go_to_the_nearest_neighbour():
    references = np.array([[0.0], [1.5], [-2.0], [10.0]])
    labels = np.array([0, 1, 1, 0])
    # k=2 from 0.4: neighbours 0 (label 0, at 0.4) and 1.5 (label 1): a tie, won by label 0.
    assert from_notebooks.knn_accuracy(references, labels, [[0.4]], [0], k=2) == 1.0
    # k=3: labels 0, 1, 1: the majority wins over the nearest.
    assert from_notebooks.knn_accuracy(references, labels, [[0.4]], [1], k=3) == 1.0


def test_class_centroid_distances_and_nearest_pairs(digits):
    features, labels = digits.x_train[:1000].reshape(1000, -1).astype("float64"), digits.y_train[:1000]
    distances = from_notebooks.class_centroid_distances(features, labels, 10)
    assert distances.shape == (10, 10)
    np.testing.assert_array_equal(distances, distances.T)
    np.testing.assert_array_equal(np.diag(distances), 0.0)
    expected = np.linalg.norm(features[labels == 4].mean(axis=0) - features[labels == 9].mean(axis=0))
    assert distances[4, 9] == pytest.approx(expected, rel=1e-9)
    assert (distances[~np.eye(10, dtype=bool)] > 0).all()
    names = [str(label) for label in range(10)]
    pairs = from_notebooks.nearest_class_pairs(distances, names, count=5)
    assert len(pairs) == 5
    assert [pair[2] for pair in pairs] == sorted(pair[2] for pair in pairs)
    assert len({frozenset(pair[:2]) for pair in pairs}) == 5
    upper = distances[np.triu_indices(10, 1)]
    np.testing.assert_allclose([pair[2] for pair in pairs], np.sort(upper)[:5])
    assert all(distances[int(a), int(b)] == d for a, b, d in pairs)
    assert len(from_notebooks.nearest_class_pairs(distances, names, count=100)) == 45


# --------------------------------------------------------------------------- shifts


def centre_of_mass(image):
    image = image[..., 0].astype("float64")
    rows, cols = np.indices(image.shape)
    return (image * cols).sum() / image.sum(), (image * rows).sum() / image.sum()


def test_shift_images_moves_the_centre_of_mass_exactly(real_digits):
    checked = 0
    for dx, dy in ((3, -2), (-4, 1), (0, 4), (2, 0)):
        shifted = probes.shift_images(real_digits, dx, dy)
        assert shifted.shape == real_digits.shape and shifted.dtype == real_digits.dtype
        for image, moved in zip(real_digits[:16], shifted[:16], strict=True):
            rows, cols = np.nonzero(image[..., 0])
            stays = -dy <= rows.min() <= rows.max() <= 27 - dy and -dx <= cols.min() <= cols.max() <= 27 - dx
            if not stays:
                continue  # some ink would leave the frame
            assert moved.sum() == pytest.approx(float(image.sum()), rel=1e-6)
            (x0, y0), (x1, y1) = centre_of_mass(image), centre_of_mass(moved)
            assert (x1 - x0, y1 - y0) == (pytest.approx(dx, abs=1e-9), pytest.approx(dy, abs=1e-9))
            checked += 1
    assert checked >= 40


def test_shift_images_never_wraps_ink_around(real_digits):
    shifted = probes.shift_images(real_digits, 10, 0)
    assert (shifted[:, :, :10] == 0).all()
    np.testing.assert_array_equal(shifted[:, :, 10:], real_digits[:, :, :18])
    shifted = probes.shift_images(real_digits, 0, -12)
    assert (shifted[:, 16:] == 0).all()
    np.testing.assert_array_equal(shifted[:, :16], real_digits[:, 12:])
    shifted = probes.shift_images(real_digits, -5, 6)
    np.testing.assert_array_equal(shifted[:, 6:, :23], real_digits[:, :22, 5:])
    assert shifted[:, :6].sum() == 0 and shifted[:, :, 23:].sum() == 0
    assert (probes.shift_images(real_digits, 28, 0) == 0).all()
    raw = (real_digits[:4, ..., 0] * 255).astype(np.uint8)  # (N, H, W) uint8 works too
    moved = probes.shift_images(raw, 1, 1)
    assert moved.dtype == np.uint8
    np.testing.assert_array_equal(moved[:, 1:, 1:], raw[:, :-1, :-1])
    np.testing.assert_array_equal(probes.shift_images(real_digits, 0, 0), real_digits)
