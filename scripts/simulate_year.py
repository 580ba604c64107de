"""Simulate a year of a full county's medicine supply, for the dashboard, the reports and their benchmark.

    .venv/bin/python scripts/simulate_year.py --database-url postgresql://postgres@127.0.0.1:5432/pharmacy_sim \
        --create-database [--townships 12 --villages 20 --products 300 --days 365 --seed 7]

The demo county (12 townships × 20 village points, one user per role) is seeded through the services. Then the
year is played day by day in memory, the way the domains record it:

* purchasing: every week the central pharmacy confirms purchase orders per supplier (集采 lines marked) for the
  products due that week, and books the goods two days later as goods receipts with new lots;
* unified orders: every week each township orders for itself and its villages; the county approves (sometimes
  less, now and then a line rejected), allocates FEFO from central stock (back-ordering what is short), ships an
  in-transit transfer the next morning, and the township signs for it;
* delivery runs: every week each township's route leaves for its villages with lines planned from the township's
  stock; the reviewer trims a few lines, and each village signs for what arrived (a few lines damaged or missing);
* daily dispensing tallies at every village and township, monthly expiry write-offs (a few forgotten);
* shortage registrations when a village cannot dispense, moving registered → acknowledged → ordered →
  dispatched → delivered with the run that brings the product (a few cancelled; emergencies carried next day).

Rows go straight into the tables in bulk (COPY on PostgreSQL, foreign-key triggers and secondary indexes off
during the load when the user may do so), and every balance equals the sum of its movements. The database must
be empty (or hold only the formulary); the schema is created if missing. Finally the dashboard's weekly figures
are kept, as the nightly job would have (`--no-keep-weeks` skips it).
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

LOCAL_OFFSET = timedelta(hours=8)  # the county's clock (Asia/Shanghai); times are stored in UTC

# Tables in the order their rows may reference each other.
TABLES = ["supplier", "supplier_product", "lot", "stock_operation", "stock_transfer", "stock_transfer_line",
          "supply_consignment", "supply_consignment_line", "supply_proof_of_delivery",
          "purchase_order", "purchase_order_line", "goods_receipt", "goods_receipt_line",
          "supply_order", "supply_order_line", "supply_shipment", "supply_allocation",
          "delivery_route", "delivery_route_stop", "delivery_run", "delivery_stop", "delivery_line",
          "stock_movement", "shortage", "shortage_event", "delivery_line_shortage", "stock_balance"]


def local_time(day: date, hour: float) -> datetime:
    """A local wall-clock hour on `day` as a UTC datetime."""
    return datetime.combine(day, time(0), tzinfo=UTC) + timedelta(hours=hour) - LOCAL_OFFSET


# --- bulk writing ---------------------------------------------------------------------------------------------------

class BulkWriter:
    """Buffers rows per table (column defaults as the models declare them) and writes them in dependency order:
    COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, connection, metadata, chunk: int = 100_000):
        self.connection = connection
        self.dialect = connection.dialect.name
        self.columns = {t: [c.name for c in metadata.tables[t].columns] for t in TABLES}
        self.defaults = {t: {c.name: _default(c) for c in metadata.tables[t].columns} for t in TABLES}
        self.buffers: dict[str, list[tuple]] = defaultdict(list)
        self.counts: dict[str, int] = defaultdict(int)
        self.seconds = 0.0
        self.chunk = chunk
        self.now = datetime.now(UTC)

    def add(self, table: str, **values) -> None:
        defaults = self.defaults[table]
        row = tuple(values[c] if c in values else defaults[c] for c in self.columns[table])
        buffer = self.buffers[table]
        buffer.append(row)
        if len(buffer) >= self.chunk:
            self.flush()

    def flush(self) -> None:
        started = clock.perf_counter()
        for table in TABLES:
            rows = self.buffers.get(table)
            if rows:
                self._write(table, rows)
                self.counts[table] += len(rows)
                self.buffers[table] = []
        self.seconds += clock.perf_counter() - started

    def _write(self, table: str, rows: list[tuple]) -> None:
        cols = self.columns[table]
        raw = self.connection.connection.driver_connection
        if self.dialect == "postgresql":
            out = io.StringIO()
            for row in rows:
                out.write("\t".join(_pg_text(v) for v in row))
                out.write("\n")
            with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                copy.write(out.getvalue())
        else:
            marks = ", ".join("?" for _ in cols)
            raw.executemany(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                            [tuple(_sqlite_value(v) for v in row) for row in rows])


class _Missing:
    def __repr__(self):
        return "<required>"


def _default(column):
    if column.default is not None:
        arg = column.default.arg
        if callable(arg):
            return datetime.now(UTC)  # the models' only callable default is clock.now_utc
        return arg.value if hasattr(arg, "value") else arg
    return None


