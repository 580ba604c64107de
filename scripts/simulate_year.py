"""Simulate a year of a full county's medicine supply, for the dashboard, the reports and their benchmark.

    .venv/bin/python scripts/simulate_year.py --database-url postgresql://postgres@127.0.0.1:5432/pharmacy_sim \
        [--townships 12 --villages 20 --products 300 --days 365 --seed 7] [--create-database]

The demo county (12 townships × 20 village points, one user per role) is seeded through the services; then the
year is played day by day in memory — supplier receipts at the central pharmacy, weekly deliveries along each
township's route to the central pharmacy's townships and village points, daily dispensing tallies, expiry
write-offs, shortage registrations that move through their lifecycle — and written straight into the tables in
bulk (COPY on PostgreSQL), keeping every balance equal to the sum of its movements. The database must be empty
(or hold only the formulary); the schema is created if missing.
"""

import argparse
import io
import math
import random
import sys
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LOCAL_OFFSET = timedelta(hours=8)  # the county's clock; times are stored in UTC


def local_time(day: date, hour: float) -> datetime:
    """A local wall-clock hour on `day` as a UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(hours=hour) - LOCAL_OFFSET


# --- bulk writing ---------------------------------------------------------------------------------------------------

class BulkWriter:
    """Buffers rows per table and writes them in dependency order: COPY on PostgreSQL, executemany on SQLite."""

    ORDER = ["lot", "stock_operation", "stock_transfer", "stock_transfer_line", "stock_movement", "shortage",
             "shortage_event", "stock_balance"]

    def __init__(self, connection, dialect: str, columns: dict[str, list[str]], chunk: int = 100_000):
        self.connection = connection
        self.dialect = dialect
        self.columns = columns
        self.buffers: dict[str, list[tuple]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.seconds: dict[str, float] = defaultdict(float)
        self.chunk = chunk

    def add(self, table: str, row: tuple) -> None:
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        for table in self.ORDER + [t for t in self.buffers if t not in self.ORDER]:
            rows = self.buffers.get(table)
            if rows:
                started = clock.perf_counter()
                self._write(table, rows)
                self.seconds[table] += clock.perf_counter() - started
                self.counts[table] += len(rows)
                self.buffers[table] = []

    def _write(self, table: str, rows: list[tuple]) -> None:
        cols = self.columns[table]
        raw = self.connection.connection.driver_connection
        if self.dialect == "postgresql":
            out = io.StringIO()
            for row in rows:
                out.write("\t".join(_pg_text(v) for v in row))
                out.write("\n")
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                    copy.write(out.getvalue())
        else:
            marks = ", ".join("?" for _ in cols)
            raw.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                            [tuple(_sqlite_value(v) for v in row) for row in rows])


def _pg_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    if "\t" in text or "\n" in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


def _sqlite_value(value):
    # SQLAlchemy's SQLite DateTime stores naive ISO text; dates as YYYY-MM-DD.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


# --- the county's year ------------------------------------------------------------------------------------------------

@dataclass
class Item:
    """One product as the simulation sees it."""

    id: int
    code: str
    pack_size: int
    lowest_tier: str
    is_chronic: bool
    popularity: float


@dataclass(eq=False)
class LotState:
    id: int
    product_id: int
    expiry: date


@dataclass
class OpenShortage:
    id: int
    facility_id: int
    product_id: int
    registered_at: datetime
    acknowledged_at: datetime
    ordered_at: datetime | None = None
    cancel_at: datetime | None = None
    status: str = "registered"
    events: list = field(default_factory=list)
    row: list = field(default_factory=list)


class Simulation:
    def __init__(self, *, writer: BulkWriter, rng: random.Random, demo, items: list[Item], days: int, end: date,
                 ids: dict[str, int]):
        self.w = writer
        self.rng = rng
        self.demo = demo
        self.items = {i.id: i for i in items}
        self.days = days
        self.end = end
        self.start = end - timedelta(days=days)
        self.next_id = dict(ids)
        self.central = demo.central_pharmacy.id
        self.townships = [t.id for t in demo.townships]
        self.villages_of = {t.id: [v.id for v in demo.villages[t.id]] for t in demo.townships}
        self.population = {v.id: v.population or 900 for vs in demo.villages.values() for v in vs}
        self.user_of = {u.facility_id: u.id for u in demo.users.values()}
        self.county_user = demo.users["county"].id
        # (facility, lot) → qty; (facility, product) → lots on hand, kept sorted by expiry
        self.balance: dict[tuple[int, int], int] = {}
        self.lots_at: dict[tuple[int, int], list[LotState]] = defaultdict(list)
        self.lot_serial = defaultdict(int)
        self.lots: dict[int, LotState] = {}
        self.open_shortages: dict[tuple[int, int], OpenShortage] = {}
        self.stats = defaultdict(int)

    def new_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    # -- plan: what each facility carries and how fast it uses it ------------------------------------------------------

    def plan(self) -> None:
        rng = self.rng
        village_items = [i for i in self.items.values() if i.lowest_tier == "village"]
        self.carried: dict[int, list[int]] = {}
        self.rate: dict[tuple[int, int], float] = {}  # base units per day
        self.event_p: dict[tuple[int, int], float] = {}
        for township in self.townships:
            self.carried[township] = list(self.items)
            for item in self.items.values():
                self.rate[(township, item.id)] = item.popularity * item.pack_size * rng.uniform(0.5, 1.0) * 1.2
                self.event_p[(township, item.id)] = min(0.9, 0.1 + 0.4 * item.popularity)
            for village in self.villages_of[township]:
                size = self.population[village] / 1000
                chosen = [i.id for i in village_items if rng.random() < (0.85 if i.is_chronic else 0.5)]
                self.carried[village] = chosen
                for pid in chosen:
                    item = self.items[pid]
                    self.rate[(village, pid)] = item.popularity * item.pack_size * size * rng.uniform(0.15, 0.45)
                    self.event_p[(village, pid)] = min(0.6, 0.02 + 0.12 * item.popularity * size)
        self.county_rate = defaultdict(float)
        for (facility, pid), r in self.rate.items():
            self.county_rate[pid] += r
        # Supplier gaps: some products cannot be bought for a few weeks.
        self.outage: dict[int, tuple[int, int]] = {}
        for pid in self.items:
            if rng.random() < 0.08:
                begin = rng.randrange(30, self.days - 10)
                self.outage[pid] = (begin, begin + rng.randrange(14, 42))
        self.route_weekday = {t: i % 5 for i, t in enumerate(self.townships)}

    # -- ledger primitives ---------------------------------------------------------------------------------------------

    def operation(self, kind: str, facility: int, moment: datetime, key: str, user: int | None) -> int:
        op = self.new_id("stock_operation")
        self.w.add("stock_operation", (op, key, kind, facility, user, "", moment))
        return op

    def post(self, op: int, facility: int, lot: LotState, delta: int, kind: str, moment: datetime, user: int | None,
             *, reason: str = "", ref_type: str = "", ref_id: int | None = None) -> None:
        key = (facility, lot.id)
        new = self.balance.get(key, 0) + delta
        if new < 0:
            raise AssertionError(f"negative balance {key}")
        self.balance[key] = new
        self.w.add("stock_movement", (self.new_id("stock_movement"), op, facility, lot.product_id, lot.id, delta, new,
                                      kind, reason, "", ref_type, ref_id, user, moment))
        shelf = self.lots_at[(facility, lot.product_id)]
        if delta > 0 and lot not in shelf:
            shelf.append(lot)
            shelf.sort(key=lambda x: (x.expiry, x.id))
        elif new == 0 and lot in shelf:
            shelf.remove(lot)

    def on_hand(self, facility: int, pid: int, day: date) -> int:
        return sum(self.balance[(facility, lot.id)] for lot in self.lots_at.get((facility, pid), ())
                   if lot.expiry > day)

    def pick(self, facility: int, pid: int, qty: int, day: date) -> list[tuple[LotState, int]]:
        """FEFO over unexpired lots; may return less than asked."""
        picks = []
        for lot in list(self.lots_at.get((facility, pid), ())):
            if qty <= 0:
                break
            if lot.expiry <= day:
                continue
            take = min(qty, self.balance[(facility, lot.id)])
            if take > 0:
                picks.append((lot, take))
                qty -= take
        return picks

    # -- flows -----------------------------------------------------------------------------------------------------------

    def supplier_receipts(self, day_no: int, day: date) -> None:
        due = [pid for pid in self.items if (day_no + pid) % 30 == 0 or day_no == 0]
        due = [pid for pid in due if not (pid in self.outage and self.outage[pid][0] <= day_no < self.outage[pid][1])]
        if not due:
            return
        moment = local_time(day, 9 + self.rng.random())
        op = self.operation("receipt", self.central, moment, f"sim:rcv:{day_no}", self.county_user)
        for pid in due:
            item = self.items[pid]
            days_cover = 75 if day_no == 0 else 40
            qty_packs = max(1, math.ceil(self.county_rate[pid] * days_cover * self.rng.uniform(0.9, 1.3)
                                         / item.pack_size))
            short = self.rng.random() < 0.05
            expiry = day + timedelta(days=self.rng.randint(60, 150) if short else self.rng.randint(300, 900))
            self.lot_serial[pid] += 1
            lot = LotState(self.new_id("lot"), pid, expiry)
            self.lots[lot.id] = lot
            self.w.add("lot", (lot.id, pid, f"S{item.code}-{self.lot_serial[pid]:03d}", expiry, "模拟药业", moment))
            self.post(op, self.central, lot, qty_packs * item.pack_size, "receipt", moment, self.county_user)

    def deliver(self, source: int, destination: int, lines: list[tuple[int, int]], day: date, hour: float,
                day_no: int) -> list[tuple[int, int]]:
        """Send lines (product, qty wanted) from source to destination and receive them the same day; returns
        (product, qty received) per product."""
        sent_at = local_time(day, hour)
        received_at = sent_at + timedelta(hours=self.rng.uniform(0.5, 3))
        picks = [(pid, lot, qty) for pid, want in lines for lot, qty in self.pick(source, pid, want, day)]
        if not picks:
            return []
        transfer = self.new_id("stock_transfer")
        out_op = self.operation("transfer_out", source, sent_at, f"sim:t{transfer}", self.user_of.get(source))
        in_op = self.operation("transfer_in", destination, received_at, f"sim:t{transfer}:in",
                               self.user_of.get(destination))
        self.w.add("stock_transfer", (transfer, source, destination, "received", "delivery", None, "", 
                                      self.user_of.get(source), sent_at, self.user_of.get(destination), received_at))
        received = defaultdict(int)
        for pid, lot, qty in picks:
            self.post(out_op, source, lot, -qty, "transfer_out", sent_at, self.user_of.get(source),
                      ref_type="transfer", ref_id=transfer)
            got, reason = qty, ""
            if self.rng.random() < 0.01:
                got, reason = max(0, qty - max(1, int(qty * self.rng.uniform(0.05, 0.3)))), "damaged"
            self.w.add("stock_transfer_line", (self.new_id("stock_transfer_line"), transfer, pid, lot.id, qty, got,
                                               reason, "运输破损" if reason else "", "", None))
            if got:
                self.post(in_op, destination, lot, got, "transfer_in", received_at, self.user_of.get(destination),
                          ref_type="transfer", ref_id=transfer)
            received[pid] += got
        self.stats["deliveries"] += 1
        for pid, got in received.items():
            self.serve_shortage(destination, pid, sent_at, received_at, transfer)
        return list(received.items())

    def weekly_route(self, township: int, day_no: int, day: date) -> None:
        weeks_target, weeks_reorder = 8, 3
        lines = []
        for pid in self.carried[township]:
            need = self.rate[(township, pid)] * 7
            have = self.on_hand(township, pid, day)
            if have < need * weeks_reorder:
                lines.append((pid, self._whole_packs(pid, need * weeks_target - have)))
        self.deliver(self.central, township, lines, day, 8.5, day_no)
        for n, village in enumerate(self.villages_of[township]):
            lines = []
            for pid in self.carried[village]:
                need = self.rate[(village, pid)] * 7
                have = self.on_hand(village, pid, day)
                if have < need * weeks_reorder or (village, pid) in self.open_shortages:
                    lines.append((pid, self._whole_packs(pid, max(need * weeks_target - have, need))))
            self.deliver(self.central, village, lines, day, 9.5 + n * 0.3, day_no)

    def _whole_packs(self, pid: int, qty: float) -> int:
        size = self.items[pid].pack_size
        return max(1, math.ceil(qty / size)) * size

    def dispense_day(self, facility: int, day_no: int, day: date, season: float) -> None:
        op = None
        moment = local_time(day, 17.5)
        for pid in self.carried[facility]:
            if self.rng.random() >= self.event_p[(facility, pid)]:
                continue
            mean = self.rate[(facility, pid)] * season / self.event_p[(facility, pid)]
            want = max(1, int(self.rng.expovariate(1 / mean))) if mean > 0 else 1
            picks = self.pick(facility, pid, want, day)
            got = sum(q for _, q in picks)
            if picks:
                if op is None:
                    op = self.operation("dispense", facility, moment, f"sim:d{facility}:{day_no}",
                                        self.user_of.get(facility))
                for lot, qty in picks:
                    self.post(op, facility, lot, -qty, "dispense", moment, self.user_of.get(facility))
            if got < want and facility not in self.townships:
                self.stats["unmet"] += 1
                self.maybe_register(facility, pid, day, want)

    def maybe_register(self, village: int, pid: int, day: date, want: int) -> None:
        if (village, pid) in self.open_shortages or self.rng.random() > 0.4:
            return
        rng = self.rng
        item = self.items[pid]
        registered_at = local_time(day, rng.uniform(17.6, 20))
        urgency = rng.choices(["routine", "urgent", "emergency"], weights=[70, 25, 5])[0]
        reason = "chronic_long_rx" if item.is_chronic and rng.random() < 0.3 else "out_of_stock"
        qty_packs = max(1, math.ceil(self.rate[(village, pid)] * 14 / item.pack_size))
        sid = self.new_id("shortage")
        acknowledged_at = registered_at + timedelta(hours=rng.uniform(1, 30))
        record = OpenShortage(sid, village, pid, registered_at, acknowledged_at)
        record.ordered_at = acknowledged_at + timedelta(hours=rng.uniform(1, 20))
        record.cancel_at = registered_at + timedelta(days=rng.uniform(1, 5)) if rng.random() < 0.04 else None
        record.row = [sid, f"sim-{sid}", village, pid, "", qty_packs, urgency, reason, "", "registered", "",
                      self.user_of.get(village), registered_at, registered_at, registered_at, None]
        self.open_shortages[(village, pid)] = record
        self.stats["shortages"] += 1
        if urgency == "emergency":
            self.emergencies.append((day + timedelta(days=1), village, pid, qty_packs * item.pack_size))

    def _events_until(self, record: OpenShortage, moment: datetime) -> None:
        """The acknowledged and ordered steps that happened before `moment`."""
        record.events = [("", "registered", record.registered_at)]
        status = "registered"
        for step, at in (("acknowledged", record.acknowledged_at), ("ordered", record.ordered_at)):
            if at < moment:
                record.events.append((status, step, at))
                status = step
        record.status = status

    def progress_shortages(self, day: date) -> None:
        """Cancel the registrations whose doctor gave up (the patient went elsewhere)."""
        day_start = local_time(day, 0)
        for key, record in list(self.open_shortages.items()):
            if record.cancel_at is not None and record.cancel_at <= day_start:
                self._events_until(record, record.cancel_at)
                record.events.append((record.status, "cancelled", record.cancel_at))
                record.row[9], record.row[10], record.row[14] = "cancelled", "患者已转诊", record.cancel_at
                self.write_shortage(record, "患者已转诊")
                del self.open_shortages[key]

    def emergency_runs(self, day: date, day_no: int) -> None:
        due = [e for e in self.emergencies if e[0] == day]
        self.emergencies = [e for e in self.emergencies if e[0] > day]
        for _day, village, pid, qty in due:
            if (village, pid) in self.open_shortages:
                self.deliver(self.central, village, [(pid, qty)], day, 14, day_no)

    def serve_shortage(self, village: int, pid: int, sent_at: datetime, received_at: datetime, transfer: int) -> None:
        record = self.open_shortages.get((village, pid))
        if record is None or record.registered_at >= sent_at:
            return
        self._events_until(record, sent_at)
        if record.status == "registered":
            record.events.append(("registered", "acknowledged", sent_at - timedelta(minutes=30)))
            record.status = "acknowledged"
        record.events.append((record.status, "dispatched", sent_at))
        record.events.append(("dispatched", "delivered", received_at))
        record.row[9], record.row[14], record.row[15] = "delivered", received_at, received_at
        self.write_shortage(record, ref=transfer)
        del self.open_shortages[(village, pid)]

    def write_shortage(self, record: OpenShortage, note: str = "", ref: int | None = None) -> None:
        self.w.add("shortage", tuple(record.row))
        for from_status, to_status, moment in record.events:
            is_ref = ref is not None and to_status in ("dispatched", "delivered")
            user = self.user_of.get(record.facility_id) if to_status in ("registered", "delivered") \
                else self.county_user
            self.w.add("shortage_event", (self.new_id("shortage_event"), record.id, from_status, to_status,
                                          note if to_status == "cancelled" else "", "transfer" if is_ref else "",
                                          ref if is_ref else None, user, moment))

    def write_offs(self, day_no: int, day: date) -> None:
        """Once a month each facility writes off its expired lots; a few forget."""
        moment = local_time(day, 16)
        for facility in self.facilities:
            if (facility + day_no) % 30 != 0 or self.rng.random() < 0.15:
                continue
            op = None
            for pid in self.carried[facility]:
                expired = [lot for lot in self.lots_at.get((facility, pid), ()) if lot.expiry <= day]
                for lot in expired:
                    if op is None:
                        op = self.operation("expiry_write_off", facility, moment, f"sim:x{facility}:{day_no}",
                                            self.user_of.get(facility))
                    self.post(op, facility, lot, -self.balance[(facility, lot.id)], "expiry_write_off", moment,
                              self.user_of.get(facility), reason="expired")
                    self.stats["write_offs"] += 1

    def run(self) -> None:
        self.plan()
        self.emergencies = []
        all_dispensing = self.townships + [v for vs in self.villages_of.values() for v in vs]
        self.facilities = [self.central] + all_dispensing
        self.carried[self.central] = list(self.items)
        for day_no in range(self.days):
            day = self.start + timedelta(days=day_no)
            season = 1 + 0.25 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 20) / 365)
            self.supplier_receipts(day_no, day)
            self.progress_shortages(day)
            for township in self.townships:
                if day_no == 0 or (day.weekday() == self.route_weekday[township] and day_no > 3):
                    self.weekly_route(township, day_no, day)
            self.emergency_runs(day, day_no)
            for facility in all_dispensing:
                self.dispense_day(facility, day_no, day, season)
            self.write_offs(day_no, day)
        now = datetime.now(UTC)
        for record in self.open_shortages.values():
            self._events_until(record, now)
            record.row[9] = record.status
            record.row[14] = record.events[-1][2]
            self.write_shortage(record)
        for (facility, lot_id), qty in self.balance.items():
            self.w.add("stock_balance", (self.new_id("stock_balance"), facility, self.lots[lot_id].product_id, lot_id,
                                         qty, now))


def choose_items(session, rng: random.Random, count: int) -> list[Item]:
    """Chronic-disease and 集采 products first, then others the village tier may stock, and some township-only."""
    from sqlalchemy import select

    from pharmacy.catalog.models import Drug, Product

    rows = session.execute(select(Product.id, Product.code, Product.pack_size, Product.lowest_tier, Drug.chronic_tags,
                                  Product.vbp_batch)
                           .join(Drug, Drug.id == Product.drug_id)
                           .where(Product.status == "active", Product.lowest_tier.in_(["village", "township"]))
                           .order_by(Product.code)).all()
    village = [r for r in rows if r.lowest_tier == "village"]
    township = [r for r in rows if r.lowest_tier == "township"]
    chronic = [r for r in village if r.chronic_tags]
    vbp = [r for r in village if r.vbp_batch and not r.chronic_tags]
    other = [r for r in village if not r.chronic_tags and not r.vbp_batch]
    rng.shuffle(chronic)
    rng.shuffle(other)
    rng.shuffle(township)
    n_township = count // 10
    n_chronic = min(len(chronic), max(1, count // 6))
    picked = chronic[:n_chronic] + vbp[:max(0, count // 8)]
    picked += other[:max(0, count - n_township - len(picked))]
    picked += township[:count - len(picked)]
    items = []
    for r in picked[:count]:
        popularity = min(3.0, rng.lognormvariate(-0.9, 0.8) * (1.6 if r.chronic_tags else 1.0))
        items.append(Item(r.id, r.code, max(1, r.pack_size or 1), r.lowest_tier, bool(r.chronic_tags), popularity))
    return items


def table_columns(metadata) -> dict[str, list[str]]:
    wanted = {
        "lot": ["id", "product_id", "lot_number", "expiry_date", "manufacturer", "created_at"],
        "stock_operation": ["id", "idempotency_key", "kind", "facility_id", "user_id", "note", "created_at"],
        "stock_transfer": ["id", "from_facility_id", "to_facility_id", "status", "ref_type", "ref_id", "note",
                           "sent_by_id", "sent_at", "received_by_id", "received_at"],
        "stock_transfer_line": ["id", "transfer_id", "product_id", "lot_id", "qty_base_sent", "qty_base_received",
                                "discrepancy_reason", "discrepancy_note", "ref_type", "ref_id"],
        "stock_movement": ["id", "operation_id", "facility_id", "product_id", "lot_id", "qty_base", "balance_after",
                           "kind", "reason", "note", "ref_type", "ref_id", "user_id", "created_at"],
        "shortage": ["id", "client_id", "facility_id", "product_id", "free_text", "qty_packs", "urgency", "reason",
                     "note", "status", "cancel_reason", "registered_by_id", "client_created_at", "created_at",
                     "updated_at", "delivered_at"],
        "shortage_event": ["id", "shortage_id", "from_status", "to_status", "note", "ref_type", "ref_id", "user_id",
                           "created_at"],
        "stock_balance": ["id", "facility_id", "product_id", "lot_id", "qty_base", "updated_at"],
    }
    for table, cols in wanted.items():
        missing = set(cols) - set(metadata.tables[table].columns.keys())
        if missing:
            raise SystemExit(f"{table} lacks {missing}: the simulator is out of date with the models")
    return wanted


def simulate(app, *, townships: int, villages: int, products: int, days: int, seed: int,
             password: str = "demo-pass", log=print) -> dict:
    """Seed the county and play the year into the app's database; return row counts and timings."""
    from sqlalchemy import func, select, text

    from pharmacy.catalog.loader import load_catalog
    from pharmacy.catalog.models import Product
    from pharmacy.demo import seed as demo_seed
    from pharmacy.extensions import db

    started = clock.perf_counter()
    rng = random.Random(seed)
    with app.app_context():
        db.create_all()
        if not db.session.scalar(select(func.count(Product.id))):
            load_catalog(app.config["CATALOG_DATA_DIR"])
            db.session.commit()
        if demo_seed.existing_county() is not None:
            raise SystemExit("the demo county already exists in this database: use an empty one")
        steps, demo_seed.SEED_STEPS[:] = list(demo_seed.SEED_STEPS), []
        try:
            demo = demo_seed.seed_demo(townships=townships, villages_per_township=villages, seed=seed,
                                       passwords={r: password for r in ("village_doctor", "township_pharmacist",
                                                                       "county_pharmacist", "formulary_admin",
                                                                       "viewer")})
        finally:
            demo_seed.SEED_STEPS[:] = steps
        db.session.flush()
        items = choose_items(db.session, rng, products)
        connection = db.session.connection()
        dialect = connection.dialect.name
        if dialect == "postgresql":
            # Skipping foreign-key triggers during the bulk load (superuser only) makes it several times faster;
            # every id written is taken from rows written before it.
            try:
                with connection.begin_nested():
                    connection.execute(text("SET LOCAL session_replication_role = replica"))
            except Exception:  # not a superuser: load with the checks on
                log("foreign-key checks stay on (not a superuser)")
        ids = {}
        for table in BulkWriter.ORDER:
            ids[table] = (connection.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar() or 0) + 1
        writer = BulkWriter(connection, dialect, table_columns(db.metadata))
        # Secondary indexes are rebuilt once after the load rather than maintained row by row.
        deferred = [index for table in BulkWriter.ORDER for index in db.metadata.tables[table].indexes
                    if not index.unique] if dialect == "postgresql" else []
        for index in deferred:
            index.drop(connection)
        end = datetime.now(UTC).date()
        sim = Simulation(writer=writer, rng=rng, demo=demo, items=items, days=days, end=end, ids=ids)
        log(f"seeded county: {len(demo.townships)} townships, {sum(len(v) for v in demo.villages.values())} villages, "
            f"{len(items)} products ({sum(i.is_chronic for i in items)} chronic)")
        sim.run()
        writer.flush()
        started_indexes = clock.perf_counter()
        for index in deferred:
            index.create(connection)
        if deferred:
            log(f"rebuilt {len(deferred)} indexes in {clock.perf_counter() - started_indexes:.1f} s")
        if dialect == "postgresql":
            for table in BulkWriter.ORDER:
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                        f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
        db.session.commit()
        if dialect == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
        elapsed = clock.perf_counter() - started
        counts = dict(writer.counts)
        log("rows: " + ", ".join(f"{t}={counts.get(t, 0):,}" for t in BulkWriter.ORDER))
        log(f"events: {dict(sim.stats)}; simulated {days} days in {elapsed:.1f} s "
            f"(writing {sum(writer.seconds.values()):.1f} s)")
        return {"counts": counts, "stats": dict(sim.stats), "seconds": elapsed, "demo_users": list(demo.users)}


