"""Demo data for stock: the central pharmacy's opening stock, monthly issues to the townships, monthly village
supplies from their township (a few missed) and three months of dispensing at every village, so consumption, stock
levels and the dashboard's figures look like a real county's.

Events are generated, sorted by time and replayed through a small in-memory ledger, then written with bulk inserts
(a few statements for thousands of rows) so the whole demo seeds in seconds; every balance row is the sum of its
movements and every movement's running balance follows the time order.
"""

import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import joinedload

from .. import clock
from ..catalog.models import Product, ProductStatus
from ..extensions import db
from ..inventory.models import (
    Lot,
    MovementKind,
    StockBalance,
    StockMovement,
    StockOperation,
    Transfer,
    TransferLine,
    TransferStatus,
)

if TYPE_CHECKING:
    from .seed import DemoCounty

log = logging.getLogger(__name__)

HISTORY_DAYS = 95
HISTORY_VILLAGES = 6
MANUFACTURERS = ["华北制药", "石药集团", "扬子江药业", "齐鲁制药", "白云山", "国药集团", "修正药业", "天士力"]


@dataclass(frozen=True)
class _Lot:
    id: int
    product_id: int
    expiry_date: date


class _Ledger:
    """Operations, transfers and movements in time order, with each facility × lot's running balance."""

    def __init__(self, lots: dict[int, list[_Lot]]):
        self.lots = lots
        self.operations: list[dict] = []
        self.transfers: list[dict] = []
        self.lines: list[dict] = []
        self.movements: list[dict] = []
        self.balances: dict[tuple[int, int], int] = defaultdict(int)
        self.products: dict[tuple[int, int], int] = {}

    def _operation(self, key: str, kind: str, facility_id: int, user_id, at: datetime, note: str = "") -> int:
        self.operations.append({"idempotency_key": key, "kind": kind, "facility_id": facility_id, "user_id": user_id,
                                "note": note, "created_at": at})
        return len(self.operations) - 1

    def _post(self, op: int, facility_id: int, lot: _Lot, qty: int, kind: str, user_id, at, note: str = "",
              transfer: int | None = None) -> None:
        key = (facility_id, lot.id)
        self.balances[key] += qty
        assert self.balances[key] >= 0, "demo history would go below zero"
        self.products[key] = lot.product_id
        self.movements.append({"_op": op, "_transfer": transfer, "facility_id": facility_id,
                               "product_id": lot.product_id, "lot_id": lot.id, "qty_base": qty,
                               "balance_after": self.balances[key], "kind": kind, "reason": "", "note": note,
                               "user_id": user_id, "created_at": at})

    def _fefo(self, facility_id: int, product_id: int, wanted: int, today: date) -> list[tuple[_Lot, int]]:
        picks = []
        for lot in self.lots[product_id]:  # sorted by expiry
            have = self.balances.get((facility_id, lot.id), 0)
            if wanted <= 0:
                break
            if have > 0 and lot.expiry_date > today:
                picks.append((lot, min(have, wanted)))
                wanted -= min(have, wanted)
        return picks

    def usable(self, facility_id: int, product_id: int, day: date) -> int:
        """Base units of `product_id` the facility holds in lots unexpired on `day`."""
        return sum(self.balances.get((facility_id, lot.id), 0) for lot in self.lots[product_id]
                   if lot.expiry_date > day)

    def receive(self, facility, user_id, items: list[tuple[_Lot, int]], at, key: str, note: str) -> None:
        op = self._operation(key, MovementKind.RECEIPT, facility.id, user_id, at, note)
        for lot, qty in items:
            self._post(op, facility.id, lot, qty, MovementKind.RECEIPT, user_id, at, note)

    def transfer(self, source, destination, user_id, wanted: list[tuple[Product, int]], at, key: str) -> int:
        """Send what the source has (FEFO, never more); both sides post at once. Returns base units sent."""
        picks = [pick for product, qty in wanted for pick in self._fefo(source.id, product.id, qty, at.date())]
        if not picks:
            return 0
        self.transfers.append({"from_facility_id": source.id, "to_facility_id": destination.id,
                               "status": TransferStatus.RECEIVED, "ref_type": "", "note": "配送", "sent_by_id": user_id,
                               "sent_at": at, "received_by_id": user_id, "received_at": at})
        transfer = len(self.transfers) - 1
        out = self._operation(key, MovementKind.TRANSFER_OUT, source.id, user_id, at)
        into = self._operation(f"{key}:in", MovementKind.TRANSFER_IN, destination.id, user_id, at)
        for lot, qty in picks:
            self.lines.append({"_transfer": transfer, "product_id": lot.product_id, "lot_id": lot.id,
                               "qty_base_sent": qty, "qty_base_received": qty, "ref_type": ""})
            self._post(out, source.id, lot, -qty, MovementKind.TRANSFER_OUT, user_id, at, transfer=transfer)
            self._post(into, destination.id, lot, qty, MovementKind.TRANSFER_IN, user_id, at, transfer=transfer)
        return sum(qty for _lot, qty in picks)

    def dispense(self, facility, user_id, wanted: list[tuple[Product, int]], at, key: str) -> None:
        picks = [pick for product, qty in wanted for pick in self._fefo(facility.id, product.id, qty, at.date())]
        if picks:
            op = self._operation(key, MovementKind.DISPENSE, facility.id, user_id, at)
            for lot, qty in picks:
                self._post(op, facility.id, lot, -qty, MovementKind.DISPENSE, user_id, at)

    def write(self) -> None:
        if not self.operations:
            return
        op_ids = db.session.scalars(insert(StockOperation).returning(StockOperation.id, sort_by_parameter_order=True),
                                    self.operations).all()
        transfer_ids = db.session.scalars(insert(Transfer).returning(Transfer.id, sort_by_parameter_order=True),
                                          self.transfers).all() if self.transfers else []
        # Core inserts of the tables (not the ORM's bulk path, which handles each row in Python) for the big ones.
        if self.lines:
            db.session.execute(insert(TransferLine.__table__), [
                {**{k: v for k, v in line.items() if k != "_transfer"}, "transfer_id": transfer_ids[line["_transfer"]]}
                for line in self.lines])
        rows = []
        for m in self.movements:
            transfer = m["_transfer"]
            rows.append({**{k: v for k, v in m.items() if not k.startswith("_")}, "operation_id": op_ids[m["_op"]],
                         "ref_type": "transfer" if transfer is not None else "",
                         "ref_id": transfer_ids[transfer] if transfer is not None else None})
        db.session.execute(insert(StockMovement.__table__), rows)
        now = clock.now_utc()
        db.session.execute(insert(StockBalance.__table__), [
            {"facility_id": f, "lot_id": lot_id, "product_id": self.products[(f, lot_id)], "qty_base": qty,
             "updated_at": now} for (f, lot_id), qty in self.balances.items()])


