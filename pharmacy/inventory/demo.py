"""Demo data for stock: opening stock across the county and three months of dispensing at a few villages.

Written with bulk inserts (a few statements for thousands of rows) so the whole demo seeds in seconds; every
balance row is still the sum of its movements, and every movement's running balance is right.
"""

import logging
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import insert, select
from sqlalchemy.orm import joinedload

from ..catalog.models import Product, ProductStatus
from ..extensions import db
from ..models_base import utcnow
from .models import Lot, MovementKind, StockBalance, StockMovement, StockOperation

if TYPE_CHECKING:
    from ..demo.seed import DemoCounty

log = logging.getLogger(__name__)

HISTORY_DAYS = 95
HISTORY_VILLAGES = 6
MANUFACTURERS = ["华北制药", "石药集团", "扬子江药业", "齐鲁制药", "白云山", "国药集团", "修正药业", "天士力"]


class _Ledger:
    """Collects operations and movements in time order and keeps each facility × lot's running balance."""

    def __init__(self):
        self.operations: list[dict] = []
        self.movements: list[tuple[int, dict]] = []  # (operation index, row)
        self.balances: dict[tuple[int, int], int] = defaultdict(int)
        self.products: dict[tuple[int, int], int] = {}

    def operation(self, key: str, kind: str, facility_id: int, user_id: int | None, at, note: str = "") -> int:
        self.operations.append({"idempotency_key": key, "kind": kind, "facility_id": facility_id, "user_id": user_id,
                                "note": note, "created_at": at})
        return len(self.operations) - 1

    def post(self, op: int, facility_id: int, lot: "_Lot", qty: int, kind: str, user_id: int | None, at,
             note: str = "") -> None:
        key = (facility_id, lot.id)
        self.balances[key] += qty
        assert self.balances[key] >= 0, "demo history would go below zero"
        self.products[key] = lot.product_id
        self.movements.append((op, {"facility_id": facility_id, "product_id": lot.product_id, "lot_id": lot.id,
                                    "qty_base": qty, "balance_after": self.balances[key], "kind": kind,
                                    "reason": "", "note": note, "ref_type": "", "ref_id": None,
                                    "user_id": user_id, "created_at": at}))

    def write(self) -> None:
        if not self.operations:
            return
        op_ids = db.session.scalars(insert(StockOperation).returning(StockOperation.id, sort_by_parameter_order=True),
                                    self.operations).all()
        rows = [{**row, "operation_id": op_ids[op]} for op, row in self.movements]
        db.session.execute(insert(StockMovement), rows)
        now = utcnow()
        db.session.execute(insert(StockBalance), [
            {"facility_id": f, "lot_id": lot_id, "product_id": self.products[(f, lot_id)], "qty_base": qty,
             "updated_at": now} for (f, lot_id), qty in self.balances.items()])


@dataclass(frozen=True)
class _Lot:
    id: int
    product_id: int
    expiry_date: date


def _make_lots(rng: random.Random, products: list[Product]) -> dict[int, list[_Lot]]:
    """Three lots per product, expiring from next month to three years out (a few near expiry on purpose)."""
    today = utcnow().date()
    rows = []
    for product in products:
        for n in range(3):
            days = rng.choice([rng.randint(40, 85), rng.randint(200, 500), rng.randint(500, 1000)]) if n == 0 \
                else rng.randint(250, 1100)
            rows.append({"product_id": product.id, "lot_number": f"{today:%y}{rng.randint(1, 12):02d}{n}"
                                                                  f"{rng.randint(100, 999)}",
                         "expiry_date": today + timedelta(days=days), "manufacturer": rng.choice(MANUFACTURERS),
                         "created_at": utcnow()})
    ids = db.session.scalars(insert(Lot).returning(Lot.id, sort_by_parameter_order=True), rows).all()
    lots: dict[int, list[_Lot]] = defaultdict(list)
    for lot_id, row in zip(ids, rows, strict=True):
        lots[row["product_id"]].append(_Lot(lot_id, row["product_id"], row["expiry_date"]))
    for product_lots in lots.values():
        product_lots.sort(key=lambda lot: lot.expiry_date)
    return lots


