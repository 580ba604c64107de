"""The dashboard's figures, assembled from `queries` into plain data a template (or the API) can show."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal

from ..clock import as_utc
from ..facilities.models import Facility, Tier
from ..shortages.models import Urgency
from . import queries
from .stats import Weeks, hours_between, median, oldest_first, percentile, ratio

TREND_WEEKS = 12
SHORT_WEEKS = 4
ATTENTION_AVAILABILITY = 0.8  # a unit whose villages hold fewer tracer products than this is named
ATTENTION_FILL_RATE = 0.95


@dataclass
class Trend:
    """A figure at each point (or in each weekly bucket), oldest first: the last value is now (this week)."""

    values: list
    points: list[datetime]
    # How many places back from the last value "four weeks ago" is.
    reference_back: int = SHORT_WEEKS

    @property
    def current(self):
        return self.values[-1] if self.values else None

    @property
    def before(self):
        index = len(self.values) - 1 - self.reference_back
        return self.values[index] if 0 <= index < len(self.values) else None

    def change(self):
        """Now less four weeks ago (None when either is unknown)."""
        before, now = self.before, self.current
        if before is None or now is None:
            return None
        return now - before


@dataclass
class Cell:
    in_stock: int
    villages: int

    @property
    def share(self) -> float | None:
        return ratio(self.in_stock, self.villages)

    @property
    def status(self) -> str:
        share = self.share
        if share is None:
            return "none"
        if share >= 1:
            return "full"
        if share >= 0.8:
            return "most"
        if share >= 0.5:
            return "half"
        return "few"


@dataclass
class TracerRow:
    product_id: int
    label: dict
    cells: dict[int, Cell]
    in_stock: int
    villages: int

    @property
    def share(self) -> float | None:
        return ratio(self.in_stock, self.villages)


@dataclass
class ResponseTimes:
    """Days from registration to delivery."""

    count: int = 0
    median_days: float | None = None
    p90_days: float | None = None

    @classmethod
    def of(cls, days: list[float]) -> "ResponseTimes":
        return cls(count=len(days), median_days=median(days), p90_days=percentile(days, 0.9))


@dataclass
class Fill:
    planned: Decimal = Decimal(0)
    done: Decimal = Decimal(0)

    @property
    def share(self) -> float | None:
        return ratio(self.done, self.planned)


@dataclass
class FillRate:
    """Delivered (or received) over approved (or planned), in the last 4 and 12 weeks, per week and per unit."""

    share_4w: float | None
    share_12w: float | None
    trend: Trend
    by_unit: dict[int, Fill]


def fill_rate(rows, scope: queries.Scope, weeks: Weeks, windows: dict[str, datetime]) -> FillRate:
    """rows: (facility_id, when, planned, done)."""
    totals = {w: Fill() for w in windows}
    by_unit: dict[int, Fill] = defaultdict(Fill)
    by_bucket: dict[int, Fill] = defaultdict(Fill)
    for facility_id, when, planned, done in rows:
        when, planned, done = as_utc(when), _dec(planned), _dec(done)
        for w, since in windows.items():
            if when > since:
                totals[w].planned += planned
                totals[w].done += done
        unit = scope.unit_of.get(facility_id)
        if unit is not None and when > windows["12w"]:
            by_unit[unit].planned += planned
            by_unit[unit].done += done
        bucket = weeks.bucket_of(when)
        if bucket is not None:
            by_bucket[bucket].planned += planned
            by_bucket[bucket].done += done
    trend = _trend(weeks, [by_bucket[k].share if k in by_bucket else None for k in range(weeks.count)],
                   buckets=True)
    return FillRate(totals["4w"].share, totals["12w"].share, trend, dict(by_unit))


@dataclass
class Dashboard:
    root: Facility
    now: datetime
    units: list[Facility]
    unit_is_village: bool
    village_count: int
    near_expiry_days: int
    # availability of tracer products at village points (population: active villages × tracer products, now)
    tracer_count: int = 0
    tracer_pairs: int = 0
    availability: Trend | None = None
    tracer_rows: list[TracerRow] = field(default_factory=list)
    unit_availability: dict[int, float | None] = field(default_factory=dict)
    # stock-outs: the same village × tracer pairs without usable stock
    stockouts: Trend | None = None
    stockout_products: list[dict] = field(default_factory=list)
    stockout_product_count: int = 0
    # shortages
    open_shortages: Trend | None = None
    open_by_urgency_age: dict[str, list[int]] = field(default_factory=dict)
    open_by_unit: dict[int, int] = field(default_factory=dict)
    registrations: Trend | None = None
    response_median: Trend | None = None
    response: dict[str, ResponseTimes] = field(default_factory=dict)
    response_by_unit: dict[int, dict[str, ResponseTimes]] = field(default_factory=dict)
    # near expiry
    near_expiry_value: Trend | None = None
    near_expiry_facilities: list[dict] = field(default_factory=list)
    near_expiry_totals: dict = field(default_factory=dict)
    # 集采
    vbp_share: Trend | None = None
    vbp: dict = field(default_factory=dict)
    # fill rates (township orders, village deliveries), filled in when those domains are installed
    fill_rates: dict = field(default_factory=dict)

    def unit_name(self, unit_id) -> str:
        return next((u.name for u in self.units if u.id == unit_id), "")

    @property
    def attention(self) -> list[dict]:
        """What needs someone today, most pressing first: {kind, n, value, names}."""
        items = []
        emergency = sum(self.open_by_urgency_age.get("emergency", []))
        if emergency:
            items.append({"kind": "emergency", "n": emergency})
        old = sum(counts[-1] for counts in self.open_by_urgency_age.values())
        if old:
            items.append({"kind": "old_shortages", "n": old})
        low = [u.name for u in self.units if (self.unit_availability.get(u.id) or 1) < ATTENTION_AVAILABILITY]
        if low and self.tracer_count:
            items.append({"kind": "low_availability", "n": len(low), "names": low})
        for key in ("orders", "deliveries"):
            rate = self.fill_rates.get(key)
            if rate is not None and rate.share_4w is not None and rate.share_4w < ATTENTION_FILL_RATE:
                items.append({"kind": f"{key}_fill", "value": rate.share_4w})
        if self.near_expiry_totals.get("expired_lots"):
            items.append({"kind": "expired", "n": self.near_expiry_totals["expired_lots"],
                          "value": self.near_expiry_totals["expired_value"]})
        return items


def tracer_availability(pairs_in_stock: int, pairs: int) -> float | None:
    """Tracer availability: village × tracer pairs holding usable stock ÷ all village × tracer pairs (None when
    there is no pair). Its population and `village_stockouts`' are one (`definitions`)."""
    return ratio(pairs_in_stock, pairs)


