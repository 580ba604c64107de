"""Reads of the scheduler's tables: the job store's next runs, the log of job runs, the lock's state, and when a
job's figures were last computed."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from .. import clock
from ..extensions import db
from .locks import lease_state
from .models import JobRun, RunOutcome, SchedulerLease, apscheduler_jobs


def next_run_times() -> dict[str, datetime | None]:
    """{job id: its next run as the persistent job store holds it (None: paused)}."""
    rows = db.session.execute(select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time))
    return {job_id: datetime.fromtimestamp(ts, UTC) if ts is not None else None for job_id, ts in rows}


def latest_runs(limit: int = 200) -> dict[str, JobRun]:
    """{job id: its latest run} among the `limit` latest runs."""
    latest: dict[str, JobRun] = {}
    for run in db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(limit)):
        latest.setdefault(run.job_id, run)
    return latest


def job_runs(job_id: str | None = None, limit: int = 100) -> list[JobRun]:
    """The latest runs, newest first, of one job or of all."""
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job_id:
        stmt = stmt.where(JobRun.job_id == job_id)
    return list(db.session.scalars(stmt))


def lock_state() -> tuple[SchedulerLease | None, bool]:
    """The lock's visible row and whether its holder is alive (its lease lies ahead)."""
    lease = lease_state(db.session)
    alive = bool(lease and lease.holder and lease.expires_at is not None
                 and clock.as_utc(lease.expires_at) > clock.now_utc())
    return lease, alive


def last_succeeded_at(job_ids) -> dict[str, datetime]:
    """{job id: when its latest successful run ended (UTC)} for those of `job_ids` that ever succeeded."""
    rows = db.session.execute(select(JobRun.job_id, func.max(JobRun.finished_at))
                              .where(JobRun.job_id.in_(list(job_ids)), JobRun.outcome == RunOutcome.SUCCEEDED)
                              .group_by(JobRun.job_id))
    return {job_id: clock.as_utc(at) for job_id, at in rows if at is not None}


def computed_at(*job_ids: str) -> datetime | None:
    """When the figures made by all of `job_ids` were last computed: the oldest of their latest successes, or None
    while one of them has never succeeded."""
    found = last_succeeded_at(job_ids)
    if not job_ids or len(found) < len(set(job_ids)):
        return None
    return min(found.values())
