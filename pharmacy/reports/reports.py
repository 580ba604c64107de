"""The reports: each is one SQL select (columns in display order) over the reader's scope and filters, shown a
page at a time and exported whole by streaming."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from sqlalchemy import Numeric, Select, String, and_, case, cast, func, literal, or_, select
from sqlalchemy.orm import aliased

from .. import clock
from ..catalog.models import Drug, Product
from ..deliveries.models import DeliveryLine, DeliveryRun, DeliveryStop, Route
from ..extensions import db
from ..facilities.models import Facility, Tier
from ..inventory.consumption import DAYS_PER_MONTH
from ..inventory.models import Lot, MovementKind, StockBalance, StockMovement
from ..supply import policy as dispatch_policy
from ..supply.models import ConsignmentLine, ProofOfDelivery
from ..shortages.models import Shortage, ShortageEvent, ShortageStatus
from ..vocabulary import DifferenceReason, RunStatus, ShortageReason, Term, Urgency


@dataclass
class Column:
    key: str
    label: str  # Chinese message id
    kind: str = "text"  # text | int | num | money | date | datetime | days | enum
    labels: type[Term] | None = None  # the vocabulary an enum column's codes come from
    on_screen: bool = True  # False: only in the downloads and the API (the page must fit 1280 px)
    wraps: bool = False  # long text (names, notes) may wrap on the page

    @property
    def css(self) -> str:
        """The cell's classes on the page."""
        return " ".join(c for c in ("num" if self.kind in ("int", "num", "money", "days") else "",
                                    "wrap" if self.wraps else "") if c)


@dataclass
class Filters:
    """What the reader asked for, already checked against their scope."""

    root: Facility
    q: str = ""
    class_path: str = ""
    date_from: date | None = None
    date_to: date | None = None
    tz: tzinfo = UTC  # dates are the county's days

    def days(self) -> int:
        """Days in the range, both ends included; an open end is today, an open start 90 days before the end."""
        end = self.date_to or clock.today()
        start = self.date_from or end - timedelta(days=89)
        return max((end - start).days + 1, 1)

    def since(self) -> datetime | None:
        return datetime.combine(self.date_from, time.min, tzinfo=self.tz).astimezone(UTC) if self.date_from else None

    def until(self) -> datetime | None:
        """Exclusive end: the start of the day after `date_to`."""
        if not self.date_to:
            return None
        return datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=self.tz).astimezone(UTC)


@dataclass
class Report:
    key: str
    title: str
    description: str
    columns: list[Column]
    build: Callable[[Filters], Select]
    uses_dates: bool = True
    date_label: str = "日期"
    # (days back, days ahead) from today when no range is given; ahead None: the dispatch policy's near-expiry window
    default_days: tuple[int, int | None] | None = None
    facility_tiers: tuple[str, ...] = field(default=(Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE))

    @property
    def screen_columns(self) -> list[tuple[int, Column]]:
        """(position in the row, column) of the columns the page shows."""
        return [(i, c) for i, c in enumerate(self.columns) if c.on_screen]

    @property
    def export_only(self) -> list[Column]:
        return [c for c in self.columns if not c.on_screen]

    def default_range(self, today: date) -> tuple[date | None, date | None]:
        if not self.default_days:
            return None, None
        back, ahead = self.default_days
        if ahead is None:
            ahead = dispatch_policy.near_expiry_days()
        return today - timedelta(days=back), today + timedelta(days=ahead)


def _product_filter(stmt: Select, f: Filters) -> Select:
    if f.q:
        like = f"%{f.q}%"
        stmt = stmt.where(or_(Drug.generic_name.like(like), Drug.pinyin_initials.like(like.upper()),
                              Product.code.like(like.upper()), Drug.name_en.ilike(like)))
    if f.class_path:
        stmt = stmt.where(or_(Drug.class_path == f.class_path, Drug.class_path.startswith(f.class_path + "/"),
                              Drug.category == f.class_path))
    return stmt


def _township_name(facility, parent) -> object:
    return case((facility.tier == Tier.VILLAGE, parent.name), (facility.tier == Tier.TOWNSHIP, facility.name),
                else_="")


def _money(qty):
    return cast(qty, Numeric(18, 4)) * Product.unified_price / Product.pack_size


# --- stock on hand -------------------------------------------------------------------------------------------------

