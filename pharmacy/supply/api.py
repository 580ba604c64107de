"""API: goods on the move. Manual transfers keep their /api/v1/stock/transfers addresses; every consignment
(county→township shipment, township→village delivery stop, manual transfer) is readable and receivable under
/api/v1/consignments with one proof-of-delivery rule.

Writes carry an `idempotency_key`, the sender's own: a repeat with the same key answers 200 with the first result
and books nothing (also when it races the first); the same key asking for other goods is 409.
"""

from flask import jsonify
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import get_facility_in_scope, load_in_scope, permission_required
from ..inventory.models import Transfer
from ..inventory.schemas import TransferSchema
from . import operations
from .models import Consignment
from .schemas import (ConsignmentQuerySchema, ConsignmentReceiveInputSchema, ConsignmentSchema, DispatchPolicySchema,
                      TransferInputSchema, TransferReceiveInputSchema)

bp = api_blueprint("supply_api", __name__, "/stock")
consignments_bp = api_blueprint("consignments_api", __name__, "/consignments")
settings_bp = api_blueprint("settings_api", __name__, "/settings")


@bp.post("/transfers")
@permission_required("stock.write")
@api_operation(summary="Send goods to another facility (in transit until received, or handed over at once)",
               tags=["stock"], body=TransferInputSchema, response=TransferSchema, status=201,
               description="Lots must stay usable for the dispatch policy's near-expiry window after arrival "
                           "(409 `near_expiry` otherwise); FEFO picks among lots that may travel. `in_transit: false` "
                           "(handed over, booked at once) only when the sender may sign for the destination, else "
                           "422 `handover_not_allowed`: a facility's stock grows only on its own signature.")
def send_transfer(body):
    source = get_facility_in_scope(current_user, body["from_facility_id"])
    consignment, created = operations.send_by_hand(current_user, source, body)
    return jsonify(TransferSchema().dump(consignment.transfer)), 201 if created else 200


@bp.post("/transfers/<int:transfer_id>/receive")
@permission_required("stock.write")
@api_operation(summary="Receive a transfer; list only the lines that differ from what was sent", tags=["stock"],
               body=TransferReceiveInputSchema, response=TransferSchema,
               description="Only a user of the receiving facility signs; a township user may sign for one of its "
                           "villages with `proxy_reason` (recorded as a proxy receipt).")
def receive_transfer(transfer_id: int, body):
    transfer = load_in_scope(current_user, Transfer, transfer_id)
    operations.receive_transfer(current_user, transfer, body)
    return transfer


@consignments_bp.get("")
@permission_required("stock.read")
@api_operation(summary="Consignments into or out of a facility, newest first", tags=["supply"],
               query=ConsignmentQuerySchema, response=ConsignmentSchema, many=True)
def list_consignments(query):
    return operations.consignments(current_user, query)


@consignments_bp.get("/<int:consignment_id>")
@permission_required("stock.read")
@api_operation(summary="One consignment with its lines and proof of delivery", tags=["supply"],
               response=ConsignmentSchema)
def get_consignment(consignment_id: int):
    return load_in_scope(current_user, Consignment, consignment_id)


@consignments_bp.post("/<int:consignment_id>/receive")
@permission_required("stock.read")
@api_operation(summary="Sign for a consignment line by line (proof of delivery)", tags=["supply"],
               body=ConsignmentReceiveInputSchema, response=ConsignmentSchema,
               description="List only the lines that differ, each with a reason from the one receipt vocabulary. "
                           "The signer belongs to the destination; a user of its parent facility may sign with "
                           "`proxy_reason` (403 otherwise).")
def receive_consignment(consignment_id: int, body):
    return operations.receive(current_user, load_in_scope(current_user, Consignment, consignment_id), body)


@settings_bp.get("/policy")
@api_operation(summary="The dispatch policy: the near-expiry window and the transit days it counts", tags=["supply"],
               response=DispatchPolicySchema,
               description="Read-only (set by the deployment: PHARMACY_NEAR_EXPIRY_DAYS, PHARMACY_SHIPMENT_TRANSIT_DAYS, "
                           "PHARMACY_ONWARD_DELIVERY_DAYS). Shipments, runs and transfers refuse a lot that expires "
                           "before departure + transit (+ the onward wait) + the window (409 `near_expiry`).")
def dispatch_policy():
    return operations.dispatch_policy()
