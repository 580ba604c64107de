"""Replenishment suggestions for the order builder; each level's need (max − on hand − in transit) is the stock
domain's `StockLevel.need_base`.

The arithmetic is pure. `stock_levels` is the one adapter that reads the database, through the stock domain's
`stock_status` (its AMC rule, tier-default months and facility policies).
"""

from datetime import datetime

from ..inventory.consumption import StockLevel


def suggest_packs(*, shortage_packs: int, township_need_packs: int, village_need_packs: int,
                  on_order_packs: int) -> int:
    """Packs to propose for one product of a township order.

    The top-up brings the township and its villages to their max level, less what is already on order; the open
    shortage registrations are served within it, unless they ask for more than the top-up.
    """
    top_up = max(0, township_need_packs + village_need_packs - on_order_packs)
    return max(shortage_packs, top_up)


def stock_levels(facilities, *, as_of: datetime | None = None) -> dict[tuple[int, int], StockLevel]:
    """Stock level of every product with stock, consumption, goods in transit or a policy at these facilities,
    keyed by (facility id, product id), from the stock domain's `stock_status` (its AMC rule, its min/max months
    and policies). Usable stock counts: expired lots do not cover a need."""
    from ..inventory.queries import stock_status

    ids = [f.id for f in facilities]
    if not ids:
        return {}
    return {(row.facility_id, row.product_id): StockLevel(row.product_id, on_hand_base=row.usable,
                                                          in_transit_base=row.in_transit, amc_base=row.amc or 0.0,
                                                          min_base=row.min_base or 0, max_base=row.max_base or 0)
            for row in stock_status(ids, as_of=as_of)}
