"""Settlement pages: facilities side by side for a month, one facility's statement, downloads, closing."""

from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..auth.policy import get_facility_in_scope, has_permission, permission_required, scope_root
from ..facilities.services import facilities_under
from . import services
from .exports import statement_workbook
from .pdf import statement_pdf
from .rules import previous_month

bp = Blueprint("settlement", __name__, url_prefix="/settlement")

TIER_CHOICES = ("township", "village", "county")


def _month_arg() -> str:
    month = request.args.get("month") or services.current_month()
    return services.check_month(month)


@bp.get("")
@permission_required("settlement.read")
def index():
    month = _month_arg()
    root = scope_root(current_user)
    default_tier = "township" if root.tier == "county" else ""
    tier = request.args.get("tier", default_tier)
    facilities = sorted(facilities_under(root, tier=tier if tier in TIER_CHOICES else None), key=lambda f: f.code)
    views = services.overview(facilities, month)
    categories = sorted({c for v in views for c in v.totals.by_category})
    return render_template("settlement/index.html", month=month, tier=tier, views=views, categories=categories,
                           previous=previous_month(month), current=services.current_month(),
                           can_close=has_permission(current_user, "settlement.close") and root.tier == "county",
                           closed=services.closed_month(root.id, month))


@bp.post("/close")
@permission_required("settlement.close")
def close():
    month = services.check_month(request.form.get("month", ""))
    root = scope_root(current_user)
    services.close_month(root, facilities_under(root), month, current_user)
    flash(_("%(month)s 已结账，结算单已保存，不再变化", month=month), "ok")
    return redirect(url_for("settlement.index", month=month))


def _statement(facility_id: int, month: str):
    return services.get_statement(get_facility_in_scope(current_user, facility_id), services.check_month(month))


@bp.get("/<int:facility_id>/<month>")
@permission_required("settlement.read")
def statement(facility_id: int, month: str):
    view = _statement(facility_id, month)
    return render_template("settlement/statement.html", view=view, totals=view.totals)


@bp.get("/<int:facility_id>/<month>.xlsx")
@permission_required("settlement.read")
def statement_xlsx(facility_id: int, month: str):
    view = _statement(facility_id, month)
    data = statement_workbook(view)
    return _download(data, f"statement-{view.facility.code}-{month}.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/<int:facility_id>/<month>.pdf")
@permission_required("settlement.read")
def statement_pdf_download(facility_id: int, month: str):
    view = _statement(facility_id, month)
    data = statement_pdf(view, printed_at=clock.now_local(), local=clock.to_local)
    return _download(data, f"statement-{view.facility.code}-{month}.pdf", "application/pdf")


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
