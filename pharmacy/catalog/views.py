"""Formulary pages: browse, detail with history, admin changes, export."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import load_in_scope, permission_required
from ..exports import csv_response, xlsx_stream_response
from ..fields import ascii_int
from ..operations import load_form, refusal
from . import operations, services
from .models import BASE_UNITS, CATEGORIES, INSURANCE_CLASSES, PACK_UNITS, Drug, Product
from .queries import PRODUCTS
from .schemas import (ChronicTagsSchema, EditionSettingInputSchema, ProductCreateSchema, ProductUpdateSchema,
                      StatusChangeSchema)

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

EXPORT_HEADER = ["产品编码", "药品编码", "目录序号", "分类", "治疗类别", "通用名", "拼音首字母", "剂型", "规格", "基本单位",
                 "包装数量", "包装单位", "最低层级", "集采批次", "医保类别", "统一价格", "状态", "慢病", "版本"]


@bp.get("")
@permission_required("catalog.read")
def index():
    return _index_page()


def _index_page(*, error: str | None = None, status: int = 200):
    page = operations.formulary_page(current_user, PRODUCTS.read(request.args))
    return render_template("catalog/index.html", categories=CATEGORIES, error=error, **page), status


@bp.post("/edition")
@permission_required("catalog.read")
def set_edition():
    with refusal() as refused:
        operations.set_edition_in_force(current_user, load_form(EditionSettingInputSchema, request.form))
    if refused:
        return _index_page(error=refused.error.message, status=refused.error.status)
    return redirect(url_for("catalog.index", saved=1))


def _product_page(item, *, error: str | None = None, status: int = 200):
    """The product page, with the message of a refused change when there is one."""
    return render_template("catalog/product.html", product=item, history=services.history(product=item),
                           siblings=item.drug.products, pack_units=PACK_UNITS, insurance_classes=INSURANCE_CLASSES,
                           error=error), status


def _refused_page(item, refused):
    return _product_page(item, error=refused.error.message, status=refused.error.status)


@bp.get("/products/<int:product_id>")
@permission_required("catalog.read")
def product(product_id: int):
    return _product_page(load_in_scope(current_user, Product, product_id))


@bp.post("/products/<int:product_id>")
@permission_required("catalog.edit")
def update_product(product_id: int):
    item = load_in_scope(current_user, Product, product_id)
    schema = ProductUpdateSchema()
    # Every field of the form is sent: an empty one clears it (no 集采 batch, no 医保 class), so none is dropped.
    form = {name: request.form[name] for name in schema.fields if name in request.form}
    with refusal() as refused:
        operations.update_product(current_user, item, schema.load(form))
    if refused:
        return _refused_page(item, refused)
    return redirect(url_for("catalog.product", product_id=item.id, saved=1))


@bp.post("/products/<int:product_id>/status")
@permission_required("catalog.edit")
def set_status(product_id: int):
    item = load_in_scope(current_user, Product, product_id)
    with refusal() as refused:
        operations.set_product_status(current_user, item, load_form(StatusChangeSchema, request.form))
    if refused:
        return _refused_page(item, refused)
    return redirect(url_for("catalog.product", product_id=item.id, saved=1))


@bp.post("/drugs/<int:drug_id>/chronic-tags")
@permission_required("catalog.edit")
def set_chronic_tags(drug_id: int):
    drug = load_in_scope(current_user, Drug, drug_id)
    shown = request.form.get("product_id", type=ascii_int)
    item = next((p for p in drug.products if p.id == shown), None) or drug.products[0]
    with refusal() as refused:
        # No box ticked clears the tags: the list is sent even when empty.
        command = load_form(ChronicTagsSchema, request.form, chronic_tags=request.form.getlist("chronic_tags"))
        operations.set_chronic_tags(current_user, drug, command)
    if refused:
        return _refused_page(item, refused)
    return redirect(url_for("catalog.product", product_id=item.id, saved=1))


@bp.route("/drugs/<int:drug_id>/products/new", methods=["GET", "POST"])
@permission_required("catalog.edit")
def new_product(drug_id: int):
    drug = load_in_scope(current_user, Drug, drug_id)
    error, status = None, 200
    if request.method == "POST":
        with refusal() as refused:
            created = operations.add_product(current_user, drug, load_form(ProductCreateSchema, request.form))
        if not refused:
            return redirect(url_for("catalog.product", product_id=created.id, saved=1))
        error, status = refused.error.message, refused.error.status
    return render_template("catalog/new_product.html", drug=drug, error=error, form=request.form,
                           base_units=BASE_UNITS, pack_units=PACK_UNITS,
                           insurance_classes=INSURANCE_CLASSES), status


@bp.get("/history")
@permission_required("catalog.read")
def history():
    return render_template("catalog/history.html", changes=services.history(limit=500))


@bp.get("/export.<fmt>")
@permission_required("catalog.read")
def export(fmt: str):
    filters = PRODUCTS.read(request.args)
    if fmt == "csv":
        return csv_response(EXPORT_HEADER, operations.export_rows(current_user, filters), "formulary.csv")
    if fmt == "xlsx":
        return xlsx_stream_response(EXPORT_HEADER, operations.export_rows(current_user, filters), "formulary.xlsx",
                             sheet=_("药品目录"))
    return redirect(url_for("catalog.index"))
