"""API: suppliers, purchase orders and goods receipts under /api/v1/purchases."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import permission_required
from ..catalog.services import get_product
from . import services
from .schemas import (GoodsReceiptInputSchema, GoodsReceiptSchema, PurchaseLineAddSchema, PurchaseLineChangeSchema,
                      PurchaseLineSchema, PurchaseNeedSchema, PurchaseOrderSchema, PurchaseProposalResultSchema,
                      PurchaseQuerySchema, PurchaseReasonSchema, SupplierInputSchema, SupplierPriceSchema,
                      SupplierProductSchema, SupplierSchema, SupplierUpdateSchema)

bp = api_blueprint("purchasing_api", __name__, "/purchases")


@bp.get("/suppliers")
@permission_required("purchase.manage")
@api_operation(summary="Suppliers with the products they supply and their prices", tags=["purchases"],
               response=SupplierSchema, many=True)
def list_suppliers():
    return services.list_suppliers()


@bp.post("/suppliers")
@permission_required("purchase.manage")
@api_operation(summary="Add a supplier", tags=["purchases"], body=SupplierInputSchema, response=SupplierSchema,
               status=201)
def create_supplier(body):
    return services.create_supplier(**body)


@bp.patch("/suppliers/<int:supplier_id>")
@permission_required("purchase.manage")
@api_operation(summary="Change a supplier", tags=["purchases"], body=SupplierUpdateSchema, response=SupplierSchema)
def update_supplier(supplier_id: int, body):
    return services.update_supplier(services.get_supplier(supplier_id), **body)


@bp.put("/suppliers/<int:supplier_id>/products/<int:product_id>")
@permission_required("purchase.manage")
@api_operation(summary="Set the price per pack at which a supplier delivers a product", tags=["purchases"],
               body=SupplierPriceSchema, response=SupplierProductSchema)
def set_supplier_product(supplier_id: int, product_id: int, body):
    return services.set_supplier_product(services.get_supplier(supplier_id), get_product(product_id),
                                         body["unit_price"])


@bp.delete("/suppliers/<int:supplier_id>/products/<int:product_id>")
@permission_required("purchase.manage")
@api_operation(summary="Stop buying a product from a supplier", tags=["purchases"], status=204)
def remove_supplier_product(supplier_id: int, product_id: int):
    services.remove_supplier_product(services.get_supplier(supplier_id), product_id)
    return "", 204


@bp.get("/needs")
@permission_required("purchase.manage")
@api_operation(summary="What central stock cannot cover: back-orders less what is already bought",
               tags=["purchases"], response=PurchaseNeedSchema, many=True)
def needs():
    return services.purchase_needs(services.central_pharmacy_for(current_user))


@bp.post("/proposals")
@permission_required("purchase.manage")
@api_operation(summary="Replace unconfirmed proposals with fresh purchase orders per supplier (集采 first)",
               tags=["purchases"], response=PurchaseProposalResultSchema, status=201)
def propose():
    orders, unsupplied = services.propose_purchase_orders(services.central_pharmacy_for(current_user),
                                                          current_user)
    return {"purchase_orders": orders, "without_supplier": unsupplied}


@bp.get("")
@permission_required("purchase.manage")
@api_operation(summary="Purchase orders of the caller's central pharmacy", tags=["purchases"],
               query=PurchaseQuerySchema, response=PurchaseOrderSchema, many=True)
def list_orders(query):
    return services.list_purchase_orders(services.central_pharmacy_for(current_user), status=query.get("status"))


@bp.get("/<int:po_id>")
@permission_required("purchase.manage")
@api_operation(summary="One purchase order", tags=["purchases"], response=PurchaseOrderSchema)
def get_order(po_id: int):
    return services.get_purchase_order(current_user, po_id)


@bp.post("/<int:po_id>/lines")
@permission_required("purchase.manage")
@api_operation(summary="Add a product to a proposal", tags=["purchases"], body=PurchaseLineAddSchema,
               response=PurchaseLineSchema, status=201)
def add_line(po_id: int, body):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    return services.add_po_line(po, get_product(body["product_id"]), qty_packs=body["qty_packs"],
                                unit_price=body["unit_price"])


@bp.patch("/<int:po_id>/lines/<int:line_id>")
@permission_required("purchase.manage")
@api_operation(summary="Change a proposed line's quantity or price", tags=["purchases"], body=PurchaseLineChangeSchema,
               response=PurchaseLineSchema)
def update_line(po_id: int, line_id: int, body):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    return services.update_po_line(po, services.get_po_line(po, line_id), **body)


@bp.delete("/<int:po_id>/lines/<int:line_id>")
@permission_required("purchase.manage")
@api_operation(summary="Remove a proposed line", tags=["purchases"], status=204)
def remove_line(po_id: int, line_id: int):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    services.remove_po_line(po, services.get_po_line(po, line_id))
    return "", 204


@bp.post("/<int:po_id>/confirm")
@permission_required("purchase.manage")
@api_operation(summary="Confirm a proposal (sent to the supplier)", tags=["purchases"], response=PurchaseOrderSchema)
def confirm(po_id: int):
    return services.confirm_purchase_order(services.get_purchase_order(current_user, po_id, for_update=True),
                                           current_user)


@bp.post("/<int:po_id>/cancel")
@permission_required("purchase.manage")
@api_operation(summary="Cancel a proposed or confirmed purchase order", tags=["purchases"], body=PurchaseReasonSchema,
               response=PurchaseOrderSchema)
def cancel(po_id: int, body):
    return services.cancel_purchase_order(services.get_purchase_order(current_user, po_id, for_update=True),
                                          current_user, body["reason"])


@bp.post("/<int:po_id>/receipts")
@permission_required("purchase.manage")
@api_operation(summary="Book goods received against a purchase order: lots at the central pharmacy, then "
                       "back-orders are released", tags=["purchases"], body=GoodsReceiptInputSchema,
               response=GoodsReceiptSchema, status=201)
def receive(po_id: int, body):
    po = services.get_purchase_order(current_user, po_id, for_update=True)
    lines = [services.ReceiptLineInput(**line) for line in body["lines"]]
    return services.receive_goods(po, lines, user=current_user, key=body["key"], note=body["note"])
