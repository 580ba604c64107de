"""Purchasing pages for the county: needs and proposals, purchase orders, goods receipts, suppliers."""

import secrets
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import permission_required
from ..catalog.services import get_product_by_code
from ..errors import DomainError, InvalidInput
from . import services
from .models import PurchaseStatus

bp = Blueprint("purchasing", __name__, url_prefix="/purchasing")


def _int(value):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise InvalidInput(_("数量必须是整数")) from None


def _date(value, line_label: str) -> date:
    try:
        return date.fromisoformat((value or "").strip())
    except ValueError:
        raise InvalidInput(_("%(line)s：有效期格式应为 YYYY-MM-DD", line=line_label)) from None


@bp.get("")
@permission_required("purchase.manage")
def index():
    central = services.central_pharmacy_for(current_user)
    needs = services.purchase_needs(central)
    orders = services.list_purchase_orders(central)
    return render_template("purchasing/index.html", needs=needs,
                           offers=services.best_offers([n.product.id for n in needs]),
                           proposals=[po for po in orders if po.status == PurchaseStatus.PROPOSED],
                           open_orders=[po for po in orders if po.status in (PurchaseStatus.CONFIRMED,
                                                                              PurchaseStatus.PARTIALLY_RECEIVED)],
                           closed_orders=[po for po in orders if po.status in (PurchaseStatus.RECEIVED,
                                                                                PurchaseStatus.CANCELLED)][:30])


@bp.post("/proposals")
@permission_required("purchase.manage")
def propose():
    orders, unsupplied = services.propose_purchase_orders(services.central_pharmacy_for(current_user), current_user)
    flash(_("已生成 %(n)s 张采购建议单", n=len(orders)), "ok")
    if unsupplied:
        flash(_("%(n)s 个药品没有供应商报价，请先在供应商页面维护", n=len(unsupplied)), "warn")
    return redirect(url_for("purchasing.index"))


def _render_order(po, *, error=None, status=200):
    # A fresh key per receipt form: a double click or a resent form books the delivery once.
    key = (request.form.get("key") if error else None) or f"gr-{po.id}-{secrets.token_hex(8)}"
    return render_template("purchasing/order.html", po=po, error=error,
                           form=request.form if error else None, receipt_key=key), status


@bp.get("/orders/<int:po_id>")
@permission_required("purchase.manage")
def order(po_id: int):
    return _render_order(services.get_purchase_order(current_user, po_id))


@bp.post("/orders/<int:po_id>/save")
@permission_required("purchase.manage")
def save(po_id: int):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    try:
        changes = {line.id: {"qty_packs": _int(request.form.get(f"qty_{line.id}", line.qty_packs)),
                             "unit_price": request.form.get(f"price_{line.id}", line.unit_price)} for line in po.lines}
        services.update_po_lines(po, changes)
    except DomainError as exc:
        return _render_order(po, error=exc.message, status=exc.status)
    flash(_("已保存"), "ok")
    return redirect(url_for("purchasing.order", po_id=po.id))


@bp.post("/orders/<int:po_id>/lines")
@permission_required("purchase.manage")
def add_line(po_id: int):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    try:
        product = get_product_by_code(request.form.get("product_code", "").strip())
        price = request.form.get("unit_price", "").strip() or None
        services.add_po_line(po, product, qty_packs=_int(request.form.get("qty_packs")), unit_price=price)
    except DomainError as exc:
        return _render_order(po, error=exc.message, status=exc.status)
    return redirect(url_for("purchasing.order", po_id=po.id))


@bp.post("/orders/<int:po_id>/lines/<int:line_id>/delete")
@permission_required("purchase.manage")
def remove_line(po_id: int, line_id: int):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    services.remove_po_line(po, services.get_po_line(po, line_id))
    return redirect(url_for("purchasing.order", po_id=po.id))


@bp.post("/orders/<int:po_id>/confirm")
@permission_required("purchase.manage")
def confirm(po_id: int):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    services.confirm_purchase_order(po, current_user)
    flash(_("采购单 %(number)s 已确认", number=po.number), "ok")
    return redirect(url_for("purchasing.order", po_id=po.id))


@bp.post("/orders/<int:po_id>/cancel")
@permission_required("purchase.manage")
def cancel(po_id: int):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    try:
        services.cancel_purchase_order(po, current_user, request.form.get("reason", ""))
    except DomainError as exc:
        return _render_order(po, error=exc.message, status=exc.status)
    flash(_("采购单 %(number)s 已取消", number=po.number), "ok")
    return redirect(url_for("purchasing.index"))


@bp.post("/orders/<int:po_id>/receipts")
@permission_required("purchase.manage")
def receive(po_id: int):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    try:
        lines = []
        for line in po.lines:
            qty = request.form.get(f"qty_{line.id}", "").strip()
            if not qty or qty == "0":
                continue
            label = line.product.display_name
            lines.append(services.ReceiptLineInput(
                purchase_order_line_id=line.id, lot_number=request.form.get(f"lot_{line.id}", ""),
                expiry_date=_date(request.form.get(f"expiry_{line.id}"), label), qty_packs=_int(qty),
                manufacturer=request.form.get(f"manufacturer_{line.id}", "")))
        services.receive_goods(po, lines, user=current_user, key=request.form.get("key", ""),
                               note=request.form.get("note", ""))
    except DomainError as exc:
        return _render_order(po, error=exc.message, status=exc.status)
    flash(_("到货已入库，欠货已按规则补分"), "ok")
    return redirect(url_for("purchasing.order", po_id=po.id))


# ------------------------------------------------------------------------------------------- suppliers


def _render_suppliers(*, error=None, status=200):
    return render_template("purchasing/suppliers.html", suppliers=services.list_suppliers(), error=error,
                           form=request.form if error else None), status


@bp.get("/suppliers")
@permission_required("purchase.manage")
def suppliers():
    return _render_suppliers()


@bp.post("/suppliers")
@permission_required("purchase.manage")
def create_supplier():
    try:
        services.create_supplier(code=request.form.get("code", ""), name=request.form.get("name", ""),
                                 contact=request.form.get("contact", ""), phone=request.form.get("phone", ""),
                                 address=request.form.get("address", ""))
    except DomainError as exc:
        return _render_suppliers(error=exc.message, status=exc.status)
    flash(_("已添加供应商"), "ok")
    return redirect(url_for("purchasing.suppliers"))


@bp.post("/suppliers/<int:supplier_id>/products")
@permission_required("purchase.manage")
def set_product(supplier_id: int):
    supplier = services.get_supplier(supplier_id)
    try:
        product = get_product_by_code(request.form.get("product_code", "").strip())
        services.set_supplier_product(supplier, product, request.form.get("unit_price", ""))
    except DomainError as exc:
        return _render_suppliers(error=exc.message, status=exc.status)
    return redirect(url_for("purchasing.suppliers", _anchor=f"supplier-{supplier.id}"))


@bp.post("/suppliers/<int:supplier_id>/products/<int:product_id>/delete")
@permission_required("purchase.manage")
def remove_product(supplier_id: int, product_id: int):
    supplier = services.get_supplier(supplier_id)
    services.remove_supplier_product(supplier, product_id)
    return redirect(url_for("purchasing.suppliers", _anchor=f"supplier-{supplier.id}"))
