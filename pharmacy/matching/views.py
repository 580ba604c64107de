"""Matching pages: upload a local dictionary, see how it matched, review what the machine is unsure of, export."""

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import has_permission, load_in_scope, permission_required
from ..exports import xlsx_stream_response
from ..operations import load_form, refusal
from ..redirects import local_target
from . import operations, services
from .models import DictionaryImport, LocalDrug, MatchStatus
from .queries import LOCAL_DRUGS, REVIEW_QUEUE
from .schemas import BulkConfirmSchema, ConfirmSchema, ImportUploadSchema, RejectSchema

bp = Blueprint("matching", __name__, url_prefix="/matching")

EXPORT_HEADER = ["行号", "本地编码", "本地名称", "规格", "厂家", "单位", "状态", "产品编码", "通用名", "剂型",
                 "目录规格", "得分", "决定人", "决定时间", "说明"]


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _back_to(default: str) -> str:
    return local_target(request.form.get("next") or request.args.get("next"), default)


def _index_page(*, error: str | None = None, status: int = 200):
    return render_template("matching/index.html", imports=operations.imports(current_user),
                           facilities=operations.upload_facilities(current_user),
                           can_import=has_permission(current_user, "matching.import"), error=error), status


@bp.get("")
@permission_required("matching.review")
def index():
    return _index_page()


@bp.post("/imports")
@permission_required("matching.import")
def upload():
    with refusal() as refused:
        record = operations.import_dictionary(current_user, load_form(ImportUploadSchema, request.form),
                                              request.files.get("file"))
    if refused:
        return _index_page(error=refused.error.message, status=refused.error.status)
    return redirect(url_for("matching.show_import", import_id=record.id, imported=1))


@bp.get("/imports/<int:import_id>")
@permission_required("matching.review")
def show_import(import_id: int):
    record = load_in_scope(current_user, DictionaryImport, import_id)
    filters = LOCAL_DRUGS.read(request.args)
    result = operations.local_drugs_page(current_user, record, filters)
    return render_template("matching/import.html", record=record, rows=result.items, result=result,
                           counts=services.status_counts(record.id), status=filters["status"], q=filters["q"])


@bp.get("/imports/<int:import_id>/review")
@permission_required("matching.review")
def review(import_id: int):
    record = load_in_scope(current_user, DictionaryImport, import_id)
    filters = REVIEW_QUEUE.read(request.args)
    result = operations.review_page(current_user, record, filters)
    return render_template("matching/review.html", record=record, rows=result.items, result=result,
                           counts=services.status_counts(record.id), status=filters["status"],
                           county_wide=services.may_create_global_alias(current_user))


def _decided(local: LocalDrug, default_back: str):
    if _wants_json():
        product = local.product
        return jsonify({"id": local.id, "status": local.status, "status_label": MatchStatus.label_of(local.status),
                        "product": product.display_name if product else ""})
    return redirect(_back_to(default_back) + f"#row-{local.id}")


@bp.post("/local-drugs/<int:local_drug_id>/confirm")
@permission_required("matching.review")
def confirm(local_drug_id: int):
    local = load_in_scope(current_user, LocalDrug, local_drug_id)
    operations.confirm(current_user, local, load_form(ConfirmSchema, request.form))
    return _decided(local, url_for("matching.review", import_id=local.import_id))


@bp.post("/local-drugs/<int:local_drug_id>/reject")
@permission_required("matching.review")
def reject(local_drug_id: int):
    local = load_in_scope(current_user, LocalDrug, local_drug_id)
    operations.reject(current_user, local, load_form(RejectSchema, request.form))
    return _decided(local, url_for("matching.review", import_id=local.import_id))


@bp.post("/imports/<int:import_id>/bulk-confirm")
@permission_required("matching.review")
def bulk_confirm(import_id: int):
    record = load_in_scope(current_user, DictionaryImport, import_id)
    done = operations.bulk_confirm(current_user, record, load_form(BulkConfirmSchema, request.form))
    return redirect(url_for("matching.review", import_id=record.id, bulk=done))


@bp.get("/imports/<int:import_id>/export.xlsx")
@permission_required("matching.review")
def export(import_id: int):
    record = load_in_scope(current_user, DictionaryImport, import_id)
    header = [_(h) for h in EXPORT_HEADER]
    filename = f"mapping-{record.facility.code}-{record.id}.xlsx"
    rows = operations.mapping_rows(current_user, record)
    return xlsx_stream_response(header, rows, filename, sheet=_("药品对照"))
