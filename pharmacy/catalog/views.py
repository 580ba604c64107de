"""Formulary pages: browse, detail with history, admin changes, export."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import permission_required
from ..errors import DomainError
from ..exports import csv_response, xlsx_response
from ..extensions import db
from . import services
from .models import BASE_UNITS, CATEGORIES, INSURANCE_CLASSES, PACK_UNITS, ProductStatus

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

EXPORT_HEADER = ["产品编码", "药品编码", "目录序号", "分类", "治疗类别", "通用名", "拼音首字母", "剂型", "规格", "基本单位",
                 "包装数量", "包装单位", "最低层级", "集采批次", "医保类别", "统一价格", "状态", "慢病", "版本"]


def _filters() -> dict:
    vbp = request.args.get("vbp", "")
    return {
        "q": request.args.get("q", "").strip()[:100],
        "class_path": request.args.get("class_path", ""),
        "category": request.args.get("category", ""),
        "chronic": request.args.get("chronic", ""),
        "vbp": True if vbp == "1" else False if vbp == "0" else None,
        "status": request.args.get("status", ProductStatus.ACTIVE),
    }


@bp.get("")
@permission_required("catalog.read")
def index():
    filters = _filters()
    page = request.args.get("page", 1, type=int)
    result = db.paginate(services.product_query(**filters), page=max(page, 1), per_page=50, error_out=False)
    return render_template("catalog/index.html", result=result, filters=filters, classes=services.class_tree(),
                           categories=CATEGORIES)


def _product_page(item, *, error: str | None = None, status: int = 200):
    """The product page, with the message of a refused change when there is one."""
    return render_template("catalog/product.html", product=item, history=services.history(product=item),
                           siblings=item.drug.products, pack_units=PACK_UNITS, insurance_classes=INSURANCE_CLASSES,
                           error=error), status


@bp.get("/products/<int:product_id>")
@permission_required("catalog.read")
def product(product_id: int):
    item = services.get_product(product_id)
    return _product_page(item)


@bp.post("/products/<int:product_id>")
@permission_required("catalog.edit")
def update_product(product_id: int):
    item = services.get_product(product_id)
    fields = {f: request.form[f] for f in services.EDITABLE_FIELDS if f in request.form}
    changes = {f: v for f, v in fields.items() if str(getattr(item, f)) != v.strip()}
    try:
        services.update_product(item, changes, reason=request.form.get("reason", ""), user=current_user)
    except DomainError as exc:
        return _product_page(item, error=exc.message, status=exc.status)
    return redirect(url_for("catalog.product", product_id=item.id, saved=1))


@bp.post("/products/<int:product_id>/status")
@permission_required("catalog.edit")
def set_status(product_id: int):
    item = services.get_product(product_id)
    try:
        services.set_product_status(item, request.form.get("status", ""), reason=request.form.get("reason", ""),
                                    user=current_user)
    except DomainError as exc:
        return _product_page(item, error=exc.message, status=exc.status)
    return redirect(url_for("catalog.product", product_id=item.id, saved=1))


@bp.post("/drugs/<int:drug_id>/chronic-tags")
@permission_required("catalog.edit")
def set_chronic_tags(drug_id: int):
    drug = services.get_drug(drug_id)
    product_id = request.form.get("product_id", type=int) or drug.products[0].id
    try:
        services.set_chronic_tags(drug, request.form.getlist("chronic_tags"), reason=request.form.get("reason", ""),
                                  user=current_user)
    except DomainError as exc:
        item = services.get_product(product_id)
        return _product_page(item, error=exc.message, status=exc.status)
    return redirect(url_for("catalog.product", product_id=product_id, saved=1))


@bp.route("/drugs/<int:drug_id>/products/new", methods=["GET", "POST"])
@permission_required("catalog.edit")
def new_product(drug_id: int):
    drug = services.get_drug(drug_id)
    error, status = None, 200
    if request.method == "POST":
        form = request.form
        try:
            created = services.add_product(
                drug, dosage_form=form.get("dosage_form", ""), strength=form.get("strength", ""),
                base_unit=form.get("base_unit", ""), pack_size=form.get("pack_size", ""),
                pack_unit=form.get("pack_unit", ""), unified_price=form.get("unified_price", ""),
                lowest_tier=form.get("lowest_tier", "village"), vbp_batch=form.get("vbp_batch", ""),
                insurance_class=form.get("insurance_class", ""), remarks=form.get("remarks", ""),
                reason=form.get("reason", ""), user=current_user)
            return redirect(url_for("catalog.product", product_id=created.id, saved=1))
        except DomainError as exc:
            error, status = exc.message, exc.status
    return render_template("catalog/new_product.html", drug=drug, error=error, form=request.form,
                           base_units=BASE_UNITS, pack_units=PACK_UNITS,
                           insurance_classes=INSURANCE_CLASSES), status


@bp.get("/history")
@permission_required("catalog.read")
def history():
    return render_template("catalog/history.html", changes=services.history(limit=500))


def _export_rows(filters):
    for p in db.session.scalars(services.product_query(**filters)).yield_per(500):
        d = p.drug
        yield [p.code, d.code, d.eml_no, d.category, d.class_path, d.generic_name, d.pinyin_initials, p.dosage_form,
               p.strength, p.base_unit, p.pack_size, p.pack_unit, p.lowest_tier, p.vbp_batch, p.insurance_class,
               p.unified_price, p.status, d.chronic_tags, p.edition]


@bp.get("/export.<fmt>")
@permission_required("catalog.read")
def export(fmt: str):
    filters = _filters()
    if fmt == "csv":
        return csv_response(EXPORT_HEADER, _export_rows(filters), "formulary.csv")
    if fmt == "xlsx":
        return xlsx_response(EXPORT_HEADER, _export_rows(filters), "formulary.xlsx", sheet=_("药品目录"))
    return redirect(url_for("catalog.index"))
