"""API: search the audit trail."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import permission_required
from . import queries
from .schemas import AuditEventSchema, AuditQuerySchema

bp = api_blueprint("audit_api", __name__, "/audit")


@bp.get("/events")
@permission_required("audit.read")
@api_operation(summary="Search the audit trail (newest first; page with before_id)", tags=["audit"],
               query=AuditQuerySchema, response=AuditEventSchema, many=True)
def list_events(query):
    limit = query.pop("limit")
    rows = queries.search_events(current_user, queries.AuditFilters(**query), limit=limit)
    for event, facility in rows:
        event.facility = facility
    return [event for event, _facility in rows]
