"""Replenishment need (max level − on hand − in transit) for the order builder.

The arithmetic is pure. `stock_levels` is the one adapter that reads the database: it computes the average monthly
consumption from dispense movements of the last three months and the tier-default maximum (or a facility's stock
policy). When `pharmacy.inventory.queries.stock_status` exists, point `stock_levels` at it and keep the rest.
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from ..extensions import db
from ..inventory.models import (MovementKind, StockBalance, StockMovement, StockPolicy, Transfer, TransferLine,
                                TransferStatus)
from ..models_base import utcnow

AMC_MONTHS = 3
AMC_WINDOW_DAYS = 91
# Months of stock by tier (min, max): a village keeps 1–2 months, a township 2–3, the county 3–4.
TIER_MONTHS = {"village": (1, 2), "township": (2, 3), "county": (3, 4)}


def average_monthly_consumption(dispensed_base: int, months: int = AMC_MONTHS) -> float:
    """Base units used per month on average over `months` months."""
    if months <= 0:
        raise ValueError("months must be positive")
    return max(dispensed_base, 0) / months


def max_level_base(amc: float, max_months: float) -> int:
    """The stock a facility should hold after replenishment, in base units (rounded up)."""
    return math.ceil(round(amc * max_months, 6)) if amc > 0 and max_months > 0 else 0


def replenishment_need_base(max_level: int, on_hand: int, in_transit: int) -> int:
    """What to order to reach the max level: max level − on hand − in transit, never negative."""
    return max(0, max_level - on_hand - in_transit)


def packs_for(qty_base: int, pack_size: int) -> int:
    """Whole packs that cover `qty_base` base units."""
    if qty_base <= 0:
        return 0
    return -(-qty_base // max(pack_size, 1))


def suggest_packs(*, shortage_packs: int, township_need_packs: int, village_need_packs: int,
                  on_order_packs: int) -> int:
    """Packs to propose for one product of a township order.

    The top-up brings the township and its villages to their max level, less what is already on order; the open
    shortage registrations are served within it, unless they ask for more than the top-up.
    """
    top_up = max(0, township_need_packs + village_need_packs - on_order_packs)
    return max(shortage_packs, top_up)


@dataclass(frozen=True)
class StockLevel:
    on_hand: int = 0
    in_transit: int = 0
    amc: float = 0.0
    max_level: int = 0
    need_base: int = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "need_base", replenishment_need_base(self.max_level, self.on_hand, self.in_transit))


def stock_levels(facilities, *, as_of: datetime | None = None) -> dict[tuple[int, int], StockLevel]:
    """Stock level of every product with stock, consumption, goods in transit or a policy at these facilities,
    keyed by (facility id, product id). Four grouped queries, whatever the number of products."""
    ids = [f.id for f in facilities]
    tiers = {f.id: f.tier for f in facilities}
    if not ids:
        return {}
    since = (as_of or utcnow()) - timedelta(days=AMC_WINDOW_DAYS)
    on_hand = {(f, p): int(q) for f, p, q in db.session.execute(
        select(StockBalance.facility_id, StockBalance.product_id, func.sum(StockBalance.qty_base))
        .where(StockBalance.facility_id.in_(ids)).group_by(StockBalance.facility_id, StockBalance.product_id))}
    dispensed = {(f, p): -int(q) for f, p, q in db.session.execute(
        select(StockMovement.facility_id, StockMovement.product_id, func.sum(StockMovement.qty_base))
        .where(StockMovement.facility_id.in_(ids), StockMovement.kind == MovementKind.DISPENSE,
               StockMovement.created_at >= since)
        .group_by(StockMovement.facility_id, StockMovement.product_id))}
    in_transit = {(f, p): int(q) for f, p, q in db.session.execute(
        select(Transfer.to_facility_id, TransferLine.product_id, func.sum(TransferLine.qty_base_sent))
        .join(Transfer, Transfer.id == TransferLine.transfer_id)
        .where(Transfer.to_facility_id.in_(ids), Transfer.status == TransferStatus.IN_TRANSIT)
        .group_by(Transfer.to_facility_id, TransferLine.product_id))}
    policies = {(f, p): (mx, mq) for f, p, mx, mq in db.session.execute(
        select(StockPolicy.facility_id, StockPolicy.product_id, StockPolicy.max_months, StockPolicy.max_qty_base)
        .where(StockPolicy.facility_id.in_(ids)))}
    levels = {}
    for key in set(on_hand) | set(dispensed) | set(in_transit) | set(policies):
        amc = average_monthly_consumption(dispensed.get(key, 0))
        max_months, max_qty = policies.get(key, (None, None))
        if max_qty is not None:
            level = int(max_qty)
        else:
            months = float(max_months) if max_months is not None else TIER_MONTHS[tiers[key[0]]][1]
            level = max_level_base(amc, months)
        levels[key] = StockLevel(on_hand=on_hand.get(key, 0), in_transit=in_transit.get(key, 0), amc=amc,
                                 max_level=level)
    return levels
