"""API: unified orders under /api/v1/orders."""

from flask import jsonify, request
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import load_in_scope, permission_required
from . import operations
from .models import Order
from .schemas import (OrderAllocateSchema, OrderBackorderSchema, OrderDraftInputSchema, OrderImportForm,
                      OrderImportResultSchema, OrderLineApprovalSchema, OrderLineCreateSchema, OrderLineSchema,
                      OrderLineUpdateSchema, OrderQuerySchema, OrderReasonSchema, OrderSchema, OrderShipSchema,
                      OrderShipmentSchema, OrderSummarySchema, ShipmentReceiptSchema)

bp = api_blueprint("orders_api", __name__, "/orders")


def _order(order_id: int, *, for_update: bool = False) -> Order:
    return load_in_scope(current_user, Order, order_id, for_update=for_update)


def _import_command() -> dict:
    """The multipart form of an import, read by the same form schema as the page's."""
    return OrderImportForm().load(request.form, file=request.files.get("file"))


@bp.get("")
@permission_required("order.read")
@api_operation(summary="Orders of the facilities in the caller's scope", tags=["orders"], query=OrderQuerySchema,
               response=OrderSummarySchema, many=True)
def list_orders(query):
    return operations.list_orders(current_user, query)


@bp.post("/draft")
@permission_required("order.build")
@api_operation(summary="Build (or refresh) a township's draft order from shortages and replenishment need",
               tags=["orders"], body=OrderDraftInputSchema, response=OrderSchema, status=201)
def build_draft(body):
    return operations.build_draft(current_user, body)


@bp.post("/import")
@permission_required("order.build")
@api_operation(summary="Import a draft order from an XLSX file (multipart field `file`, X-CSRFToken header)",
               tags=["orders"], response=OrderImportResultSchema, status=201,
               description="Rows are matched by product code, then generic name + strength. A file with any bad "
                           "row is refused whole: 422 with `details` listing every bad row (with `candidates` "
                           "where a name fits several products; settle those with `pick_<row>` = product id). The "
                           "first sheet is read within limits (2 500 rows, 32 columns, cells, text, CPU time): a "
                           "sheet past them is refused (422 `sheet_too_large` / `sheet_too_slow`), and so is XML "
                           "with a DTD or entities (422 `unsafe_xml`).")
def import_xlsx():
    return operations.import_order(current_user, _import_command())


@bp.get("/approvals")
@permission_required("order.approve")
@api_operation(summary="Submitted orders of every township, emergency first", tags=["orders"],
               response=OrderSchema, many=True)
def approval_queue():
    return operations.approval_queue(current_user)


@bp.get("/backorders")
@permission_required("order.read")
@api_operation(summary="Back-ordered lines in the caller's scope", tags=["orders"], response=OrderBackorderSchema,
               many=True)
def backorders():
    return operations.backorders(current_user)


@bp.post("/backorders/release")
@permission_required("order.approve")
@api_operation(summary="Allocate back-ordered lines from the central pharmacy's stock now (after a goods receipt)",
               tags=["orders"], response=OrderBackorderSchema, many=True,
               description="The same rule as allocation (urgency, fair shares, FEFO); returns the lines that got "
                           "stock. A purchasing goods receipt does this by itself for the products received.")
def release_backorders():
    return operations.release_backorders(current_user)


@bp.post("/allocate")
@permission_required("order.approve")
@api_operation(summary="Allocate approved orders from central stock (FEFO; fair share when scarce)",
               tags=["orders"], body=OrderAllocateSchema, response=OrderSchema, many=True)
def allocate(body):
    return operations.allocate(current_user, body)


@bp.get("/<int:order_id>")
@permission_required("order.read")
@api_operation(summary="One order with its lines and shipments", tags=["orders"], response=OrderSchema)
def get_order(order_id: int):
    return _order(order_id)


@bp.post("/<int:order_id>/import")
@permission_required("order.build")
@api_operation(summary="Import an XLSX file into this draft (multipart field `file`, X-CSRFToken header)",
               tags=["orders"], response=OrderImportResultSchema, status=201,
               description="The same rules and form as the draft page: a row naming a product already on the draft "
                           "sets its quantity; a file with any bad row is refused whole (422, `details` lists every "
                           "row, with `candidates` where a name fits several products). Settle those rows by "
                           "sending the file again with a form field `pick_<row>` = the chosen product id (not a "
                           "number: 422 at `pick_<row>`). Optional `qty_<line id>` / `urgency_<line id>` change "
                           "draft lines in the same step, as the page's unsaved edits do. The sheet limits and "
                           "refusals of `POST /orders/import` apply.")
