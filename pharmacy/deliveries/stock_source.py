"""Where delivery planning and the nightly jobs read stock levels from: the stock domain's `stock_status`
(its AMC rule, tier-default months and facility policies), in the shape planning needs, in base units."""

from dataclasses import dataclass

from ..inventory.consumption import StockStatus
from ..inventory.queries import stock_status

# The alert vocabulary of this domain for the stock domain's statuses.
STATUS_NAMES = {StockStatus.STOCK_OUT: "stockout", StockStatus.BELOW_MIN: "below_min", StockStatus.OK: "ok",
                StockStatus.ABOVE_MAX: "above_max"}


@dataclass(frozen=True)
class StockStatusRow:
    facility_id: int
    product_id: int
    on_hand: int
    in_transit: int
    amc: float
    months_of_stock: float | None
    min_qty: int
    max_qty: int
    status: str  # stockout | below_min | ok | above_max


def stock_status_for_planning(facility_ids, product_ids=None) -> list[StockStatusRow]:
    """Stock status of every product each facility holds, consumes, awaits or has a policy for.

    On hand is usable (unexpired) stock; a level the AMC cannot tell yet (too little history) counts as 0.
    """
    facility_ids = list(facility_ids)
    if not facility_ids:
        return []
    rows = []
    for row in stock_status(facility_ids, product_ids):
        min_qty, max_qty = row.min_base or 0, row.max_base or 0
        rows.append(StockStatusRow(row.facility_id, row.product_id, row.usable, row.in_transit, row.amc or 0.0,
                                   row.months_of_stock, min_qty, max(max_qty, min_qty), STATUS_NAMES[row.status]))
    return rows