def _pg_text(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    text = str(value)
    if "\t" in text or "\n" in text or "\\" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


def _sqlite_value(value):
    # SQLAlchemy's SQLite types store naive ISO text.
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S.%f")
    if isinstance(value, bool):
        return int(value)
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
    is_vbp: bool
    price: float
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
    ordered_at: datetime
    cancel_at: datetime | None = None
    status: str = "registered"
    events: list = field(default_factory=list)
    row: dict = field(default_factory=dict)


class Simulation:
    def __init__(self, *, writer: BulkWriter, rng: random.Random, demo, items: list[Item], days: int, end: date,
                 ids: dict[str, int]):
        self.w = writer
        self.rng = rng
        self.items = {i.id: i for i in items}
        self.days = days
        self.start = end - timedelta(days=days)
        self.next_id = dict(ids)
        self.central = demo.central_pharmacy.id
        self.townships = [t.id for t in demo.townships]
        self.township_name = {t.id: t.name for t in demo.townships}
        self.villages_of = {t.id: [v.id for v in demo.villages[t.id]] for t in demo.townships}
        self.township_of = {v: t for t, vs in self.villages_of.items() for v in vs}
        self.population = {v.id: v.population or 900 for vs in demo.villages.values() for v in vs}
        self.user_of = {u.facility_id: u.id for u in demo.users.values()}
        self.county_user = demo.users["county"].id
        self.balance: dict[tuple[int, int], int] = {}
        self.lots: dict[int, LotState] = {}
        self.lots_at: dict[tuple[int, int], list[LotState]] = defaultdict(list)
        self.lot_serial = defaultdict(int)
        self.open_shortages: dict[tuple[int, int], OpenShortage] = {}
        self.emergencies: list[tuple[date, int, int, int]] = []
        self.stats = defaultdict(int)

    def new_id(self, table: str) -> int:
        value = self.next_id[table]
        self.next_id[table] = value + 1
        return value

    # -- plan: who stocks what, how fast it goes, who supplies it ----------------------------------------------------

    def plan(self) -> None:
        rng = self.rng
        village_items = [i for i in self.items.values() if i.lowest_tier == "village"]
        self.carried: dict[int, list[int]] = {self.central: list(self.items)}
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
        self.supplied_rate = defaultdict(float)  # (township, product) → township + its villages per day
        for (facility, pid), r in self.rate.items():
            self.county_rate[pid] += r
            self.supplied_rate[(self.township_of.get(facility, facility), pid)] += r
        # Supplier gaps: some products cannot be bought for a few weeks.
        self.outage = {}
        for pid in self.items:
            if rng.random() < 0.08:
                begin = rng.randrange(30, max(31, self.days - 10))
                self.outage[pid] = (begin, begin + rng.randrange(14, 42))
        self.route_weekday = {t: i % 5 for i, t in enumerate(self.townships)}
        self.suppliers = []
        for n, name in enumerate(("国药控股清河有限公司", "华润医药商业集团", "九州通医药集团"), start=1):
            supplier = self.new_id("supplier")
            self.w.add("supplier", id=supplier, code=f"SIM{n}", name=name, contact="", phone="", address="")
            self.suppliers.append(supplier)
        self.supplier_of = {}
        for pid, item in self.items.items():
            self.supplier_of[pid] = self.suppliers[pid % len(self.suppliers)]
            self.w.add("supplier_product", id=self.new_id("supplier_product"), supplier_id=self.supplier_of[pid],
                       product_id=pid, unit_price=round(item.price * 0.92, 2))
        self.routes = {}
        for township in self.townships:
            route = self.new_id("delivery_route")
            self.routes[township] = route
            self.w.add("delivery_route", id=route, township_id=township, name="每周配送",
                       weekdays=str(self.route_weekday[township] + 1), departure_time=time(9), vehicle="皖K·医共体",
                       driver="", note="")
            for position, village in enumerate(self.villages_of[township], start=1):
                self.w.add("delivery_route_stop", id=self.new_id("delivery_route_stop"), route_id=route,
                           village_id=village, position=position)
        self.run_sequence = defaultdict(int)

    # -- ledger primitives -------------------------------------------------------------------------------------------

    def operation(self, kind: str, facility: int, moment: datetime, key: str, user: int | None) -> int:
        op = self.new_id("stock_operation")
        self.w.add("stock_operation", id=op, idempotency_key=key, kind=kind, facility_id=facility, user_id=user,
                   note="", created_at=moment)
        return op

    def post(self, op: int, facility: int, lot: LotState, delta: int, kind: str, moment: datetime, user: int | None,
             *, reason: str = "", ref_type: str = "", ref_id: int | None = None) -> None:
        key = (facility, lot.id)
        new = self.balance.get(key, 0) + delta
        if new < 0:
            raise AssertionError(f"negative balance {key}")
        self.balance[key] = new
        self.w.add("stock_movement", id=self.new_id("stock_movement"), operation_id=op, facility_id=facility,
                   product_id=lot.product_id, lot_id=lot.id, qty_base=delta, balance_after=new, kind=kind,
                   reason=reason, note="", ref_type=ref_type, ref_id=ref_id, user_id=user, created_at=moment)
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

    def transfer(self, source: int, destination: int, picks: list[tuple[int, LotState, int, str, int | None]],
                 sent_at: datetime, received_at: datetime | None, *, ref_type: str, ref_id: int | None,
                 received: dict[int, tuple[int, str]] | None = None) -> tuple[int, dict[int, int]]:
        """Send (product, lot, qty, line ref type, line ref id) from source; receive it at `received_at` (with
        `received` {index: (qty, reason)} for lines that arrived short). Returns the transfer id and
        {index: transfer line id}."""
        transfer = self.new_id("stock_transfer")
        received = received or {}
        out_op = self.operation("transfer_out", source, sent_at, f"sim:t{transfer}", self.user_of.get(source))
        in_op = (self.operation("transfer_in", destination, received_at, f"sim:t{transfer}:in",
                                self.user_of.get(destination)) if received_at else None)
        self.w.add("stock_transfer", id=transfer, from_facility_id=source, to_facility_id=destination,
                   status="received" if received_at else "in_transit", ref_type=ref_type, ref_id=ref_id, note="",
                   sent_by_id=self.user_of.get(source), sent_at=sent_at,
                   received_by_id=self.user_of.get(destination) if received_at else None, received_at=received_at)
        # Its consignment (goods A→B with their proof of delivery) takes the transfer's id, its lines theirs.
        kind = {"order": "shipment", "delivery_stop": "delivery"}.get(ref_type, "transfer")
        self.w.add("supply_consignment", id=transfer, kind=kind, source_id=source, destination_id=destination,
                   status="received" if received_at else "dispatched", transfer_id=transfer, note="",
                   created_by_id=self.user_of.get(source), created_at=sent_at,
                   dispatched_by_id=self.user_of.get(source), dispatched_at=sent_at)
        if received_at:
            self.w.add("supply_proof_of_delivery", id=transfer, consignment_id=transfer,
                       signed_by_id=self.user_of.get(destination), signer_name="村医" if kind == "delivery" else "药师",
                       is_proxy=False, proxy_reason="", note="", signed_at=received_at)
        line_ids = {}
        for index, (_pid, lot, qty, line_ref_type, line_ref_id) in enumerate(picks):
            self.post(out_op, source, lot, -qty, "transfer_out", sent_at, self.user_of.get(source),
                      ref_type="transfer", ref_id=transfer)
            got, reason = received.get(index, (qty, ""))
            line_id = self.new_id("stock_transfer_line")
            line_ids[index] = line_id
            self.w.add("stock_transfer_line", id=line_id, transfer_id=transfer, product_id=lot.product_id,
                       lot_id=lot.id, qty_base_sent=qty, qty_base_received=got if received_at else None,
                       discrepancy_reason=reason, discrepancy_note={"damaged": "运输破损", "missing": "少送"}.get(
                           reason, ""), ref_type=line_ref_type, ref_id=line_ref_id)
            self.w.add("supply_consignment_line", id=line_id, consignment_id=transfer, product_id=lot.product_id,
                       lot_id=lot.id, qty_base=qty, qty_base_received=got if received_at else None,
                       difference_reason={"missing": "short"}.get(reason, reason),
                       difference_note={"damaged": "运输破损", "missing": "少送"}.get(reason, ""),
                       transfer_line_id=line_id)
            if received_at and got:
                self.post(in_op, destination, lot, got, "transfer_in", received_at, self.user_of.get(destination),
                          ref_type="transfer", ref_id=transfer)
        return transfer, line_ids

    # -- purchasing --------------------------------------------------------------------------------------------------

    def purchasing(self, day_no: int, day: date) -> None:
        """Mondays (and the first day): purchase orders for the products due, goods booked two days later."""
        if day_no and day.weekday() != 0:
            return
        week = day_no // 7
        due = [pid for pid in self.items if day_no == 0 or (pid + week) % 4 == 0]
        due = [pid for pid in due if not (pid in self.outage and self.outage[pid][0] <= day_no < self.outage[pid][1])]
        by_supplier = defaultdict(list)
        for pid in due:
            by_supplier[self.supplier_of[pid]].append(pid)
        confirmed_at = local_time(day, 10 + self.rng.random())
        arrival = day + timedelta(days=0 if day_no == 0 else 2)
        received_at = local_time(arrival, 8 if day_no == 0 else 14)
        for supplier, pids in by_supplier.items():
            po = self.new_id("purchase_order")
            self.w.add("purchase_order", id=po, supplier_id=supplier, facility_id=self.central, status="received",
                       note="", created_by_id=self.county_user, confirmed_by_id=self.county_user,
                       confirmed_at=confirmed_at, created_at=confirmed_at, updated_at=received_at)
            receipt = self.new_id("goods_receipt")
            self.w.add("goods_receipt", id=receipt, purchase_order_id=po, idempotency_key=f"sim:gr{receipt}",
                       note="", received_by_id=self.county_user, received_at=received_at)
            op = self.operation("receipt", self.central, received_at, f"sim:gr{receipt}", self.county_user)
            for pid in pids:
                item = self.items[pid]
                cover = 75 if day_no == 0 else 35
                packs = max(1, math.ceil(self.county_rate[pid] * cover * self.rng.uniform(0.85, 1.25) / item.pack_size))
                line = self.new_id("purchase_order_line")
                self.w.add("purchase_order_line", id=line, purchase_order_id=po, product_id=pid, qty_packs=packs,
                           unit_price=round(item.price * 0.92, 2), is_vbp=item.is_vbp, qty_packs_received=packs)
                short = self.rng.random() < 0.05
                expiry = arrival + timedelta(days=self.rng.randint(60, 150) if short else self.rng.randint(300, 900))
                self.lot_serial[pid] += 1
                lot = LotState(self.new_id("lot"), pid, expiry)
                self.lots[lot.id] = lot
                self.w.add("lot", id=lot.id, product_id=pid, lot_number=f"S{item.code}-{self.lot_serial[pid]:03d}",
                           expiry_date=expiry, manufacturer="模拟药业", created_at=received_at)
                self.w.add("goods_receipt_line", id=self.new_id("goods_receipt_line"), receipt_id=receipt,
                           purchase_order_line_id=line, lot_id=lot.id, qty_packs=packs, qty_base=packs * item.pack_size)
                self.post(op, self.central, lot, packs * item.pack_size, "receipt", received_at, self.county_user,
                          ref_type="purchase_order", ref_id=po)
            self.stats["purchase_orders"] += 1

    # -- township orders ---------------------------------------------------------------------------------------------

    def township_order(self, township: int, day_no: int, day: date) -> None:
        """The day before the route: order to cover six weeks of the township's and its villages' use; approved the
        same afternoon, shipped and signed for early next morning."""
        rng = self.rng
        lines = []
        for pid in self.carried[township]:
            need = self.supplied_rate[(township, pid)] * 7
            have = self.on_hand(township, pid, day)
            if have < need * 3:
                item = self.items[pid]
                lines.append((pid, max(1, math.ceil((need * 6 - have) / item.pack_size))))
        if not lines:
            return
        order = self.new_id("supply_order")
        submitted_at, approved_at = local_time(day, 9 + rng.random()), local_time(day, 15 + rng.random())
        ship_day = day + timedelta(days=1)
        shipped_at, received_at = local_time(ship_day, 6.5), local_time(ship_day, 8)
        rows, picks = [], []
        for pid, packs in lines:
            item = self.items[pid]
            line = self.new_id("supply_order_line")
            status, approved = "approved", None
            roll = rng.random()
            if roll < 0.01:
                status = "rejected"
            elif roll < 0.06:
                approved = max(1, int(packs * 0.8))
            effective = 0 if status == "rejected" else (approved or packs)
            taken = self.pick(self.central, pid, effective * item.pack_size, day) if effective else []
            shipped = sum(q for _, q in taken)
            allocated_packs = shipped // item.pack_size
            rows.append((line, pid, packs, approved, status, allocated_packs, effective - allocated_packs, shipped))
            for lot, qty in taken:
                picks.append((pid, lot, qty, "order_line", line))
        received = {i: (max(0, q - max(1, q // 5)), "damaged") for i, (_p, _l, q, _t, _r) in enumerate(picks)
                    if rng.random() < 0.005}
        got_by_line = defaultdict(int)
        for i, (_pid, _lot, qty, _t, line) in enumerate(picks):
            got_by_line[line] += received.get(i, (qty, ""))[0]
        status = "received" if picks else "allocated"
        self.w.add("supply_order", id=order, facility_id=township, status=status, note="",
                   created_by_id=self.user_of.get(township), submitted_by_id=self.user_of.get(township),
                   submitted_at=submitted_at, approved_by_id=self.county_user, approved_at=approved_at,
                   allocated_at=approved_at, created_at=submitted_at, updated_at=received_at if picks else approved_at)
        for line, pid, packs, approved, line_status, allocated, backordered, shipped in rows:
            self.w.add("supply_order_line", id=line, order_id=order, product_id=pid, source="replenishment",
                       is_for_villages=True, urgency="routine", qty_packs=packs, suggested_packs=packs,
                       status=line_status, qty_packs_approved=approved,
                       approval_reason="中心药房库存紧张，按八成批准" if approved else "",
                       qty_packs_allocated=allocated, qty_packs_backordered=max(0, backordered),
                       qty_base_shipped=shipped, qty_base_received=got_by_line.get(line, 0))
        if not picks:
            return
        transfer, _line_ids = self.transfer(self.central, township, picks, shipped_at, received_at,
                                            ref_type="order", ref_id=order, received=received)
        shipment = self.new_id("supply_shipment")
        self.w.add("supply_shipment", id=shipment, order_id=order, consignment_id=transfer,
                   shipped_by_id=self.county_user, shipped_at=shipped_at)
        for _pid, lot, qty, _t, line in picks:
            self.w.add("supply_allocation", id=self.new_id("supply_allocation"), line_id=line,
                       source_facility_id=self.central, lot_id=lot.id, qty_base=qty, shipment_id=shipment,
                       created_by_id=self.county_user, created_at=approved_at)
        self.stats["orders"] += 1

    # -- village delivery runs ---------------------------------------------------------------------------------------

    def delivery_run(self, township: int, day_no: int, day: date) -> None:
        rng = self.rng
        run = self.new_id("delivery_run")
        self.run_sequence[township] += 1
        departed = local_time(day, 9)
        stops, reserved = [], []
        for position, village in enumerate(self.villages_of[township], start=1):
            lines = []
            for pid in self.carried[village]:
                need = self.rate[(village, pid)] * 7
                have = self.on_hand(village, pid, day)
                if have < need * 3 or (village, pid) in self.open_shortages:
                    wanted = self._whole_packs(pid, max(need * 8 - have, need))
                    for lot, planned in self.pick(township, pid, wanted, day):
                        # the reviewer trims a few lines before the run leaves
                        sent = planned if rng.random() >= 0.03 else max(1, int(planned * 0.7))
                        lines.append((pid, lot, planned, sent))
                        self.balance[(township, lot.id)] -= planned  # held for this stop while planning
                        reserved.append((lot, planned))
            stops.append((position, village, lines))
        for lot, planned in reserved:
            self.balance[(township, lot.id)] += planned
        self.w.add("delivery_run", id=run, route_id=self.routes[township], township_id=township,
                   sequence=self.run_sequence[township], departure_date=day, departure_time=time(9),
                   status="delivered", vehicle="皖K·医共体", driver="", note="", usable_after=day,
                   confirmed_by_id=self.user_of.get(township), confirmed_at=local_time(day - timedelta(days=1), 16),
                   dispatched_by_id=self.user_of.get(township), dispatched_at=departed,
                   delivered_at=local_time(day, 9.5 + 0.3 * len(stops)),
                   created_at=local_time(day - timedelta(days=1), 1),
                   updated_at=local_time(day, 9.5 + 0.3 * len(stops)))
        for position, village, lines in stops:
            stop = self.new_id("delivery_stop")
            received_at = local_time(day, 9.5 + 0.3 * position)
            if not lines:
                self.w.add("delivery_stop", id=stop, run_id=run, village_id=village, position=position,
                           status="skipped")
                continue
            line_ids = [self.new_id("delivery_line") for _ in lines]
            received = {}
            for i, (_pid, _lot, _planned, sent) in enumerate(lines):
                roll = rng.random()
                if roll < 0.01:
                    received[i] = (max(0, sent - max(1, sent // 4)), "damaged")
                elif roll < 0.015:
                    received[i] = (0, "missing")
            picks = [(pid, lot, sent, "delivery_line", line_ids[i]) for i, (pid, lot, _p, sent) in enumerate(lines)]
            transfer, transfer_lines = self.transfer(township, village, picks, departed, received_at,
                                                     ref_type="delivery_stop", ref_id=stop, received=received)
            self.w.add("delivery_stop", id=stop, run_id=run, village_id=village, position=position,
                       status="received", consignment_id=transfer)
            for i, (pid, lot, planned, sent) in enumerate(lines):
                self.w.add("delivery_line", id=line_ids[i], stop_id=stop, product_id=pid, lot_id=lot.id, qty_base=sent,
                           planned_qty_base=planned, source="replenish", consignment_line_id=transfer_lines[i])
            arrived = defaultdict(int)
            for i, (pid, _lot, _planned, sent) in enumerate(lines):
                arrived[pid] += received.get(i, (sent, ""))[0]
            for pid, qty in arrived.items():
                if qty:
                    self.serve_shortage(village, pid, departed, received_at, stop, run)
            self.stats["delivery_stops"] += 1
        self.stats["delivery_runs"] += 1

    def _whole_packs(self, pid: int, qty: float) -> int:
        size = self.items[pid].pack_size
        return max(1, math.ceil(qty / size)) * size

    # -- dispensing, expiry ------------------------------------------------------------------------------------------

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
            if got < want and facility in self.township_of:
                self.stats["unmet"] += 1
                self.maybe_register(facility, pid, day)

    def write_offs(self, day_no: int, day: date) -> None:
        """Once a month each facility writes off its expired lots; a few forget."""
        moment = local_time(day, 16)
        for facility in self.facilities:
            if (facility + day_no) % 30 != 0 or self.rng.random() < 0.15:
                continue
            op = None
            for pid in self.carried[facility]:
                for lot in [lot for lot in self.lots_at.get((facility, pid), ()) if lot.expiry <= day]:
                    if op is None:
                        op = self.operation("expiry_write_off", facility, moment, f"sim:x{facility}:{day_no}",
                                            self.user_of.get(facility))
                    self.post(op, facility, lot, -self.balance[(facility, lot.id)], "expiry_write_off", moment,
                              self.user_of.get(facility), reason="expired")
                    self.stats["write_offs"] += 1

    # -- shortages ---------------------------------------------------------------------------------------------------

    def maybe_register(self, village: int, pid: int, day: date) -> None:
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
        record = OpenShortage(sid, village, pid, registered_at, acknowledged_at,
                              acknowledged_at + timedelta(hours=rng.uniform(1, 20)))
        record.cancel_at = registered_at + timedelta(days=rng.uniform(1, 5)) if rng.random() < 0.04 else None
        record.row = {"id": sid, "client_id": f"sim-{sid}", "facility_id": village, "product_id": pid,
                      "free_text": "", "qty_packs": qty_packs, "urgency": urgency, "reason": reason, "note": "",
                      "status": "registered", "cancel_reason": "", "registered_by_id": self.user_of.get(village),
                      "client_created_at": registered_at, "created_at": registered_at,
                      "updated_at": registered_at, "delivered_at": None}
        self.open_shortages[(village, pid)] = record
        self.stats["shortages"] += 1
        if urgency == "emergency":
            self.emergencies.append((day + timedelta(days=1), village, pid, qty_packs * item.pack_size))

    def _events_until(self, record: OpenShortage, moment: datetime) -> None:
        """The acknowledged and ordered steps that happened before `moment`."""
        record.events = [("", "registered", record.registered_at, "", None)]
        status = "registered"
        for step, at in (("acknowledged", record.acknowledged_at), ("ordered", record.ordered_at)):
            if at < moment:
                record.events.append((status, step, at, "", None))
                status = step
        record.status = status

    def progress_shortages(self, day: date) -> None:
        """Cancel the registrations whose patient went elsewhere."""
        day_start = local_time(day, 0)
        for key, record in list(self.open_shortages.items()):
            if record.cancel_at is not None and record.cancel_at <= day_start:
                self._events_until(record, record.cancel_at)
                record.events.append((record.status, "cancelled", record.cancel_at, "", None))
                record.row.update(status="cancelled", cancel_reason="患者已转诊", updated_at=record.cancel_at)
                self.write_shortage(record, "患者已转诊")
                del self.open_shortages[key]

    def emergency_runs(self, day: date) -> None:
        """An emergency registration is carried from the township the next afternoon."""
        due = [e for e in self.emergencies if e[0] == day]
        self.emergencies = [e for e in self.emergencies if e[0] > day]
        for _day, village, pid, qty in due:
            if (village, pid) not in self.open_shortages:
                continue
            township = self.township_of[village]
            taken = self.pick(township, pid, qty, day)
            if not taken:
                continue
            sent_at = local_time(day, 14)
            received_at = sent_at + timedelta(hours=self.rng.uniform(0.5, 2))
            transfer, _ = self.transfer(township, village, [(pid, lot, q, "", None) for lot, q in taken], sent_at,
                                        received_at, ref_type="emergency", ref_id=None)
            self.serve_shortage(village, pid, sent_at, received_at, None, None, transfer=transfer)

    def serve_shortage(self, village: int, pid: int, sent_at: datetime, received_at: datetime, stop: int | None,
                       run: int | None, transfer: int | None = None) -> None:
        record = self.open_shortages.get((village, pid))
        if record is None or record.registered_at >= sent_at:
            return
        self._events_until(record, sent_at)
        if record.status == "registered":
            record.events.append(("registered", "acknowledged", sent_at - timedelta(minutes=30), "", None))
            record.status = "acknowledged"
        ref = ("delivery_run", run) if run else ("transfer", transfer)
        record.events.append((record.status, "dispatched", sent_at, ref[0], ref[1]))
        ref = ("delivery_stop", stop) if stop else ("transfer", transfer)
        record.events.append(("dispatched", "delivered", received_at, ref[0], ref[1]))
        record.row.update(status="delivered", updated_at=received_at, delivered_at=received_at)
        self.write_shortage(record)
        del self.open_shortages[(village, pid)]

    def write_shortage(self, record: OpenShortage, note: str = "") -> None:
        stage = {"ordered": "on_order", "dispatched": "in_transit", "delivered": "delivered"}.get(
            record.row["status"], "")
        acknowledged = next((moment for _f, to_status, moment, _t, _r in record.events if to_status == "acknowledged"),
                            None)
        self.w.add("shortage", **record.row, stage=stage, acknowledged_at=acknowledged)
        for from_status, to_status, moment, ref_type, ref_id in record.events:
            user = self.user_of.get(record.facility_id) if to_status in ("registered", "delivered", "cancelled") \
                else self.user_of.get(self.township_of[record.facility_id])
            self.w.add("shortage_event", id=self.new_id("shortage_event"), shortage_id=record.id,
                       from_status=from_status, to_status=to_status, note=note if to_status == "cancelled" else "",
                       ref_type=ref_type, ref_id=ref_id, user_id=user, created_at=moment)

    # -- the year ----------------------------------------------------------------------------------------------------

    def run(self) -> None:
        self.plan()
        villages = [v for vs in self.villages_of.values() for v in vs]
        dispensing = self.townships + villages
        self.facilities = [self.central] + dispensing
        for day_no in range(self.days):
            day = self.start + timedelta(days=day_no)
            season = 1 + 0.25 * math.sin(2 * math.pi * (day.timetuple().tm_yday - 20) / 365)
            self.purchasing(day_no, day)
            self.progress_shortages(day)
            for township in self.townships:
                route_day = day.weekday() == self.route_weekday[township]
                order_day = (day + timedelta(days=1)).weekday() == self.route_weekday[township]
                if day_no == 0 or (order_day and day_no < self.days - 1):
                    self.township_order(township, day_no, day)
                if (day_no == 1) or (route_day and day_no > 3):
                    self.delivery_run(township, day_no, day)
            self.emergency_runs(day)
            for facility in dispensing:
                self.dispense_day(facility, day_no, day, season)
            self.write_offs(day_no, day)
        now = datetime.now(UTC)
        for record in self.open_shortages.values():
            self._events_until(record, now)
            record.row.update(status=record.status, updated_at=record.events[-1][2])
            self.write_shortage(record)
        for (facility, lot_id), qty in self.balance.items():
            self.w.add("stock_balance", id=self.new_id("stock_balance"), facility_id=facility,
                       product_id=self.lots[lot_id].product_id, lot_id=lot_id, qty_base=qty, updated_at=now)


def choose_items(session, rng: random.Random, count: int) -> list[Item]:
    """Chronic-disease and 集采 products first, then others the village tier may stock, and some township-only."""
    from sqlalchemy import select

    from pharmacy.catalog.models import Drug, Product

    rows = session.execute(select(Product.id, Product.code, Product.pack_size, Product.lowest_tier, Drug.chronic_tags,
                                  Product.vbp_batch, Product.unified_price)
                           .join(Drug, Drug.id == Product.drug_id)
                           .where(Product.status == "active", Product.lowest_tier.in_(["village", "township"]))
                           .order_by(Product.code)).all()
    village = [r for r in rows if r.lowest_tier == "village"]
    township = [r for r in rows if r.lowest_tier == "township"]
    chronic = [r for r in village if r.chronic_tags]
    vbp = [r for r in village if r.vbp_batch and not r.chronic_tags]
    other = [r for r in village if not r.chronic_tags and not r.vbp_batch]
    for group in (chronic, other, township):
        rng.shuffle(group)
    n_township = count // 10
    picked = chronic[:min(len(chronic), max(1, count // 6))] + vbp[:max(0, count // 8)]
    picked += other[:max(0, count - n_township - len(picked))]
    picked += township[:count - len(picked)]
    items = []
    for r in picked[:count]:
        popularity = min(3.0, rng.lognormvariate(-0.9, 0.8) * (1.6 if r.chronic_tags else 1.0))
        items.append(Item(r.id, r.code, max(1, r.pack_size or 1), r.lowest_tier, bool(r.chronic_tags),
                          bool(r.vbp_batch), float(r.unified_price or 10), popularity))
    return items


def keep_weeks(app, log=print) -> float:
    """Compute and keep the dashboard's past weekly figures for the county and every township, as the nightly job
    does; returns the seconds it took."""
    from pharmacy.reports.services import keep_past_weeks

    started = clock.perf_counter()
    with app.app_context():
        from pharmacy.extensions import db

        summary = keep_past_weeks()
        db.session.commit()
    elapsed = clock.perf_counter() - started
    log(f"kept the dashboard's weekly figures for {summary['scopes']} scopes in {elapsed:.1f} s")
    return elapsed


def simulate(app, *, townships: int, villages: int, products: int, days: int, seed: int,
             password: str = "demo-pass", log=print, keep: bool = True) -> dict:
    """Seed the county and play the year into the app's database; return row counts and timings."""
    from sqlalchemy import func, select, text
    from sqlalchemy.exc import DBAPIError

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
        deferred = []
        if dialect == "postgresql":
            # Skipping foreign-key triggers during the load (superuser only) makes it several times faster; every
            # id written refers to a row written before it. Secondary indexes are rebuilt once at the end.
            try:
                with connection.begin_nested():
                    connection.execute(text("SET LOCAL session_replication_role = replica"))
            except DBAPIError:  # not a superuser: load with the checks on
                log("foreign-key checks stay on (not a superuser)")
            deferred = [index for table in TABLES for index in db.metadata.tables[table].indexes if not index.unique]
            for index in deferred:
                index.drop(connection)
        ids = {table: (connection.execute(text(f"SELECT COALESCE(MAX({_pk(db.metadata, table)}), 0) FROM {table}"))
                       .scalar() or 0) + 1 for table in TABLES}
        writer = BulkWriter(connection, db.metadata)
        sim = Simulation(writer=writer, rng=rng, demo=demo, items=items, days=days, end=datetime.now(UTC).date(),
                         ids=ids)
        log(f"seeded county: {len(demo.townships)} townships, {sum(len(v) for v in demo.villages.values())} villages, "
            f"{len(items)} products ({sum(i.is_chronic for i in items)} chronic, {sum(i.is_vbp for i in items)} 集采)")
        sim.run()
        writer.flush()
        rebuilt = clock.perf_counter()
        for index in deferred:
            index.create(connection)
        if dialect == "postgresql":
            for table in TABLES:
                if "id" in db.metadata.tables[table].columns:
                    connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                            f"(SELECT COALESCE(MAX(id), 1) FROM {table}))"))
        db.session.commit()
        if deferred:
            log(f"rebuilt {len(deferred)} indexes in {clock.perf_counter() - rebuilt:.1f} s")
        if dialect == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("ANALYZE"))
    elapsed = clock.perf_counter() - started
    counts = dict(writer.counts)
    log("rows: " + ", ".join(f"{t}={counts[t]:,}" for t in TABLES if counts.get(t)))
    log(f"events: {dict(sim.stats)}")
    log(f"simulated {days} days in {elapsed:.1f} s (bulk writes {writer.seconds:.1f} s)")
    kept = keep_weeks(app, log) if keep else None
    return {"counts": counts, "stats": dict(sim.stats), "seconds": elapsed, "keep_seconds": kept}


def _pk(metadata, table: str) -> str:
    return "id" if "id" in metadata.tables[table].columns else "1"


def ledger_matches_balances(app) -> bool:
    """Every balance equals the sum of its movements, and every movement has its balance."""
    from sqlalchemy import text

    from pharmacy.extensions import db

    with app.app_context():
        sums = ("SELECT facility_id, lot_id, SUM(qty_base) AS q FROM stock_movement GROUP BY facility_id, lot_id")
        wrong = db.session.execute(text(
            f"SELECT COUNT(*) FROM stock_balance b LEFT JOIN ({sums}) m ON b.facility_id = m.facility_id "
            f"AND b.lot_id = m.lot_id WHERE COALESCE(m.q, 0) <> b.qty_base")).scalar()
        orphans = db.session.execute(text(
            f"SELECT COUNT(*) FROM ({sums}) m LEFT JOIN stock_balance b ON b.facility_id = m.facility_id "
            f"AND b.lot_id = m.lot_id WHERE b.id IS NULL")).scalar()
        return wrong == 0 and orphans == 0


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
    parser.add_argument("--no-keep-weeks", action="store_true", help="leave the dashboard's weekly figures to "
                                                                    "be computed on first view")
    args = parser.parse_args(argv)

    from pharmacy import create_app
    from pharmacy.config import _sqlalchemy_url

    url = _sqlalchemy_url(args.database_url)
    if args.create_database:
        create_database(url)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url})
    simulate(app, townships=args.townships, villages=args.villages, products=args.products, days=args.days,
             seed=args.seed, password=args.password, keep=not args.no_keep_weeks)
    print("ledger matches balances:", ledger_matches_balances(app))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
