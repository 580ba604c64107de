"""The scheduler: one process acts (database lock), each job run is its own logged transaction, a failed job
leaves nothing behind and is retried.

The lock and service tests commit for real (two schedulers are two database sessions), so they do not use the
rolled-back `db_session` fixture and clean up after themselves.
"""

import time
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import delete, func, select

from pharmacy import clock
from pharmacy.deliveries import services as delivery_services
from pharmacy.deliveries.models import DeliveryRun
from pharmacy.extensions import db
from pharmacy.scheduler.cli import scheduler_cli
from pharmacy.scheduler.jobs import JobDefinition, definition_by_id
from pharmacy.scheduler.locks import LOCK_NAME, AdvisoryLock, make_lock
from pharmacy.scheduler.models import JobRun, RunOutcome, SchedulerLease, apscheduler_jobs
from pharmacy.scheduler.runner import consecutive_failures, run_job
from pharmacy.scheduler.service import SchedulerService
from tests.factories import make_product, make_route, make_shortage, stock_up


def ping_job():
    return {"pong": True}


def failing_job():
    raise RuntimeError("数据库不可用（测试）")


# ---------------------------------------------------------------- job runs (rolled back after each test)

@pytest.fixture
def two_due_routes(app, county):
    """Two routes leaving every day two hours from now, each with something to deliver."""
    township, (v1, v2) = county.townships[0], county.villages[:2]
    product = make_product("氨氯地平片", pack_size=14)
    stock_up(township, product, 140, user=county.users["township"])
    make_shortage(v1, product, 1, user=county.users["village"])
    make_shortage(v2, product, 1, user=county.users["village"])
    departure = clock.to_local(clock.now_utc() + timedelta(hours=2)).strftime("%H:%M")
    make_route(township, [v1], weekdays="1,2,3,4,5,6,7", departure=departure)
    make_route(township, [v2], weekdays="1,2,3,4,5,6,7", departure=departure)
    db.session.commit()  # set-up stands when a job rolls back (the fixture still rolls the test back)


def test_a_failed_job_leaves_nothing_behind_and_the_next_run_succeeds(app, two_due_routes, monkeypatch):
    plan_run = delivery_services.plan_run
    calls = []

    def plan_then_fail(route, departure_date, **kwargs):
        calls.append(route.id)
        run = plan_run(route, departure_date, **kwargs)
        if len(calls) == 2:
            raise RuntimeError("第二条路线规划时出错（测试）")
        return run

    monkeypatch.setattr(delivery_services, "plan_run", plan_then_fail)
    definition = definition_by_id(app.config, "deliveries.plan_due_runs")
    failed = run_job(definition, trigger="schedule", holder="test")
    assert failed.outcome == RunOutcome.FAILED and "第二条路线" in failed.error and failed.finished_at is not None
    assert len(calls) == 2
    assert db.session.scalar(select(func.count(DeliveryRun.id))) == 0  # the first route's plan is gone too
    assert consecutive_failures(definition.id) == 1

    monkeypatch.setattr(delivery_services, "plan_run", plan_run)
    retried = run_job(definition, trigger="schedule", holder="test")
    assert retried.outcome == RunOutcome.SUCCEEDED and '"planned_runs": 2' in retried.summary
    assert db.session.scalar(select(func.count(DeliveryRun.id))) == 2
    assert consecutive_failures(definition.id) == 0
    assert [r.outcome for r in db.session.scalars(select(JobRun).order_by(JobRun.id))] == ["failed", "succeeded"]


def test_run_job_command_and_admin_page(app, two_due_routes, county, login):
    runner = CliRunner()
    info = ScriptInfo(create_app=lambda: app)
    ok = runner.invoke(scheduler_cli, ["run-job", "deliveries.plan_due_runs"], obj=info)
    assert ok.exit_code == 0, ok.output
    assert "succeeded" in ok.output
    unknown = runner.invoke(scheduler_cli, ["run-job", "no.such.job"], obj=info)
    assert unknown.exit_code != 0 and "deliveries.plan_due_runs" in unknown.output
    listed = runner.invoke(scheduler_cli, ["jobs"], obj=info)
    assert "stock.recompute_status" in listed.output and "stock.flag_expiry" in listed.output
    page = login(county.users["county"]).get("/admin/scheduler")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "deliveries.plan_due_runs" in html and "成功" in html and "未运行" in html


def test_nightly_jobs_run_by_hand(app, county):
    for job_id in ("stock.recompute_status", "stock.flag_expiry"):
        run = run_job(definition_by_id(app.config, job_id), trigger="manual")
        assert run.outcome == RunOutcome.SUCCEEDED, run.error


