"""What the notebooks of the MNIST CNN series share: the data and the hand-off files (`data`),
figures (`plots`), the widgets (`widgets`), and `check`, which tests what the text says of a
run. The methods the notebooks teach are in the generated module `from_notebooks`, copied
from their `#@save` cells.

Importing the package first quiets TensorFlow's start-up: the lines its C++ core prints
while loading (oneDNN, CUDA) would otherwise fill every notebook's first output.
"""

from __future__ import annotations

import contextlib
import os
import platform
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if platform.machine().lower() in ("x86_64", "amd64"):
    # TensorFlow turns oneDNN on by itself only with AVX-512 VNNI; on an AVX2-only CPU its other
    # kernels (Eigen's) trained notebook 03 1.3 to 1.5 times as slowly (docs/performance.md).
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


@contextlib.contextmanager
def _quiet_stderr():
    """Send file descriptor 2, where TensorFlow's C++ core writes, to /dev/null."""
    try:
        sys.stderr.flush()
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError):  # no real descriptor 2 (some hosted kernels): import as is
        yield
        return
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


if "tensorflow" not in sys.modules:
    with _quiet_stderr():
        import tensorflow  # noqa: F401

from . import run  # noqa: E402
from .data import (  # noqa: E402
    DATASETS,
    NOTEBOOKS,
    DamagedFileError,
    DataError,
    Files,
    MissingInputError,
    SeriesError,
    load_model,
)

STRICT_VARIABLE = "MNIST_CNN_STRICT"  # set by `make test`: the checks then assert

__all__ = ["DATASETS", "NOTEBOOKS", "DamagedFileError", "DataError", "Files", "MissingInputError", "SeriesError",
           "check", "load_model", "run", "setup"]


def setup() -> None:
    """The figures' style, the library versions on one line, and the widgets in Colab."""
    from importlib import metadata

    from . import plots

    plots.use_style()
    versions = [f"Python {platform.python_version()}"]
    for package in ("tensorflow", "keras", "numpy", "pandas", "matplotlib", "seaborn"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions.append(f"{package} {metadata.version(package)}")
    print(" · ".join(versions))
    if "google.colab" in sys.modules:  # Colab shows third-party widgets only when asked to
        from google.colab import output

        output.enable_custom_widget_manager()


class ChecksFailed(AssertionError):
    pass


def check(claims: dict[str, bool]) -> None:
    """Print whether each claim the text makes about this run holds.

    Under `make test` (MNIST_CNN_STRICT=1) a claim that does not hold stops the notebook: the
    series as shipped must show what its text says. Elsewhere, after a change of yours, it is
    reported: your change did this, and the text no longer describes your run."""
    failed = [claim for claim, holds in claims.items() if not holds]
    for claim, holds in claims.items():
        print(f"{'holds' if holds else 'does NOT hold'}: {claim}")
    if failed and os.environ.get(STRICT_VARIABLE):
        raise ChecksFailed("the series as shipped no longer shows what its text says: " + "; ".join(failed))
    if failed:
        print(f"{len(failed)} of {len(claims)} claims of the text do not hold for this run: if you changed "
              "a setting or the code, your change did this.")
