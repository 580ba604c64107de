"""Delivery runs follow their stops' consignments: a stop is received when its village signed for the goods.
Runs also tell supply which consignments are their stops (`supply.links`) and stock status what planned runs
hold at the township (`inventory.holds`)."""

from sqlalchemy import func, select

from .. import events
from ..inventory import holds
from ..supply import links
from ..extensions import db
from . import services
from .models import PENDING_RUN_STATUSES, DeliveryLine, DeliveryRun, DeliveryStop


@events.consignment_received.connect
def on_consignment_received(consignment, **_extra):
    stop = db.session.scalar(select(DeliveryStop).where(DeliveryStop.consignment_id == consignment.id))
    if stop is not None:
        services.record_receipt(stop)


@links.register_resolver
def stops_of_consignments(consignment_ids: list[int]) -> dict[int, dict[str, int]]:
    rows = db.session.execute(select(DeliveryStop.consignment_id, DeliveryStop.id, DeliveryStop.run_id)
                              .where(DeliveryStop.consignment_id.in_(consignment_ids)))
    return {cid: {"delivery_stop_id": stop_id, "delivery_run_id": run_id} for cid, stop_id, run_id in rows}


def reserved_stock(facility_ids: list[int], product_ids: list[int]) -> dict[tuple[int, int], int]:
    """Township stock planned on runs that have not left yet, per township and product."""
    rows = db.session.execute(
        select(DeliveryRun.township_id, DeliveryLine.product_id, func.sum(DeliveryLine.qty_base))
        .join(DeliveryStop, DeliveryStop.id == DeliveryLine.stop_id)
        .join(DeliveryRun, DeliveryRun.id == DeliveryStop.run_id)
        .where(DeliveryRun.status.in_(PENDING_RUN_STATUSES), DeliveryRun.township_id.in_(facility_ids),
               DeliveryLine.product_id.in_(product_ids))
        .group_by(DeliveryRun.township_id, DeliveryLine.product_id))
    return {(facility_id, product_id): int(qty or 0) for facility_id, product_id, qty in rows}


holds.register(holds.RESERVED, reserved_stock)
