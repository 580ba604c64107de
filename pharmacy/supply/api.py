"""API: goods on the move. Manual transfers keep their /api/v1/stock/transfers addresses; every consignment
(county→township shipment, township→village delivery stop, manual transfer) is readable and receivable under
/api/v1/consignments with one proof-of-delivery rule.

Writes carry an `idempotency_key`: a repeat with the same key answers 200 with the first result and books nothing.
"""

from flask import jsonify
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import get_facility_in_scope, permission_required
from ..catalog.services import get_product
from ..facilities.models import Tier
from ..inventory import queries as stock_queries
from ..inventory import services as stock
from ..inventory.consumption import to_base_units
from ..inventory.schemas import TransferSchema
from . import policy, services
from .schemas import (ConsignmentQuerySchema, ConsignmentReceiveInputSchema, ConsignmentSchema, DispatchPolicySchema,
                      TransferInputSchema, TransferReceiveInputSchema)

bp = api_blueprint("supply_api", __name__, "/stock")
consignments_bp = api_blueprint("consignments_api", __name__, "/consignments")
settings_bp = api_blueprint("settings_api", __name__, "/settings")


def _received(lines) -> dict[int, services.ReceivedLine]:
    return {line["line_id"]: services.ReceivedLine(line["qty_base_received"], line["reason"], line["note"])
            for line in lines}


@bp.post("/transfers")
@permission_required("stock.write")
@api_operation(summary="Send goods to another facility (in transit until received, or handed over at once)",
               tags=["stock"], body=TransferInputSchema, response=TransferSchema, status=201,
               description="Lots must stay usable for the dispatch policy's near-expiry window after arrival "
                           "(409 `near_expiry` otherwise); FEFO picks among lots that may travel.")
def send_transfer(body):
    source = get_facility_in_scope(current_user, body["from_facility_id"])
    destination = stock.transfer_destination(current_user, source, body["to_facility_id"])
    requests = []
    for line in body["lines"]:
        product = get_product(line["product_id"])
        lot = stock.get_lot(line["lot_id"], product) if line["lot_id"] is not None else None
        requests.append(services.GoodsRequest(product, to_base_units(line["qty"], line["unit"], product.pack_size),
                                              lot))
    consignment, created = services.send_by_hand(source, destination, requests, user=current_user,
                                                 key=body["idempotency_key"], note=body["note"],
                                                 handed_over=not body["in_transit"])
    return jsonify(TransferSchema().dump(consignment.transfer)), 201 if created else 200


@bp.post("/transfers/<int:transfer_id>/receive")
@permission_required("stock.write")
@api_operation(summary="Receive a transfer; list only the lines that differ from what was sent", tags=["stock"],
               body=TransferReceiveInputSchema, response=TransferSchema,
               description="Only a user of the receiving facility signs; a township user may sign for one of its "
                           "villages with `proxy_reason` (recorded as a proxy receipt).")
def receive_transfer(transfer_id: int, body):
    transfer = stock_queries.get_transfer_in_scope(current_user, transfer_id)
    services.receive_transfer(transfer, _received(body["lines"]), user=current_user, key=body["idempotency_key"],
                              proxy_reason=body["proxy_reason"])
    return transfer


@consignments_bp.get("")
@permission_required("stock.read")
@api_operation(summary="Consignments into or out of a facility, newest first", tags=["supply"],
               query=ConsignmentQuerySchema, response=ConsignmentSchema, many=True)
def list_consignments(query):
    facility = get_facility_in_scope(current_user, query["facility_id"])
    return services.consignments_of(facility.id, direction=query["direction"], status=query["status"])


@consignments_bp.get("/<int:consignment_id>")
@permission_required("stock.read")
@api_operation(summary="One consignment with its lines and proof of delivery", tags=["supply"],
               response=ConsignmentSchema)
def get_consignment(consignment_id: int):
    return services.get_consignment(current_user, consignment_id)


@consignments_bp.post("/<int:consignment_id>/receive")
@permission_required("stock.read")
@api_operation(summary="Sign for a consignment line by line (proof of delivery)", tags=["supply"],
               body=ConsignmentReceiveInputSchema, response=ConsignmentSchema,
               description="List only the lines that differ, each with a reason from the one receipt vocabulary. "
                           "The signer belongs to the destination; a user of its parent facility may sign with "
                           "`proxy_reason` (403 otherwise).")
def receive_consignment(consignment_id: int, body):
    consignment = services.get_consignment(current_user, consignment_id)
    return services.receive(consignment, _received(body["lines"]), user=current_user,
                            signer_name=body["signer_name"], proxy_reason=body["proxy_reason"], note=body["note"],
                            key=body["idempotency_key"])


@settings_bp.get("/policy")
@api_operation(summary="The dispatch policy: the near-expiry window and the transit days it counts", tags=["supply"],
               response=DispatchPolicySchema,
               description="Read-only (set by the deployment: PHARMACY_NEAR_EXPIRY_DAYS, PHARMACY_SHIPMENT_TRANSIT_DAYS, "
                           "PHARMACY_ONWARD_DELIVERY_DAYS). Shipments, runs and transfers refuse a lot that expires "
                           "before departure + transit (+ the onward wait) + the window (409 `near_expiry`).")
def dispatch_policy():
    current = policy.current()
    return {"near_expiry_days": current.near_expiry_days, "shipment_transit_days": current.shipment_transit_days,
            "onward_delivery_days": current.onward_delivery_days, "village_run_days": current.leg_days(Tier.VILLAGE)}