def _make_lots(rng: random.Random, products: list[Product]) -> dict[int, list[_Lot]]:
    """Three lots per product, expiring from next month to three years out (one product in eight has a lot near
    expiry on purpose)."""
    today = clock.today()
    rows = []
    for product in products:
        for n in range(3):
            days = rng.choices([rng.randint(40, 85), rng.randint(200, 500), rng.randint(500, 1000)],
                               weights=[1, 3, 4])[0] if n == 0 else rng.randint(250, 1100)
            rows.append({"product_id": product.id, "lot_number": f"{today:%y}{rng.randint(1, 12):02d}{n}"
                                                                  f"{rng.randint(100, 999)}",
                         "expiry_date": today + timedelta(days=days), "manufacturer": rng.choice(MANUFACTURERS),
                         "created_at": clock.now_utc()})
    ids = db.session.scalars(insert(Lot).returning(Lot.id, sort_by_parameter_order=True), rows).all()
    lots: dict[int, list[_Lot]] = defaultdict(list)
    for lot_id, row in zip(ids, rows, strict=True):
        lots[row["product_id"]].append(_Lot(lot_id, row["product_id"], row["expiry_date"]))
    for product_lots in lots.values():
        product_lots.sort(key=lambda lot: lot.expiry_date)
    return lots


# The county's village list (村卫生室基本用药): the chronic-disease medicines every village point is meant to hold —
# these become the county's tracer products — and the common acute medicines most of them keep. Codes of the 2018
# formulary; with a smaller formulary (tests) the first village-tier products stand in.
VILLAGE_CHRONIC = ["X170-01", "X147-03", "X161-02", "X162-03", "X154-01", "X242-02", "X175-01", "X165-01", "X280-02",
                   "X281-01", "X283-01", "X286-01", "X078-06", "X188-02", "X144-01", "Z115-01"]
VILLAGE_COMMON = ["X006-04", "X077-01", "X079-02", "X228-01", "X360-03", "X196-01", "X303-01", "X011-04", "X029-01",
                  "X213-04", "X352-01", "X192-01", "X019-01", "X230-01", "X222-01"]
