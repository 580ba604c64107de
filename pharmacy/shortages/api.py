"""API: shortage registrations (缺药登记) under /api/v1/shortages.

A registration carries a `client_id` made on the device (the sender's own: per user and facility): the first
request answers 201, a resend of the same registration answers 200 with the one already recorded, so a tablet that
lost the answer can simply retry; the same id with another request is refused (409).
A name typed instead of a product gets the matching engine's proposals (`/proposals`, the tablet's one-tap
confirm); what stays free text waits in `/free-text` until the township names its product (`/<id>/product`).
"""

from flask import jsonify
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import load_in_scope, permission_required
from . import operations
from .models import Shortage
from .schemas import (AcknowledgedSchema, AcknowledgeManySchema, CancelSchema, FreeTextItemSchema, FreeTextQuerySchema,
                      GroupQuerySchema, GroupSchema, NoteSchema, PickItemSchema, ProposalQuerySchema, ProposalSchema,
                      ResolveProductSchema, ShortageDetailSchema, ShortageInputSchema, ShortageQuerySchema,
                      ShortageSchema, TransitionSchema)

bp = api_blueprint("shortages_api", __name__, "/shortages")


def _shortage(shortage_id: int) -> Shortage:
    return load_in_scope(current_user, Shortage, shortage_id)


@bp.post("")
@permission_required("shortage.register")
@api_operation(summary="Register a shortage (idempotent on client_id)", tags=["shortages"], body=ShortageInputSchema,
               response=ShortageSchema, status=201,
               description="The `client_id` is the sender's: the same id from another user or for another facility "
                           "is another registration. A resend with the same request answers 200 with the one "
                           "recorded (also when it races the first); the same id with another product, quantity, "
                           "urgency, reason or note is 409 `idempotency_key_reused` and nothing is written.")
def register(body):
    shortage, created = operations.register(current_user, body)
    return jsonify(ShortageSchema().dump(shortage)), 201 if created else 200


@bp.get("")
@permission_required("shortage.read")
@api_operation(summary="Registrations the caller may see, newest first", tags=["shortages"],
               query=ShortageQuerySchema, response=ShortageSchema, many=True)
def list_shortages(query):
    return operations.list_shortages(current_user, query)


@bp.get("/by-product")
@permission_required("shortage.read")
@api_operation(summary="Open registrations grouped by product with totals, emergencies first", tags=["shortages"],
               query=GroupQuerySchema, response=GroupSchema, many=True)
def open_by_product(query):
    return operations.open_groups(current_user, query["facility_id"])


@bp.get("/products")
@permission_required("shortage.register")
@api_operation(summary="Products the caller's facility may register (compact, for the tablet's offline search)",
               tags=["shortages"], response=PickItemSchema, many=True)
def registrable_products():
    return operations.registrable_products(current_user)


@bp.get("/proposals")
@permission_required("shortage.register")
@api_operation(summary="Products the matching engine proposes for a name typed instead of a product",
               tags=["shortages"], query=ProposalQuerySchema, response=ProposalSchema,
               description="For the tablet's one-tap confirm: products the facility's tier may stock, matched with "
                           "brand names and the local names its township has confirmed. No products: register the "
                           "text as typed.")
def proposals(query):
    return operations.propose(current_user, query)


@bp.get("/free-text")
@permission_required("shortage.read")
@api_operation(summary="Open free-text registrations waiting for a product, with proposals", tags=["shortages"],
               query=FreeTextQuerySchema, response=FreeTextItemSchema, many=True)
def free_text(query):
    return operations.free_text_items(current_user, query["facility_id"], limit=query["limit"])


@bp.get("/<int:shortage_id>")
@permission_required("shortage.read")
@api_operation(summary="One registration with its history", tags=["shortages"], response=ShortageDetailSchema)
def get_shortage(shortage_id: int):
    return _shortage(shortage_id)


@bp.post("/<int:shortage_id>/acknowledge")
@permission_required("shortage.manage")
@api_operation(summary="Acknowledge a registration", tags=["shortages"], body=NoteSchema,
               response=ShortageDetailSchema)
def acknowledge(shortage_id: int, body):
    return operations.acknowledge(current_user, _shortage(shortage_id), body)


@bp.post("/<int:shortage_id>/cancel")
@permission_required("shortage.manage")
@api_operation(summary="Cancel a registration (reason required)", tags=["shortages"], body=CancelSchema,
               response=ShortageDetailSchema)
def cancel(shortage_id: int, body):
    return operations.cancel(current_user, _shortage(shortage_id), body)


@bp.post("/<int:shortage_id>/product")
@permission_required("shortage.manage")
@api_operation(summary="Name the product a free-text registration asks for (409 when it already names one)",
               tags=["shortages"], body=ResolveProductSchema, response=ShortageDetailSchema,
               description="From then on the registration is ordered and delivered by product. With learn_alias "
                           "(default) the text is learnt as a local name of the registration's township.")
def resolve_product(shortage_id: int, body):
    return operations.resolve_product(current_user, _shortage(shortage_id), body)


@bp.post("/<int:shortage_id>/transition")
@permission_required("shortage.manage")
@api_operation(summary="Acknowledge or cancel a registration (409 for any other status)",
               tags=["shortages"], body=TransitionSchema, response=ShortageDetailSchema,
               description="ordered, dispatched and delivered follow the registration's goods (orders, consignments "
                           "and their receipts) and cannot be set by hand: 409 `derived_status`.")
def move(shortage_id: int, body):
    return operations.transition(current_user, _shortage(shortage_id), body)


@bp.post("/acknowledge")
@permission_required("shortage.manage")
@api_operation(summary="Acknowledge several registrations at once (those still only registered)", tags=["shortages"],
               body=AcknowledgeManySchema, response=AcknowledgedSchema)
def acknowledge_many(body):
    return {"acknowledged": operations.acknowledge_many(current_user, body)}
