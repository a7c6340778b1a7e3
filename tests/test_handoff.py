"""Hand-off files: round trips, provenance checks, staleness and atomic writes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pandas as pd
import pytest

from mnist_cnn.environment import library_versions
from mnist_cnn.errors import MissingArtifactError, StaleArtifactError
from mnist_cnn.handoff import HandoffFiles, atomic_path, file_sha256, sidecar_path
from mnist_cnn.paths import NOTEBOOKS, ProjectPaths

NB01 = NOTEBOOKS["01"]
NB03 = NOTEBOOKS["03"]
FINGERPRINT = "a" * 64


def processed_arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.random((6, 28, 28, 1), dtype=np.float32),
        "y_train": rng.integers(0, 10, 6).astype(np.int64),
        "x_test": rng.random((3, 28, 28, 1), dtype=np.float32),
        "y_test": rng.integers(0, 10, 3).astype(np.uint8),
    }


def write_processed(project, arrays=None, fingerprint=FINGERPRINT, seed=42):
    files = HandoffFiles(project, "01", seed=seed)
    files.save_arrays("processed", arrays or processed_arrays(), data_fingerprint=fingerprint)
    return files


def write_history(project):
    files = HandoffFiles(project, "03", seed=42)
    files.load_arrays("processed")
    files.save_dataframe("history", pd.DataFrame({"epoch": [1, 2], "loss": [0.5, 0.25]}))
    return files


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if ".partial" in p.name)


# ----- round trip and sidecar -----------------------------------------------------------------
def test_arrays_round_trip_with_dtypes(project):
    arrays = processed_arrays()
    write_processed(project, arrays)
    loaded = HandoffFiles(project, "02").load_arrays("processed")
    assert sorted(loaded) == sorted(arrays)
    for name, array in arrays.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)


def test_sidecar_records_provenance(project):
    write_processed(project, seed=7)
    path = project["processed"].path
    meta = json.loads(sidecar_path(path).read_text(encoding="utf-8"))
    assert meta["artifact"] == "data/processed/mnist.npz"
    assert meta["written_by"] == NB01
    assert meta["dataset"] == "mnist"
    assert meta["data_fingerprint"] == FINGERPRINT
    assert meta["seed"] == 7
    assert meta["versions"] == library_versions()
    assert meta["inputs"] == {}
    assert meta["file_sha256"] == file_sha256(path)

    write_history(project)
    history_meta = json.loads(sidecar_path(project["history"].path).read_text(encoding="utf-8"))
    assert history_meta["written_by"] == NB03
    assert history_meta["inputs"] == {"processed": meta["content_id"]}
    assert history_meta["data_fingerprint"] == FINGERPRINT  # inherited from the input read


def test_dataframe_round_trip(project):
    write_processed(project)
    write_history(project)
    frame = HandoffFiles(project, "04").load_dataframe("history")
    assert list(frame.columns) == ["epoch", "loss"]
    assert frame["loss"].tolist() == [0.5, 0.25]


def test_the_configuration_travels_along_the_chain(project):
    files = HandoffFiles(project, "01", seed=42, settings={"DATASET": "mnist", "PIXEL_SCALE": 255.0})
    files.save_arrays("processed", processed_arrays(), data_fingerprint=FINGERPRINT)
    training = HandoffFiles(project, "03", seed=42, settings={"EPOCHS": 1})
    training.load_arrays("processed")
    training.save_dataframe("history", pd.DataFrame({"epoch": [1], "loss": [0.5]}))
    meta = HandoffFiles(project, "04").read_meta("history")
    assert meta["configuration"] == {"DATASET": "mnist", "PIXEL_SCALE": 255.0, "EPOCHS": 1}
    assert meta["run_id"] == training.run_id and meta["run_id"].endswith(meta["run_id"][-4:])


# ----- a rerun that failed ------------------------------------------------------------------------
def test_a_rerun_that_wrote_nothing_is_reported_by_the_next_reader(project, capsys):
    write_processed(project)
    good = write_history(project)
    assert HandoffFiles(project, "04").notices == []
    HandoffFiles(project, "03", seed=42)  # 03 starts again ... and fails before it writes
    reader = HandoffFiles(project, "04")
    frame = reader.load_dataframe("history")
    assert frame["loss"].tolist() == [0.5, 0.25]  # the last good file is still used
    assert len(reader.notices) == 1
    notice = reader.notices[0]
    assert notice.startswith(f"Note: reports/history.csv is the last good file, written by {NB03} at")
    assert f"(run {good.run_id})" in notice
    assert "was started again at" in notice and "has not written it since" in notice
    assert notice in capsys.readouterr().out


def test_a_rerun_that_wrote_its_file_is_not_reported(project):
    write_processed(project)
    write_history(project)
    write_history(project)  # 03 ran again and wrote the file again
    reader = HandoffFiles(project, "04")
    reader.load_dataframe("history")
    assert reader.notices == []


# ----- missing, damaged and foreign files -----------------------------------------------------
def test_missing_artifact_names_the_notebook_to_run(project):
    with pytest.raises(MissingArtifactError) as info:
        HandoffFiles(project, "02").load_arrays("processed")
    assert str(info.value) == f"data/processed/mnist.npz is missing: run {NB01} first."


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_missing_or_corrupt_sidecar_is_stale(project, damage):
    write_processed(project)
    meta_file = sidecar_path(project["processed"].path)
    if damage == "missing":
        meta_file.unlink()
    else:
        meta_file.write_text('{"written_by": "01_lo', encoding="utf-8")
    with pytest.raises(StaleArtifactError, match="no readable record") as info:
        HandoffFiles(project, "02").load_arrays("processed")
    assert f"rerun {NB01}" in str(info.value)


def test_modified_file_is_stale(project):
    write_processed(project)
    with open(project["processed"].path, "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(StaleArtifactError, match=f"is not the file that {NB01} wrote") as info:
        HandoffFiles(project, "02").load_arrays("processed")
    assert f"rerun {NB01}" in str(info.value)


def test_artifact_from_another_dataset_is_stale(project):
    fashion = ProjectPaths(dataset="fashion_mnist", root=project.root)
    HandoffFiles(fashion, "01").save_arrays(
        "processed", processed_arrays(), data_fingerprint=FINGERPRINT
    )
    # The reader copies Fashion-MNIST's file (and its sidecar) over MNIST's names.
    source, target = fashion["processed"].path, project["processed"].path
    shutil.copyfile(source, target)
    shutil.copyfile(sidecar_path(source), sidecar_path(target))
    with pytest.raises(StaleArtifactError, match="made from fashion_mnist") as info:
        HandoffFiles(project, "02").load_arrays("processed")
    assert f"rerun {NB01} for mnist" in str(info.value)


def test_unreadable_npz_with_valid_sidecar_is_stale(project):
    files = HandoffFiles(project, "01")
    files._write("processed", lambda p: p.write_bytes(b"not a zip"), None, None, FINGERPRINT)
    with pytest.raises(StaleArtifactError, match="cannot be read as arrays"):
        HandoffFiles(project, "02").load_arrays("processed")


# ----- staleness by content, not by time -------------------------------------------------------
def test_rewritten_input_makes_later_artifact_stale(project):
    write_processed(project, processed_arrays(seed=0))
    write_history(project)
    write_processed(project, processed_arrays(seed=1))
    with pytest.raises(StaleArtifactError, match="older than its input") as info:
        HandoffFiles(project, "04").load_dataframe("history")
    message = str(info.value)
    assert "reports/history.csv" in message and "data/processed/mnist.npz" in message
    assert f"rerun {NB03}" in message


def test_identical_rewrite_of_input_keeps_later_artifact_fresh(project):
    write_processed(project, processed_arrays(seed=0))
    write_history(project)
    time.sleep(0.01)
    write_processed(project, processed_arrays(seed=0))  # newer file, same content
    frame = HandoffFiles(project, "04").load_dataframe("history")
    assert len(frame) == 2


def test_inputs_from_other_data_are_refused(project):
    write_processed(project, processed_arrays(seed=0), fingerprint="a" * 64)
    write_history(project)
    # Same arrays (so history is not stale) but recorded as made from other raw data.
    write_processed(project, processed_arrays(seed=0), fingerprint="b" * 64)
    files = HandoffFiles(project, "04")
    files.load_dataframe("history")
    with pytest.raises(StaleArtifactError, match="made from other data"):
        files.load_arrays("processed")


def test_writing_from_the_wrong_notebook_is_refused(project):
    with pytest.raises(ValueError, match=f"written by {NB01} only"):
        HandoffFiles(project, "03").save_arrays(
            "processed", processed_arrays(), data_fingerprint=FINGERPRINT
        )
    assert not project["processed"].path.exists()


def test_unknown_notebook_and_missing_fingerprint_are_refused(project):
    with pytest.raises(ValueError, match="notebook must be one of"):
        HandoffFiles(project, "99")
    with pytest.raises(ValueError, match="Read an input"):
        HandoffFiles(project, "01").save_arrays("processed", processed_arrays())


# ----- atomic writes ---------------------------------------------------------------------------
def test_atomic_path_keeps_the_good_file_when_the_block_fails(tmp_path):
    target = tmp_path / "report.csv"
    target.write_text("good\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        assert temporary.parent == target.parent and temporary.suffix == ".csv"
        temporary.write_text("half a fi", encoding="utf-8")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "good\n"
    assert leftovers(tmp_path) == []


def test_atomic_path_replaces_the_file_on_success(tmp_path):
    target = tmp_path / "sub" / "report.csv"
    with atomic_path(target) as temporary:
        temporary.write_text("new\n", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "new\n"
    assert leftovers(target.parent) == []


def test_interrupted_save_arrays_keeps_the_previous_artifact(project, monkeypatch):
    old = processed_arrays(seed=0)
    write_processed(project, old)
    path = project["processed"].path
    old_file, old_meta = path.read_bytes(), sidecar_path(path).read_bytes()

    def savez_then_ctrl_c(handle, **arrays):
        handle.write(b"PK\x03\x04" + bytes(4096))  # the start of a zip archive...
        raise KeyboardInterrupt  # ...and the reader presses Ctrl-C

    monkeypatch.setattr(np, "savez", savez_then_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        write_processed(project, processed_arrays(seed=1))
    monkeypatch.undo()

    assert path.read_bytes() == old_file
    assert sidecar_path(path).read_bytes() == old_meta
    assert leftovers(path.parent) == []
    loaded = HandoffFiles(project, "02").load_arrays("processed")
    np.testing.assert_array_equal(loaded["x_train"], old["x_train"])


KILLED_WRITER = textwrap.dedent(
    """
    import sys, time
    import numpy as np
    from mnist_cnn.handoff import HandoffFiles
    from mnist_cnn.paths import ProjectPaths

    class SlowFile:
        # Delegates to the real file, but stalls once a few megabytes are written.
        def __init__(self, handle):
            self.handle, self.written = handle, 0
        def write(self, data):
            n = self.handle.write(data)
            self.written += n
            if self.written > 4_000_000:
                self.handle.flush()
                print("MID-WRITE", flush=True)
                time.sleep(60)
            return n
        def __getattr__(self, name):
            return getattr(self.handle, name)

    real_savez = np.savez
    np.savez = lambda handle, **arrays: real_savez(SlowFile(handle), **arrays)
    paths = ProjectPaths(dataset="mnist", root=sys.argv[1])
    big = {"x_train": np.ones((2_000, 28, 28, 1), dtype=np.float32)}  # about 6 MB
    HandoffFiles(paths, "01").save_arrays("processed", big, data_fingerprint="c" * 64)
    print("FINISHED", flush=True)
    """
)


def test_sigkill_mid_write_never_leaves_a_partial_artifact(project):
    """A killed process cannot clean up: it may leave a `.partial-*` temporary file beside the
    artifact, but the artifact and its sidecar stay the previous good pair, and the temporary
    file (another name) is never read as the artifact."""
    old = processed_arrays(seed=0)
    write_processed(project, old)
    path = project["processed"].path
    old_file, old_meta = path.read_bytes(), sidecar_path(path).read_bytes()

    env = {k: v for k, v in os.environ.items() if not k.startswith(("MNIST", "FASHION"))}
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(project.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        timer = threading.Timer(20, process.kill)  # never hang the test suite
        timer.start()
        line = process.stdout.readline()
        timer.cancel()
        assert line.strip() == "MID-WRITE", process.stderr.read()
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=10) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()
        process.stderr.close()

    # The artifact and its sidecar are untouched: the previous good pair.
    assert path.read_bytes() == old_file
    assert sidecar_path(path).read_bytes() == old_meta
    # At most the writer's own temporary file is left, under another name, with no sidecar.
    left = leftovers(path.parent)
    assert left in ([], [f".mnist.partial-{process.pid}.npz"])
    for name in left:
        assert (path.parent / name).stat().st_size > 4_000_000
    loaded = HandoffFiles(project, "02").load_arrays("processed")
    np.testing.assert_array_equal(loaded["x_train"], old["x_train"])
