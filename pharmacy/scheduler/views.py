"""Admin page: the job table, who holds the scheduler lock, and the log of job runs; and the `last_computed`
template global that pages built on nightly figures use."""

from flask import Blueprint, current_app, render_template, request
from flask_babel import format_datetime

from ..auth.policy import permission_required
from . import queries
from .freshness import last_computed
from .jobs import job_definitions
from .models import RunOutcome

bp = Blueprint("scheduler", __name__, url_prefix="/admin/scheduler")
bp.add_app_template_global(last_computed, "last_computed")


def _when(value) -> str:
    return format_datetime(value, "yyyy-MM-dd HH:mm:ss") if value else ""


@bp.get("")
@permission_required("scheduler.admin")
def index():
    job_id = request.args.get("job") or None
    lease, lease_alive = queries.lock_state()
    return render_template("scheduler/index.html", definitions=job_definitions(current_app.config),
                           next_runs=queries.next_run_times(), last_runs=queries.latest_runs(),
                           runs=queries.job_runs(job_id), job_id=job_id, lease=lease, lease_alive=lease_alive,
                           when=_when, outcomes=RunOutcome)
