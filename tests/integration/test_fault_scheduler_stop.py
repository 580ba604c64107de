"""Issue 8: the scheduler process dies (SIGKILL) in the middle of planning a delivery run. Afterwards no
half-written run, stop, line or stock movement exists and the shortages are as before; the next run of the job
plans the route exactly once.

The job runs in a real `flask scheduler run-job` subprocess over its own database file (or a fresh PostgreSQL
database under --db=postgresql), with the test-only hook of tests/fault_scheduler.py pausing it after the plan is
flushed and before the commit.

Known limitation pinned here: the killed run's `scheduler_job_run` row (committed before the job starts) stays
"running" with no end; nothing marks it abandoned. Retries are unaffected (`consecutive_failures` skips running
rows), but the admin page shows it as 执行中 for good."""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pharmacy import clock, create_app
from pharmacy.config import ROOT
from pharmacy.extensions import db
from tests.factories import make_county, make_product, make_route, make_shortage, stock_up
from tests.live_gunicorn import fresh_database

FLASK = Path(sys.executable).parent / "flask"
JOB = "deliveries.plan_due_runs"


def _seed(url: str) -> dict:
    """A township with stock, two villages with open shortages and a route leaving two hours from now."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "fault"})
    with app.app_context():
        db.create_all()
        county = make_county(townships=1, villages=2)
        township, villages = county.townships[0], county.villages[:2]
        product = make_product("氨氯地平片", pack_size=14)
        stock_up(township, product, 140, user=county.users["township"])
        for village in villages:
            make_shortage(village, product, 1, user=county.users["village"])
        departure = clock.to_local(clock.now_utc() + timedelta(hours=2)).strftime("%H:%M")
        route = make_route(township, villages, weekdays="1,2,3,4,5,6,7", departure=departure)
        db.session.commit()
        info = {"route_id": route.id}
        db.session.remove()
        db.engine.dispose()
    return info


def _run_job(url: str, tmp_path: Path, pause_file: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="fault-test", PHARMACY_LOG_LEVEL="WARNING",
               PYTHONPATH=str(ROOT))
    env.pop("PHARMACY_TEST_PAUSE_FILE", None)
    if pause_file is not None:
        env["PHARMACY_TEST_PAUSE_FILE"] = str(pause_file)
    with (tmp_path / f"job-{time.monotonic_ns()}.log").open("w") as log:  # the child keeps its own copy
        return subprocess.Popen([str(FLASK), "--app", "tests.fault_scheduler:app", "scheduler", "run-job", JOB],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for_pause(process: subprocess.Popen, marker: Path, timeout: float = 30) -> tuple[int, int]:
    """The paused process's pid and how many delivery lines its uncommitted transaction holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "the job ended before it paused"
        if marker.exists() and marker.read_text():
            pid, lines = marker.read_text().split()
            return int(pid), int(lines)
        time.sleep(0.05)
    raise AssertionError("the planning job did not pause")


def _query(url: str, sql: str, **params) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def _count(url: str, sql: str, **params) -> int:
    return _query(url, sql, **params)[0][0]


def _delivery_rows(url: str, route_id: int) -> dict[str, int]:
    runs = "SELECT id FROM delivery_run WHERE route_id = :route"
    stops = f"SELECT id FROM delivery_stop WHERE run_id IN ({runs})"
    return {
        "runs": _count(url, f"SELECT count(*) FROM ({runs}) r", route=route_id),
        "stops": _count(url, f"SELECT count(*) FROM ({stops}) s", route=route_id),
        "lines": _count(url, f"SELECT count(*) FROM delivery_line WHERE stop_id IN ({stops})", route=route_id),
        "shortfalls": _count(url, f"SELECT count(*) FROM delivery_shortfall WHERE stop_id IN ({stops})",
                             route=route_id),
        "all_runs": _count(url, "SELECT count(*) FROM delivery_run"),
        "all_lines": _count(url, "SELECT count(*) FROM delivery_line"),
        "line_links": _count(url, "SELECT count(*) FROM delivery_line_shortage"),
    }


def _shortages(url: str) -> list[tuple]:
    return (_query(url, "SELECT id, status, qty_packs, facility_id, updated_at, delivered_at FROM shortage "
                        "ORDER BY id"), _count(url, "SELECT count(*) FROM shortage_event"))


@pytest.fixture
def database(request, tmp_path):
    with fresh_database(request.config.getoption("--db"), tmp_path) as url:
        yield url, _seed(url)


def test_a_scheduler_killed_while_planning_leaves_no_half_written_run(database, tmp_path):
    url, info = database
    route_id = info["route_id"]
    movements = _count(url, "SELECT count(*) FROM stock_movement")
    balances = _query(url, "SELECT facility_id, lot_id, qty_base FROM stock_balance ORDER BY facility_id, lot_id")
    shortages_before = _shortages(url)
    assert len(shortages_before[0]) == 2

    marker = tmp_path / "paused"
    job = _run_job(url, tmp_path, pause_file=marker)
    try:
        pid, flushed_lines = _wait_for_pause(job, marker)  # run, stops and lines are flushed, not committed
        assert pid == job.pid and flushed_lines >= 1
        os.kill(pid, signal.SIGKILL)
        assert job.wait(timeout=15) == -signal.SIGKILL
    finally:
        if job.poll() is None:
            os.killpg(job.pid, signal.SIGKILL)
            job.wait()

    assert _delivery_rows(url, route_id) == {"runs": 0, "stops": 0, "lines": 0, "shortfalls": 0, "all_runs": 0,
                                             "all_lines": 0, "line_links": 0}
    assert _count(url, "SELECT count(*) FROM stock_movement") == movements
    assert _query(url, "SELECT facility_id, lot_id, qty_base FROM stock_balance "
                       "ORDER BY facility_id, lot_id") == balances
    assert _shortages(url) == shortages_before
    # The killed run's log row was committed before the job started and nobody finished it: it stays "running".
    assert _query(url, "SELECT outcome, finished_at FROM scheduler_job_run WHERE job_id = :job",
                  job=JOB) == [("running", None)]

    again = _run_job(url, tmp_path)
    assert again.wait(timeout=30) == 0
    rows = _delivery_rows(url, route_id)
    assert rows["runs"] == rows["all_runs"] == 1
    assert rows["stops"] == 2
    assert rows["lines"] == rows["all_lines"] >= 1
    assert rows["line_links"] >= 2  # both villages' shortages are served by the planned lines
    assert _query(url, "SELECT status FROM delivery_run WHERE route_id = :route", route=route_id) == [("planned",)]
    assert _count(url, "SELECT count(*) FROM stock_movement") == movements  # planning moves no stock
    assert _shortages(url) == shortages_before
    assert [o for (o,) in _query(url, "SELECT outcome FROM scheduler_job_run WHERE job_id = :job ORDER BY id",
                                 job=JOB)] == ["running", "succeeded"]
