"""The same series on Fashion-MNIST, one setting changed from outside (the worked solutions of
08a and 08b read what it writes, so `make test` runs it before them)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_series_runs_on_fashion_mnist():
    result = subprocess.run([sys.executable, "-m", "mnist_cnn", "run", "01", "02", "03", "04", "05",
                             "DATASET=fashion_mnist"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert (ROOT / "models" / "fashion_mnist_cnn_trained.keras").is_file()
    assert (ROOT / "reports" / "fashion_mnist" / "predictions.csv").is_file()
