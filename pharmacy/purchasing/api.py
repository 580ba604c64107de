"""API: suppliers, purchase orders and goods receipts under /api/v1/purchases."""

from flask import jsonify
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import load_in_scope, permission_required
from . import operations
from .models import PurchaseOrder
from .schemas import (GoodsReceiptInputSchema, GoodsReceiptSchema, PurchaseLineAddSchema, PurchaseLineChangeSchema,
                      PurchaseLineSchema, PurchaseNeedSchema, PurchaseOrderSchema, PurchaseProposalResultSchema,
                      PurchaseQuerySchema, PurchaseReasonSchema, SupplierInputSchema, SupplierPriceSchema,
                      SupplierProductSchema, SupplierSchema, SupplierUpdateSchema)

bp = api_blueprint("purchasing_api", __name__, "/purchases")


def _po(po_id: int, *, for_update: bool = False) -> PurchaseOrder:
    return load_in_scope(current_user, PurchaseOrder, po_id, for_update=for_update)


@bp.get("/suppliers")
@permission_required("purchase.manage")
@api_operation(summary="Suppliers with the products they supply and their prices", tags=["purchases"],
               response=SupplierSchema, many=True)
def list_suppliers():
    return operations.suppliers(current_user)


@bp.post("/suppliers")
@permission_required("purchase.manage")
@api_operation(summary="Add a supplier", tags=["purchases"], body=SupplierInputSchema, response=SupplierSchema,
               status=201)
def create_supplier(body):
    return operations.create_supplier(current_user, body)


@bp.patch("/suppliers/<int:supplier_id>")
@permission_required("purchase.manage")
@api_operation(summary="Change a supplier", tags=["purchases"], body=SupplierUpdateSchema, response=SupplierSchema)
def update_supplier(supplier_id: int, body):
    return operations.update_supplier(current_user, supplier_id, body)


@bp.put("/suppliers/<int:supplier_id>/products/<int:product_id>")
@permission_required("purchase.manage")
@api_operation(summary="Set the price per pack at which a supplier delivers a product", tags=["purchases"],
               body=SupplierPriceSchema, response=SupplierProductSchema)
def set_supplier_product(supplier_id: int, product_id: int, body):
    return operations.set_supplier_product(current_user, supplier_id, {"product_id": product_id, **body})


@bp.delete("/suppliers/<int:supplier_id>/products/<int:product_id>")
@permission_required("purchase.manage")
@api_operation(summary="Stop buying a product from a supplier", tags=["purchases"], status=204)
def remove_supplier_product(supplier_id: int, product_id: int):
    operations.remove_supplier_product(current_user, supplier_id, product_id)
    return "", 204


@bp.get("/needs")
@permission_required("purchase.manage")
@api_operation(summary="What central stock cannot cover: back-orders less what is already bought",
               tags=["purchases"], response=PurchaseNeedSchema, many=True)
def needs():
    return operations.needs(current_user)


@bp.post("/proposals")
@permission_required("purchase.manage")
@api_operation(summary="Replace unconfirmed proposals with fresh purchase orders per supplier (集采 first)",
               tags=["purchases"], response=PurchaseProposalResultSchema, status=201)
def propose():
    return operations.propose(current_user)


@bp.get("")
@permission_required("purchase.manage")
@api_operation(summary="Purchase orders of the caller's central pharmacy", tags=["purchases"],
               query=PurchaseQuerySchema, response=PurchaseOrderSchema, many=True)
def list_orders(query):
    return operations.list_orders(current_user, query)


@bp.get("/<int:po_id>")
@permission_required("purchase.manage")
@api_operation(summary="One purchase order", tags=["purchases"], response=PurchaseOrderSchema)
def get_order(po_id: int):
    return _po(po_id)


@bp.post("/<int:po_id>/lines")
@permission_required("purchase.manage")
@api_operation(summary="Add a product to a proposal", tags=["purchases"], body=PurchaseLineAddSchema,
               response=PurchaseLineSchema, status=201)
def add_line(po_id: int, body):
    return operations.add_line(current_user, _po(po_id, for_update=True), body)


@bp.patch("/<int:po_id>/lines/<int:line_id>")
@permission_required("purchase.manage")
@api_operation(summary="Change a proposed line's quantity or price", tags=["purchases"], body=PurchaseLineChangeSchema,
               response=PurchaseLineSchema)
def update_line(po_id: int, line_id: int, body):
    return operations.update_line(current_user, _po(po_id, for_update=True), line_id, body)


@bp.delete("/<int:po_id>/lines/<int:line_id>")
@permission_required("purchase.manage")
@api_operation(summary="Remove a proposed line", tags=["purchases"], status=204)
def remove_line(po_id: int, line_id: int):
    operations.remove_line(current_user, _po(po_id, for_update=True), line_id)
    return "", 204


@bp.post("/<int:po_id>/confirm")
@permission_required("purchase.manage")
@api_operation(summary="Confirm a proposal (sent to the supplier)", tags=["purchases"], response=PurchaseOrderSchema)
def confirm(po_id: int):
    return operations.confirm(current_user, _po(po_id, for_update=True))


@bp.post("/<int:po_id>/cancel")
@permission_required("purchase.manage")
@api_operation(summary="Cancel a proposed or confirmed purchase order", tags=["purchases"], body=PurchaseReasonSchema,
               response=PurchaseOrderSchema)
def cancel(po_id: int, body):
    return operations.cancel(current_user, _po(po_id, for_update=True), body)


@bp.post("/<int:po_id>/receipts")
@permission_required("purchase.manage")
@api_operation(summary="Book goods received against a purchase order: lots at the central pharmacy, then "
                       "back-orders are released", tags=["purchases"], body=GoodsReceiptInputSchema,
               response=GoodsReceiptSchema, status=201,
               description="Every line needs its lot number and expiry (YYYY-MM-DD); an empty one is refused as "
                           "missing (422, `必填` at `lines.<n>.lot_number` / `lines.<n>.expiry_date`). The receipt "
                           "is announced (`goods_received`) and the orders domain allocates the new stock to its "
                           "back-orders in the same transaction. The `key` is the sender's: the first request "
                           "answers 201, a repeat by the same user with the same lines 200 with the first receipt, "
                           "the same key with other lines 409 `idempotency_key_reused`.")
def receive(po_id: int, body):
    receipt, created = operations.receive(current_user, _po(po_id, for_update=True), body)
    return jsonify(GoodsReceiptSchema().dump(receipt)), 201 if created else 200