SUPPLY_EVERY_DAYS = 30  # villages are supplied from their township about monthly, ...
SUPPLY_COVER_DAYS = 38  # ... topped up to a little more than a month's use
DISPENSE_EVERY_DAYS = 14  # dispensing is posted daily at the HISTORY_VILLAGES, in fortnightly totals elsewhere
# The share of a village's monthly supplies that do not come (the township ran short, the road was out, the order was
# forgotten): one township does worse. A pair left out of the last supply is out of stock today.
MISSED_SUPPLY = (0.08, 0.22)
MISSED_SUPPLY_WORST = 0.4


def _village_list(products: list[Product], codes: list[str], chronic: bool, size: int) -> list[Product]:
    by_code = {p.code: p for p in products}
    chosen = [by_code[c] for c in codes if c in by_code]
    if len(chosen) < min(len(codes), 3):  # not the 2018 formulary: the first suitable products stand in
        chosen = [p for p in products if bool(p.drug.chronic_tags) == chronic][:size]
    return chosen


@dataclass
class _VillagePlan:
    """What one village point holds, how much of each it uses a day, and which monthly supplies it misses."""

    village: object
    doctor_id: int | None
    daily: dict[int, int]  # product id → base units a day
    products: list[Product]
    missed: set[tuple[int, int]]  # (supply round, product id)
    dispenses_daily: bool


