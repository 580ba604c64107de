"""API: unified orders under /api/v1/orders."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..facilities.services import central_pharmacy_of
from ..auth.policy import get_facility_in_scope, permission_required
from ..catalog.services import get_product
from ..errors import InvalidInput
from . import fulfilment, importing, queries, services
from .models import Order
from .schemas import (OrderAllocateSchema, OrderBackorderSchema, OrderDraftInputSchema, OrderImportResultSchema,
                      OrderLineApprovalSchema, OrderLineCreateSchema, OrderLineSchema, OrderLineUpdateSchema,
                      OrderQuerySchema, OrderReasonSchema, OrderSchema, OrderShipSchema, OrderShipmentSchema,
                      OrderSummarySchema, ShipmentReceiptSchema)

bp = api_blueprint("orders_api", __name__, "/orders")


def _township(facility_id: int | None):
    return get_facility_in_scope(current_user, facility_id or current_user.facility_id)


def _order(order_id: int, *, for_update: bool = False) -> Order:
    return services.get_order(current_user, order_id, for_update=for_update)


@bp.get("")
@permission_required("order.read")
@api_operation(summary="Orders of the facilities in the caller's scope", tags=["orders"], query=OrderQuerySchema,
               response=OrderSummarySchema, many=True)
def list_orders(query):
    return queries.orders_for(current_user, status=query.get("status"), facility_id=query.get("facility_id"))


@bp.post("/draft")
@permission_required("order.build")
@api_operation(summary="Build (or refresh) a township's draft order from shortages and replenishment need",
               tags=["orders"], body=OrderDraftInputSchema, response=OrderSchema, status=201)
def build_draft(body):
    return services.build_draft_order(_township(body.get("facility_id")), current_user)


@bp.post("/import")
@permission_required("order.build")
@api_operation(summary="Import a draft order from an XLSX file (multipart field `file`, X-CSRFToken header)",
               tags=["orders"], response=OrderImportResultSchema, status=201,
               description="Rows are matched by product code, then generic name + strength. A file with any bad "
                           "row is refused whole: 422 with `details` listing every bad row.")
def import_xlsx():
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(_("请选择要导入的 Excel 文件"), fields={"file": [_("必填")]})
    facility_id = request.form.get("facility_id", type=int)
    order, rows = importing.import_order(_township(facility_id), upload.read(), current_user)
    return {"order": order, "imported_rows": rows}


@bp.get("/approvals")
@permission_required("order.approve")
@api_operation(summary="Submitted orders of every township, emergency first", tags=["orders"],
               response=OrderSchema, many=True)
def approval_queue():
    return queries.approval_queue(current_user)


@bp.get("/backorders")
@permission_required("order.read")
@api_operation(summary="Back-ordered lines in the caller's scope", tags=["orders"], response=OrderBackorderSchema,
               many=True)
def backorders():
    return queries.backorders_for(current_user)


@bp.post("/backorders/release")
@permission_required("order.approve")
@api_operation(summary="Allocate back-ordered lines from the central pharmacy's stock now (after a goods receipt)",
               tags=["orders"], response=OrderBackorderSchema, many=True,
               description="The same rule as allocation (urgency, fair shares, FEFO); returns the lines that got "
                           "stock.")
def release_backorders():
    return fulfilment.release_backorders(central_pharmacy_of(current_user.facility), None, current_user)


@bp.post("/allocate")
@permission_required("order.approve")
@api_operation(summary="Allocate approved orders from central stock (FEFO; fair share when scarce)",
               tags=["orders"], body=OrderAllocateSchema, response=OrderSchema, many=True)
def allocate(body):
    orders = [_order(order_id, for_update=True) for order_id in sorted(set(body["order_ids"]))]
    return fulfilment.allocate_orders(orders, current_user)


@bp.get("/<int:order_id>")
@permission_required("order.read")
@api_operation(summary="One order with its lines and shipments", tags=["orders"], response=OrderSchema)
def get_order(order_id: int):
    return _order(order_id)


@bp.post("/<int:order_id>/import")
@permission_required("order.build")
@api_operation(summary="Import an XLSX file into this draft (multipart field `file`, X-CSRFToken header)",
               tags=["orders"], response=OrderImportResultSchema, status=201,
               description="The same rules as the draft page: a row naming a product already on the draft sets "
                           "its quantity; a file with any bad row is refused whole (422, `details` lists every row, "
                           "with `candidates` where a name fits several products). Settle those rows by sending "
                           "the file again with a form field `pick_<row>` = the chosen product id.")
def import_into_draft(order_id: int):
    order = _order(order_id, for_update=True)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(_("请选择要导入的 Excel 文件"), fields={"file": [_("必填")]})
    picks = {}
    for key, value in request.form.items():
        if key.startswith("pick_"):
            row, product_id = key.removeprefix("pick_"), value
            if not (row.isdigit() and product_id.isdigit()):
                raise InvalidInput(_("选择的药品无效"), fields={key: [_("应为整数")]})
            picks[int(row)] = int(product_id)
    order, rows = importing.import_order(order.facility, upload.read(), current_user, order=order, picks=picks)
    return {"order": order, "imported_rows": rows}


@bp.post("/<int:order_id>/lines")
@permission_required("order.build")
@api_operation(summary="Add a product to a draft", tags=["orders"], body=OrderLineCreateSchema,
               response=OrderLineSchema, status=201)
def add_line(order_id: int, body):
    order = _order(order_id, for_update=True)
    product = get_product(body.pop("product_id"))
    return services.add_line(order, product, user=current_user, **body)


@bp.patch("/<int:order_id>/lines/<int:line_id>")
@permission_required("order.build")
@api_operation(summary="Change a draft line", tags=["orders"], body=OrderLineUpdateSchema, response=OrderLineSchema)
def update_line(order_id: int, line_id: int, body):
    order = _order(order_id, for_update=True)
    return services.update_line(order, services.get_line(order, line_id), **body)


@bp.delete("/<int:order_id>/lines/<int:line_id>")
@permission_required("order.build")
@api_operation(summary="Remove a draft line", tags=["orders"], status=204)
def remove_line(order_id: int, line_id: int):
    order = _order(order_id, for_update=True)
    services.remove_line(order, services.get_line(order, line_id))
    return "", 204


@bp.post("/<int:order_id>/submit")
@permission_required("order.build")
@api_operation(summary="Submit a draft to the county; served shortages become `ordered`", tags=["orders"],
               response=OrderSchema)
def submit(order_id: int):
    return services.submit_order(_order(order_id, for_update=True), current_user)


@bp.post("/<int:order_id>/cancel")
@permission_required("order.build")
@api_operation(summary="Cancel a draft or a submitted order not yet approved", tags=["orders"], body=OrderReasonSchema,
               response=OrderSchema)
def cancel(order_id: int, body):
    return services.cancel_order(_order(order_id, for_update=True), current_user, body["reason"])


@bp.post("/<int:order_id>/lines/<int:line_id>/approval")
@permission_required("order.approve")
@api_operation(summary="Approve a line, at a changed quantity with a reason", tags=["orders"],
               body=OrderLineApprovalSchema, response=OrderLineSchema)
def approve_line(order_id: int, line_id: int, body):
    order = _order(order_id, for_update=True)
    return services.set_approved_qty(order, services.get_line(order, line_id), qty_packs=body["qty_packs"],
                                     reason=body["reason"], user=current_user)


@bp.post("/<int:order_id>/lines/<int:line_id>/reject")
@permission_required("order.approve")
@api_operation(summary="Reject a line (reason required)", tags=["orders"], body=OrderReasonSchema,
               response=OrderLineSchema)
def reject_line(order_id: int, line_id: int, body):
    order = _order(order_id, for_update=True)
    return services.reject_line(order, services.get_line(order, line_id), reason=body["reason"], user=current_user)


@bp.post("/<int:order_id>/approve")
@permission_required("order.approve")
@api_operation(summary="Approve the order: every undecided line at the quantity asked", tags=["orders"],
               response=OrderSchema)
def approve(order_id: int):
    return services.approve_order(_order(order_id, for_update=True), current_user)


@bp.post("/<int:order_id>/reject")
@permission_required("order.approve")
@api_operation(summary="Reject a whole submitted order", tags=["orders"], body=OrderReasonSchema, response=OrderSchema)
def reject(order_id: int, body):
    return services.reject_order(_order(order_id, for_update=True), reason=body["reason"], user=current_user)


@bp.post("/<int:order_id>/ship")
@permission_required("order.approve")
@api_operation(summary="Ship the allocated lots as one in-transit transfer", tags=["orders"], body=OrderShipSchema,
               response=OrderShipmentSchema, status=201)
def ship(order_id: int, body):
    return fulfilment.ship_order(_order(order_id, for_update=True), current_user, key=body.get("key"))


@bp.post("/<int:order_id>/shipments/<int:shipment_id>/receive")
@permission_required("order.receive")
@api_operation(summary="Receive a shipment line by line; differences need a reason", tags=["orders"],
               body=ShipmentReceiptSchema, response=OrderShipmentSchema)
def receive(order_id: int, shipment_id: int, body):
    order = _order(order_id, for_update=True)
    shipment = fulfilment.get_shipment(order, shipment_id)
    received = {line["transfer_line_id"]: (line["qty_base"], line["reason"], line["note"]) for line in body["lines"]}
    return fulfilment.receive_shipment(order, shipment, received, current_user)