def build_stock(f: Filters) -> Select:
    fac, parent = aliased(Facility), aliased(Facility)
    today = clock.today()
    usable = case((Lot.expiry_date > today, StockBalance.qty_base), else_=0)
    near = today + timedelta(days=dispatch_policy.near_expiry_days())
    soon = case((and_(Lot.expiry_date > today, Lot.expiry_date <= near), StockBalance.qty_base), else_=0)
    stmt = (select(_township_name(fac, parent).label("township"), fac.name.label("facility"), Product.code,
                   Drug.generic_name, Product.dosage_form, Product.strength, Product.base_unit,
                   func.sum(StockBalance.qty_base).label("qty"),
                   (cast(func.sum(StockBalance.qty_base), Numeric(18, 4)) / Product.pack_size).label("packs"),
                   func.sum(usable).label("usable"), func.sum(soon).label("soon"),
                   func.min(Lot.expiry_date).label("first_expiry"),
                   func.sum(_money(StockBalance.qty_base)).label("value"))
            .select_from(StockBalance)
            .join(fac, fac.id == StockBalance.facility_id).outerjoin(parent, parent.id == fac.parent_id)
            .join(Lot, Lot.id == StockBalance.lot_id)
            .join(Product, Product.id == StockBalance.product_id).join(Drug, Drug.id == Product.drug_id)
            .where(StockBalance.qty_base > 0, fac.path.startswith(f.root.path))
            .group_by(fac.code, fac.name, fac.tier, parent.name, Product.code, Drug.generic_name, Product.dosage_form,
                      Product.strength, Product.base_unit, Product.pack_size)
            .order_by(fac.code, Product.code))
    return _product_filter(stmt, f)


STOCK = Report(
    key="stock", title="库存明细", description="各机构各药品的现有库存、可用量、近效期量与金额（按统一价）",
    columns=[Column("township", "乡镇"), Column("facility", "机构"), Column("code", "产品编码"),
             Column("name", "通用名"), Column("form", "剂型"), Column("strength", "规格"), Column("unit", "单位"),
             Column("qty", "库存", "int"), Column("packs", "折合包装", "num"), Column("usable", "可用", "int"),
             Column("soon", "近效期内到期", "int"), Column("first_expiry", "最近效期", "date"),
             Column("value", "金额（元）", "money")],
    build=build_stock, uses_dates=False)


# --- consumption (AMC) ---------------------------------------------------------------------------------------------

def build_consumption(f: Filters) -> Select:
    villages = select(Facility.id).where(Facility.path.startswith(f.root.path), Facility.tier == Tier.VILLAGE)
    m = StockMovement
    conditions = [m.kind == MovementKind.DISPENSE, m.facility_id.in_(villages)]
    if f.since():
        conditions.append(m.created_at >= f.since())
    if f.until():
        conditions.append(m.created_at < f.until())
    used = (select(m.product_id, func.count(func.distinct(m.facility_id)).label("villages"),
                   func.sum(-m.qty_base).label("qty"))
            .where(*conditions).group_by(m.product_id)).subquery()
    held = (select(StockBalance.product_id, func.sum(StockBalance.qty_base).label("on_hand"))
            .where(StockBalance.facility_id.in_(villages), StockBalance.qty_base > 0)
            .group_by(StockBalance.product_id)).subquery()
    months = f.days() / DAYS_PER_MONTH
    amc = cast(used.c.qty, Numeric(18, 4)) / literal(months, Numeric(18, 6))
    stmt = (select(Product.code, Drug.generic_name, Product.dosage_form, Product.strength, Product.base_unit,
                   used.c.villages, used.c.qty, amc.label("amc"),
                   (amc / used.c.villages).label("amc_per_village"),
                   func.coalesce(held.c.on_hand, 0).label("on_hand"),
                   (cast(func.coalesce(held.c.on_hand, 0), Numeric(18, 4)) / func.nullif(amc, 0)).label("months"))
            .select_from(used).join(Product, Product.id == used.c.product_id).join(Drug, Drug.id == Product.drug_id)
            .outerjoin(held, held.c.product_id == used.c.product_id)
            .order_by(Product.code))
    return _product_filter(stmt, f)


