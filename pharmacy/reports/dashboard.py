"""The dashboard's figures, assembled from `queries` into plain data a template (or the API) can show."""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from ..facilities.models import Facility
from ..shortages.models import URGENCY_RANK, Urgency
from . import queries
from .stats import Weeks, hours_between, median, oldest_first, percentile, ratio

TREND_WEEKS = 12
SHORT_WEEKS = 4


@dataclass
class Trend:
    """A figure's value at each week end, oldest first (the last value is now)."""

    values: list
    points: list[datetime]

    @property
    def current(self):
        return self.values[-1] if self.values else None

    def weeks_ago(self, weeks: int):
        index = len(self.values) - 1 - weeks
        return self.values[index] if 0 <= index < len(self.values) else None

    def change(self, weeks: int = SHORT_WEEKS):
        before, now = self.weeks_ago(weeks), self.current
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
class Dashboard:
    root: Facility
    now: datetime
    units: list[Facility]
    unit_is_village: bool
    village_count: int
    near_expiry_days: int
    # availability of tracer products at village points
    tracer_count: int = 0
    availability: Trend | None = None
    tracer_rows: list[TracerRow] = field(default_factory=list)
    unit_availability: dict[int, float | None] = field(default_factory=dict)
    # stock-outs: carried village × product pairs without usable stock
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


def build_dashboard(root: Facility, *, now: datetime, near_expiry_days: int = 90) -> Dashboard:
    """Compute every figure of the dashboard for the subtree of `root` as of `now`."""
    scope = queries.build_scope(root)
    weeks = Weeks(now=now, count=TREND_WEEKS)
    board = Dashboard(root=root, now=now, units=scope.units, unit_is_village=scope.unit_is_village,
                      village_count=len(scope.village_ids), near_expiry_days=near_expiry_days)
    points = oldest_first(weeks.points)
    _stock_figures(board, scope, weeks, points)
    _shortage_figures(board, scope, weeks, points)
    _near_expiry_figures(board, scope, weeks, points)
    _vbp_figures(board, scope, weeks)
    return board


def _stock_figures(board: Dashboard, scope: queries.Scope, weeks: Weeks, points) -> None:
    tracers = set(queries.tracer_product_ids(scope.county_id, "/" + str(scope.county_id) + "/"))
    rows = queries.village_stock_by_unit(scope, weeks)
    n_points = weeks.count + 1
    in_stock: dict[int, dict[int, list[int]]] = defaultdict(dict)  # product → unit → [s0..]
    out_pairs = [0] * n_points
    out_by_product: dict[int, list[int]] = defaultdict(lambda: [0, 0])  # product → [out now, carried]
    for row in rows:
        counts = [int(row[3 + k]) for k in range(n_points)]
        in_stock[row.product_id][row.unit_id] = counts
        for k in range(n_points):
            out_pairs[k] += int(row.carried) - counts[k]
        out_by_product[row.product_id][0] += int(row.carried) - counts[0]
        out_by_product[row.product_id][1] += int(row.carried)
    board.stockouts = Trend(oldest_first(out_pairs), points)
    worst = sorted(((p, v) for p, v in out_by_product.items() if v[0] > 0), key=lambda pv: (-pv[1][0], pv[0]))[:10]
    labels = queries.product_labels({p for p, _ in worst} | tracers)
    board.stockout_products = [{"product_id": p, "label": labels[p], "out": v[0], "carried": v[1],
                                "share": ratio(v[0], v[1])} for p, v in worst]
    board.stockout_product_count = sum(1 for v in out_by_product.values() if v[0] > 0)

    board.tracer_count = len(tracers)
    denominator = len(tracers) * len(scope.village_ids)
    series = []
    for k in range(n_points):
        available = sum(sum(units.get(u, [0] * n_points)[k] for u in units)
                        for p, units in in_stock.items() if p in tracers)
        series.append(ratio(available, denominator))
    board.availability = Trend(oldest_first(series), points)
    tracer_rows = []
    for p in tracers:
        cells = {u.id: Cell(in_stock[p].get(u.id, [0])[0] if p in in_stock else 0,
                            scope.villages_per_unit.get(u.id, 0)) for u in scope.units}
        total = sum(in_stock[p].get(u, [0])[0] for u in in_stock[p]) if p in in_stock else 0
        tracer_rows.append(TracerRow(p, labels[p], cells, total, len(scope.village_ids)))
    board.tracer_rows = sorted(tracer_rows, key=lambda r: (r.share if r.share is not None else 2, r.label["code"]))
    for u in scope.units:
        held = sum(row.cells[u.id].in_stock for row in tracer_rows)
        board.unit_availability[u.id] = ratio(held, len(tracers) * scope.villages_per_unit.get(u.id, 0))


