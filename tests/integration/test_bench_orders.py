"""The order benchmark runs (at a tiny size; the real figures are in the README)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bench_script_runs_at_tiny_size():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_orders.py"), "--townships", "2",
                             "--villages", "2", "--products", "6"], capture_output=True, text=True, timeout=120, check=False,
                            cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "build draft orders:" in result.stdout and "allocate all orders:" in result.stdout
