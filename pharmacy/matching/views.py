"""Matching pages: upload a local dictionary, see how it matched, review what the machine is unsure of, export."""

from flask import Blueprint, jsonify, redirect, render_template, request, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import ensure_can_see, get_facility_in_scope, has_permission, permission_required, scope_root
from ..catalog.services import get_product
from ..errors import DomainError, InvalidInput
from ..exports import xlsx_response
from ..extensions import db
from ..facilities.services import facilities_under
from . import queries, services
from .models import LocalDrug, MatchStatus

bp = Blueprint("matching", __name__, url_prefix="/matching")


def localtime(value, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored UTC time as the county's local time, for the export (pages use the app's `localtime` filter)."""
    return format_datetime(value, pattern) if value else ""

REVIEW_PAGE_SIZE = 25
EXPORT_HEADER = ["行号", "本地编码", "本地名称", "规格", "厂家", "单位", "状态", "产品编码", "通用名", "剂型",
                 "目录规格", "得分", "决定人", "决定时间", "说明"]


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _import_in_scope(import_id: int):
    record = services.get_import(import_id)
    ensure_can_see(current_user, record.facility_id)
    return record


def _local_in_scope(local_drug_id: int) -> LocalDrug:
    local = services.get_local_drug(local_drug_id)
    ensure_can_see(current_user, local.facility_id)
    return local


def _upload_facilities():
    return facilities_under(scope_root(current_user), active_only=True)


def _back_to(default: str) -> str:
    target = request.form.get("next") or request.args.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


@bp.get("")
@permission_required("matching.review")
def index():
    return render_template("matching/index.html", imports=queries.imports_in_scope(current_user),
                           facilities=_upload_facilities(),
                           can_import=has_permission(current_user, "matching.import"))


@bp.post("/imports")
@permission_required("matching.import")
def upload():
    try:
        facility_id = request.form.get("facility_id", type=int)
        facility = get_facility_in_scope(current_user, facility_id) if facility_id else current_user.facility
        upload_file = request.files.get("file")
        if upload_file is None or not upload_file.filename:
            raise InvalidInput(_("请选择要上传的文件"))
        record = services.import_dictionary(facility, upload_file.filename, upload_file.read(), user=current_user)
    except DomainError as exc:
        db.session.rollback()
        return render_template("matching/index.html", imports=queries.imports_in_scope(current_user),
                               facilities=_upload_facilities(), can_import=True,
                               error=exc.message), exc.status
    return redirect(url_for("matching.show_import", import_id=record.id, imported=1))


@bp.get("/imports/<int:import_id>")
@permission_required("matching.review")
def show_import(import_id: int):
    record = _import_in_scope(import_id)
    status = request.args.get("status", "")
    status = status if status in set(MatchStatus) else ""
    q = request.args.get("q", "").strip()[:100]
    page = max(request.args.get("page", 1, type=int), 1)
    result = db.paginate(queries.local_drug_query(record.id, status, q), page=page, per_page=queries.PAGE_SIZE,
                         error_out=False)
    return render_template("matching/import.html", record=record, rows=queries.present(result.items),
                           result=result, counts=services.status_counts(record.id), status=status, q=q,)


@bp.get("/imports/<int:import_id>/review")
@permission_required("matching.review")
def review(import_id: int):
    record = _import_in_scope(import_id)
    status = request.args.get("status", MatchStatus.NEEDS_REVIEW)
    if status not in (MatchStatus.NEEDS_REVIEW, MatchStatus.NO_MATCH):
        status = MatchStatus.NEEDS_REVIEW
    page = max(request.args.get("page", 1, type=int), 1)
    result = db.paginate(queries.local_drug_query(record.id, status), page=page, per_page=REVIEW_PAGE_SIZE,
                         error_out=False)
    return render_template("matching/review.html", record=record, rows=queries.present(result.items),
                           result=result, counts=services.status_counts(record.id), status=status,
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
    local = _local_in_scope(local_drug_id)
    product_id = request.form.get("product_id", type=int)
    if not product_id:
        raise InvalidInput(_("请先选择一个产品"), fields={"product_id": [_("必填")]})
    services.confirm(local, get_product(product_id), user=current_user,
                     county_wide=request.form.get("county_wide") == "1")
    return _decided(local, url_for("matching.review", import_id=local.import_id))


@bp.post("/local-drugs/<int:local_drug_id>/reject")
@permission_required("matching.review")
def reject(local_drug_id: int):
    local = _local_in_scope(local_drug_id)
    services.reject(local, user=current_user, note=request.form.get("note", ""))
    return _decided(local, url_for("matching.review", import_id=local.import_id))


@bp.post("/imports/<int:import_id>/bulk-confirm")
@permission_required("matching.review")
def bulk_confirm(import_id: int):
    record = _import_in_scope(import_id)
    try:
        min_score = float(request.form.get("min_score", ""))
    except ValueError:
        raise InvalidInput(_("请填写批量确认的最低分"), fields={"min_score": [_("应为数字")]}) from None
    done = services.bulk_confirm(record, min_score, user=current_user)
    return redirect(url_for("matching.review", import_id=record.id, bulk=done))


def _export_rows(record):
    for chunk_start in range(0, record.row_count + 1, 500):
        locals_ = list(db.session.scalars(queries.local_drug_query(record.id).offset(chunk_start).limit(500)))
        if not locals_:
            break
        for row in queries.present(locals_):
            local, product = row["local"], row["product"]
            yield [local.row_no, local.local_code, local.local_name, local.spec, local.manufacturer, local.unit,
                   MatchStatus.label_of(local.status), product.code if product else "",
                   product.drug.generic_name if product else "", product.dosage_form if product else "",
                   product.strength if product else "", local.score,
                   local.decided_by.display_name if local.decided_by else "",
                   localtime(local.decided_at),
                   local.issue or (_(local.reason) if local.reason else "")]


@bp.get("/imports/<int:import_id>/export.xlsx")
@permission_required("matching.review")
def export(import_id: int):
    record = _import_in_scope(import_id)
    header = [_(h) for h in EXPORT_HEADER]
    filename = f"mapping-{record.facility.code}-{record.id}.xlsx"
    return xlsx_response(header, _export_rows(record), filename, sheet=_("药品对照"))
