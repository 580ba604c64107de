"""The delivery benchmark script runs (at a tiny size; the figures themselves belong in the README)."""

import subprocess
import sys

import pytest

from pharmacy.config import ROOT


def test_bench_script_runs_at_a_tiny_size(request, tmp_path):
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("the benchmark builds its own SQLite database")
    example = tmp_path / "example.pdf"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/bench_deliveries.py"), "--townships", "1", "--villages", "4",
         "--products", "6", "--lines", "60", "--repeat", "1", "--example-pdf", str(example)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "plan the next run of every route of 1 townships" in result.stdout
    assert "read and render a 60-line manifest" in result.stdout
    assert example.read_bytes().startswith(b"%PDF")
