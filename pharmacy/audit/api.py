"""API: search the audit trail."""

from flask_login import current_user

from ..api import api_operation, api_blueprint
from ..auth.policy import permission_required
from . import queries
from .schemas import AuditEventSchema, AuditQuerySchema

bp = api_blueprint("audit_api", __name__, "/audit")


@bp.get("/events")
@permission_required("audit.read")
@api_operation(summary="Search the audit trail (newest first; page with page/per_page, or before_id)",
               tags=["audit"], query=AuditQuerySchema, response=AuditEventSchema, many=True)
def list_events(query):
    return queries.event_list(current_user, query)
