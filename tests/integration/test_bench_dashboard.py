"""The year simulator and the dashboard benchmark run at a tiny size (the figures belong in the README)."""

import subprocess
import sys

import pytest

from pharmacy.config import ROOT


def test_simulate_then_bench_at_a_tiny_size(request, tmp_path):
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("the benchmark builds its own SQLite database")
    url = f"sqlite:///{tmp_path / 'year.sqlite3'}"
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts/bench_dashboard.py"), "--database-url", url, "--simulate",
         "--townships", "2", "--villages", "2", "--products", "12", "--days", "40", "--repeat", "1"],
        capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "simulated 40 days" in out and "kept the dashboard's weekly figures for 3 scopes" in out
    for page in ("dashboard, county", "dashboard, township t01", "report stock, first page",
                 "report deliveries, first page", "county figures, no week kept yet", "stock on hand CSV"):
        assert page in out
    ledger = subprocess.run([sys.executable, "-c", (
        "import sys; sys.path.insert(0, 'scripts'); from simulate_year import ledger_matches_balances; "
        f"from pharmacy import create_app; print(ledger_matches_balances(create_app({{'SQLALCHEMY_DATABASE_URI': "
        f"'{url}'}})))")], capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert ledger.stdout.strip().endswith("True"), ledger.stderr
