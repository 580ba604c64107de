"""API: stock positions, lots, stock cards and every stock write under /api/v1/stock.

Writes carry an `idempotency_key`: the first request answers 201, a repeat with the same key answers 200 with
the first result and records nothing.
"""

from flask import jsonify
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import get_facility_in_scope, permission_required, visible_facility_ids
from ..catalog.services import get_product
from . import queries, services
from .consumption import to_base_units
from .schemas import (AdjustInputSchema, CardQuerySchema, DispenseInputSchema, LotQuerySchema, LotStockSchema,
                      OperationSchema, PolicyInputSchema, PolicySchema, ReceiptInputSchema, StatusQuerySchema,
                      StockCardSchema, StockStatusSchema, StocktakeInputSchema,
                      TransferQuerySchema, TransferSchema, WriteOffInputSchema)

bp = api_blueprint("stock_api", __name__, "/stock")


def _written(schema, result, created: bool):
    return jsonify(schema().dump(result)), 201 if created else 200


def _is_new(key: str) -> bool:
    return services.find_operation(key.strip()) is None


@bp.get("/status")
@permission_required("stock.read")
@api_operation(summary="Stock position per facility × product: on hand, set aside, AMC, months of stock, min/max, "
                       "status", tags=["stock"], query=StatusQuerySchema, response=StockStatusSchema, many=True)
def stock_status(query):
    if query["facility_id"]:
        facility_ids = [get_facility_in_scope(current_user, fid).id for fid in query["facility_id"]]
    elif query["subtree"]:
        facility_ids = visible_facility_ids(current_user)
    else:
        facility_ids = [current_user.facility_id]
    rows = queries.stock_status(facility_ids, query["product_id"])
    if query["status"]:
        rows = [r for r in rows if r.status in query["status"]]
    if query["near_expiry_only"]:
        rows = [r for r in rows if r.near_expiry > 0]
    return queries.with_holds(rows)


@bp.get("/facilities/<int:facility_id>/lots")
@permission_required("stock.read")
@api_operation(summary="Lots on hand at a facility, earliest expiry first", tags=["stock"], query=LotQuerySchema,
               response=LotStockSchema, many=True)
def facility_lots(facility_id: int, query):
    facility = get_facility_in_scope(current_user, facility_id)
    return queries.lots_on_hand([facility.id], query["product_id"])


@bp.get("/facilities/<int:facility_id>/products/<int:product_id>/card")
@permission_required("stock.read")
@api_operation(summary="Stock card: movements of one product with the running balance", tags=["stock"],
               query=CardQuerySchema, response=StockCardSchema)
def stock_card(facility_id: int, product_id: int, query):
    facility = get_facility_in_scope(current_user, facility_id)
    product = get_product(product_id)
    opening, lines, has_more = queries.stock_card(facility.id, product.id, limit=query["limit"])
    return {"facility_id": facility.id, "product_id": product.id, "opening_balance": opening, "lines": lines,
            "has_more": has_more}


@bp.post("/receipts")
@permission_required("stock.write")
@api_operation(summary="Receive goods into stock (creates the lot if new)", tags=["stock"], body=ReceiptInputSchema,
               response=OperationSchema, status=201)
def receive(body):
    facility = get_facility_in_scope(current_user, body["facility_id"])
    product = get_product(body["product_id"])
    created = _is_new(body["idempotency_key"])
    operation = services.receive(
        facility, product, lot_number=body["lot_number"], expiry_date=body["expiry_date"],
        qty_base=to_base_units(body["qty"], body["unit"], product.pack_size), manufacturer=body["manufacturer"],
        note=body["note"], user=current_user, key=body["idempotency_key"])
    return _written(OperationSchema, operation, created)


@bp.post("/dispenses")
@permission_required("stock.write")
@api_operation(summary="Dispense to patients: FEFO over unexpired lots unless a lot is named", tags=["stock"],
               body=DispenseInputSchema, response=OperationSchema, status=201)
def dispense(body):
    facility = get_facility_in_scope(current_user, body["facility_id"])
    product = get_product(body["product_id"])
    lot = services.get_lot(body["lot_id"], product) if body["lot_id"] is not None else None
    created = _is_new(body["idempotency_key"])
    operation = services.dispense(facility, product, qty_base=to_base_units(body["qty"], body["unit"],
                                                                            product.pack_size),
                                  lot=lot, note=body["note"], user=current_user, key=body["idempotency_key"])
    return _written(OperationSchema, operation, created)


@bp.get("/transfers")
@permission_required("stock.read")
@api_operation(summary="Transfers into or out of a facility, newest first", tags=["stock"],
               query=TransferQuerySchema, response=TransferSchema, many=True)
def list_transfers(query):
    facility = get_facility_in_scope(current_user, query["facility_id"])
    return queries.transfers_for(facility.id, status=query["status"])


@bp.get("/transfers/<int:transfer_id>")
@permission_required("stock.read")
@api_operation(summary="One transfer", tags=["stock"], response=TransferSchema)
def get_transfer(transfer_id: int):
    return queries.get_transfer_in_scope(current_user, transfer_id)


@bp.post("/adjustments")
@permission_required("stock.write")
@api_operation(summary="Adjust one lot with a reason (damaged, expired, lost, found, correction)", tags=["stock"],
               body=AdjustInputSchema, response=OperationSchema, status=201)
def adjust(body):
    facility = get_facility_in_scope(current_user, body["facility_id"])
    lot = services.get_lot(body["lot_id"])
    created = _is_new(body["idempotency_key"])
    operation = services.adjust(facility, lot, qty_delta=body["qty_delta_base"], reason=body["reason"],
                                note=body["note"], user=current_user, key=body["idempotency_key"])
    return _written(OperationSchema, operation, created)


@bp.post("/stocktakes")
@permission_required("stock.write")
@api_operation(summary="Post a stocktake: counted − recorded as one movement per lot that differs", tags=["stock"],
               body=StocktakeInputSchema, response=OperationSchema, status=201)
def stocktake(body):
    facility = get_facility_in_scope(current_user, body["facility_id"])
    counts = {c["lot_id"]: c["counted_base"] for c in body["counts"]}
    for lot_id in counts:
        services.get_lot(lot_id)
    created = _is_new(body["idempotency_key"])
    operation = services.stocktake(facility, counts, note=body["note"], user=current_user,
                                   key=body["idempotency_key"])
    return _written(OperationSchema, operation, created)


@bp.post("/expiry-write-offs")
@permission_required("stock.write")
@api_operation(summary="Write off every expired lot at a facility", tags=["stock"], body=WriteOffInputSchema,
               response=OperationSchema, status=201)
def write_off_expired(body):
    facility = get_facility_in_scope(current_user, body["facility_id"])
    created = _is_new(body["idempotency_key"])
    operation = services.write_off_expired(facility, user=current_user, key=body["idempotency_key"])
    return _written(OperationSchema, operation, created)


@bp.put("/policies")
@permission_required("stock.write")
@api_operation(summary="Set min and max stock (months, optionally base units) of a product at a facility",
               tags=["stock"], body=PolicyInputSchema, response=PolicySchema)
def set_policy(body):
    facility = get_facility_in_scope(current_user, body["facility_id"])
    product = get_product(body["product_id"])
    return services.set_policy(facility, product, min_months=body["min_months"], max_months=body["max_months"],
                               min_qty_base=body["min_qty_base"], max_qty_base=body["max_qty_base"],
                               user=current_user)