def village_stockouts(pairs_in_stock: int, pairs: int) -> int:
    """Village stock-outs: the village × tracer pairs without usable stock, those availability misses."""
    return pairs - pairs_in_stock


def build_dashboard(root: Facility, *, now: datetime, near_expiry_days: int, tz: tzinfo = UTC,
                    keep: bool = True, use_kept: bool = True) -> Dashboard:
    """Compute every figure of the dashboard for the subtree of `root` as of `now`; weeks start on Monday in
    `tz`. Figures at past week starts come from (`use_kept`) and go to (`keep`) the snapshot table."""
    scope = queries.build_scope(root)
    weeks = Weeks(now=now, count=TREND_WEEKS, tz=tz)
    board = Dashboard(root=root, now=now, units=scope.units, unit_is_village=scope.unit_is_village,
                      village_count=len(scope.village_ids), near_expiry_days=near_expiry_days)
    history = Snapshots(scope, weeks, keep=keep, use_kept=use_kept)
    _stock_figures(board, scope, weeks, history)
    _shortage_figures(board, scope, weeks)
    _near_expiry_figures(board, scope, weeks, history)
    _vbp_figures(board, scope, weeks)
    _fill_rates(board, scope, weeks)
    return board


def _windows(weeks: Weeks) -> dict[str, datetime]:
    return {"4w": weeks.now - timedelta(days=7 * SHORT_WEEKS), "12w": weeks.now - timedelta(days=7 * TREND_WEEKS)}


