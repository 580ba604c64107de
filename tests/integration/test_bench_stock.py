"""scripts/bench_stock.py runs end to end (a tiny run; the figures themselves are for the README, not asserted)."""

import subprocess
import sys

import pytest

from pharmacy.config import ROOT
from tests.pg_available import PG_URL


@pytest.mark.postgresql
def test_bench_stock_tiny_run():
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "bench_stock.py"), "--pg-url", PG_URL, "--clients", "2",
         "--dispenses", "10", "--shortages", "6", "--workers", "1", "--threads", "2", "--status-villages", "2",
         "--status-products", "3"],
        capture_output=True, text=True, timeout=240, cwd=ROOT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    for figure in ("dispenses/s, 2 clients at their own villages", "dispenses/s, 2 clients on one lot",
                   "shortage submission latency", "stock_status over 2 villages × 3 products",
                   "ledger consistent (every balance = sum of its movements, none negative): yes"):
        assert figure in result.stdout