def seed_demo_stock(demo: "DemoCounty") -> None:
    """Give the demo county opening stock and a dispensing history that makes consumption meaningful."""
    products = list(db.session.scalars(select(Product).where(Product.status == ProductStatus.ACTIVE)
                                       .options(joinedload(Product.drug)).order_by(Product.code)))
    if not products:
        log.warning("demo stock skipped: the formulary is empty (run `flask catalog load` first)")
        return
    rng = random.Random(4)
    village_tier = [p for p in products if p.lowest_tier == "village"]
    chronic = [p for p in village_tier if p.drug.chronic_tags] or village_tier
    lots = _make_lots(rng, products)
    ledger = _Ledger()
    now = utcnow()
    county_user = demo.users.get("county")

    def opening(facility, user, items: list[tuple[Product, int, int]], at, key_suffix=""):
        op = ledger.operation(f"demo:opening:{facility.code}{key_suffix}", MovementKind.RECEIPT, facility.id,
                              getattr(user, "id", None), at, note="期初库存")
        for product, lots_held, packs in items:
            for lot in lots[product.id][-lots_held:]:
                ledger.post(op, facility.id, lot, packs * product.pack_size, MovementKind.RECEIPT,
                            getattr(user, "id", None), at, note="期初库存")

    central_items = [(p, rng.randint(2, 3), rng.randint(20, 120)) for p in products
                     if rng.random() < (0.9 if p.lowest_tier == "village" else 0.5)]
    opening(demo.central_pharmacy, county_user, central_items, now - timedelta(days=HISTORY_DAYS + 10))

    township_pool = [p for p in products if p.lowest_tier in ("village", "township")]
    for t_index, township in enumerate(demo.townships, start=1):
        user = demo.users.get(f"t{t_index:02d}")
        items = [(p, rng.randint(1, 2), rng.randint(4, 30)) for p in township_pool if rng.random() < 0.35]
        opening(township, user, items, now - timedelta(days=HISTORY_DAYS + 8))

    history_villages = []
    for t_index, township in enumerate(demo.townships, start=1):
        for v_index, village in enumerate(demo.villages[township.id], start=1):
            user = demo.users.get(f"t{t_index:02d}v{v_index:02d}")
            held = rng.sample(chronic, k=min(len(chronic), rng.randint(3, 6)))
            if len(history_villages) < HISTORY_VILLAGES and (t_index == 1 or v_index == 1):
                history_villages.append((village, user, held))
                continue
            opening(village, user, [(p, 1, rng.randint(2, 10)) for p in held], now - timedelta(days=rng.randint(5, 60)))

    for village, user, held in history_villages:
        _dispensing_history(rng, ledger, village, user, held, lots, now)
    ledger.write()
    db.session.flush()
    log.info("demo stock: %s operations, %s movements, %s balances", len(ledger.operations), len(ledger.movements),
             len(ledger.balances))


def _dispensing_history(rng, ledger: _Ledger, village, user, held: list[Product], lots, now) -> None:
    """Opening stock 95 days ago, a resupply half-way, and a day's dispensing per product on most days."""
    user_id = getattr(user, "id", None)
    daily = {p.id: rng.randint(2, 12) for p in held}  # base units a day: a village's chronic patients
    lot_of = {p.id: lots[p.id][-1] for p in held}
    start = now - timedelta(days=HISTORY_DAYS + 3)
    op = ledger.operation(f"demo:opening:{village.code}", MovementKind.RECEIPT, village.id, user_id, start,
                          note="期初库存")
    for product in held:
        ledger.post(op, village.id, lot_of[product.id], daily[product.id] * 55, MovementKind.RECEIPT, user_id, start,
                    note="期初库存")
    for day in range(HISTORY_DAYS, 0, -1):
        at = (now - timedelta(days=day)).replace(hour=rng.randint(8, 17), minute=rng.randint(0, 59))
        if day == 45:
            op = ledger.operation(f"demo:resupply:{village.code}", MovementKind.RECEIPT, village.id, user_id, at,
                                  note="乡镇配送")
            for product in held:
                ledger.post(op, village.id, lot_of[product.id], daily[product.id] * 50, MovementKind.RECEIPT,
                            user_id, at, note="乡镇配送")
        if rng.random() < 0.15:  # the clinic is shut some days
            continue
        takes = []
        for product in held:
            want = max(1, int(daily[product.id] * rng.uniform(0.4, 1.6)))
            qty = min(want, ledger.balances[(village.id, lot_of[product.id].id)])
            if qty:
                takes.append((lot_of[product.id], qty))
        if takes:
            op = ledger.operation(f"demo:dispense:{village.code}:{day}", MovementKind.DISPENSE, village.id, user_id,
                                  at)
            for lot, qty in takes:
                ledger.post(op, village.id, lot, -qty, MovementKind.DISPENSE, user_id, at)