CONSUMPTION = Report(
    key="consumption", title="村级消耗与月均用量",
    description="所选范围内村卫生室的发药量、月均消耗（AMC = 期间发药量 ÷ 期间天数 × 30）与可供月数",
    columns=[Column("code", "产品编码"), Column("name", "通用名"), Column("form", "剂型"), Column("strength", "规格"),
             Column("unit", "单位"), Column("villages", "发药村数", "int"), Column("qty", "期间消耗", "int"),
             Column("amc", "月均消耗", "num"), Column("amc_per_village", "村均月消耗", "num"),
             Column("on_hand", "村级现有库存", "int"), Column("months", "可供月数", "num")],
    build=build_consumption, date_label="发药日期", default_days=(89, 0))


# --- shortage register ---------------------------------------------------------------------------------------------

def _first_reached(status: str):
    e = ShortageEvent
    return func.min(case((e.to_status == status, e.created_at), else_=None))


def build_shortages(f: Filters) -> Select:
    fac, parent = aliased(Facility), aliased(Facility)
    e = ShortageEvent
    times = (select(e.shortage_id, *[_first_reached(s).label(s) for s in ShortageStatus])
             .group_by(e.shortage_id)).subquery()
    s = Shortage
    stmt = (select(s.id, _township_name(fac, parent).label("township"), fac.name.label("facility"), Product.code,
                   func.coalesce(Drug.generic_name + " " + Product.strength, s.free_text).label("product"),
                   s.qty_packs, s.urgency, s.reason, s.status, s.created_at,
                   *[times.c[st.value] for st in ShortageStatus if st != ShortageStatus.REGISTERED])
            .select_from(s)
            .join(fac, fac.id == s.facility_id).outerjoin(parent, parent.id == fac.parent_id)
            .outerjoin(Product, Product.id == s.product_id).outerjoin(Drug, Drug.id == Product.drug_id)
            .outerjoin(times, times.c.shortage_id == s.id)
            .where(fac.path.startswith(f.root.path))
            .order_by(s.created_at.desc(), s.id.desc()))
    if f.since():
        stmt = stmt.where(s.created_at >= f.since())
    if f.until():
        stmt = stmt.where(s.created_at < f.until())
    if f.q:
        stmt = stmt.where(or_(s.free_text.like(f"%{f.q}%"), Drug.generic_name.like(f"%{f.q}%"),
                              Drug.pinyin_initials.like(f"%{f.q.upper()}%"), Product.code.like(f"%{f.q.upper()}%")))
    if f.class_path:
        stmt = stmt.where(or_(Drug.class_path == f.class_path, Drug.class_path.startswith(f.class_path + "/"),
                              Drug.category == f.class_path))
    return stmt


SHORTAGES = Report(
    key="shortages", title="缺药登记簿", description="每条缺药登记及其每个状态首次到达的时间",
    columns=[Column("id", "编号", "int"), Column("township", "乡镇", wraps=True),
             Column("facility", "机构", wraps=True), Column("code", "产品编码", on_screen=False),
             Column("product", "药品", wraps=True), Column("qty_packs", "数量（包装）", "int"),
             Column("urgency", "紧急程度", "enum", Urgency),
             Column("reason", "原因", "enum", ShortageReason, wraps=True),
             Column("status", "当前状态", "enum", ShortageStatus),
             Column("registered_at", "登记时间", "datetime"),
             Column("acknowledged_at", "确认时间", "datetime", on_screen=False),
             Column("ordered_at", "订购时间", "datetime", on_screen=False),
             Column("dispatched_at", "发出时间", "datetime", on_screen=False),
             Column("delivered_at", "送达时间", "datetime"),
             Column("cancelled_at", "取消时间", "datetime", on_screen=False)],
    build=build_shortages, date_label="登记日期", default_days=(90, 0))


# --- near-expiry list ----------------------------------------------------------------------------------------------

def build_near_expiry(f: Filters) -> Select:
    fac, parent = aliased(Facility), aliased(Facility)
    today = clock.today()
    start = f.date_from or today
    end = f.date_to or today + timedelta(days=dispatch_policy.near_expiry_days())
    stmt = (select(_township_name(fac, parent).label("township"), fac.name.label("facility"), Product.code,
                   Drug.generic_name, Product.strength, Lot.lot_number, Lot.expiry_date,
                   StockBalance.qty_base, Product.base_unit,
                   (cast(StockBalance.qty_base, Numeric(18, 4)) / Product.pack_size).label("packs"),
                   _money(StockBalance.qty_base).label("value"))
            .select_from(StockBalance)
            .join(fac, fac.id == StockBalance.facility_id).outerjoin(parent, parent.id == fac.parent_id)
            .join(Lot, Lot.id == StockBalance.lot_id)
            .join(Product, Product.id == StockBalance.product_id).join(Drug, Drug.id == Product.drug_id)
            .where(StockBalance.qty_base > 0, fac.path.startswith(f.root.path), Lot.expiry_date >= start,
                   Lot.expiry_date <= end)
            .order_by(Lot.expiry_date, fac.code, Product.code, Lot.lot_number))
    return _product_filter(stmt, f)


