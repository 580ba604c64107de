"""The matching benchmark runs (at a tiny size: timings belong to scripts/bench_matching.py, not to tests)."""

import importlib.util
from pathlib import Path

from pharmacy.config import ROOT


def test_benchmark_runs_at_a_tiny_size(capsys):
    spec = importlib.util.spec_from_file_location("bench_matching", ROOT / "scripts" / "bench_matching.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    catalog = ROOT / "catalog_data"
    if not any(Path(catalog).glob("*_drugs.csv")):
        catalog = ROOT / "tests" / "data" / "catalog_small"
    figures = bench.main(["--size", "30", "--queries", "10", "--repeat", "1", "--dev-limit", "60",
                          "--catalog", str(catalog)])
    printed = capsys.readouterr().out
    assert "generic-drug top-1 accuracy" in printed and "p95" in printed
    assert figures["quality"]["rows"] == 60
    assert figures["speed"]["names"] == 30
    assert figures["search"]["requests"] == 10
    assert figures["index"]["drugs"] > 0
