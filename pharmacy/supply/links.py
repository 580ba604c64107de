"""What each consignment is, seen from the domain whose side it carries: a delivery run's stop, a unified order's
shipment. Supply owns consignments but knows nothing of runs or orders; those domains register a resolver here
(in their `handlers.py`), and the API shows the links on consignments and on the ledger's transfers."""

from collections.abc import Callable

# Resolver: consignment ids → {consignment id: {link field: id}} for the consignments the domain owns.
Resolver = Callable[[list[int]], dict[int, dict[str, int]]]

LINK_FIELDS = ("delivery_stop_id", "delivery_run_id", "order_id", "shipment_id")
_resolvers: list[Resolver] = []


def register_resolver(resolver: Resolver) -> Resolver:
    """Declare how a domain finds its side of consignments (usable as a decorator)."""
    if resolver not in _resolvers:
        _resolvers.append(resolver)
    return resolver


def links_of(consignment_ids: list[int]) -> dict[int, dict[str, int | None]]:
    """For each consignment id, every link field: the id of the stop, run, order or shipment it is, else None."""
    found = {cid: dict.fromkeys(LINK_FIELDS) for cid in consignment_ids if cid is not None}
    if not found:
        return found
    for resolve in _resolvers:
        for consignment_id, links in resolve(list(found)).items():
            found[consignment_id].update(links)
    return found


def link_of(consignment_id: int | None) -> dict[str, int | None]:
    if consignment_id is None:
        return dict.fromkeys(LINK_FIELDS)
    return links_of([consignment_id])[consignment_id]


def consignment_of_transfer(transfer_id: int) -> dict | None:
    """The consignment a ledger transfer belongs to, with its kind, status and links; None when it has none."""
    from sqlalchemy import select

    from ..extensions import db
    from .models import Consignment

    consignment = db.session.scalar(select(Consignment).where(Consignment.transfer_id == transfer_id))
    if consignment is None:
        return None
    return {"id": consignment.id, "kind": consignment.kind, "status": consignment.status,
            **link_of(consignment.id)}
