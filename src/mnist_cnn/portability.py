"""The series on another numerics path: what `make portability` (part of `make test`) runs.

Every floating-point result TensorFlow computes depends on the numerics path: the CPU, whether
TensorFlow's oneDNN kernels are on, and how many threads share the work. The stored outputs
were computed on one path; a reader's machine is another. nbval compares only what every path
computes alike, and the text's claims about computed results are checks with tolerances, so
the notebooks must pass on any path. This module prepares the proof: a scratch copy of the
project and the environment of the *other* path (oneDNN switched the other way from the
series' default on this machine, so off on x86 CPUs, where the series turns it on; one
intra-op thread instead of one per core).

    python -m mnist_cnn.portability prepare build/portability   # the scratch copy
    python -m mnist_cnn.portability env                         # VAR=value ... of the other path
    python -m mnist_cnn.portability describe                    # both paths, in words
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .exercises import scratch_project
from .paths import NOTEBOOKS, find_project_root

# What the portability run executes: the six stages and the look inside (07 tunes, 09 times).
PORTABLE = ("01", "02", "03", "04", "05", "06", "08")


def default_onednn() -> bool:
    """Whether oneDNN is on when a notebook imports TensorFlow in a fresh process with this
    environment minus any override: on for x86 CPUs, which the series turns on
    (`environment.prefer_onednn`); elsewhere as TensorFlow decides from the CPU."""
    env = {key: value for key, value in os.environ.items() if key != "TF_ENABLE_ONEDNN_OPTS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    code = ("from mnist_cnn.environment import import_tensorflow_quietly; import_tensorflow_quietly(); "
            "from tensorflow.python.util import _pywrap_util_port as port; "
            "print(int(port.IsMklEnabled()))")
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                            check=True)
    return result.stdout.strip().splitlines()[-1] == "1"


def other_path() -> dict[str, str]:
    """The environment of the numerics path that differs most from this machine's default."""
    return {"TF_ENABLE_ONEDNN_OPTS": "0" if default_onednn() else "1", "TF_NUM_INTRAOP_THREADS": "1"}


def prepare(folder: Path) -> list[Path]:
    """A scratch copy of the project at `folder` (notebooks copied, raw data linked); returns
    the notebooks the portability run executes, in order."""
    paths = scratch_project(Path(folder), find_project_root())
    return [paths.notebooks / NOTEBOOKS[number] for number in PORTABLE]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["env"]:
        print(" ".join(f"{key}={value}" for key, value in other_path().items()))
    elif args[:1] == ["describe"]:
        onednn = default_onednn()
        print(f"this machine's default: oneDNN {'on' if onednn else 'off'}, one thread per core "
              f"({os.cpu_count()}); the portability run: oneDNN {'off' if onednn else 'on'}, 1 thread")
    elif args[:1] == ["prepare"] and len(args) == 2:
        print(" ".join(str(path) for path in prepare(Path(args[1]))))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