def _fill_rates(board: Dashboard, scope: queries.Scope, weeks: Weeks) -> None:
    windows = _windows(weeks)
    since = min(weeks.start, windows["12w"])
    orders = queries.received_orders(scope, since, weeks.now)
    if orders:
        board.fill_rates["orders"] = fill_rate(orders, scope, weeks, windows)
    deliveries = queries.received_deliveries(scope, since, weeks.now)
    if deliveries:
        board.fill_rates["deliveries"] = fill_rate(deliveries, scope, weeks, windows)


def _trend(weeks: Weeks, newest_first: list, *, buckets: bool = False) -> Trend:
    points = weeks.points[1:] if buckets else weeks.points
    return Trend(oldest_first(newest_first), oldest_first(points), weeks.reference() - (1 if buckets else 0))


class Snapshots:
    """Figures at past week starts: read from the snapshot table, the missing ones computed (in one pass) and,
    once safely in the past, kept."""

    SETTLED = timedelta(minutes=10)  # a transaction still open at a point has committed by then

    def __init__(self, scope: queries.Scope, weeks: Weeks, *, keep: bool = True, use_kept: bool = True):
        self.scope, self.weeks, self.keep, self.use_kept = scope, weeks, keep, use_kept

    def get(self, kind: str, compute) -> dict[datetime, dict]:
        """{point: payload} for every past point; `compute(points)` returns {point: payload} for those missing."""
        past = self.weeks.points[1:]
        found = queries.snapshots(self.scope.root.id, kind, past) if self.use_kept else {}
        missing = [p for p in past if p not in found]
        if missing:
            computed = compute(missing)
            settled = {p: v for p, v in computed.items() if p <= self.weeks.now - self.SETTLED}
            if self.keep and settled:
                queries.keep_snapshots(self.scope.root.id, kind, settled)
            found.update(computed)
        return found


def _village_stock_past(scope: queries.Scope, weeks: Weeks, history: Snapshots) -> dict[datetime, dict]:
    def compute(points):
        per_point = queries.village_stock_history(scope, points, weeks.now)
        return {p: {"products": {str(pid): v for pid, v in per_point[p].items()}} for p in points}

    return history.get("village_stock", compute)


def _near_expiry_past(scope: queries.Scope, weeks: Weeks, history: Snapshots, days: int) -> dict[datetime, dict]:
    def compute(points):
        values = queries.near_expiry_values(scope, points, weeks.now, days)
        return {p: {"value": str(v)} for p, v in values.items()}

    return history.get(f"near_expiry_{days}", compute)


def keep_history(root: Facility, *, now: datetime, near_expiry_days: int, tz: tzinfo = UTC) -> None:
    """Compute and keep the figures of `root`'s dashboard at past week starts (what the nightly job does), so
    the morning's first view reads them instead of computing them."""
    scope = queries.build_scope(root)
    weeks = Weeks(now=now, count=TREND_WEEKS, tz=tz)
    history = Snapshots(scope, weeks, keep=True)
    _village_stock_past(scope, weeks, history)
    _near_expiry_past(scope, weeks, history, near_expiry_days)


