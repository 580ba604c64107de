"""The county's audit page: search who changed what."""

from flask import Blueprint, render_template, request
from flask_login import current_user

from ..auth.policy import permission_required
from . import queries
from .models import AuditAction

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


@bp.get("")
@permission_required("audit.read")
def index():
    filters = queries.EVENTS.read(request.args)
    shown = {key: value for key, value in request.args.items() if value != "" and key != "page"}
    return render_template("audit/index.html", page=queries.entries_page(current_user, filters), filters=shown,
                           bad_filter=bool(queries.invalid_filters(request.args)),
                           tables=queries.audited_tables(), actions=list(AuditAction))
