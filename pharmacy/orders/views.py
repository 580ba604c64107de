"""Order pages: the township's order builder and receipt, the county's approval queue, allocation and shipment."""

import base64
import binascii
from urllib.parse import quote

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..auth.policy import get_facility_in_scope, has_permission, permission_required
from ..catalog.services import get_product
from ..errors import DomainError, InvalidInput
from ..facilities.services import central_pharmacy_of
from ..supply import services as supply
from . import fulfilment, importing, queries, services
from .models import OrderStatus
from .pdf import pick_list_pdf

bp = Blueprint("orders", __name__, url_prefix="/orders")

SEARCH_URL = "/api/v1/catalog/search"


def _int(value, default=None):
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return default


def _form_qty(name: str):
    """A quantity from the form: an int, or the raw text so that the service rejects it with a clear message."""
    raw = request.form.get(name)
    if raw is None:
        return None
    value = _int(raw)
    if value is None:
        raise InvalidInput(_("数量必须是整数"), fields={name: [_("数量必须是整数")]})
    return value


@bp.get("")
@permission_required("order.read")
def index():
    status = request.args.get("status") or None
    orders = queries.orders_for(current_user, status=status if status in set(OrderStatus) else None)
    return render_template("orders/index.html", orders=orders, status=status,
                           can_build=has_permission(current_user, "order.build")
                           and current_user.facility.tier == "township",
                           backorders=queries.backorders_for(current_user))


@bp.post("/draft")
@permission_required("order.build")
def build_draft():
    township = get_facility_in_scope(current_user, _int(request.form.get("facility_id")) or current_user.facility_id)
    order = services.build_draft_order(township, current_user)
    flash(_("已根据缺药登记和补货需求生成订单草稿"), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/import")
@permission_required("order.build")
def import_xlsx():
    township = get_facility_in_scope(current_user, _int(request.form.get("facility_id")) or current_user.facility_id)
    upload = request.files.get("file")
    try:
        if upload is None or not upload.filename:
            raise InvalidInput(_("请选择要导入的 Excel 文件"))
        order, rows = importing.import_order(township, upload.read(), current_user)
    except DomainError as exc:
        orders = queries.orders_for(current_user)
        return render_template("orders/index.html", orders=orders, status=None, can_build=True,
                               backorders=queries.backorders_for(current_user), error=exc.message,
                               problems=exc.details or []), exc.status
    flash(_("已导入 %(n)s 行", n=rows), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))


def _render_order(order, *, refusal: DomainError | None = None, status=200, carried_file=None):
    """The order page; after a refusal, with its message, the refused line marked and everything typed kept."""
    fulfilment.order_detail(order)
    can_edit = order.status == OrderStatus.DRAFT and has_permission(current_user, "order.build")
    free_text = [s for s in services.open_shortages(order.facility, exclude_order_id=order.id)
                 if s.product_id is None] if can_edit else []
    problems = refusal.details if refusal is not None and isinstance(refusal.details, list) else []
    return render_template("orders/detail.html", order=order, lines=queries.sorted_lines(order), can_edit=can_edit,
                           free_text_shortages=free_text, search_url=SEARCH_URL,
                           error=refusal.message if refusal else None, problems=problems,
                           field_errors=refusal.fields if refusal else {}, form=request.form if refusal else None,
                           carried_file=carried_file,
                           can_ship=has_permission(current_user, "order.approve"),
                           can_receive=has_permission(current_user, "order.receive"),), status


@bp.get("/<int:order_id>")
@permission_required("order.read")
def detail(order_id: int):
    return _render_order(services.get_order(current_user, order_id))


def _line_changes(order) -> dict[int, dict]:
    changes = {}
    for line in order.lines:
        change = {}
        if f"qty_{line.id}" in request.form:
            change["qty_packs"] = _form_qty(f"qty_{line.id}")
        if f"urgency_{line.id}" in request.form:
            change["urgency"] = request.form[f"urgency_{line.id}"]
        if change:
            changes[line.id] = change
    return changes