def import_into_draft(order_id: int):
    return operations.import_into_draft(current_user, _order(order_id, for_update=True), _import_command())


@bp.post("/<int:order_id>/lines")
@permission_required("order.build")
@api_operation(summary="Add a product to a draft", tags=["orders"], body=OrderLineCreateSchema,
               response=OrderLineSchema, status=201)
def add_line(order_id: int, body):
    return operations.add_line(current_user, _order(order_id, for_update=True), body)


@bp.patch("/<int:order_id>/lines/<int:line_id>")
@permission_required("order.build")
@api_operation(summary="Change a draft line", tags=["orders"], body=OrderLineUpdateSchema, response=OrderLineSchema)
def update_line(order_id: int, line_id: int, body):
    return operations.update_line(current_user, _order(order_id, for_update=True), line_id, body)


@bp.delete("/<int:order_id>/lines/<int:line_id>")
@permission_required("order.build")
@api_operation(summary="Remove a draft line", tags=["orders"], status=204)
def remove_line(order_id: int, line_id: int):
    operations.remove_line(current_user, _order(order_id, for_update=True), line_id)
    return "", 204


@bp.post("/<int:order_id>/submit")
@permission_required("order.build")
@api_operation(summary="Submit a draft to the county; served shortages become `ordered`", tags=["orders"],
               response=OrderSchema)
def submit(order_id: int):
    return operations.submit(current_user, _order(order_id, for_update=True), {})


@bp.post("/<int:order_id>/cancel")
@permission_required("order.build")
@api_operation(summary="Cancel a draft or a submitted order not yet approved", tags=["orders"], body=OrderReasonSchema,
               response=OrderSchema)
def cancel(order_id: int, body):
    return operations.cancel(current_user, _order(order_id, for_update=True), body)


@bp.post("/<int:order_id>/lines/<int:line_id>/approval")
@permission_required("order.approve")
@api_operation(summary="Approve a line, at a changed quantity with a reason", tags=["orders"],
               body=OrderLineApprovalSchema, response=OrderLineSchema)
def approve_line(order_id: int, line_id: int, body):
    return operations.approve_line(current_user, _order(order_id, for_update=True), line_id, body)


@bp.post("/<int:order_id>/lines/<int:line_id>/reject")
@permission_required("order.approve")
@api_operation(summary="Reject a line (reason required)", tags=["orders"], body=OrderReasonSchema,
               response=OrderLineSchema)
def reject_line(order_id: int, line_id: int, body):
    return operations.reject_line(current_user, _order(order_id, for_update=True), line_id, body)


@bp.post("/<int:order_id>/approve")
@permission_required("order.approve")
@api_operation(summary="Approve the order: every undecided line at the quantity asked", tags=["orders"],
               response=OrderSchema)
def approve(order_id: int):
    return operations.approve(current_user, _order(order_id, for_update=True))


@bp.post("/<int:order_id>/reject")
@permission_required("order.approve")
@api_operation(summary="Reject a whole submitted order", tags=["orders"], body=OrderReasonSchema, response=OrderSchema)
def reject(order_id: int, body):
    return operations.reject(current_user, _order(order_id, for_update=True), body)


@bp.post("/<int:order_id>/ship")
@permission_required("order.approve")
@api_operation(summary="Ship the allocated lots as one in-transit transfer", tags=["orders"], body=OrderShipSchema,
               response=OrderShipmentSchema, status=201,
               description="`key` (optional) is the caller's: a retry with it answers 200 with the shipment it sent; "
                           "a key that sent something else is 409 `idempotency_key_reused`.")
def ship(order_id: int, body):
    shipment, created = operations.ship(current_user, _order(order_id, for_update=True), body)
    return jsonify(OrderShipmentSchema().dump(shipment)), 201 if created else 200


@bp.post("/<int:order_id>/shipments/<int:shipment_id>/receive")
@permission_required("order.receive")
@api_operation(summary="Receive a shipment line by line; differences need a reason", tags=["orders"],
               body=ShipmentReceiptSchema, response=OrderShipmentSchema)
def receive(order_id: int, shipment_id: int, body):
    return operations.receive(current_user, _order(order_id, for_update=True), shipment_id, body)