def _shortage_figures(board: Dashboard, scope: queries.Scope, weeks: Weeks, points) -> None:
    ages = len(queries.AGE_BUCKETS) + 1
    board.open_by_urgency_age = {u.value: [0] * ages for u in sorted(Urgency, key=URGENCY_RANK.get)}
    for facility_id, urgency, age, n in queries.open_shortages(scope, weeks.now):
        board.open_by_urgency_age.setdefault(urgency, [0] * ages)[int(age)] += n
        unit = scope.unit_of.get(facility_id)
        if unit is not None:
            board.open_by_unit[unit] = board.open_by_unit.get(unit, 0) + n
    board.open_shortages = Trend(oldest_first(queries.open_shortage_series(scope, weeks)), points)
    board.registrations = Trend(oldest_first(queries.registrations_per_week(scope, weeks)), oldest_first(
        weeks.points[:-1]))

    short_start = weeks.point(SHORT_WEEKS)
    overall: dict[str, list[float]] = {"4w": [], "12w": []}
    by_unit: dict[int, dict[str, list[float]]] = defaultdict(lambda: {"4w": [], "12w": []})
    by_bucket: dict[int, list[float]] = defaultdict(list)
    for facility_id, _urgency, created_at, delivered_at in queries.delivered_shortages(scope, weeks.start, weeks.now):
        days = hours_between(as_utc(created_at), as_utc(delivered_at)) / 24
        delivered_at = as_utc(delivered_at)
        windows = ["12w"] + (["4w"] if delivered_at > short_start else [])
        unit = scope.unit_of.get(facility_id)
        for w in windows:
            overall[w].append(days)
            if unit is not None:
                by_unit[unit][w].append(days)
        bucket = weeks.bucket_of(delivered_at)
        if bucket is not None:
            by_bucket[bucket].append(days)
    board.response = {w: ResponseTimes.of(v) for w, v in overall.items()}
    board.response_by_unit = {u: {w: ResponseTimes.of(v) for w, v in d.items()} for u, d in by_unit.items()}
    board.response_median = Trend(oldest_first([median(by_bucket.get(k, [])) for k in range(weeks.count)]),
                                  oldest_first(weeks.points[:-1]))


def _near_expiry_figures(board: Dashboard, scope: queries.Scope, weeks: Weeks, points) -> None:
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
    board.near_expiry_value = Trend(oldest_first(queries.near_expiry_value_series(scope, weeks,
                                                                                  board.near_expiry_days)), points)


def _vbp_figures(board: Dashboard, scope: queries.Scope, weeks: Weeks) -> None:
    per_bucket: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])  # bucket → [vbp, all]
    for bucket, is_vbp, value in queries.intake_value_by_week(scope, weeks):
        value = _dec(value)
        per_bucket[int(bucket)][1] += value
        if is_vbp:
            per_bucket[int(bucket)][0] += value
    board.vbp_share = Trend(oldest_first([ratio(per_bucket[k][0], per_bucket[k][1]) if k in per_bucket else None
                                          for k in range(weeks.count)]), oldest_first(weeks.points[:-1]))
    for label, n in (("4w", SHORT_WEEKS), ("12w", weeks.count)):
        vbp = sum((per_bucket[k][0] for k in range(n) if k in per_bucket), Decimal(0))
        total = sum((per_bucket[k][1] for k in range(n) if k in per_bucket), Decimal(0))
        board.vbp[label] = {"vbp_value": vbp, "value": total, "share": ratio(vbp, total)}


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value is not None else Decimal(0)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive UTC datetimes, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
