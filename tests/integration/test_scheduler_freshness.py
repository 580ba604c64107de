"""Pages built on nightly figures say when those were computed, and a new deployment computes them at once: the
scheduler runs every nightly job that has never succeeded as soon as it takes the lock (issue 12)."""

import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from pharmacy.extensions import db
from pharmacy.scheduler.freshness import last_computed
from pharmacy.scheduler.jobs import JobDefinition
from pharmacy.scheduler.models import JobRun, RunOutcome, apscheduler_jobs
from pharmacy.scheduler.service import SchedulerService

ALERT_JOBS = ("stock.recompute_status", "stock.flag_expiry")


def _run(job_id: str, finished_at: datetime, outcome: str = RunOutcome.SUCCEEDED) -> JobRun:
    run = JobRun(job_id=job_id, trigger="schedule", outcome=outcome, started_at=finished_at - timedelta(minutes=1),
                 finished_at=finished_at)
    db.session.add(run)
    db.session.flush()
    return run


@pytest.fixture
def no_alert_runs(db_session):
    db.session.execute(delete(JobRun).where(JobRun.job_id.in_(ALERT_JOBS)))  # rolled back with the test


def test_last_computed_says_never_then_the_oldest_latest_success_in_the_county_zone(app, no_alert_runs):
    assert last_computed(*ALERT_JOBS) == "尚未计算"
    _run("stock.recompute_status", datetime(2026, 12, 3, 17, 0, tzinfo=UTC))
    _run("stock.recompute_status", datetime(2026, 12, 3, 18, 0, tzinfo=UTC))
    _run("stock.recompute_status", datetime(2026, 12, 4, 2, 0, tzinfo=UTC), outcome=RunOutcome.FAILED)
    assert last_computed("stock.recompute_status") == "数据更新于 2026-12-04 02:00"  # Asia/Shanghai, UTC+8
    assert last_computed(*ALERT_JOBS) == "尚未计算"  # one of the two never succeeded
    _run("stock.flag_expiry", datetime(2026, 12, 3, 17, 30, tzinfo=UTC))
    assert last_computed(*ALERT_JOBS) == "数据更新于 2026-12-04 01:30"


def test_last_computed_refuses_a_job_id_that_is_not_in_the_job_table(app, db_session):
    with pytest.raises(ValueError, match="stock.recompute_stats"):
        last_computed("stock.recompute_stats")


def test_the_alerts_page_says_when_its_figures_were_computed(app, no_alert_runs, county, login):
    client = login(county.users["county"])
    html = client.get("/deliveries/alerts").get_data(as_text=True)
    assert '<p class="muted small last-computed">尚未计算</p>' in html
    _run("stock.recompute_status", datetime(2026, 12, 3, 18, 0, tzinfo=UTC))
    _run("stock.flag_expiry", datetime(2026, 12, 3, 18, 5, tzinfo=UTC))
    html = client.get("/deliveries/alerts").get_data(as_text=True)
    assert "数据更新于 2026-12-04 02:00" in html and "尚未计算" not in html
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.get("/deliveries/alerts").get_data(as_text=True)
    assert "Figures computed at 2026-12-04 02:00" in english


# ---------------------------------------------------------------- start-up catch-up (committed for real)

def ping_job():
    return {"pong": True}


@pytest.fixture
def clean_test_runs(app_ctx):
    def clean():
        db.session.rollback()
        db.session.execute(delete(JobRun).where(JobRun.job_id.like("test.%")))
        db.session.execute(delete(apscheduler_jobs))
        db.session.commit()

    clean()
    yield
    clean()


def _read(query):
    try:
        return [tuple(row) for row in db.session.execute(query)]
    finally:
        db.session.rollback()  # SQLite: let the scheduler's thread write


def test_the_scheduler_runs_a_nightly_job_that_never_succeeded_at_once_and_leaves_the_others(app,
                                                                                           clean_test_runs):
    function = "tests.integration.test_scheduler_freshness:ping_job"
    never = JobDefinition("test.never_ran", "测试", function, "cron", {"hour": 3})
    done = JobDefinition("test.ran_before", "测试", function, "cron", {"hour": 3})
    interval = JobDefinition("test.interval", "测试", function, "interval", {"hours": 6})
    db.session.add(JobRun(job_id=done.id, trigger="schedule", outcome=RunOutcome.SUCCEEDED,
                          finished_at=datetime.now(UTC) - timedelta(days=1)))
    db.session.commit()
    service = SchedulerService(app, holder="test-catch-up", definitions=[never, done, interval])
    runs = select(JobRun.job_id, JobRun.outcome).where(JobRun.job_id.like("test.%"), JobRun.trigger == "schedule")
    try:
        assert service.tick() is True
        deadline = time.monotonic() + 15
        while ("test.never_ran", RunOutcome.SUCCEEDED) not in _read(runs):
            assert time.monotonic() < deadline, "the never-run nightly job did not run at start"
            time.sleep(0.05)
        time.sleep(0.5)  # anything else due now would have run by now (one worker thread, in order)
        assert sorted(_read(runs)) == [("test.never_ran", "succeeded"), ("test.ran_before", "succeeded")]
        soon = datetime.now(UTC) + timedelta(seconds=30)
        assert service.scheduler.get_job("test.ran_before").next_run_time > soon
        assert service.scheduler.get_job("test.interval").next_run_time > soon
    finally:
        service.shutdown()
