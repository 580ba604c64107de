"""How fresh the figures of a nightly job are, as pages say it: `{{ last_computed('stock.recompute_status') }}`."""

from flask import current_app
from flask_babel import gettext

from .. import clock
from .jobs import job_definitions
from .queries import computed_at


def last_computed(*job_ids: str) -> str:
    """Say when the figures of `job_ids` were last computed, in the county's zone, or that they never were."""
    known = {d.id for d in job_definitions(current_app.config)}
    unknown = [job_id for job_id in job_ids if job_id not in known]
    if not job_ids or unknown:
        raise ValueError(f"last_computed: not in the job table: {unknown or 'no job id'}")
    at = computed_at(*job_ids)
    if at is None:
        return gettext("尚未计算")
    return gettext("数据更新于 %(at)s", at=clock.to_local(at).strftime("%Y-%m-%d %H:%M"))
