"""What people do with goods on the move, one function per action, for the pages and the API alike.

Each takes the acting user and a command its input schema (`schemas.py`) loaded; consignments and transfers come
loaded in scope (`auth.policy.load_in_scope`). The rules stay in `services.py` (dispatch, proof of delivery) and
`policy.py` (which lots may travel); see `pharmacy/operations.py` for the pattern.
"""

from __future__ import annotations

from ..auth.policy import get_facility_in_scope, scope_root
from ..catalog.services import get_product
from ..facilities.models import Facility, Tier
from ..facilities.services import facilities_under
from ..inventory import queries as stock_queries
from ..inventory import services as stock
from ..inventory.consumption import to_base_units
from ..inventory.models import Transfer, TransferStatus
from . import policy, services
from .models import Consignment


def _goods(line: dict) -> services.GoodsRequest:
    product = get_product(line["product_id"])
    lot = stock.get_lot(line["lot_id"], product) if line.get("lot_id") is not None else None
    return services.GoodsRequest(product, to_base_units(line["qty"], line["unit"], product.pack_size), lot)


def send_by_hand(user, source: Facility, command: dict) -> tuple[Consignment, bool]:
    """A manual transfer from `source`: to a facility in the user's scope or the source's own parent; in transit
    until signed for, or handed over in person (`in_transit` false). A retry with the key returns the first."""
    destination = stock.transfer_destination(user, source, command["to_facility_id"])
    return services.send_by_hand(source, destination, [_goods(line) for line in command["lines"]], user=user,
                                 key=command["idempotency_key"], note=command.get("note", ""),
                                 handed_over=not command.get("in_transit", True))


def transfer_form(user, source: Facility) -> dict:
    """What the manual-transfer form offers: the source's stock and where it may go."""
    destinations = [f for f in facilities_under(scope_root(user), active_only=True) if f.id != source.id]
    if source.parent is not None and source.parent not in destinations:
        destinations.insert(0, source.parent)
    return {"products": stock_queries.products_in_stock(source.id),
            "lots": stock_queries.lots_on_hand([source.id]), "destinations": destinations}


def transfers_of(user, facility: Facility) -> dict:
    """Goods that left or reach a facility, and which of those in transit the user may sign for ('own'/'proxy')."""
    items = stock_queries.transfers_for(facility.id)
    sign_rights = {t.id: services.may_sign(user, services.consignment_of_transfer(t)) for t in items
                   if t.status == TransferStatus.IN_TRANSIT}
    return {"transfers": items, "sign_rights": sign_rights,
            "products": stock_queries.products_by_id(line.product_id for t in items for line in t.lines)}


def _received(lines: list[dict]) -> dict[int, services.ReceivedLine]:
    return {line["line_id"]: services.ReceivedLine(line["qty_base_received"], line.get("reason", ""),
                                                   line.get("note", "")) for line in lines}


def receive_transfer(user, transfer: Transfer, command: dict) -> Consignment:
    """Sign for a transfer by its ledger lines; only the lines that differ are listed, each with a reason."""
    return services.receive_transfer(transfer, _received(command.get("lines", [])), user=user,
                                     key=command["idempotency_key"], proxy_reason=command.get("proxy_reason", ""))


def consignments(user, query: dict) -> list[Consignment]:
    """Consignments into (`in`) or out of (`out`) a facility the user may see, newest first."""
    facility = get_facility_in_scope(user, query["facility_id"])
    return services.consignments_of(facility.id, direction=query["direction"], status=query["status"])


def receive(user, consignment: Consignment, command: dict) -> Consignment:
    """Sign for a consignment line by line (proof of delivery)."""
    return services.receive(consignment, _received(command.get("lines", [])), user=user,
                            signer_name=command.get("signer_name", ""), proxy_reason=command.get("proxy_reason", ""),
                            note=command.get("note", ""), key=command.get("idempotency_key"))


def dispatch_policy() -> dict:
    """The dispatch policy in force: the near-expiry window and the transit days it counts."""
    current = policy.current()
    return {"near_expiry_days": current.near_expiry_days, "shipment_transit_days": current.shipment_transit_days,
            "onward_delivery_days": current.onward_delivery_days, "village_run_days": current.leg_days(Tier.VILLAGE)}
