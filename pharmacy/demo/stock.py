"""Demo data for stock: the central pharmacy's opening stock, monthly issues to the townships, village supplies
from their township, and three months of dispensing at a few villages, so consumption means something everywhere.

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
        if self.lines:
            db.session.execute(insert(TransferLine), [
                {**{k: v for k, v in line.items() if k != "_transfer"}, "transfer_id": transfer_ids[line["_transfer"]]}
                for line in self.lines])
        rows = []
        for m in self.movements:
            transfer = m["_transfer"]
            rows.append({**{k: v for k, v in m.items() if not k.startswith("_")}, "operation_id": op_ids[m["_op"]],
                         "ref_type": "transfer" if transfer is not None else "",
                         "ref_id": transfer_ids[transfer] if transfer is not None else None})
        db.session.execute(insert(StockMovement), rows)
        now = clock.now_utc()
        db.session.execute(insert(StockBalance), [
            {"facility_id": f, "lot_id": lot_id, "product_id": self.products[(f, lot_id)], "qty_base": qty,
             "updated_at": now} for (f, lot_id), qty in self.balances.items()])


def _make_lots(rng: random.Random, products: list[Product]) -> dict[int, list[_Lot]]:
    """Three lots per product, expiring from next month to three years out (a few near expiry on purpose)."""
    today = clock.today()
    rows = []
    for product in products:
        for n in range(3):
            days = rng.choice([rng.randint(40, 85), rng.randint(200, 500), rng.randint(500, 1000)]) if n == 0 \
                else rng.randint(250, 1100)
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


def seed_demo_stock(demo: "DemoCounty") -> None:
    """Give the demo county stock and three months of history that make consumption meaningful."""
    products = list(db.session.scalars(select(Product).where(Product.status == ProductStatus.ACTIVE)
                                       .options(joinedload(Product.drug)).order_by(Product.code)))
    if not products:
        log.warning("demo stock skipped: the formulary is empty (run `flask catalog load` first)")
        return
    rng = random.Random(4)
    village_tier = [p for p in products if p.lowest_tier == "village"]
    chronic = [p for p in village_tier if p.drug.chronic_tags] or village_tier
    ledger = _Ledger(_make_lots(rng, products))
    now = clock.now_utc()
    events: list[tuple[datetime, int, object]] = []  # (time, tie-breaker, action)

    def at(days_ago: float, hour: int = 9) -> datetime:
        return (now - timedelta(days=days_ago)).replace(hour=hour, minute=rng.randint(0, 59), second=0)

    def event(when: datetime, action) -> None:
        events.append((when, len(events), action))

    central, county_user = demo.central_pharmacy, getattr(demo.users.get("county"), "id", None)
    held_centrally = [p for p in products if p in chronic or rng.random() < (0.9 if p in village_tier else 0.5)]
    # Chronic-disease products move in bulk: the county's villages dispense thousands of boxes a month.
    def opening_packs(p: Product) -> int:
        return rng.randint(1500, 3000) if p in chronic else rng.randint(60, 240)

    event(at(HISTORY_DAYS + 12), lambda: ledger.receive(
        central, county_user, [(lot, opening_packs(p) * p.pack_size) for p in held_centrally
                               for lot in ledger.lots[p.id][-rng.randint(2, 3):]],
        at(HISTORY_DAYS + 12), "demo:opening:central", "期初库存"))

    township_pool = [p for p in held_centrally if p.lowest_tier in ("village", "township")]
    for t_index, township in enumerate(demo.townships, start=1):
        user = getattr(demo.users.get(f"t{t_index:02d}"), "id", None)
        carried = sorted(set(chronic) | {p for p in township_pool if rng.random() < 0.3}, key=lambda p: p.code)
        for n, (days, bulk, other) in enumerate([(HISTORY_DAYS + 8, (150, 300), (20, 60)),
                                                  (60, (50, 120), (5, 15)), (30, (50, 120), (5, 15))]):
            when = at(days, 10)
            wanted = [(p, rng.randint(*(bulk if p in chronic else other)) * p.pack_size) for p in carried]
            event(when, lambda s=township, w=wanted, t=when, u=user, k=f"demo:issue:{township.code}:{n}":
                  ledger.transfer(central, s, u, w, t, k))

    history_left = HISTORY_VILLAGES
    for t_index, township in enumerate(demo.townships, start=1):
        pharmacist = getattr(demo.users.get(f"t{t_index:02d}"), "id", None)
        for v_index, village in enumerate(demo.villages[township.id], start=1):
            doctor = getattr(demo.users.get(f"t{t_index:02d}v{v_index:02d}"), "id", None)
            held = rng.sample(chronic, k=min(len(chronic), rng.randint(3, 6)))
            if history_left and (t_index == 1 or v_index == 1):
                history_left -= 1
                _dispensing_history(rng, event, at, ledger, township, village, (pharmacist, doctor), held)
                continue
            when = at(rng.randint(3, 12), 11)
            wanted = [(p, rng.randint(2, 10) * p.pack_size) for p in held]
            event(when, lambda s=township, d=village, w=wanted, t=when, u=pharmacist:
                  ledger.transfer(s, d, u, w, t, f"demo:supply:{d.code}"))

    for _when, _n, action in sorted(events, key=lambda e: (e[0], e[1])):
        action()
    ledger.write()
    db.session.flush()
    log.info("demo stock: %s operations, %s transfers, %s movements, %s balances", len(ledger.operations),
             len(ledger.transfers), len(ledger.movements), len(ledger.balances))


def _dispensing_history(rng, event, at, ledger: _Ledger, township, village, users, held: list[Product]) -> None:
    """Supplies from the township 98 and 45 days ago and a day's dispensing per product on most days."""
    pharmacist, doctor = users
    daily = {p.id: rng.randint(2, 12) for p in held}  # base units a day for the village's chronic patients
    for n, (days, supply_days) in enumerate([(HISTORY_DAYS + 3, 55), (45, 50)]):
        when = at(days, 11)
        wanted = [(p, daily[p.id] * supply_days) for p in held]
        event(when, lambda w=wanted, t=when, k=f"demo:supply:{village.code}:{n}":
              ledger.transfer(township, village, pharmacist, w, t, k))
    for day in range(HISTORY_DAYS, 0, -1):
        if rng.random() < 0.15:  # the clinic is shut some days
            continue
        when = at(day, rng.randint(12, 17))
        wanted = [(p, max(1, int(daily[p.id] * rng.uniform(0.4, 1.6)))) for p in held]
        event(when, lambda w=wanted, t=when, k=f"demo:dispense:{village.code}:{day}":
              ledger.dispense(village, doctor, w, t, k))