def seed_demo_stock(demo: "DemoCounty") -> None:
    """Give the demo county stock and three months of history: monthly supplies down the chain, dispensing at every
    village, a few supplies missed (so some villages are out of some tracer products) and some stock near expiry."""
    products = list(db.session.scalars(select(Product).where(Product.status == ProductStatus.ACTIVE)
                                       .options(joinedload(Product.drug)).order_by(Product.code)))
    if not products:
        log.warning("demo stock skipped: the formulary is empty (run `flask catalog load` first)")
        return
    rng = random.Random(4)
    village_tier = [p for p in products if p.lowest_tier == "village"]
    chronic = [p for p in village_tier if p.drug.chronic_tags] or village_tier
    village_chronic = _village_list(village_tier, VILLAGE_CHRONIC, True, 16)
    village_common = [p for p in _village_list(village_tier, VILLAGE_COMMON, False, 15) if p not in village_chronic]
    ledger = _Ledger(_make_lots(rng, products))
    now = clock.now_utc()
    events: list[tuple[datetime, int, object]] = []  # (time, tie-breaker, action)

    def at(days_ago: float, hour: int = 9) -> datetime:
        return (now - timedelta(days=days_ago)).replace(hour=hour, minute=rng.randint(0, 59), second=0)

    def event(when: datetime, action) -> None:
        events.append((when, len(events), action))

    # Village supply rounds, oldest first: about monthly from three months back; township issues a few days before.
    rounds = list(range(HISTORY_DAYS + 9, 0, -SUPPLY_EVERY_DAYS))
    plans: dict[int, list[_VillagePlan]] = {}
    worst = rng.randrange(len(demo.townships)) if demo.townships else -1
    history_left = HISTORY_VILLAGES
    for t_index, township in enumerate(demo.townships, start=1):
        missed_share = MISSED_SUPPLY_WORST if t_index - 1 == worst else rng.uniform(*MISSED_SUPPLY)
        plans[township.id] = []
        for v_index, village in enumerate(demo.villages[township.id], start=1):
            held = village_chronic + rng.sample(village_common, k=min(len(village_common), rng.randint(2, 4)))
            daily = {p.id: rng.randint(2, 10) if p in village_chronic else rng.randint(1, 4) for p in held}
            missed = {(n, p.id) for n in range(1, len(rounds)) for p in held if rng.random() < missed_share}
            dispenses_daily = bool(history_left) and (t_index == 1 or v_index == 1)
            history_left -= dispenses_daily
            plans[township.id].append(_VillagePlan(village, getattr(demo.users.get(f"t{t_index:02d}v{v_index:02d}"),
                                                                   "id", None), daily, held, missed, dispenses_daily))

    def village_need(p: Product) -> int:
        """Base units the county's villages use of `p` in one supply round."""
        return sum(plan.daily.get(p.id, 0) for township_plans in plans.values() for plan in township_plans) \
            * SUPPLY_COVER_DAYS

    central, county_user = demo.central_pharmacy, getattr(demo.users.get("county"), "id", None)
    village_list = set(village_chronic) | set(village_common)
    held_centrally = [p for p in products
                      if p in chronic or p in village_list or rng.random() < (0.9 if p in village_tier else 0.5)]

    # Chronic-disease products move in bulk; the village list is bought for the quarter's village use.
    def opening_packs(p: Product, lots: int) -> int:
        if p in village_list:
            return -(-village_need(p) * (len(rounds) + 1) // (p.pack_size * lots))
        return rng.randint(1500, 3000) if p in chronic else rng.randint(60, 240)

    def opening(p: Product) -> list[tuple[_Lot, int]]:
        lots = ledger.lots[p.id][-rng.randint(2, 3):]
        return [(lot, opening_packs(p, len(lots)) * p.pack_size) for lot in lots]

    opened = at(rounds[0] + 8)  # before the first township issue
    event(opened, lambda: ledger.receive(central, county_user, [item for p in held_centrally for item in opening(p)],
                                         opened, "demo:opening:central", "期初库存"))

    township_pool = [p for p in held_centrally if p.lowest_tier in ("village", "township")]
    for t_index, township in enumerate(demo.townships, start=1):
        user = getattr(demo.users.get(f"t{t_index:02d}"), "id", None)
        carried = sorted(set(chronic) | village_list | {p for p in township_pool if rng.random() < 0.3},
                         key=lambda p: p.code)
        for n, days in enumerate(rounds):
            when = at(days + 4, 10)
            wanted = []
            for p in carried:
                need = sum(plan.daily.get(p.id, 0) for plan in plans[township.id]) * SUPPLY_COVER_DAYS
                if need:  # what its villages will need this round, and a little over
                    wanted.append((p, -(-need * 5 // (4 * p.pack_size)) * p.pack_size))
                elif n % 2 == 0:  # the rest for the health centre itself, every other month
                    wanted.append((p, rng.randint(*((20, 60) if n == 0 else (5, 15))) * p.pack_size))
            event(when, lambda s=township, w=wanted, t=when, u=user, k=f"demo:issue:{township.code}:{n}":
                  ledger.transfer(central, s, u, w, t, k))

    for t_index, township in enumerate(demo.townships, start=1):
        pharmacist = getattr(demo.users.get(f"t{t_index:02d}"), "id", None)
        for plan in plans[township.id]:
            _village_history(rng, event, at, ledger, township, plan, pharmacist, rounds)

    for _when, _n, action in sorted(events, key=lambda e: (e[0], e[1])):
        action()
    ledger.write()
    db.session.flush()
    log.info("demo stock: %s operations, %s transfers, %s movements, %s balances", len(ledger.operations),
             len(ledger.transfers), len(ledger.movements), len(ledger.balances))


def _village_history(rng, event, at, ledger: _Ledger, township, plan: _VillagePlan, pharmacist,
                     rounds: list[int]) -> None:
    """Monthly top-ups from the township (less the ones missed) and the village's dispensing: every day at the few
    villages whose consumption the stock pages show in detail, in fortnightly totals elsewhere (a month's totals
    for the acute medicines)."""
    village = plan.village

    def top_up(n: int, when: datetime) -> list[tuple[Product, int]]:
        wanted = []
        for p in plan.products:
            short = plan.daily[p.id] * SUPPLY_COVER_DAYS - ledger.usable(village.id, p.id, when.date())
            if (n, p.id) not in plan.missed and short > 0:
                wanted.append((p, -(-short // p.pack_size) * p.pack_size))
        return wanted

    for n, days in enumerate(rounds):
        when = at(days + rng.uniform(-1, 1), 11)
        event(when, lambda n=n, t=when, k=f"demo:supply:{village.code}:{n}":
              ledger.transfer(township, village, pharmacist, top_up(n, t), t, k))
    chronic = [p for p in plan.products if p.drug.chronic_tags]
    steps = [(1, plan.products)] if plan.dispenses_daily else [
        (DISPENSE_EVERY_DAYS, chronic), (2 * DISPENSE_EVERY_DAYS, [p for p in plan.products if p not in chronic])]
    for step, products in steps:
        for day in range(rounds[0] - step, 0, -step):  # each posting is the use of the `step` days before it
            if step == 1 and rng.random() < 0.15:  # the clinic is shut some days
                continue
            when = at(day, rng.randint(12, 17))
            wanted = [(p, max(1, int(plan.daily[p.id] * step * rng.uniform(0.7, 1.3)))) for p in products]
            event(when, lambda w=wanted, t=when, k=f"demo:dispense:{village.code}:{step}:{day}":
                  ledger.dispense(village, plan.doctor_id, w, t, k))
