"""Running one job: its own transaction, logged as a JobRun (start, end, outcome) whatever happens."""

import importlib
import json
import logging
import traceback

from flask import current_app
from sqlalchemy import select

from .. import clock
from ..audit.trail import acting_as
from ..extensions import db
from .jobs import JobDefinition, definition_by_id
from .models import JobRun, RunOutcome

log = logging.getLogger(__name__)


class UnknownJob(LookupError):
    pass


def _load(spec: str):
    module, attribute = spec.split(":")
    return getattr(importlib.import_module(module), attribute)


def run_job_by_id(job_id: str, *, trigger: str = "manual", holder: str = "") -> JobRun:
    """Run a job of the job table by its id (`flask scheduler run-job`)."""
    definition = definition_by_id(current_app.config, job_id)
    if definition is None:
        raise UnknownJob(job_id)
    return run_job(definition, trigger=trigger, holder=holder)


def run_job(definition: JobDefinition, *, trigger: str = "manual", holder: str = "") -> JobRun:
    """Run a job now in the current app context. The JobRun row is committed before the job starts; the job's
    work is committed with its success, or rolled back whole when it fails, and the failure is logged."""
    job_id = definition.id
    run = JobRun(job_id=job_id, trigger=trigger, holder=holder, outcome=RunOutcome.RUNNING, started_at=clock.now_utc())
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    log.info("job %s started (run %s, %s)", job_id, run_id, trigger)
    try:
        with acting_as(f"job: {job_id}"):  # the audit trail names the job as the author of its writes
            summary = json.dumps(_load(definition.function)(), ensure_ascii=False, default=str)[:4000]
        run.outcome, run.finished_at, run.summary = RunOutcome.SUCCEEDED, clock.now_utc(), summary
        db.session.commit()
        log.info("job %s succeeded (run %s): %s", job_id, run_id, summary)
    except Exception as exc:  # a job's failure is recorded, never propagated into the scheduler
        db.session.rollback()
        run = db.session.get(JobRun, run_id)
        run.outcome, run.finished_at = RunOutcome.FAILED, clock.now_utc()
        run.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=8)}"[:8000]
        db.session.commit()
        log.exception("job %s failed (run %s)", job_id, run_id)
    return run


def consecutive_failures(job_id: str) -> int:
    """How many of the job's latest runs failed in a row."""
    outcomes = db.session.scalars(select(JobRun.outcome).where(JobRun.job_id == job_id,
                                                              JobRun.outcome != RunOutcome.RUNNING)
                                  .order_by(JobRun.id.desc()).limit(20))
    count = 0
    for outcome in outcomes:
        if outcome != RunOutcome.FAILED:
            break
        count += 1
    return count