NEAR_EXPIRY = Report(
    key="near_expiry", title="近效期清单", description="在所选效期范围内到期、仍有库存的批号（默认今天起至近效期窗口结束）",
    columns=[Column("township", "乡镇"), Column("facility", "机构"), Column("code", "产品编码"),
             Column("name", "通用名"), Column("strength", "规格"), Column("lot", "批号"),
             Column("expiry", "有效期至", "date"),
             Column("qty", "数量", "int"), Column("unit", "单位"), Column("packs", "折合包装", "num"),
             Column("value", "金额（元）", "money")],
    build=build_near_expiry, date_label="有效期", default_days=(0, None))


# --- delivery runs and their discrepancies ----------------------------------------------------------------------

def _run_number(run):
    """The run's number as its page shows it, PS<departure date>-<id on four digits>, in portable SQL."""
    padded = case((run.id < 10, literal("000") + cast(run.id, String)),
                  (run.id < 100, literal("00") + cast(run.id, String)),
                  (run.id < 1000, literal("0") + cast(run.id, String)), else_=cast(run.id, String))
    return literal("PS") + func.replace(cast(run.departure_date, String), "-", "") + literal("-") + padded


def _runs_in(f: Filters, run):
    """Runs of townships in the scope (or serving the chosen village) departing in the date range."""
    conditions = [run.township_id.in_(select(Facility.id).where(Facility.path.startswith(f.root.path)))]
    if f.root.tier == Tier.VILLAGE:
        conditions = [run.id.in_(select(DeliveryStop.run_id).where(DeliveryStop.village_id == f.root.id))]
    if f.date_from:
        conditions.append(run.departure_date >= f.date_from)
    if f.date_to:
        conditions.append(run.departure_date <= f.date_to)
    return conditions


def build_delivery_runs(f: Filters) -> Select:
    run, township = DeliveryRun, aliased(Facility)
    line, stop, tl = DeliveryLine, DeliveryStop, ConsignmentLine
    received = func.coalesce(tl.qty_base_received, 0)
    differs = and_(tl.qty_base_received.is_not(None), tl.qty_base_received != line.qty_base)
    product_filter = []
    if f.q or f.class_path:
        product_filter = [line.product_id.in_(_product_filter(select(Product.id).join(Drug, Drug.id == Product.drug_id),
                                                              f))]
    village_filter = [stop.village_id == f.root.id] if f.root.tier == Tier.VILLAGE else []
    totals = (select(stop.run_id, func.count(func.distinct(stop.id)).label("stops"), func.count(line.id).label("lines"),
                     func.sum(line.planned_qty_base).label("planned"), func.sum(line.qty_base).label("sent"),
                     func.sum(case((tl.qty_base_received.is_not(None), received), else_=0)).label("received"),
                     func.sum(case((differs, 1), else_=0)).label("differences"),
                     func.sum(case((differs, line.qty_base - received), else_=0)).label("missing"))
              .select_from(line).join(stop, stop.id == line.stop_id)
              .outerjoin(tl, tl.id == line.consignment_line_id)
              .where(*product_filter, *village_filter)
              .group_by(stop.run_id)).subquery()
    number = _run_number(run)
    stmt = (select(number.label("number"), township.name.label("township"), Route.name.label("route"),
                   run.departure_date, run.status, func.coalesce(totals.c.stops, 0), func.coalesce(totals.c.lines, 0),
                   func.coalesce(totals.c.planned, 0), func.coalesce(totals.c.sent, 0),
                   func.coalesce(totals.c.received, 0), func.coalesce(totals.c.differences, 0),
                   func.coalesce(totals.c.missing, 0), run.dispatched_at, run.delivered_at)
            .select_from(run).join(township, township.id == run.township_id).join(Route, Route.id == run.route_id)
            .outerjoin(totals, totals.c.run_id == run.id)
            .where(*_runs_in(f, run))
            .order_by(run.departure_date.desc(), run.id.desc()))
    if product_filter:
        stmt = stmt.where(totals.c.lines > 0)
    return stmt


