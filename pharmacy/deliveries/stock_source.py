"""Where delivery planning and the nightly jobs read stock levels from.

`stock_status_for_planning` stands in for `pharmacy.inventory.queries.stock_status(facility_ids, product_ids=None)`
until that query lands; point this one function at it then. It returns the same facts per facility × product
(on hand, AMC, months of stock, min/max, status), in base units.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select

from ..extensions import db
from ..facilities.models import Facility, Tier
from ..inventory.models import MovementKind, StockBalance, StockMovement, StockPolicy
from ..models_base import utcnow

AMC_MONTHS = 3
# Tier defaults, in months of stock, where a facility has no policy for a product.
DEFAULT_MONTHS = {Tier.VILLAGE: (1, 2), Tier.TOWNSHIP: (2, 3), Tier.COUNTY: (2, 4)}


@dataclass(frozen=True)
class StockStatusRow:
    facility_id: int
    product_id: int
    on_hand: int
    amc: float
    months_of_stock: float | None
    min_qty: int
    max_qty: int
    status: str  # stockout | below_min | ok | above_max


def stock_status_for_planning(facility_ids, product_ids=None) -> list[StockStatusRow]:
    """Stock status of every product each facility holds, consumes or has a policy for (adapter; see module doc).

    AMC = dispensed base units over the last three months ÷ 3. Min/max = the facility's policy (absolute or in
    months of AMC), else the tier default in months.
    """
    facility_ids = list(facility_ids)
    if not facility_ids:
        return []
    since = utcnow() - timedelta(days=30 * AMC_MONTHS)

    def scoped(stmt, model):
        stmt = stmt.where(model.facility_id.in_(facility_ids))
        return stmt.where(model.product_id.in_(list(product_ids))) if product_ids is not None else stmt

    on_hand = {(f, p): int(q) for f, p, q in db.session.execute(scoped(
        select(StockBalance.facility_id, StockBalance.product_id, func.sum(StockBalance.qty_base))
        .group_by(StockBalance.facility_id, StockBalance.product_id), StockBalance))}
    dispensed = {(f, p): -int(q) for f, p, q in db.session.execute(scoped(
        select(StockMovement.facility_id, StockMovement.product_id, func.sum(StockMovement.qty_base))
        .where(StockMovement.kind == MovementKind.DISPENSE, StockMovement.created_at >= since)
        .group_by(StockMovement.facility_id, StockMovement.product_id), StockMovement))}
    policies = {(p.facility_id, p.product_id): p for p in db.session.scalars(scoped(select(StockPolicy),
                                                                                     StockPolicy))}
    tiers = dict(db.session.execute(select(Facility.id, Facility.tier).where(Facility.id.in_(facility_ids))).all())

    rows = []
    for facility_id, product_id in sorted(set(on_hand) | set(dispensed) | set(policies)):
        qty = on_hand.get((facility_id, product_id), 0)
        amc = dispensed.get((facility_id, product_id), 0) / AMC_MONTHS
        policy = policies.get((facility_id, product_id))
        min_months, max_months = DEFAULT_MONTHS[Tier(tiers[facility_id])]
        if policy is not None:
            min_months, max_months = Decimal(policy.min_months), Decimal(policy.max_months)
        min_qty = round(float(min_months) * amc)
        max_qty = round(float(max_months) * amc)
        if policy is not None and policy.min_qty_base is not None:
            min_qty = policy.min_qty_base
        if policy is not None and policy.max_qty_base is not None:
            max_qty = policy.max_qty_base
        months = qty / amc if amc > 0 else None
        if qty <= 0 and (amc > 0 or min_qty > 0):
            status = "stockout"
        elif qty < min_qty:
            status = "below_min"
        elif max_qty and qty > max_qty:
            status = "above_max"
        else:
            status = "ok"
        rows.append(StockStatusRow(facility_id, product_id, qty, amc, months, min_qty, max(max_qty, min_qty),
                                   status))
    return rows
