"""How scarce central stock is shared between orders: a pure rule, tested without a database.

Rule (shown to users as `RULE_TEXT`):
1. Urgency classes are served in turn: emergency, then urgent, then routine; a class is served in full before
   the next one gets anything.
2. Within a class, when stock does not cover every line, each line gets a share proportional to its need
   (largest-remainder rounding in whole packs; equal remainders go to the earlier submission).
3. Lots are taken first-expiry-first-out, skipping lots that expire within the destination's near-expiry window.
What a line does not get is back-ordered.
"""

from dataclasses import dataclass, field
from datetime import date

from ..inventory.fefo import LotStock, Pick
from ..vocabulary import AllocationRule, Urgency


RULE_FULL = AllocationRule.FULL
RULE_PRO_RATA = AllocationRule.PRO_RATA
RULE_PARTIAL = AllocationRule.PARTIAL
RULE_NONE = AllocationRule.NONE


@dataclass(frozen=True)
class Demand:
    """Packs one order line still needs from one product's central stock."""

    demand_id: int
    product_id: int
    qty_packs: int
    urgency: str = "routine"
    # Lots must expire after this date to be sent (today + the destination's near-expiry window).
    usable_after: date = date.min
    # Tie-break between equal claims: earlier submission first.
    sequence: tuple = ()


@dataclass
class Allotment:
    demand_id: int
    qty_packs: int = 0
    picks: list[Pick] = field(default_factory=list)
    rule: str = RULE_FULL
    # Stock existed but every remaining lot expired within the destination's window.
    near_expiry_skipped: bool = False

    @property
    def qty_base(self) -> int:
        return sum(p.qty_base for p in self.picks)


def largest_remainder(needs: list[tuple[int, int]], supply: int) -> dict[int, int]:
    """Share `supply` units over `needs` [(id, need)] in proportion to need, in whole units.

    Floors first, then one more unit to the largest remainders; equal remainders go to the earlier entry.
    """
    total = sum(need for _id, need in needs)
    if supply >= total:
        return {key: need for key, need in needs}
    shares, remainders = {}, []
    for index, (key, need) in enumerate(needs):
        shares[key], remainder = divmod(need * supply, total)
        remainders.append((-remainder, index, key))
    for _rem, _index, key in sorted(remainders)[:supply - sum(shares.values())]:
        shares[key] += 1
    return shares


def _usable(lot: LotStock, demand: Demand) -> bool:
    return lot.expiry_date > demand.usable_after


def allocate_product(demands: list[Demand], lots: list[LotStock], pack_size: int) -> dict[int, Allotment]:
    """Share one product's lots between demands by the rule above; returns an allotment per demand."""
    pack_size = max(int(pack_size), 1)
    remaining = {lot.lot_id: lot.qty_base for lot in lots if lot.qty_base > 0}
    fefo = sorted((lot for lot in lots if lot.lot_id in remaining),
                  key=lambda lot: (lot.expiry_date, lot.qty_base, lot.lot_id))
    result = {d.demand_id: Allotment(d.demand_id) for d in demands}

    def packs_available(demand: Demand) -> int:
        return sum(remaining[lot.lot_id] for lot in fefo if _usable(lot, demand)) // pack_size

    def take(demand: Demand, packs: int) -> None:
        wanted = packs * pack_size
        allotment = result[demand.demand_id]
        for lot in fefo:
            if wanted == 0:
                break
            if not _usable(lot, demand) or remaining[lot.lot_id] == 0:
                continue
            qty = min(remaining[lot.lot_id], wanted)
            remaining[lot.lot_id] -= qty
            wanted -= qty
            allotment.picks.append(Pick(lot.lot_id, qty, lot.expiry_date, lot.lot_number))
        allotment.qty_packs += packs

    ranks = sorted({Urgency.rank_of(d.urgency) for d in demands})
    for rank in ranks:
        members = sorted((d for d in demands if Urgency.rank_of(d.urgency) == rank and d.qty_packs > 0),
                         key=lambda d: (d.sequence, d.demand_id))
        unmet = {d.demand_id: d.qty_packs for d in members}
        while True:
            open_demands = [d for d in members if unmet[d.demand_id] > 0 and packs_available(d) > 0]
            if not open_demands:
                break
            pool = sum(remaining[lot.lot_id] for lot in fefo
                       if any(_usable(lot, d) for d in open_demands)) // pack_size
            needs = [(d.demand_id, unmet[d.demand_id]) for d in open_demands]
            if sum(n for _i, n in needs) > pool and len(open_demands) > 1:
                for d in open_demands:
                    result[d.demand_id].rule = RULE_PRO_RATA
            shares = largest_remainder(needs, pool)
            progress = 0
            # The least demanding window first: it can use the early lots the others must skip.
            for d in sorted(open_demands, key=lambda d: (d.usable_after, d.sequence, d.demand_id)):
                packs = min(shares[d.demand_id], packs_available(d))
                if packs:
                    take(d, packs)
                    unmet[d.demand_id] -= packs
                    progress += packs
            if progress == 0:
                break
    for d in demands:
        allotment = result[d.demand_id]
        if allotment.qty_packs == 0 and d.qty_packs > 0:
            allotment.rule = RULE_NONE
        elif allotment.qty_packs >= d.qty_packs:
            allotment.rule = RULE_FULL
        elif allotment.qty_packs < d.qty_packs and allotment.rule == RULE_FULL:
            allotment.rule = RULE_PARTIAL
        if allotment.qty_packs < d.qty_packs:
            allotment.near_expiry_skipped = any(qty > 0 and not _usable(lot, d)
                                                for lot in fefo for qty in [remaining[lot.lot_id]])
    return result


def allocate(demands: list[Demand], lots_by_product: dict[int, list[LotStock]],
             pack_sizes: dict[int, int]) -> dict[int, Allotment]:
    """Allocate every product's demands from its lots; returns an allotment per demand id."""
    by_product: dict[int, list[Demand]] = {}
    for demand in demands:
        by_product.setdefault(demand.product_id, []).append(demand)
    result: dict[int, Allotment] = {}
    for product_id, product_demands in by_product.items():
        result.update(allocate_product(product_demands, lots_by_product.get(product_id, []),
                                       pack_sizes.get(product_id, 1)))
    return result
