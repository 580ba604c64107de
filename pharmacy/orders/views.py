"""Order pages: the township's order builder and receipt, the county's approval queue, allocation and shipment."""

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import load_in_scope, permission_required
from ..operations import load_form, refusal
from ..redirects import local_target
from . import operations
from .models import Order
from .schemas import (DraftEditForm, DraftLineAddForm, OrderAllocateFormSchema, OrderDraftInputSchema,
                      OrderImportForm, OrderReasonFormSchema, OrderReviewForm, OrderShipSchema, ShipmentReceiptForm)

bp = Blueprint("orders", __name__, url_prefix="/orders")


def _order(order_id: int, *, for_update: bool = False) -> Order:
    return load_in_scope(current_user, Order, order_id, for_update=for_update)


def _refusal_view(refused) -> dict:
    """What a page shows of a refusal: the message, the rows a file import refused, the marked fields, the form."""
    error = refused.error if refused else None
    return {"error": error.message if error else None,
            "problems": error.details if error is not None and isinstance(error.details, list) else [],
            "field_errors": error.fields if error else {}, "form": request.form if error else None,
            "carried_file": getattr(error, "carried_file", None)}


@bp.get("")
@permission_required("order.read")
def index():
    return render_template("orders/index.html", **operations.index(current_user, request.args))


