"""API: stock positions, lots, stock cards and every stock write under /api/v1/stock.

Writes carry an `idempotency_key`, the sender's own (per user and facility): the first request answers 201, a
repeat with the same key and request answers 200 with the first result and records nothing (also when it races the
first), the same key with another request 409 `idempotency_key_reused`.
"""

from flask import jsonify
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import get_facility_in_scope, load_in_scope, permission_required
from ..catalog.services import get_product
from . import operations
from .models import AdjustmentRequest, Transfer
from .schemas import (AdjustInputSchema, AdjustmentDecisionInputSchema, AdjustmentRequestQuerySchema,
                      AdjustmentRequestSchema, CardQuerySchema, DispenseInputSchema, LotQuerySchema, LotStockSchema,
                      OperationSchema, PolicyInputSchema, PolicySchema, ReceiptInputSchema, StatusQuerySchema,
                      StockCardSchema, StockStatusSchema, StocktakeInputSchema,
                      TransferQuerySchema, TransferSchema, WriteOffInputSchema)

bp = api_blueprint("stock_api", __name__, "/stock")


def _written(result: tuple) -> tuple:
    operation, created = result
    return jsonify(OperationSchema().dump(operation)), 201 if created else 200


def _facility(body: dict):
    return get_facility_in_scope(current_user, body["facility_id"])


@bp.get("/status")
@permission_required("stock.read")
@api_operation(summary="Stock position per facility × product: on hand, set aside, AMC, months of stock, min/max, "
                       "status", tags=["stock"], query=StatusQuerySchema, response=StockStatusSchema, many=True,
               description="The stock pages' list (filtered and ordered in the database), whole: by facility id, "
                           "then product id.")
def stock_status(query):
    return operations.stock_status(current_user, query)


@bp.get("/facilities/<int:facility_id>/lots")
@permission_required("stock.read")
@api_operation(summary="Lots on hand at a facility, earliest expiry first", tags=["stock"], query=LotQuerySchema,
               response=LotStockSchema, many=True)
def facility_lots(facility_id: int, query):
    return operations.lots(get_facility_in_scope(current_user, facility_id), query["product_id"])


@bp.get("/facilities/<int:facility_id>/products/<int:product_id>/card")
@permission_required("stock.read")
@api_operation(summary="Stock card: movements of one product with the running balance", tags=["stock"],
               query=CardQuerySchema, response=StockCardSchema)
def stock_card(facility_id: int, product_id: int, query):
    return operations.stock_card(get_facility_in_scope(current_user, facility_id), get_product(product_id),
                                 limit=query["limit"])


@bp.post("/receipts")
@permission_required("stock.write")
@api_operation(summary="Receive goods into stock (creates the lot if new)", tags=["stock"], body=ReceiptInputSchema,
               response=OperationSchema, status=201,
               description="`lot_number` and `expiry_date` are required: missing, empty or blank is 422 with "
                           "必填 at the field; an expiry not written YYYY-MM-DD is 422 with 有效期格式应为 YYYY-MM-DD.")
def receive(body):
    return _written(operations.receive(current_user, _facility(body), body))


@bp.post("/dispenses")
@permission_required("stock.write")
@api_operation(summary="Dispense to patients: FEFO over unexpired lots unless a lot is named", tags=["stock"],
               body=DispenseInputSchema, response=OperationSchema, status=201)
def dispense(body):
    return _written(operations.dispense(current_user, _facility(body), body))


@bp.get("/transfers")
@permission_required("stock.read")
@api_operation(summary="Transfers into or out of a facility, newest first", tags=["stock"],
               query=TransferQuerySchema, response=TransferSchema, many=True)
def list_transfers(query):
    return operations.transfers(current_user, query)


@bp.get("/transfers/<int:transfer_id>")
@permission_required("stock.read")
@api_operation(summary="One transfer", tags=["stock"], response=TransferSchema)
def get_transfer(transfer_id: int):
    return load_in_scope(current_user, Transfer, transfer_id)


