"""The county's audit page: search who changed what."""

import json

from flask import Blueprint, render_template, request
from flask_login import current_user
from marshmallow import ValidationError

from ..auth.policy import permission_required
from . import queries
from .models import AuditAction
from .schemas import AuditQuerySchema

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.get("")
@permission_required("audit.read")
def index():
    raw = {k: v for k, v in request.args.items() if v != ""}
    try:
        args = AuditQuerySchema().load(raw)
        error = None
    except ValidationError:
        args = AuditQuerySchema().load({})
        error = True
    limit = args.pop("limit")
    filters = queries.AuditFilters(**args)
    rows = queries.search_events(current_user, filters, limit=limit)
    events = [(event, facility, json.loads(event.changes or "{}")) for event, facility in rows]
    older = rows[-1][0].id if len(rows) == limit else None
    return render_template("audit/index.html", events=events, filters=raw, older=older, bad_filter=error,
                           tables=queries.audited_tables(), actions=list(AuditAction))