@bp.post("/<int:order_id>/save")
@permission_required("order.build")
def save(order_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    try:
        services.update_lines(order, _line_changes(order))
    except DomainError as exc:
        return _render_order(order, refusal=exc, status=exc.status)
    flash(_("已保存"), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/<int:order_id>/submit")
@permission_required("order.build")
def submit(order_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    try:
        services.submit_order(order, current_user, changes=_line_changes(order))
    except DomainError as exc:
        return _render_order(order, refusal=exc, status=exc.status)
    flash(_("订单已提交县级中心药房审批"), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))


@bp.post("/<int:order_id>/lines")
@permission_required("order.build")
def add_line(order_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    try:
        product_id = _int(request.form.get("product_id"))
        if product_id is None:
            raise InvalidInput(_("请先搜索并选择药品"), fields={"product_id": [_("必填")]})
        services.add_line(order, get_product(product_id), qty_packs=_form_qty("qty_packs") or 0, user=current_user,
                          is_for_villages=request.form.get("is_for_villages") == "1",
                          urgency=request.form.get("urgency", "routine"), changes=_line_changes(order))
    except DomainError as exc:
        return _render_order(order, refusal=exc, status=exc.status)
    return redirect(url_for("orders.detail", order_id=order.id, _anchor="lines"))


def _carried_file(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(_("无法读取文件：请上传 Excel（.xlsx）文件"), code="bad_file") from None


def _has_choices(exc: DomainError) -> bool:
    return isinstance(exc.details, list) and any(p.get("candidates") for p in exc.details)


@bp.post("/<int:order_id>/import")
@permission_required("order.build")
def import_into_draft(order_id: int):
    """Import a spreadsheet into this draft, with the quantities typed on the page; a refusal stays on the draft."""
    order = services.get_order(current_user, order_id, for_update=True)
    upload = request.files.get("file")
    data = None
    try:
        changes = _line_changes(order)
        if upload is not None and upload.filename:
            data = upload.read()
        elif request.form.get("carried_file"):
            data = _carried_file(request.form["carried_file"])
        else:
            raise InvalidInput(_("请选择要导入的 Excel 文件"), fields={"file": [_("必填")]})
        picks = {row: product_id for key, value in request.form.items() if key.startswith("pick_")
                 and (row := _int(key.removeprefix("pick_"))) is not None
                 and (product_id := _int(value)) is not None}
        _order, rows = importing.import_order(order.facility, data, current_user, order=order, changes=changes,
                                              picks=picks)
    except DomainError as exc:
        # The file rides along (base64) when the pharmacist has rows to settle by picking, so none is re-uploaded.
        carried = base64.b64encode(data).decode("ascii") if data and _has_choices(exc) else None
        return _render_order(order, refusal=exc, status=exc.status, carried_file=carried)
    flash(_("已导入 %(n)s 行", n=rows), "ok")
    return redirect(url_for("orders.detail", order_id=order.id, _anchor="lines"))


@bp.post("/<int:order_id>/lines/<int:line_id>/delete")
@permission_required("order.build")
def remove_line(order_id: int, line_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    services.remove_line(order, services.get_line(order, line_id))
    return redirect(url_for("orders.detail", order_id=order.id, _anchor="lines"))


@bp.post("/<int:order_id>/cancel")
@permission_required("order.build")
def cancel(order_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    try:
        services.cancel_order(order, current_user, request.form.get("reason", ""))
    except DomainError as exc:
        return _render_order(order, refusal=exc, status=exc.status)
    flash(_("订单已取消"), "ok")
    return redirect(url_for("orders.index"))


# ------------------------------------------------------------------------------------------- county


def _render_approvals(*, refusal: DomainError | None = None, error_order_id=None, status=200):
    """The queue; after a refusal, the refused order's card keeps what was typed and marks the refused line (the
    message shows once, on that card, not again in the page's error banner)."""
    return render_template("orders/approvals.html", orders=queries.approval_queue(current_user),
                           review_error=refusal.message if refusal else None,
                           field_errors=refusal.fields if refusal else {}, error_order_id=error_order_id,
                           form=request.form if refusal else None, sorted_lines=queries.sorted_lines), status


@bp.get("/approvals")
@permission_required("order.approve")
def approvals():
    return _render_approvals()


@bp.post("/<int:order_id>/review")
@permission_required("order.approve")
def review(order_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    try:
        decisions = {}
        for line in order.lines:
            decisions[line.id] = {"qty_packs": _form_qty(f"qty_{line.id}"),
                                  "reason": request.form.get(f"reason_{line.id}", ""),
                                  "reject": request.form.get(f"reject_{line.id}") == "1"}
        services.review_order(order, decisions, current_user)
    except DomainError as exc:
        return _render_approvals(refusal=exc, error_order_id=order.id, status=exc.status)
    flash(_("订单 %(number)s 已审批", number=order.number), "ok")
    return redirect(url_for("orders.approvals"))


@bp.post("/<int:order_id>/reject")
@permission_required("order.approve")
def reject(order_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    try:
        services.reject_order(order, reason=request.form.get("reason", ""), user=current_user)
    except DomainError as exc:
        return _render_approvals(refusal=exc, error_order_id=order.id, status=exc.status)
    flash(_("订单 %(number)s 已驳回", number=order.number), "ok")
    return redirect(url_for("orders.approvals"))


@bp.get("/fulfilment")
@permission_required("order.approve")
def fulfilment_page():
    return render_template("orders/fulfilment.html",
                           approved=queries.orders_in_status(current_user, OrderStatus.APPROVED),
                           allocated=queries.orders_in_status(current_user, OrderStatus.ALLOCATED),
                           shipped=queries.orders_in_status(current_user, OrderStatus.SHIPPED),
                           backorders=queries.backorders_for(current_user))


@bp.post("/allocate")
@permission_required("order.approve")
def allocate():
    ids = sorted({_int(v) for v in request.form.getlist("order_id") if _int(v) is not None})
    orders = [services.get_order(current_user, order_id, for_update=True) for order_id in ids]
    fulfilment.allocate_orders(orders, current_user)
    flash(_("已分配 %(n)s 张订单", n=len(orders)), "ok")
    return redirect(url_for("orders.fulfilment_page"))


@bp.post("/backorders/release")
@permission_required("order.approve")
def release_backorders():
    central = central_pharmacy_of(current_user.facility)
    lines = fulfilment.release_backorders(central, None, current_user)
    flash(_("%(n)s 条欠货明细已分配到库存", n=len(lines)), "ok")
    return redirect(url_for("orders.fulfilment_page"))


@bp.get("/<int:order_id>/pick-list.pdf")
@permission_required("order.approve")
def pick_list(order_id: int):
    order = services.get_order(current_user, order_id)
    central = central_pharmacy_of(order.facility)
    pdf = pick_list_pdf(order, fulfilment.pick_list_rows(order), central_name=central.name if central else "",
                        printed_at=clock.now_local())
    filename = quote(f"pick-list-{order.number}.pdf")
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename*=UTF-8''{filename}"})


@bp.post("/<int:order_id>/ship")
@permission_required("order.approve")
def ship(order_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    fulfilment.ship_order(order, current_user)
    flash(_("订单 %(number)s 已发货", number=order.number), "ok")
    return redirect(request.form.get("next") or url_for("orders.fulfilment_page"))


# ------------------------------------------------------------------------------------------- receipt


def _render_receipt(order, shipment, *, error=None, status=200):
    return render_template("orders/receive.html", order=order, shipment=shipment, reasons=supply.RECEIPT_REASONS,
                           sign_right=supply.may_sign(current_user, shipment.consignment),
                           error=error, form=request.form if error else None), status


@bp.get("/<int:order_id>/shipments/<int:shipment_id>")
@permission_required("order.read")
def shipment(order_id: int, shipment_id: int):
    order = services.get_order(current_user, order_id)
    return _render_receipt(order, fulfilment.get_shipment(order, shipment_id))


@bp.post("/<int:order_id>/shipments/<int:shipment_id>")
@permission_required("order.receive")
def receive(order_id: int, shipment_id: int):
    order = services.get_order(current_user, order_id, for_update=True)
    shipment_ = fulfilment.get_shipment(order, shipment_id)
    try:
        received = {}
        for line in shipment_.transfer.lines:
            qty = _form_qty(f"qty_{line.id}")
            if qty is not None and qty != line.qty_base_sent:
                received[line.id] = (qty, request.form.get(f"reason_{line.id}", ""),
                                     request.form.get(f"note_{line.id}", ""))
        fulfilment.receive_shipment(order, shipment_, received, current_user)
    except DomainError as exc:
        return _render_receipt(order, shipment_, error=exc.message, status=exc.status)
    flash(_("已签收，库存已入账"), "ok")
    return redirect(url_for("orders.detail", order_id=order.id))
