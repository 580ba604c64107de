"""Replenishment need (max level − on hand − in transit) for the order builder.

The arithmetic is pure. `stock_levels` is the one adapter that reads the database, through the stock domain's
`stock_status` (its AMC rule, tier-default months and facility policies).
"""

from dataclasses import dataclass, field
from datetime import datetime


def replenishment_need_base(max_level: int, on_hand: int, in_transit: int) -> int:
    """What to order to reach the max level: max level − on hand − in transit, never negative."""
    return max(0, max_level - on_hand - in_transit)


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
    keyed by (facility id, product id), from the stock domain's `stock_status` (its AMC rule, its min/max months
    and policies). Usable stock counts: expired lots do not cover a need."""
    from ..inventory.queries import stock_status

    ids = [f.id for f in facilities]
    if not ids:
        return {}
    return {(row.facility_id, row.product_id): StockLevel(on_hand=row.usable, in_transit=row.in_transit,
                                                          amc=row.amc or 0.0, max_level=row.max_base or 0)
            for row in stock_status(ids, as_of=as_of)}
