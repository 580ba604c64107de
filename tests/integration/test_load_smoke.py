"""scripts/load_test.py runs end to end at small size: gunicorn + PostgreSQL, locust, the ledger invariants.
No timing is asserted here; the full-size figures are in the README."""

import json
import subprocess
import sys

import pytest

from pharmacy.config import ROOT
from pharmacy.inventory.invariants import LEDGER_INVARIANTS
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
    for name in LEDGER_INVARIANTS:  # balances = movements, none negative, each transfer booked in once …
        assert summary["invariants"][name] == 0, name
    assert summary["seeded"]["transfers_in_transit"] > 0
    assert summary["invariants"]["transfers_received"] > 0  # the tablets raced to sign for goods, and signed
    assert "p95" in result.stdout
