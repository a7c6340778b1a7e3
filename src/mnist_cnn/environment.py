"""Library versions, and importing TensorFlow without its start-up noise."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
from importlib import metadata
from pathlib import Path

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


X86_MACHINES = ("x86_64", "amd64")


def prefer_onednn() -> None:
    """On an x86 CPU, turn TensorFlow's oneDNN kernels on, unless TF_ENABLE_ONEDNN_OPTS is set.

    TensorFlow 2.21 turns them on by itself only on CPUs with AVX-512 VNNI or newer. On a CPU
    with AVX2 and no AVX-512 it leaves them off, and its Eigen kernels trained notebook 03 1.3 to
    1.5 times as slowly as oneDNN's AVX2 kernels did, measured with oneDNN held to AVX2 on an
    AVX-512 CPU (docs/performance.md, *Times on both kinds of machine*). Both compute in
    float32; only the last digits differ, as between any two numerics paths. A reader who sets
    TF_ENABLE_ONEDNN_OPTS (0 or 1) keeps their choice; other CPUs (ARM: Apple silicon,
    Graviton) keep TensorFlow's own default.
    """
    if platform.machine().lower() in X86_MACHINES:
        os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow and Keras once, hiding the C++ log lines they print while loading,
    with oneDNN on for x86 CPUs (`prefer_onednn`).

    TensorFlow 2.21 prints "oneDNN custom operations are on" and "Could not find cuda
    drivers" with timestamps even when TF_CPP_MIN_LOG_LEVEL=3. They are harmless, but they
    change on every run, so stored notebook outputs (and nbval) would never match. Python
    errors are raised as usual: only the C++ stream is silenced, and only during the import.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if "tensorflow" not in sys.modules:  # TensorFlow reads the variable once, when it loads
        prefer_onednn()
    if "tensorflow" in sys.modules and "keras" in sys.modules:
        return
    with _stderr_silenced():
        import keras  # noqa: F401
        import tensorflow  # noqa: F401


def _cpu_model_and_avx512() -> tuple[str, bool]:
    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8")
    except OSError:
        return platform.processor() or "unknown CPU", False
    model = next((line.split(":", 1)[1].strip() for line in text.splitlines()
                  if line.startswith("model name")), "unknown CPU")
    return model, "avx512f" in text


def numerics_path() -> dict[str, object]:
    """Which kernels compute TensorFlow's floating-point results in this process.

    The last digits of every trained number depend on it: oneDNN on or off (the series turns
    it on for x86 CPUs, `prefer_onednn`; TF_ENABLE_ONEDNN_OPTS overrides), the instructions
    oneDNN may use (all the CPU has, unless ONEDNN_MAX_CPU_ISA caps them, say at AVX2), the
    number of intra-op threads (TF_NUM_INTRAOP_THREADS, else one per core) and the CPU.
    Call it after TensorFlow is imported.
    """
    from tensorflow.python.util import _pywrap_util_port

    cpu, avx512 = _cpu_model_and_avx512()
    threads = os.environ.get("TF_NUM_INTRAOP_THREADS") or str(os.cpu_count())
    return {"onednn": bool(_pywrap_util_port.IsMklEnabled()), "intra_op_threads": int(threads),
            "cpu": cpu, "avx512": avx512, "onednn_isa_cap": os.environ.get("ONEDNN_MAX_CPU_ISA", "").upper()}


def describe_numerics(path: dict[str, object] | None = None) -> str:
    """One line: "oneDNN on, 2 threads, AMD EPYC (AVX-512)"; with oneDNN's instructions capped,
    "oneDNN on (AVX2 at most), 2 threads, ..."."""
    path = numerics_path() if path is None else path
    cap = path.get("onednn_isa_cap") if path["onednn"] else ""
    return (f"oneDNN {'on' if path['onednn'] else 'off'}{f' ({cap} at most)' if cap else ''}, "
            f"{path['intra_op_threads']} thread{'s' if path['intra_op_threads'] != 1 else ''}, "
            f"{path['cpu']} ({'AVX-512' if path['avx512'] else 'no AVX-512'})")
