"""scripts/load_test.py runs end to end at small size: gunicorn + PostgreSQL, locust, the ledger invariants.
No timing is asserted here; the full-size figures are in the README."""

import json
import subprocess
import sys

import pytest

from pharmacy.config import ROOT
from tests.pg_available import PG_URL


@pytest.mark.postgresql
def test_small_load_runs_without_errors_and_keeps_the_ledger_whole(tmp_path):
    summary_path = tmp_path / "load.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "load_test.py"), "--size", "small", "--duration", "20",
         "--pg-url", PG_URL, "--json", str(summary_path), "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    summary = json.loads(summary_path.read_text())
    assert summary["stats"]["total"]["requests"] > 0 and summary["stats"]["total"]["failures"] == 0
    assert summary["invariants"]["balance_differs_from_movements"] == 0
    assert summary["invariants"]["negative_balances"] == 0
    assert "p95" in result.stdout