@bp.post("/draft")
@permission_required("order.build")
def build_draft():
    order = operations.build_draft(current_user, load_form(OrderDraftInputSchema, request.form))
    flash(_("已根据缺药登记和补货需求生成订单草稿"), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/import")
@permission_required("order.build")
def import_xlsx():
    with refusal() as refused:
        result = operations.import_order(current_user, OrderImportForm().load(request.form,
                                                                               file=request.files.get("file")))
    if refused:
        page = {**operations.index(current_user, {}), **_refusal_view(refused), "can_build": True}
        return render_template("orders/index.html", **page), refused.error.status
    flash(_("已导入 %(n)s 行", n=result["imported_rows"]), "ok")
    return redirect(url_for("orders.detail", order_id=result["order"].id))


def _render_order(order, refused=None):
    """The order page; after a refusal, with its message, the refused line marked and everything typed kept."""
    page = {**operations.order_page(current_user, order), **_refusal_view(refused)}
    return render_template("orders/detail.html", **page), refused.error.status if refused else 200


@bp.get("/<int:order_id>")
@permission_required("order.read")
def detail(order_id: int):
    return _render_order(_order(order_id))


@bp.post("/<int:order_id>/save")
@permission_required("order.build")
def save(order_id: int):
    order = _order(order_id, for_update=True)
    with refusal() as refused:
        operations.save_lines(current_user, order, DraftEditForm().load(request.form))
    if refused:
        return _render_order(order, refused)
    flash(_("已保存"), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/<int:order_id>/submit")
@permission_required("order.build")
def submit(order_id: int):
    order = _order(order_id, for_update=True)
    with refusal() as refused:
        operations.submit(current_user, order, DraftEditForm().load(request.form))
    if refused:
        return _render_order(order, refused)
    flash(_("订单已提交县级中心药房审批"), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/<int:order_id>/lines")
@permission_required("order.build")
def add_line(order_id: int):
    order = _order(order_id, for_update=True)
    with refusal() as refused:
        operations.add_line(current_user, order, DraftLineAddForm().load(request.form))
    if refused:
        return _render_order(order, refused)
    return redirect(url_for("orders.detail", order_id=order.id, _anchor="lines"))


@bp.post("/<int:order_id>/import")
@permission_required("order.build")
def import_into_draft(order_id: int):
    """Import a spreadsheet into this draft, with the quantities typed on the page; a refusal stays on the draft."""
    order = _order(order_id, for_update=True)
    with refusal() as refused:
        result = operations.import_into_draft(current_user, order,
                                              OrderImportForm().load(request.form, file=request.files.get("file")))
    if refused:
        return _render_order(order, refused)
    flash(_("已导入 %(n)s 行", n=result["imported_rows"]), "ok")
    return redirect(url_for("orders.detail", order_id=order.id, _anchor="lines"))


@bp.post("/<int:order_id>/lines/<int:line_id>/delete")
@permission_required("order.build")
def remove_line(order_id: int, line_id: int):
    order = _order(order_id, for_update=True)
    operations.remove_line(current_user, order, line_id)
    return redirect(url_for("orders.detail", order_id=order.id, _anchor="lines"))


@bp.post("/<int:order_id>/cancel")
@permission_required("order.build")
def cancel(order_id: int):
    order = _order(order_id, for_update=True)
    with refusal() as refused:
        operations.cancel(current_user, order, load_form(OrderReasonFormSchema, request.form))
    if refused:
        return _render_order(order, refused)
    flash(_("订单已取消"), "ok")
    return redirect(url_for("orders.index"))


# ------------------------------------------------------------------------------------------- county


def _render_approvals(refused=None, order=None):
    """The queue; after a refusal, the refused order's card keeps what was typed and marks the refused line (the
    message shows once, on that card, not again in the page's error banner)."""
    error = refused.error if refused else None
    page = render_template("orders/approvals.html", orders=operations.approval_queue(current_user),
                           review_error=error.message if error else None,
                           field_errors=error.fields if error else {}, error_order_id=order.id if order else None,
                           form=request.form if error else None,
                           sorted_lines=operations.sorted_lines)
    return page, error.status if error else 200


@bp.get("/approvals")
@permission_required("order.approve")
def approvals():
    return _render_approvals()


@bp.post("/<int:order_id>/review")
@permission_required("order.approve")
def review(order_id: int):
    order = _order(order_id, for_update=True)
    with refusal() as refused:
        operations.review(current_user, order, OrderReviewForm().load(request.form))
    if refused:
        return _render_approvals(refused, order)
    flash(_("订单 %(number)s 已审批", number=order.number), "ok")
    return redirect(url_for("orders.approvals"))


@bp.post("/<int:order_id>/reject")
@permission_required("order.approve")
def reject(order_id: int):
    order = _order(order_id, for_update=True)
    with refusal() as refused:
        operations.reject(current_user, order, load_form(OrderReasonFormSchema, request.form))
    if refused:
        return _render_approvals(refused, order)
    flash(_("订单 %(number)s 已驳回", number=order.number), "ok")
    return redirect(url_for("orders.approvals"))


@bp.get("/fulfilment")
@permission_required("order.approve")
def fulfilment_page():
    return render_template("orders/fulfilment.html", **operations.fulfilment_overview(current_user))


@bp.post("/allocate")
@permission_required("order.approve")
def allocate():
    orders = operations.allocate(current_user, load_form(OrderAllocateFormSchema, request.form))
    flash(_("已分配 %(n)s 张订单", n=len(orders)), "ok")
    return redirect(url_for("orders.fulfilment_page"))


@bp.post("/backorders/release")
@permission_required("order.approve")
def release_backorders():
    lines = operations.release_backorders(current_user)
    flash(_("%(n)s 条欠货明细已分配到库存", n=len(lines)), "ok")
    return redirect(url_for("orders.fulfilment_page"))


@bp.get("/<int:order_id>/pick-list.pdf")
@permission_required("order.approve")
def pick_list(order_id: int):
    pdf, filename = operations.pick_list(current_user, _order(order_id))
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{filename}"})


@bp.post("/<int:order_id>/ship")
@permission_required("order.approve")
def ship(order_id: int):
    order = _order(order_id, for_update=True)
    operations.ship(current_user, order, load_form(OrderShipSchema, request.form))
    flash(_("订单 %(number)s 已发货", number=order.number), "ok")
    return redirect(local_target(request.form.get("next"), url_for("orders.fulfilment_page")))


# ------------------------------------------------------------------------------------------- receipt


def _render_receipt(order, shipment_id, refused=None):
    error = refused.error if refused else None
    page = render_template("orders/receive.html", **operations.receipt_page(current_user, order, shipment_id),
                           error=error.message if error else None, field_errors=error.fields if error else {},
                           form=request.form if error else None)
    return page, error.status if error else 200


@bp.get("/<int:order_id>/shipments/<int:shipment_id>")
@permission_required("order.read")
def shipment(order_id: int, shipment_id: int):
    return _render_receipt(_order(order_id), shipment_id)


@bp.post("/<int:order_id>/shipments/<int:shipment_id>")
@permission_required("order.receive")
def receive(order_id: int, shipment_id: int):
    order = _order(order_id, for_update=True)
    with refusal() as refused:
        operations.receive(current_user, order, shipment_id, ShipmentReceiptForm().load(request.form))
    if refused:
        return _render_receipt(order, shipment_id, refused)
    flash(_("已签收，库存已入账"), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))
