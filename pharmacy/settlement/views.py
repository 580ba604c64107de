"""Settlement pages: facilities side by side for a month, one facility's statement, downloads, closing."""

from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..auth.policy import permission_required
from ..operations import load_form, refusal
from . import operations
from .exports import statement_workbook
from .pdf import statement_pdf
from .schemas import SettlementCloseSchema

bp = Blueprint("settlement", __name__, url_prefix="/settlement")


@bp.get("")
@permission_required("settlement.read")
def index():
    return render_template("settlement/index.html", **vars(operations.overview(current_user, request.args)))


def _render_close(month: str, refused=None):
    error = refused.error if refused else None
    page = render_template("settlement/close.html", preview=operations.close_preview(current_user, month),
                           error=error.message if error else None)
    return page, error.status if error else 200


@bp.get("/close")
@permission_required("settlement.close")
def close_preview():
    """The first step of closing: what will be frozen, and the button that confirms it."""
    return _render_close(request.args.get("month", ""))


@bp.post("/close")
@permission_required("settlement.close")
def close():
    month = request.form.get("month", "")
    with refusal() as refused:
        operations.close_month(current_user, month, load_form(SettlementCloseSchema, request.form))
    if refused:
        return _render_close(month, refused)
    flash(_("%(month)s 已结账，结算单已保存，不再变化", month=month), "ok")
    return redirect(url_for("settlement.index", month=month))


@bp.get("/<int:facility_id>/<month>")
@permission_required("settlement.read")
def statement(facility_id: int, month: str):
    view = operations.statement(current_user, facility_id, month)
    return render_template("settlement/statement.html", view=view, totals=view.totals)


@bp.get("/<int:facility_id>/<month>.xlsx")
@permission_required("settlement.read")
def statement_xlsx(facility_id: int, month: str):
    view = operations.statement(current_user, facility_id, month)
    return _download(statement_workbook(view), f"statement-{view.facility.code}-{month}.xlsx",
                     "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/<int:facility_id>/<month>.pdf")
@permission_required("settlement.read")
def statement_pdf_download(facility_id: int, month: str):
    view = operations.statement(current_user, facility_id, month)
    data = statement_pdf(view, printed_at=clock.now_local(), local=clock.to_local)
    return _download(data, f"statement-{view.facility.code}-{month}.pdf", "application/pdf")


def _download(data: bytes, filename: str, mimetype: str) -> Response:
    return Response(data, mimetype=mimetype,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"})
