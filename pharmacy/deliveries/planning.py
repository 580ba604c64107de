"""Planning the lines of one delivery run: a pure function over plain inputs, no Flask and no database.

Order of service, for the stops of one run sharing one township's stock:
1. open shortage registrations of the villages, most urgent first across the whole run (emergency, urgent,
   routine; then the oldest);
2. replenishment of products below the village's min level: first every such product up to its min, most
   depleted first (fewest months of stock), then up to its max in the same order, so scarce stock lifts every
   village above min before any village is filled to max;
3. each quantity is taken from the township's lots first-expiry-first-out, never from a lot expiring on or
   before `usable_after` (the departure plus the near-expiry window), and only for products the village's tier
   may stock. Replenishment is rounded up to whole packs; what the township cannot cover is a shortfall.
"""

from dataclasses import dataclass, field
from datetime import date, datetime
from math import inf

from ..catalog.rules import may_stock, packs_for
from ..facilities.models import Tier
from ..inventory.consumption import StockLevel, months_of_stock
from ..inventory.fefo import LotStock, choose_lots_fefo
from ..vocabulary import ShortfallReason, Urgency  # noqa: F401


@dataclass(frozen=True)
class ProductInfo:
    product_id: int
    lowest_tier: str
    pack_size: int
    is_active: bool = True


@dataclass(frozen=True)
class ShortageNeed:
    shortage_id: int
    product_id: int | None
    qty_base: int
    urgency: str
    registered_at: datetime


@dataclass
class StopNeeds:
    village_id: int
    position: int
    tier: str = Tier.VILLAGE
    shortages: list[ShortageNeed] = field(default_factory=list)
    levels: list[StockLevel] = field(default_factory=list)


@dataclass
class PlannedLine:
    village_id: int
    product_id: int
    lot_id: int
    lot_number: str
    expiry_date: date
    qty_base: int = 0
    qty_for_shortages_base: int = 0
    shortage_ids: list[int] = field(default_factory=list)
    level: StockLevel | None = None

    @property
    def qty_for_replenish_base(self) -> int:
        return self.qty_base - self.qty_for_shortages_base

@dataclass(frozen=True)
class Shortfall:
    village_id: int
    product_id: int | None
    qty_base: int
    source: str
    reason: str
    shortage_id: int | None = None


@dataclass
class Plan:
    lines: list[PlannedLine] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)

    def lines_for(self, village_id: int) -> list[PlannedLine]:
        return [line for line in self.lines if line.village_id == village_id]

    def shortfalls_for(self, village_id: int) -> list[Shortfall]:
        return [s for s in self.shortfalls if s.village_id == village_id]


class _Allocator:
    """The township's lots as they are drawn down while the plan is built."""

    def __init__(self, township_lots: dict[int, list[LotStock]], usable_after: date):
        self.lots = {pid: {lot.lot_id: lot for lot in lots} for pid, lots in township_lots.items()}
        self.usable_after = usable_after

    def take(self, product_id: int, qty_base: int) -> tuple[list, int]:
        lots = self.lots.get(product_id, {})
        picks, short = choose_lots_fefo(list(lots.values()), qty_base, usable_after=self.usable_after)
        for pick in picks:
            lot = lots[pick.lot_id]
            lots[pick.lot_id] = LotStock(lot.lot_id, lot.expiry_date, lot.qty_base - pick.qty_base, lot.lot_number)
        return picks, short


def plan_delivery(stops: list[StopNeeds], products: dict[int, ProductInfo], township_lots: dict[int, list[LotStock]],
                  *, usable_after: date) -> Plan:
    """Compute the lines of one run: shortages by urgency, then min/max replenishment, FEFO from township stock."""
    plan = Plan()
    allocator = _Allocator(township_lots, usable_after)
    lines: dict[tuple[int, int, int], PlannedLine] = {}
    planned_qty: dict[tuple[int, int], int] = {}
    stop_by_village = {stop.village_id: stop for stop in stops}
    levels = {(stop.village_id, level.product_id): level for stop in stops for level in stop.levels}

    def allocate(village_id: int, product_id: int, qty_base: int, *, shortage_id: int | None = None) -> int:
        picks, short = allocator.take(product_id, qty_base)
        for pick in picks:
            key = (village_id, product_id, pick.lot_id)
            line = lines.get(key)
            if line is None:
                line = lines[key] = PlannedLine(village_id, product_id, pick.lot_id, pick.lot_number,
                                                pick.expiry_date, level=levels.get((village_id, product_id)))
            line.qty_base += pick.qty_base
            if shortage_id is not None:
                line.qty_for_shortages_base += pick.qty_base
                if shortage_id not in line.shortage_ids:
                    line.shortage_ids.append(shortage_id)
            planned_qty[(village_id, product_id)] = planned_qty.get((village_id, product_id), 0) + pick.qty_base
        return short

    def refusal(stop: StopNeeds, product_id: int | None) -> str | None:
        if product_id is None or product_id not in products:
            return ShortfallReason.NO_PRODUCT
        product = products[product_id]
        if not product.is_active:
            return ShortfallReason.INACTIVE
        if not may_stock(stop.tier, product.lowest_tier):
            return ShortfallReason.TIER_NOT_ALLOWED
        return None

    # 1. Shortage registrations, most urgent first across the run.
    needs = [(stop, need) for stop in stops for need in stop.shortages]
    needs.sort(key=lambda sn: (Urgency.rank_of(sn[1].urgency), sn[1].registered_at,
                               sn[1].shortage_id))
    for stop, need in needs:
        reason = refusal(stop, need.product_id)
        if reason is not None:
            plan.shortfalls.append(Shortfall(stop.village_id, need.product_id, need.qty_base, "shortage", reason,
                                             need.shortage_id))
            continue
        short = allocate(stop.village_id, need.product_id, need.qty_base, shortage_id=need.shortage_id)
        if short:
            plan.shortfalls.append(Shortfall(stop.village_id, need.product_id, short, "shortage",
                                             ShortfallReason.NO_STOCK, need.shortage_id))

    # 2. Replenishment of levels below min: everyone to min first, then to max.
    candidates = []
    for stop in stops:
        for level in stop.levels:
            if refusal(stop, level.product_id) is not None or level.min_base <= 0:
                continue
            position = level.on_hand_base + level.in_transit_base + planned_qty.get((stop.village_id,
                                                                                     level.product_id), 0)
            if position < level.min_base:
                months = months_of_stock(position, level.amc_base)  # None: no consumption, so last
                candidates.append((inf if months is None else months, stop.position, stop, level))
    candidates.sort(key=lambda c: (c[0], c[1], c[3].product_id))
    unmet: dict[tuple[int, int], int] = {}
    for target in ("min", "max"):
        for _months, _position, stop, level in candidates:
            key = (stop.village_id, level.product_id)
            if key in unmet:
                continue  # the township already ran out of this product for this village
            position = level.on_hand_base + level.in_transit_base + planned_qty.get(key, 0)
            goal = level.min_base if target == "min" else max(level.max_base, level.min_base)
            if position >= goal:
                continue
            pack_size = max(1, products[level.product_id].pack_size)
            qty = packs_for(goal - position, pack_size) * pack_size
            short = allocate(stop.village_id, level.product_id, qty)
            if short:
                unmet[key] = max(level.max_base, level.min_base) - (position + qty - short)
    for (village_id, product_id), qty in unmet.items():
        plan.shortfalls.append(Shortfall(village_id, product_id, qty, "replenish", ShortfallReason.NO_STOCK))

    plan.lines = sorted(lines.values(), key=lambda line: stop_by_village[line.village_id].position)
    return plan
