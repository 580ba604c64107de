"""医保药品代码 pages (formulary admin): upload the national table, review unsure rows, the report of gaps."""

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import load_in_scope, permission_required
from ..exports import xlsx_stream_response
from ..operations import load_form, refusal
from ..redirects import local_target
from ..vocabulary import NhsaRowStatus
from . import operations
from .models import NhsaImport, NhsaRow
from .queries import ROWS, UNCODED
from .schemas import ConfirmSchema

bp = Blueprint("insurance", __name__, url_prefix="/catalog/insurance")


def _index_page(*, error: str | None = None, problems=(), status: int = 200):
    return render_template("catalog/insurance.html", imports=operations.imports(current_user), error=error,
                           problems=problems), status


@bp.get("")
@permission_required("catalog.edit")
def index():
    return _index_page()


@bp.post("/imports")
@permission_required("catalog.edit")
def upload():
    with refusal() as refused:
        summary = operations.import_table(current_user, request.files.get("file"))
    if refused:
        return _index_page(error=refused.error.message, problems=refused.error.fields.get("file", []),
                           status=refused.error.status)
    return redirect(url_for("insurance.show_import", import_id=summary["id"]))


@bp.get("/imports/<int:import_id>")
@permission_required("catalog.edit")
def show_import(import_id: int):
    record = load_in_scope(current_user, NhsaImport, import_id)
    filters = ROWS.read(request.args)
    result = operations.rows_page(current_user, record, filters)
    return render_template("catalog/insurance_import.html", summary=operations.import_summary(current_user, record),
                           record=record, result=result, status=filters["status"], statuses=list(NhsaRowStatus))


def _decided(answer: dict, import_id: int):
    if request.accept_mimetypes.best == "application/json":
        product = answer["product"]
        return jsonify({"id": answer["id"], "status": answer["status"],
                        "status_label": NhsaRowStatus.label_of(answer["status"]),
                        "product": product.display_name if product else ""})
    back = local_target(request.form.get("next"), url_for("insurance.show_import", import_id=import_id))
    return redirect(back + f"#row-{answer['id']}")


@bp.post("/rows/<int:row_id>/confirm")
@permission_required("catalog.edit")
def confirm(row_id: int):
    row = load_in_scope(current_user, NhsaRow, row_id)
    return _decided(operations.confirm(current_user, row, load_form(ConfirmSchema, request.form)), row.import_id)


@bp.post("/rows/<int:row_id>/reject")
@permission_required("catalog.edit")
def reject(row_id: int):
    row = load_in_scope(current_user, NhsaRow, row_id)
    return _decided(operations.reject(current_user, row), row.import_id)


@bp.get("/uncoded")
@permission_required("catalog.read")
def uncoded():
    filters = UNCODED.read(request.args)
    return render_template("catalog/insurance_uncoded.html", result=operations.uncoded_page(current_user, filters),
                           q=filters["q"])


@bp.get("/uncoded.xlsx")
@permission_required("catalog.read")
def uncoded_export():
    filters = UNCODED.read(request.args)
    header = [_(h) for h in operations.REPORT_HEADER]
    return xlsx_stream_response(header, operations.uncoded_export_rows(current_user, filters), "uncoded-nhsa.xlsx",
                                sheet=_("无医保代码的产品"))