def ledger_matches_balances(app) -> bool:
    """Every balance equals the sum of its movements (and no movement lacks a balance)."""
    from sqlalchemy import text

    from pharmacy.extensions import db

    with app.app_context():
        mismatches = db.session.execute(text(
            "SELECT COUNT(*) FROM (SELECT facility_id, lot_id, SUM(qty_base) AS q FROM stock_movement "
            "GROUP BY facility_id, lot_id) m FULL OUTER JOIN stock_balance b "
            "ON b.facility_id = m.facility_id AND b.lot_id = m.lot_id "
            "WHERE COALESCE(m.q, 0) <> COALESCE(b.qty_base, 0)"
            if db.engine.dialect.name == "postgresql" else
            "SELECT COUNT(*) FROM stock_balance b LEFT JOIN (SELECT facility_id, lot_id, SUM(qty_base) AS q "
            "FROM stock_movement GROUP BY facility_id, lot_id) m ON b.facility_id = m.facility_id "
            "AND b.lot_id = m.lot_id WHERE COALESCE(m.q, 0) <> b.qty_base")).scalar()
        return mismatches == 0


def create_database(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    admin = parsed.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parsed.database}"')


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="an empty database (SQLite file or PostgreSQL)")
    parser.add_argument("--create-database", action="store_true", help="drop and create the PostgreSQL database")
    parser.add_argument("--townships", type=int, default=12)
    parser.add_argument("--villages", type=int, default=20)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--password", default="demo-pass", help="password of every demo account")
    args = parser.parse_args(argv)

    from pharmacy import create_app
    from pharmacy.config import _sqlalchemy_url

    url = _sqlalchemy_url(args.database_url)
    if args.create_database:
        create_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    simulate(app, townships=args.townships, villages=args.villages, products=args.products, days=args.days,
             seed=args.seed, password=args.password)
    print("ledger matches balances:", ledger_matches_balances(app))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