# ---------------------------------------------------------------- the lock (committed for real)

@pytest.fixture
def clean_scheduler_tables(app_ctx):
    def clean():
        db.session.rollback()
        db.session.execute(delete(JobRun).where(JobRun.job_id.like("test.%")))
        db.session.execute(delete(SchedulerLease).where(SchedulerLease.name == LOCK_NAME))
        db.session.execute(delete(apscheduler_jobs))
        db.session.commit()

    clean()
    yield
    clean()


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 3, 3, 8, 0, tzinfo=UTC)

    def __call__(self):
        return self.now


def _die(lock):
    """What the end of a holder process does to its lock: the connection goes away without a word."""
    if isinstance(lock, AdvisoryLock):
        lock.conn.invalidate()


def test_only_one_holder_and_a_standby_takes_over_when_the_holder_dies(clean_scheduler_tables):
    fake = FakeClock()
    first = make_lock(db.engine, "host-a:1", lease_seconds=60, clock=fake)
    second = make_lock(db.engine, "host-b:2", lease_seconds=60, clock=fake)
    assert first.acquire() is True
    assert second.acquire() is False
    fake.now += timedelta(seconds=30)
    assert first.renew() is True and second.acquire() is False
    assert _read(select(SchedulerLease.holder)) == [("host-a:1",)]

    _die(first)
    fake.now += timedelta(seconds=61)  # the lease (SQLite) runs out without a heartbeat
    assert second.acquire() is True
    assert first.renew() is False  # the old holder notices and must stop
    assert _read(select(SchedulerLease.holder)) == [("host-b:2",)]
    second.release()
    assert first.acquire() is True
    first.release()


def _read(query):
    """Rows as plain tuples, the transaction ended at once: on SQLite every transaction holds the write lock,
    and the scheduler's threads must be able to write meanwhile."""
    try:
        return [tuple(row) for row in db.session.execute(query)]
    finally:
        db.session.rollback()


def _wait_for(query, seconds: float = 15.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = _read(query)
        if rows:
            return rows
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_two_scheduler_processes_only_the_lock_holder_runs_jobs_and_the_standby_takes_over(app,
                                                                                      clean_scheduler_tables):
    ping = JobDefinition("test.ping", "测试", "tests.integration.test_scheduler:ping_job", "interval",
                         {"seconds": 0.4})
    first = SchedulerService(app, holder="test-a", definitions=[ping])
    second = SchedulerService(app, holder="test-b", definitions=[ping])
    holders = select(JobRun.holder).where(JobRun.job_id == "test.ping", JobRun.outcome == "succeeded")
    try:
        assert first.tick() is True
        assert second.tick() is False
        _wait_for(holders.having(func.count() >= 2).group_by(JobRun.holder))
        assert second.tick() is False
        first.shutdown()  # a clean stop frees the lock at once
        assert {h for (h,) in _read(holders)} == {"test-a"}
        assert second.tick() is True
        _wait_for(holders.where(JobRun.holder == "test-b"))
        assert first.tick() is False  # the old holder, restarted, now waits
    finally:
        first.shutdown()
        second.shutdown()


def test_the_persistent_job_store_follows_the_job_table_and_failures_retry_soon(app, clean_scheduler_tables):
    fail = JobDefinition("test.fail", "测试", "tests.integration.test_scheduler:failing_job", "interval",
                         {"hours": 6})
    ping = JobDefinition("test.ping", "测试", "tests.integration.test_scheduler:ping_job", "cron", {"hour": 3})
    service = SchedulerService(app, holder="test-a", definitions=[fail, ping])
    try:
        assert service.tick() is True
        assert set(_read(select(apscheduler_jobs.c.id))) == {("test.fail",), ("test.ping",)}
        service.run_now("test.fail", trigger="schedule")
        [(outcome, error)] = _read(select(JobRun.outcome, JobRun.error).where(JobRun.job_id == "test.fail"))
        assert outcome == RunOutcome.FAILED and "RuntimeError" in error
        retry_at = service.scheduler.get_job("test.fail").next_run_time
        assert retry_at - datetime.now(UTC) < timedelta(minutes=app.config["SCHEDULER_RETRY_MINUTES"] + 1)
        service.shutdown()
        # the next deployment drops a job from the table: its process removes it from the store
        service = SchedulerService(app, holder="test-a", definitions=[ping])
        assert service.tick() is True
        assert _read(select(apscheduler_jobs.c.id)) == [("test.ping",)]
    finally:
        service.shutdown()
