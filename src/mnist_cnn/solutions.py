"""What the worked solutions (notebooks/solutions/) share: notebook 02's network as a function.

Notebook 02 builds its network in plain sight, one layer per line, because that is what it
teaches. The solutions of the exercises that change the architecture (02's padding and global
average pooling, 08's shift tolerance) need that network with one thing changed: `build_network`
builds it from the same layers, and a test checks that with no change it is notebook 02's
network, layer for layer (the signature the default's reference records).
"""

from __future__ import annotations

import keras

from .normalization import BatchNormalization


def build_network(padding: str = "same", pooling: str = "flatten", filters: tuple[int, int] = (32, 64),
                  kernel_size: int = 3, dense_units: int = 128, dropout: float = 0.3,
                  classes: int = 10) -> keras.Sequential:
    """Notebook 02's network; `padding` ("same" or "valid") and `pooling` ("flatten" or
    "average": global average pooling instead of Flatten) are the changes of its exercises."""

    def block(count: int, name: str) -> list:
        return [keras.layers.Conv2D(count, kernel_size, padding=padding, use_bias=False, name=f"{name}_conv"),
                BatchNormalization(name=f"{name}_norm"),
                keras.layers.Activation("relu", name=f"{name}_relu"),
                keras.layers.MaxPooling2D(pool_size=2, name=f"{name}_pool")]

    collapse = (keras.layers.Flatten(name="flatten") if pooling == "flatten"
                else keras.layers.GlobalAveragePooling2D(name="global_average"))
    return keras.Sequential([
        keras.Input(shape=(28, 28, 1), name="image"),
        *block(filters[0], "block1"), *block(filters[1], "block2"), collapse,
        keras.layers.Dropout(dropout, name="dropout_features"),
        keras.layers.Dense(dense_units, use_bias=False, name="dense"),
        BatchNormalization(name="dense_norm"),
        keras.layers.Activation("relu", name="dense_relu"),
        keras.layers.Dropout(dropout, name="dropout_dense"),
        keras.layers.Dense(classes, activation="softmax", name="class_probabilities"),
    ], name="mnist_cnn")