def _stock_figures(board: Dashboard, scope: queries.Scope, weeks: Weeks, history: Snapshots) -> None:
    tracers = set(queries.tracer_product_ids(scope.county_id, "/" + str(scope.county_id) + "/"))
    now_rows = queries.village_stock_by_unit(scope, weeks.now)
    in_stock: dict[int, dict[int, int]] = defaultdict(dict)  # product → unit → villages in stock now
    totals: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # product → [carried, in stock] now
    for row in now_rows:
        in_stock[row.product_id][row.unit_id] = int(row.in_stock)
        totals[row.product_id][0] += int(row.carried)
        totals[row.product_id][1] += int(row.in_stock)

    past = _village_stock_past(scope, weeks, history)
    series_totals = [dict(totals)] + [{int(pid): v for pid, v in past[p]["products"].items()}
                                      for p in weeks.points[1:]]
    villages = len(scope.village_ids)
    board.tracer_count = len(tracers)
    board.tracer_pairs = len(tracers) * villages
    held = [sum(t.get(p, [0, 0])[1] for p in tracers) for t in series_totals]
    board.availability = _trend(weeks, [tracer_availability(n, board.tracer_pairs) for n in held])
    board.stockouts = _trend(weeks, [village_stockouts(n, board.tracer_pairs) for n in held])

    out_now = {p: villages - totals.get(p, [0, 0])[1] for p in tracers}
    out_now = {p: out for p, out in out_now.items() if out > 0}
    worst = sorted(out_now.items(), key=lambda pv: (-pv[1], pv[0]))[:10]
    labels = queries.product_labels(tracers)
    board.stockout_products = [{"product_id": p, "label": labels[p], "out": out, "villages": villages,
                                "share": ratio(out, villages)} for p, out in worst]
    board.stockout_product_count = len(out_now)

    tracer_rows = []
    for p in tracers:
        cells = {u.id: Cell(in_stock.get(p, {}).get(u.id, 0), scope.villages_per_unit.get(u.id, 0))
                 for u in scope.units}
        tracer_rows.append(TracerRow(p, labels[p], cells, totals.get(p, [0, 0])[1], villages))
    board.tracer_rows = sorted(tracer_rows, key=lambda r: (r.share if r.share is not None else 2, r.label["code"]))
    for u in scope.units:
        held = sum(row.cells[u.id].in_stock for row in tracer_rows)
        board.unit_availability[u.id] = ratio(held, len(tracers) * scope.villages_per_unit.get(u.id, 0))


def _shortage_figures(board: Dashboard, scope: queries.Scope, weeks: Weeks) -> None:
    ages = len(queries.AGE_BUCKETS) + 1
    board.open_by_urgency_age = {u.value: [0] * ages for u in Urgency.by_rank()}
    for facility_id, urgency, age, n in queries.open_shortages(scope, weeks.now):
        board.open_by_urgency_age.setdefault(urgency, [0] * ages)[int(age)] += n
        unit = scope.unit_of.get(facility_id)
        if unit is not None:
            board.open_by_unit[unit] = board.open_by_unit.get(unit, 0) + n
    board.open_shortages = _trend(weeks, queries.open_shortage_series(scope, weeks))
    board.registrations = _trend(weeks, queries.registrations_per_week(scope, weeks), buckets=True)

    windows = _windows(weeks)
    overall: dict[str, list[float]] = {w: [] for w in windows}
    by_unit: dict[int, dict[str, list[float]]] = defaultdict(lambda: {w: [] for w in windows})
    by_bucket: dict[int, list[float]] = defaultdict(list)
    for facility_id, _urgency, created_at, delivered_at in queries.delivered_shortages(
            scope, min(weeks.start, windows["12w"]), weeks.now):
        delivered_at = as_utc(delivered_at)
        days = hours_between(as_utc(created_at), delivered_at) / 24
        unit = scope.unit_of.get(facility_id)
        for w, since in windows.items():
            if delivered_at > since:
                overall[w].append(days)
                if unit is not None:
                    by_unit[unit][w].append(days)
        bucket = weeks.bucket_of(delivered_at)
        if bucket is not None:
            by_bucket[bucket].append(days)
    board.response = {w: ResponseTimes.of(v) for w, v in overall.items()}
    board.response_by_unit = {u: {w: ResponseTimes.of(v) for w, v in d.items()} for u, d in by_unit.items()}
    board.response_median = _trend(weeks, [median(by_bucket.get(k, [])) for k in range(weeks.count)], buckets=True)


