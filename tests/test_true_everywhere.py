"""What the stored notebooks compare and state must hold on any machine (numerics path).

- nbval compares only what every path computes alike: a cell that runs a network and prints a
  decimal number is tagged `nbval-ignore-output`.
- A number in a summary is either in an output nbval compares (the same everywhere) or in a
  check that runs on every path (an `assert`, or a claim printed and asserted for the default):
  the portability run (`make portability`) executes those checks on another path, so a stale
  or invented number fails there.
- Each stored notebook records the path that computed its outputs.
- `make test` runs the portability run, on the path that is not this machine's default.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import nbformat
import pytest

from mnist_cnn.paths import NOTEBOOKS
from mnist_cnn.portability import PORTABLE

ROOT = Path(__file__).resolve().parents[1]
SERIES_BOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTION_BOOKS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_solutions.ipynb"))

# Code that makes TensorFlow compute: a model called, trained, evaluated, or looked inside.
RUNS_A_NETWORK = re.compile(
    r"\.predict\(|\.evaluate\(|\.fit\(|GradientTape|train_on_batch|inside\.(?!shift_images)|"
    r"\bmodel\(|classify\(|student\(|_student\(|\(batch|training=(True|False)")
DECIMAL = re.compile(r"\d\.\d|\d%")  # a decimal number or a percentage


def ignored(cell) -> bool:
    return "nbval-ignore-output" in cell.metadata.get("tags", [])


def output_text(cell) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if "text" in output:
            parts.append(output["text"])
        elif "data" in output and "image/png" not in output["data"]:
            parts.append(output["data"].get("text/plain", ""))
    return "".join(parts)


@pytest.mark.parametrize("path", SERIES_BOOKS + SOLUTION_BOOKS, ids=lambda path: path.name)
def test_nbval_compares_no_decimal_a_network_computed(path):
    book = nbformat.read(path, as_version=4)
    compared = [index for index, cell in enumerate(book.cells)
                if cell.cell_type == "code" and not ignored(cell)
                and RUNS_A_NETWORK.search(cell.source) and DECIMAL.search(output_text(cell))]
    assert not compared, (f"{path.name}: cells {compared} print a decimal number computed by a "
                          f"network, and nbval compares them: tag them nbval-ignore-output and "
                          f"check what the text says of the number with an assert")


NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?")


def numbers_in(text: str) -> set[str]:
    """Numbers of more than one digit (small counts, notebook numbers and list markers are
    words, not results), without thousands separators or a trailing zero of a decimal."""
    found = set()
    for match in NUMBER.findall(text):
        number = match.replace(",", "").rstrip(".")
        if "." in number:
            number = number.rstrip("0").rstrip(".")
        if len(number.replace(".", "")) > 1 and number not in {f"{n:02d}" for n in range(1, 10)}:
            found.add(number)
    return found


def summary_of(book) -> str:
    text = next(cell.source for cell in book.cells
                if cell.cell_type == "markdown" and "## Summary" in cell.source)
    summary = text.split("## Summary", 1)[1].split("## Exercises", 1)[0]
    return re.sub(r"`[^`]*`|\([^)]*\.ipynb\)", "", summary)  # file names and links are not results


def checked_numbers(book) -> set[str]:
    """Numbers a run checks: in outputs nbval compares, in claims and asserts, in parameters."""
    found = set()
    for cell in book.cells:
        if cell.cell_type != "code":
            continue
        if not ignored(cell):
            found |= numbers_in(output_text(cell))
        if "parameters" in cell.metadata.get("tags", []):
            found |= numbers_in(cell.source)
        claimed = re.findall(r"assert (\w+) or experiment", cell.source)  # a claim printed, then asserted
        for line in cell.source.splitlines():
            if ("assert" in line or line.strip().startswith('"')
                    or any(f"{{{name}}}" in line for name in claimed)):
                found |= numbers_in(line)
    return found


@pytest.mark.parametrize("number", PORTABLE)
def test_every_number_of_a_summary_is_checked_on_every_run(number):
    book = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[number], as_version=4)
    unchecked = numbers_in(summary_of(book)) - checked_numbers(book)
    assert not unchecked, (f"{NOTEBOOKS[number]}: the summary states {sorted(unchecked)}, which no "
                           f"compared output, claim or assert of the notebook checks")


def test_the_summary_check_finds_an_invented_number():
    book = nbformat.read(ROOT / "notebooks" / NOTEBOOKS["04"], as_version=4)
    summary = next(cell for cell in book.cells if "## Summary" in cell.source)
    summary.source = summary.source.replace("## Summary\n", "## Summary\n\n- It scored 97.3% once.\n")
    assert numbers_in(summary_of(book)) - checked_numbers(book) == {"97.3"}


@pytest.mark.parametrize("path", SERIES_BOOKS + SOLUTION_BOOKS, ids=lambda path: path.name)
def test_each_stored_notebook_records_the_numerics_path_of_its_outputs(path):
    stored_on = nbformat.read(path, as_version=4).metadata.get("mnist_cnn", {}).get("outputs_computed_on")
    assert stored_on and stored_on.startswith("oneDNN "), (
        f"{path.name}: no record of the numerics path that computed its outputs (the runner's "
        f"--inplace writes it)")


def test_make_test_runs_the_portability_run_on_the_other_path():
    dry = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    assert "mnist_cnn.portability env" in dry and "mnist_cnn.portability prepare build/portability" in dry
    assert PORTABLE == ("01", "02", "03", "04", "05", "06", "08")


def test_the_portability_run_switches_onednn_and_uses_one_thread(monkeypatch):
    from mnist_cnn import portability

    monkeypatch.setattr(portability, "default_onednn", lambda: True)
    assert portability.other_path() == {"TF_ENABLE_ONEDNN_OPTS": "0", "TF_NUM_INTRAOP_THREADS": "1"}
    monkeypatch.setattr(portability, "default_onednn", lambda: False)
    assert portability.other_path() == {"TF_ENABLE_ONEDNN_OPTS": "1", "TF_NUM_INTRAOP_THREADS": "1"}


@pytest.mark.parametrize("machine, preset, expected", [
    ("x86_64", None, "1"),    # an AVX2-only CPU gets oneDNN's kernels too
    ("AMD64", None, "1"),     # Windows names x86-64 so
    ("x86_64", "0", "0"),     # a reader's choice is kept
    ("arm64", None, None),    # Apple silicon: TensorFlow's own default
    ("aarch64", None, None),
])
def test_the_series_turns_onednn_on_for_x86_cpus_unless_the_reader_chose(monkeypatch, machine, preset,
                                                                         expected):
    from mnist_cnn import environment

    monkeypatch.setattr(environment.platform, "machine", lambda: machine)
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", "restored afterwards")  # so that delenv records it
    if preset is None:
        monkeypatch.delenv("TF_ENABLE_ONEDNN_OPTS")
    else:
        monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", preset)
    environment.prefer_onednn()
    assert environment.os.environ.get("TF_ENABLE_ONEDNN_OPTS") == expected


def test_a_notebooks_tensorflow_runs_onednn_on_this_x86_machine_whatever_its_cpu():
    """In a fresh process, as a notebook starts: the series' default, and the portability run's
    other path (make portability) is then oneDNN off on every x86 machine."""
    import platform

    from mnist_cnn import portability

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip("oneDNN's default is TensorFlow's own on this CPU")
    assert portability.default_onednn() is True
    assert portability.other_path()["TF_ENABLE_ONEDNN_OPTS"] == "0"


def test_the_numerics_path_names_a_cap_on_onednns_instructions():
    from mnist_cnn.environment import describe_numerics

    path = {"onednn": True, "intra_op_threads": 2, "cpu": "AMD EPYC", "avx512": True}
    assert describe_numerics(path) == "oneDNN on, 2 threads, AMD EPYC (AVX-512)"
    assert (describe_numerics({**path, "onednn_isa_cap": "AVX2"})
            == "oneDNN on (AVX2 at most), 2 threads, AMD EPYC (AVX-512)")
    assert (describe_numerics({**path, "onednn": False, "intra_op_threads": 1, "onednn_isa_cap": "AVX2"})
            == "oneDNN off, 1 thread, AMD EPYC (AVX-512)")  # the cap acts on oneDNN alone


def test_the_stored_notebooks_were_computed_on_one_numerics_path():
    """The notebooks quote each other's numbers (04's errors are 05's wrong answers and 08's
    comparison): a series re-stored in part on another machine would contradict itself.
    `runner --inplace` refuses that; this catches a store that went around it."""
    recorded = {path.relative_to(ROOT / "notebooks").as_posix():
                nbformat.read(path, as_version=4).metadata.get("mnist_cnn", {}).get("outputs_computed_on")
                for path in SERIES_BOOKS + SOLUTION_BOOKS}
    assert len(set(recorded.values())) == 1, recorded


def stored_output(number: str, pattern: str) -> re.Match:
    book = nbformat.read(ROOT / "notebooks" / NOTEBOOKS[number], as_version=4)
    for cell in book.cells:
        if cell.cell_type == "code" and (found := re.search(pattern, output_text(cell))):
            return found
    raise AssertionError(f"{NOTEBOOKS[number]}: no stored output matches {pattern!r}")


def test_the_stored_notebooks_agree_on_the_trained_networks_test_errors():
    """One trained network, one count of test errors, wherever a stored notebook prints it."""
    evaluated = stored_output("04", r"test accuracy: (\d+\.\d+)%  \((\d+) errors\)")
    predicted = stored_output("05", r"([\d,]+) right, (\d+) wrong \((\d+\.\d+)% accuracy\)")
    compared = stored_output("08", r"CNN: (\d+\.\d+)% test accuracy.*\n.*\(\d+ against (\d+)\)")
    errors = {"04": evaluated[2], "05": predicted[2], "08": compared[2]}
    assert len(set(errors.values())) == 1, errors
    assert evaluated[1] == predicted[3] == compared[1]
    assert int(predicted[1].replace(",", "")) + int(predicted[2]) == 10_000
