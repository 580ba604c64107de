"""Purchasing pages for the county: needs and proposals, purchase orders, goods receipts, suppliers."""

import secrets

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import load_in_scope, permission_required
from ..operations import load_form, refusal
from . import operations
from .models import PurchaseOrder
from .schemas import (GoodsReceiptForm, PurchaseLineByCodeSchema, PurchaseLinesForm, PurchaseReasonSchema,
                      SupplierInputSchema, SupplierPriceByCodeSchema)

bp = Blueprint("purchasing", __name__, url_prefix="/purchasing")


@bp.get("")
@permission_required("purchase.manage")
def index():
    return render_template("purchasing/index.html", **vars(operations.overview(current_user)))


@bp.post("/proposals")
@permission_required("purchase.manage")
def propose():
    result = operations.propose(current_user)
    flash(_("已生成 %(n)s 张采购建议单", n=len(result["purchase_orders"])), "ok")
    if result["without_supplier"]:
        flash(_("%(n)s 个药品没有供应商报价，请先在供应商页面维护", n=len(result["without_supplier"])), "warn")
    return redirect(url_for("purchasing.index"))


def _po(po_id: int, *, for_update: bool = False) -> PurchaseOrder:
    return load_in_scope(current_user, PurchaseOrder, po_id, for_update=for_update)


def _render_order(po, refused=None):
    """The purchase order; after a refusal, its message, the refused fields marked and what was typed kept."""
    error = refused.error if refused else None
    # A fresh key per receipt form: a double click or a resent form books the delivery once.
    key = (request.form.get("key") if error else None) or f"gr-{po.id}-{secrets.token_hex(8)}"
    page = render_template("purchasing/order.html", po=po, error=error.message if error else None,
                           field_errors=error.fields if error else {}, form=request.form if error else None,
                           receipt_key=key)
    return page, error.status if error else 200


@bp.get("/orders/<int:po_id>")
@permission_required("purchase.manage")
def order(po_id: int):
    return _render_order(_po(po_id))


@bp.post("/orders/<int:po_id>/save")
@permission_required("purchase.manage")
def save(po_id: int):
    po = _po(po_id, for_update=True)
    with refusal() as refused:
        operations.update_lines(current_user, po, PurchaseLinesForm().load(request.form))
    if refused:
        return _render_order(po, refused)
    flash(_("已保存"), "ok")
    return redirect(url_for("purchasing.order", po_id=po.id))


@bp.post("/orders/<int:po_id>/lines")
@permission_required("purchase.manage")
def add_line(po_id: int):
    po = _po(po_id, for_update=True)
    with refusal() as refused:
        operations.add_line(current_user, po, load_form(PurchaseLineByCodeSchema, request.form))
    if refused:
        return _render_order(po, refused)
    return redirect(url_for("purchasing.order", po_id=po.id))


@bp.post("/orders/<int:po_id>/lines/<int:line_id>/delete")
@permission_required("purchase.manage")
def remove_line(po_id: int, line_id: int):
    po = _po(po_id, for_update=True)
    operations.remove_line(current_user, po, line_id)
    return redirect(url_for("purchasing.order", po_id=po.id))


@bp.post("/orders/<int:po_id>/confirm")
@permission_required("purchase.manage")
def confirm(po_id: int):
    po = _po(po_id, for_update=True)
    operations.confirm(current_user, po)
    flash(_("采购单 %(number)s 已确认", number=po.number), "ok")
    return redirect(url_for("purchasing.order", po_id=po.id))


@bp.post("/orders/<int:po_id>/cancel")
@permission_required("purchase.manage")
def cancel(po_id: int):
    po = _po(po_id, for_update=True)
    with refusal() as refused:
        operations.cancel(current_user, po, load_form(PurchaseReasonSchema, request.form))
    if refused:
        return _render_order(po, refused)
    flash(_("采购单 %(number)s 已取消", number=po.number), "ok")
    return redirect(url_for("purchasing.index"))


@bp.post("/orders/<int:po_id>/receipts")
@permission_required("purchase.manage")
def receive(po_id: int):
    po = _po(po_id, for_update=True)
    with refusal() as refused:
        operations.receive(current_user, po, GoodsReceiptForm().load(request.form))
    if refused:
        return _render_order(po, refused)
    flash(_("到货已入库，欠货已按规则补分"), "ok")
    return redirect(url_for("purchasing.order", po_id=po.id))


# ------------------------------------------------------------------------------------------- suppliers


def _render_suppliers(refused=None):
    error = refused.error if refused else None
    page = render_template("purchasing/suppliers.html", suppliers=operations.suppliers(current_user),
                           error=error.message if error else None, form=request.form if error else None)
    return page, error.status if error else 200


@bp.get("/suppliers")
@permission_required("purchase.manage")
def suppliers():
    return _render_suppliers()


@bp.post("/suppliers")
@permission_required("purchase.manage")
def create_supplier():
    with refusal() as refused:
        operations.create_supplier(current_user, load_form(SupplierInputSchema, request.form))
    if refused:
        return _render_suppliers(refused)
    flash(_("已添加供应商"), "ok")
    return redirect(url_for("purchasing.suppliers"))


@bp.post("/suppliers/<int:supplier_id>/products")
@permission_required("purchase.manage")
def set_product(supplier_id: int):
    with refusal() as refused:
        operations.set_supplier_product(current_user, supplier_id, load_form(SupplierPriceByCodeSchema, request.form))
    if refused:
        return _render_suppliers(refused)
    return redirect(url_for("purchasing.suppliers", _anchor=f"supplier-{supplier_id}"))


@bp.post("/suppliers/<int:supplier_id>/products/<int:product_id>/delete")
@permission_required("purchase.manage")
def remove_product(supplier_id: int, product_id: int):
    operations.remove_supplier_product(current_user, supplier_id, product_id)
    return redirect(url_for("purchasing.suppliers", _anchor=f"supplier-{supplier_id}"))
