"""Errors that tell the reader what is wrong and what to do, without a deep traceback."""

from __future__ import annotations


class SeriesError(Exception):
    """An expected problem with the reader's files; the message names the fix.

    In Jupyter, IPython calls `_render_traceback_` and shows only the message, so a reader
    sees "run 03_compile_and_train.ipynb first" instead of forty lines from inside Keras.
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class DataError(SeriesError):
    """The raw data is missing, truncated, corrupted or not the published data set."""


class MissingArtifactError(SeriesError):
    """A file that an earlier notebook writes is not there yet."""


class StaleArtifactError(SeriesError):
    """A hand-off file exists but is damaged, from other data, or older than its inputs."""


class ImageError(SeriesError):
    """A user's image file cannot be turned into an MNIST-style digit."""
