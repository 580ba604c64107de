"""Admin page: the job table, who holds the scheduler lock, and the log of job runs."""

from datetime import UTC, datetime

from flask import Blueprint, current_app, render_template, request
from flask_babel import format_datetime
from sqlalchemy import select

from .. import clock
from ..auth.policy import permission_required
from ..extensions import db
from .jobs import job_definitions
from .locks import lease_state
from .models import JobRun, RunOutcome, apscheduler_jobs

bp = Blueprint("scheduler", __name__, url_prefix="/admin/scheduler")


def _when(value) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm:ss") if value else ""


@bp.get("")
@permission_required("scheduler.admin")
def index():
    definitions = job_definitions(current_app.config)
    next_runs = {job_id: datetime.fromtimestamp(ts, UTC) if ts is not None else None
                 for job_id, ts in db.session.execute(select(apscheduler_jobs.c.id, apscheduler_jobs.c.next_run_time))}
    last_runs = {}
    for run in db.session.scalars(select(JobRun).order_by(JobRun.id.desc()).limit(200)):
        last_runs.setdefault(run.job_id, run)
    job_id = request.args.get("job") or None
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(100)
    if job_id:
        stmt = stmt.where(JobRun.job_id == job_id)
    lease = lease_state(db.session)
    lease_alive = bool(lease and lease.holder and lease.expires_at is not None and clock.as_utc(lease.expires_at) > clock.now_utc())
    return render_template("scheduler/index.html", definitions=definitions, next_runs=next_runs, last_runs=last_runs,
                           runs=list(db.session.scalars(stmt)), job_id=job_id, lease=lease, lease_alive=lease_alive,
                           when=_when, outcomes=RunOutcome)
