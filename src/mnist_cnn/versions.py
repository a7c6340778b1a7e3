"""Library versions, and importing TensorFlow without its start-up noise."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from importlib import metadata

REPORTED_PACKAGES = ("tensorflow", "keras", "numpy", "pandas", "matplotlib", "seaborn")


def library_versions() -> dict[str, str]:
    """Python and the installed versions of the libraries the series depends on."""
    versions = {"python": platform.python_version()}
    for package in REPORTED_PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return versions


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null: C++ libraries write there, around Python."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras once, hiding the C++ log lines they print while loading.

    TensorFlow 2.21 prints "oneDNN custom operations are on" and "Could not find cuda
    drivers" with timestamps even when TF_CPP_MIN_LOG_LEVEL=3. They are harmless, but they
    change on every run, so stored notebook outputs (and nbval) would never match. Python
    errors are raised as usual: only the C++ stream is silenced, and only during the import.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    with _stderr_silenced():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401