def _near_expiry_figures(board: Dashboard, scope: queries.Scope, weeks: Weeks, history: Snapshots) -> None:
    rows = queries.near_expiry_by_facility(scope, weeks.now.date(), board.near_expiry_days)
    facilities = []
    totals = {"lots": 0, "packs": Decimal(0), "value": Decimal(0), "expired_lots": 0, "expired_value": Decimal(0)}
    for r in rows:
        item = {"facility_id": r.facility_id, "name": scope.names.get(r.facility_id, ""),
                "unit": board.unit_name(scope.unit_of.get(r.facility_id)), "lots": int(r.lots or 0),
                "packs": _dec(r.packs), "value": _dec(r.value), "expired_lots": int(r.expired_lots or 0),
                "expired_value": _dec(r.expired_value)}
        for key in totals:
            totals[key] += item[key]
        if item["lots"] or item["expired_lots"]:
            facilities.append(item)
    board.near_expiry_facilities = sorted(facilities, key=lambda f: (-f["value"], -f["expired_value"], f["name"]))
    board.near_expiry_totals = totals

    past = _near_expiry_past(scope, weeks, history, board.near_expiry_days)
    board.near_expiry_value = _trend(weeks, [totals["value"]] + [Decimal(past[p]["value"]) for p in weeks.points[1:]])


def _vbp_figures(board: Dashboard, scope: queries.Scope, weeks: Weeks) -> None:
    """集采 share of purchase value (purchase orders) for a county, of value received from outside for a
    township (its health centre and villages buy nothing themselves)."""
    if scope.root.tier != Tier.TOWNSHIP:
        _vbp_from_purchases(board, scope, weeks)
        return
    per_bucket: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])  # bucket → [vbp, all]
    for bucket, is_vbp, value in queries.intake_value_by_week(scope, weeks):
        per_bucket[int(bucket)][1] += _dec(value)
        if is_vbp:
            per_bucket[int(bucket)][0] += _dec(value)
    board.vbp_share = _trend(weeks, [ratio(*per_bucket[k]) if k in per_bucket else None
                                     for k in range(weeks.count)], buckets=True)
    windows = _windows(weeks)
    sums = {w: [Decimal(0), Decimal(0)] for w in windows}
    for row in queries.intake_value_since(scope, list(windows.values()), weeks.now):
        for i, w in enumerate(windows):
            sums[w][1] += _dec(row[1 + i])
            if row.is_vbp:
                sums[w][0] += _dec(row[1 + i])
    board.vbp = {w: {"vbp_value": v, "value": t, "share": ratio(v, t)} for w, (v, t) in sums.items()}


def _vbp_from_purchases(board: Dashboard, scope: queries.Scope, weeks: Weeks) -> None:
    windows = _windows(weeks)
    sums = {w: [Decimal(0), Decimal(0)] for w in windows}
    per_bucket: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for confirmed_at, is_vbp, value in queries.purchase_values(scope, min(weeks.start, windows["12w"]), weeks.now):
        confirmed_at, value = as_utc(confirmed_at), _dec(value)
        targets = [sums[w] for w, since in windows.items() if confirmed_at > since]
        bucket = weeks.bucket_of(confirmed_at)
        if bucket is not None:
            targets.append(per_bucket[bucket])
        for target in targets:
            target[1] += value
            if is_vbp:
                target[0] += value
    board.vbp_share = _trend(weeks, [ratio(*per_bucket[k]) if k in per_bucket else None
                                     for k in range(weeks.count)], buckets=True)
    board.vbp = {w: {"vbp_value": v, "value": t, "share": ratio(v, t)} for w, (v, t) in sums.items()}


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)
