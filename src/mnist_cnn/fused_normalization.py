"""Batch normalization computed by TensorFlow's fused kernel: a measured lever, not the default.

The series builds its network with Keras's own `keras.layers.BatchNormalization` (notebook 02),
so that every model it saves loads with Keras alone. Keras 3 writes that layer once for every
backend, so on TensorFlow it runs as a chain of small operations: a mean, a squared difference
and a second mean for the variance, then subtract, scale and shift, and the gradient of each.
TensorFlow also has one fused kernel (`FusedBatchNormV3`, which Keras 2 used) that does the
normalization and its gradient in single passes over the feature maps. Measured on notebook
02's model (appendix 09, docs/performance.md), a training step with the fused kernel is about
1.2 to 1.4 times as fast on a 2-core CPU with AVX-512 (oneDNN on) and 1.02 times on one with AVX2
only (measured there on Eigen's kernels, before the series turned oneDNN on for x86 CPUs; not
measured since): not enough to make every saved model depend on this package.

This module's `BatchNormalization` is a subclass of Keras's layer that changes only how `call`
computes: the same weights (gamma, beta, moving mean and variance), the same configuration,
the same update of the moving statistics (Keras keeps the *biased* batch variance; the fused
kernel returns the unbiased one, which we convert). Where the fused kernel does not apply
(another Keras backend, a mask, batch renormalization, a synchronized layer, an axis other
than the last, a non-float32 input, rank other than 2 or 4, a tiny epsilon) it falls back to
Keras's own computation. It keeps Keras's class name, so its weights are stored under the same
names; a saved model names it `mnist_cnn>BatchNormalization`, which importing this module
registers. `with_fused_batch_normalization` copies a model into it (appendix 09 times both).
"""


from __future__ import annotations

import keras

REGISTERED_NAME = "mnist_cnn>BatchNormalization"
FUSED_MIN_EPSILON = 1.001e-5  # the smallest epsilon TensorFlow's fused kernel accepts


@keras.saving.register_keras_serializable(package="mnist_cnn")
class BatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization`, computed by TensorFlow's fused kernel when it can."""

    def fuses(self, inputs, mask=None) -> bool:
        """Whether `call` uses the fused kernel for `inputs` (else Keras's own computation)."""
        rank = len(inputs.shape)
        return (
            keras.backend.backend() == "tensorflow"
            and mask is None
            and not self.renorm
            and not self.synchronized
            and self.axis in (-1, rank - 1)
            and rank in (2, 4)
            and self.epsilon >= FUSED_MIN_EPSILON
            and keras.backend.standardize_dtype(inputs.dtype) == "float32"
            and self.compute_dtype == "float32"
        )

    def call(self, inputs, training=None, mask=None):
        if not self.fuses(inputs, mask):
            return super().call(inputs, training=training, mask=mask)
        import tensorflow as tf

        channels = inputs.shape[-1]
        images = tf.reshape(inputs, (-1, 1, 1, channels)) if len(inputs.shape) == 2 else inputs
        gamma = self.gamma if self.scale else tf.ones((channels,), "float32")
        beta = self.beta if self.center else tf.zeros((channels,), "float32")
        if training and self.trainable:
            outputs, mean, unbiased_variance = tf.compat.v1.nn.fused_batch_norm(
                images, gamma, beta, epsilon=self.epsilon, is_training=True)
            count = tf.cast(tf.size(images) // channels, "float32")
            variance = unbiased_variance * (count - 1.0) / count
            self.moving_mean.assign(
                self.moving_mean * self.momentum + mean * (1.0 - self.momentum))
            self.moving_variance.assign(
                self.moving_variance * self.momentum + variance * (1.0 - self.momentum))
        else:
            outputs, _, _ = tf.compat.v1.nn.fused_batch_norm(
                images, gamma, beta, mean=self.moving_mean, variance=self.moving_variance,
                epsilon=self.epsilon, is_training=False)
        return tf.reshape(outputs, tf.shape(inputs)) if len(inputs.shape) == 2 else outputs


def with_fused_batch_normalization(model: keras.Model) -> keras.Model:
    """The same model, with the same weights, with this module's fused layer in place of each
    `keras.layers.BatchNormalization` (uncompiled; nested models are converted too)."""

    def clone(layer: keras.layers.Layer) -> keras.layers.Layer:
        if isinstance(layer, keras.Model):
            return with_fused_batch_normalization(layer)
        if type(layer) is keras.layers.BatchNormalization:
            return BatchNormalization.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    copy = keras.models.clone_model(model, clone_function=clone)
    copy.set_weights(model.get_weights())
    return copy