@bp.post("/adjustments")
@permission_required("stock.write")
@api_operation(summary="Adjust one lot with a reason (damaged, expired, lost, found, correction)", tags=["stock"],
               body=AdjustInputSchema, response=OperationSchema, status=201,
               description="Up to `PHARMACY_ADJUSTMENT_APPROVAL_PACKS` whole packs (default 20, either way) the "
                           "adjustment is booked: 201 with the operation (200 on a replay). Above it nothing is "
                           "booked: 202 with the pending adjustment request (an `AdjustmentRequest`, 200 on a "
                           "replay) that another user with stock rights at the facility or above approves or "
                           "rejects (`/api/v1/stock/adjustment-requests/{id}/approve|reject`). Adding stock of a "
                           "product the facility's tier may not hold is 422 `tier_not_allowed`.")
def adjust(body):
    operation, pending, created = operations.adjust(current_user, _facility(body), body)
    if pending is not None:
        return jsonify(AdjustmentRequestSchema().dump(pending)), 202 if created else 200
    return _written((operation, created))


@bp.get("/adjustment-requests")
@permission_required("stock.read")
@api_operation(summary="Adjustment requests of a facility (large adjustments awaiting or after approval)",
               tags=["stock"], query=AdjustmentRequestQuerySchema, response=AdjustmentRequestSchema, many=True)
def list_adjustment_requests(query):
    return operations.adjustment_requests(current_user, query)


@bp.get("/adjustment-requests/<int:request_id>")
@permission_required("stock.read")
@api_operation(summary="One adjustment request", tags=["stock"], response=AdjustmentRequestSchema)
def get_adjustment_request(request_id: int):
    return load_in_scope(current_user, AdjustmentRequest, request_id)


@bp.post("/adjustment-requests/<int:request_id>/approve")
@permission_required("stock.write")
@api_operation(summary="Approve a pending adjustment: it is booked now", tags=["stock"],
               body=AdjustmentDecisionInputSchema, response=AdjustmentRequestSchema,
               description="By a user other than the one who asked (403 `same_person`), with stock rights at the "
                           "facility or above; a request already decided is 409 `already_decided`.")
def approve_adjustment_request(request_id: int, body):
    request = load_in_scope(current_user, AdjustmentRequest, request_id, for_update=True)
    return operations.decide_adjustment(current_user, request, body, approve=True)


@bp.post("/adjustment-requests/<int:request_id>/reject")
@permission_required("stock.write")
@api_operation(summary="Reject a pending adjustment (with a reason): nothing is booked", tags=["stock"],
               body=AdjustmentDecisionInputSchema, response=AdjustmentRequestSchema,
               description="`note` is required (422). Same rules as approving.")
def reject_adjustment_request(request_id: int, body):
    request = load_in_scope(current_user, AdjustmentRequest, request_id, for_update=True)
    return operations.decide_adjustment(current_user, request, body, approve=False)


@bp.post("/stocktakes")
@permission_required("stock.write")
@api_operation(summary="Post a stocktake: counted − recorded as one movement per lot that differs", tags=["stock"],
               body=StocktakeInputSchema, response=OperationSchema, status=201,
               description="A lot whose count differs from the book by more than `PHARMACY_ADJUSTMENT_APPROVAL_PACKS` "
                           "packs refuses the whole count (409 `approval_required`, the lot named in `fields`): "
                           "submit that difference as an adjustment, which waits for a second person's approval. "
                           "Counting up a product the facility's tier may not hold is 422 `tier_not_allowed`.")
def stocktake(body):
    return _written(operations.stocktake(current_user, _facility(body), body))


@bp.post("/expiry-write-offs")
@permission_required("stock.write")
@api_operation(summary="Write off every expired lot at a facility", tags=["stock"], body=WriteOffInputSchema,
               response=OperationSchema, status=201)
def write_off_expired(body):
    return _written(operations.write_off_expired(current_user, _facility(body), body))


@bp.put("/policies")
@permission_required("stock.write")
@api_operation(summary="Set min and max stock (months, optionally base units) of a product at a facility",
               tags=["stock"], body=PolicyInputSchema, response=PolicySchema)
def set_policy(body):
    return operations.set_policy(current_user, _facility(body), body)
