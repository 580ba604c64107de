"""Orders follow their shipments: when the township signs for a consignment that carries an order, the order's
lines book what arrived and the order closes once everything sent has arrived. Orders also tell supply which
consignments are their shipments (`supply.links`), stock status what allocations set aside (`inventory.holds`) and
purchasing what waits for stock (`purchasing.demand`); a goods receipt at the central pharmacy releases back-orders."""

from sqlalchemy import func, select

from .. import events
from ..inventory import holds
from ..purchasing import demand
from ..supply import links
from ..extensions import db
from . import fulfilment
from .models import Allocation, Shipment
from ..inventory.models import Lot


@events.consignment_received.connect
def on_consignment_received(consignment, **_extra):
    shipment = db.session.scalar(select(Shipment).where(Shipment.consignment_id == consignment.id))
    if shipment is not None:
        fulfilment.record_receipt(shipment)


@links.register_resolver
def shipments_of_consignments(consignment_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = db.session.execute(select(Shipment.consignment_id, Shipment.id, Shipment.order_id)
                              .where(Shipment.consignment_id.in_(consignment_ids)))
    return {cid: {"shipment_id": shipment_id, "order_id": order_id} for cid, shipment_id, order_id in rows}


def allocated_stock(facility_ids: list[int], product_ids: list[int]) -> dict[tuple[int, int], int]:
    """Central stock allocated to order lines and not shipped yet, per facility and product."""
    rows = db.session.execute(
        select(Allocation.source_facility_id, Lot.product_id, func.sum(Allocation.qty_base))
        .join(Lot, Lot.id == Allocation.lot_id)
        .where(Allocation.shipment_id.is_(None), Allocation.source_facility_id.in_(facility_ids),
               Lot.product_id.in_(product_ids))
        .group_by(Allocation.source_facility_id, Lot.product_id))
    return {(facility_id, product_id): int(qty or 0) for facility_id, product_id, qty in rows}


holds.register(holds.ALLOCATED, allocated_stock)


@events.goods_received.connect
def on_goods_received(receipt, *, facility, product_ids, user, **_extra):
    """New central stock goes to the back-orders of those products first, by the allocation rule."""
    fulfilment.release_backorders(facility, product_ids, user)


@demand.register
def backordered_packs(central) -> list[tuple[object, int]]:
    return [(line.product, line.qty_packs_backordered) for line in fulfilment.backordered_lines(central)]