DELIVERY_RUNS = Report(
    key="deliveries", title="配送单",
    description="每张配送单的站点、计划量、发出量、实收量与差异（数量为基本单位合计）",
    columns=[Column("number", "配送单号"), Column("township", "乡镇"), Column("route", "线路"),
             Column("departure_date", "出发日期", "date"), Column("status", "状态", "enum", RunStatus),
             Column("stops", "站点", "int"), Column("lines", "明细", "int"), Column("planned", "计划量", "int"),
             Column("sent", "发出量", "int"), Column("received", "实收量", "int"),
             Column("differences", "差异条数", "int"), Column("missing", "短少量", "int"),
             Column("dispatched_at", "发车时间", "datetime"), Column("delivered_at", "签收完成", "datetime")],
    build=build_delivery_runs, date_label="出发日期", default_days=(29, 0))


def build_delivery_differences(f: Filters) -> Select:
    run, village, township = DeliveryRun, aliased(Facility), aliased(Facility)
    line, stop, tl = DeliveryLine, DeliveryStop, ConsignmentLine
    number = _run_number(run)
    stmt = (select(number.label("number"), run.departure_date, township.name.label("township"),
                   village.name.label("village"), Product.code, Drug.generic_name, Product.strength, Lot.lot_number,
                   line.planned_qty_base, line.qty_base, tl.qty_base_received,
                   (line.qty_base - tl.qty_base_received).label("missing"), Product.base_unit,
                   tl.difference_reason, tl.difference_note, ProofOfDelivery.signer_name, ProofOfDelivery.signed_at)
            .select_from(line).join(stop, stop.id == line.stop_id).join(run, run.id == stop.run_id)
            .join(village, village.id == stop.village_id).join(township, township.id == run.township_id)
            .join(tl, tl.id == line.consignment_line_id).join(Lot, Lot.id == line.lot_id)
            .outerjoin(ProofOfDelivery, ProofOfDelivery.consignment_id == stop.consignment_id)
            .join(Product, Product.id == line.product_id).join(Drug, Drug.id == Product.drug_id)
            .where(tl.qty_base_received.is_not(None), tl.qty_base_received != line.qty_base, *_runs_in(f, run))
            .order_by(run.departure_date.desc(), run.id.desc(), stop.position, line.id))
    if f.root.tier == Tier.VILLAGE:
        stmt = stmt.where(stop.village_id == f.root.id)
    return _product_filter(stmt, f)


DELIVERY_DIFFERENCES = Report(
    key="delivery_differences", title="配送差异明细", description="村卫生室实收与发出不符的每条配送明细及原因",
    # On the page the run number stands for its departure date (PS<date>-<id>) and the village's name for its
    # township; both, the product code, the plan and the signing time are in the downloads.
    columns=[Column("number", "配送单号"), Column("departure_date", "出发日期", "date", on_screen=False),
             Column("township", "乡镇", on_screen=False), Column("village", "村卫生室", wraps=True),
             Column("code", "产品编码", on_screen=False), Column("name", "通用名", wraps=True),
             Column("strength", "规格", wraps=True), Column("lot", "批号"),
             Column("planned", "计划量", "int", on_screen=False), Column("sent", "发出量", "int"),
             Column("received", "实收量", "int"), Column("missing", "短少量", "int"), Column("unit", "单位"),
             Column("reason", "原因", "enum", DifferenceReason), Column("note", "说明", wraps=True),
             Column("receiver", "签收人", wraps=True),
             Column("received_at", "签收时间", "datetime", on_screen=False)],
    build=build_delivery_differences, date_label="出发日期", default_days=(89, 0))


REPORTS: dict[str, Report] = {r.key: r for r in (STOCK, CONSUMPTION, SHORTAGES, DELIVERY_RUNS, DELIVERY_DIFFERENCES,
                                                 NEAR_EXPIRY)}


def stream(report: Report, filters: Filters, batch: int = 2000) -> Iterator:
    """Every row, fetched in batches through a server-side cursor while the download is sent.

    The statement is built now, while the request's objects are still loaded; it runs when the response is
    iterated, after the request has committed.
    """
    statement = report.build(filters).execution_options(yield_per=batch)

    def rows():
        yield from db.session.execute(statement)

    return rows()
