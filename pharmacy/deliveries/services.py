"""Routes, planning, review, dispatch and receipt of delivery runs. Services flush; the caller commits."""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from .. import clock
from ..catalog.models import Product
from ..catalog.rules import may_stock
from ..errors import Conflict, InsufficientStock, InvalidInput, NotFound
from ..extensions import db
from ..facilities.models import Facility, Tier
from ..inventory.consumption import StockLevel
from ..inventory.fefo import LotStock, choose_lots_fefo
from ..inventory.models import Lot, StockBalance
from ..shortages.models import Shortage, ShortageStatus, Urgency
from ..shortages.progress import INBOUND_STAGES, PLANNABLE_STAGES
from ..supply import policy as dispatch_policy
from ..supply import services as supply
from ..supply.models import ConsignmentKind
from ..supply.services import ReceivedLine
from .labels import run_status_label
from .models import (PENDING_RUN_STATUSES, DeliveryLine, DeliveryRun, DeliveryShortfall, DeliveryStop, LineSource,
                     Route, RouteStop, RunStatus, StopStatus, delivery_line_shortage)
from .planning import ProductInfo, ShortageNeed, ShortfallReason, StopNeeds, plan_delivery
from .queries import shortages_on_pending_runs
from .schedule import MAX_EVERY_N_RUNS, departures_after, is_stop_due, next_departure_on_or_after, parse_weekdays
from .stock_source import stock_status_for_planning

log = logging.getLogger(__name__)

PLANNABLE_SHORTAGE_STATUSES = (ShortageStatus.REGISTERED, ShortageStatus.ACKNOWLEDGED, ShortageStatus.ORDERED)
OFF_TURN_URGENCIES = (Urgency.URGENT, Urgency.EMERGENCY)
MAX_QTY_BASE = 1_000_000


# ---------------------------------------------------------------- routes

@dataclass
class StopSpec:
    village_id: int
    position: int
    every_n_runs: int = 1
    phase: int = 0


def save_route(township: Facility, *, name: str, weekdays: str, departure_time: time | str, stops: list[StopSpec],
               vehicle: str = "", driver: str = "", is_active: bool = True, note: str = "",
               route: Route | None = None) -> Route:
    """Create or change a route: its villages in driving order, their frequency, and the weekly departures."""
    if township.tier != Tier.TOWNSHIP:
        raise InvalidInput(_("配送路线只能属于乡镇卫生院"), fields={"township_id": [_("级别不符")]})
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise InvalidInput(_("请填写路线名称（不超过60字）"), fields={"name": [_("必填")]})
    try:
        days = parse_weekdays(weekdays)
    except ValueError:
        raise InvalidInput(_("请至少选择一个出发日"), fields={"weekdays": [_("请至少选择一个出发日")]}) from None
    departure_time = _parse_time(departure_time)
    if not stops:
        raise InvalidInput(_("路线至少要有一个村卫生室"), fields={"stops": [_("必填")]})
    villages = {f.id: f for f in db.session.scalars(select(Facility).where(
        Facility.id.in_([s.village_id for s in stops])))}
    seen = set()
    for spec in stops:
        village = villages.get(spec.village_id)
        if village is None or village.parent_id != township.id or village.tier != Tier.VILLAGE:
            raise InvalidInput(_("站点必须是本乡镇的村卫生室"), fields={"stops": [_("站点无效")]})
        if spec.village_id in seen:
            raise InvalidInput(_("%(name)s 在路线中出现了两次", name=village.name), fields={"stops": [_("重复")]})
        seen.add(spec.village_id)
        if not 1 <= spec.every_n_runs <= MAX_EVERY_N_RUNS or not 0 <= spec.phase < spec.every_n_runs:
            raise InvalidInput(_("配送频次无效"), fields={"stops": [_("配送频次无效")]})
    other_routes = Route.id.not_in([route.id] if route is not None else [])
    if is_active:
        taken = db.session.execute(
            select(Facility.name, Route.name).join(RouteStop, RouteStop.village_id == Facility.id)
            .join(Route, Route.id == RouteStop.route_id)
            .where(Route.is_active.is_(True), RouteStop.village_id.in_(seen), other_routes)).first()
        if taken is not None:
            raise Conflict(_("%(village)s 已在启用的路线“%(route)s”上", village=taken[0], route=taken[1]),
                           fields={"stops": [_("已在其他路线上")]})
    if db.session.scalar(select(Route.id).where(Route.township_id == township.id, Route.name == name,
                                                other_routes)) is not None:
        raise Conflict(_("本乡镇已有同名路线"), fields={"name": [_("名称已存在")]})

    if route is None:
        route = Route(township_id=township.id)
        db.session.add(route)
    route.name, route.weekdays, route.departure_time = name, ",".join(map(str, days)), departure_time
    route.vehicle, route.driver = (vehicle or "").strip()[:40], (driver or "").strip()[:40]
    route.is_active, route.note = bool(is_active), (note or "").strip()
    existing = {s.village_id: s for s in route.stops}
    for stop in [s for s in route.stops if s.village_id not in seen]:
        route.stops.remove(stop)
    for position, spec in enumerate(sorted(stops, key=lambda s: (s.position, s.village_id)), start=1):
        stop = existing.get(spec.village_id)
        if stop is None:
            stop = RouteStop(village_id=spec.village_id)
            route.stops.append(stop)
        stop.position, stop.every_n_runs, stop.phase = position, spec.every_n_runs, spec.phase
    db.session.flush()
    db.session.expire(route, ["stops"])  # reload in the new driving order
    return route


def _parse_time(value) -> time:
    if isinstance(value, time):
        return value
    try:
        hours, minutes = str(value).strip().split(":")[:2]
        return time(int(hours), int(minutes))
    except ValueError:
        raise InvalidInput(_("出发时间格式应为 时:分，例如 08:00"), fields={"departure_time": [_("时间格式无效")]}) \
            from None


# ---------------------------------------------------------------- planning

def line_of(run: DeliveryRun, line_id: int) -> DeliveryLine:
    return _member(run.lines, line_id, _("找不到该明细"))


def stop_of(run: DeliveryRun, stop_id: int) -> DeliveryStop:
    return _member(run.stops, stop_id, _("找不到该站点"))


def _member(rows, row_id: int, not_found: str):
    row = next((row for row in rows if row.id == row_id), None)
    if row is None:
        raise NotFound(not_found)
    return row


def _sequence_for(route: Route, departure_date: date) -> int:
    earlier = db.session.scalar(select(func.count(DeliveryRun.id)).where(
        DeliveryRun.route_id == route.id, DeliveryRun.status != RunStatus.CANCELLED,
        DeliveryRun.departure_date < departure_date))
    return int(earlier) + 1


def _open_shortages(village_ids: list[int]) -> list[Shortage]:
    """Open registrations of these villages that no pending run already serves: those whose goods are not under
    way (served from township stock) or have arrived at the township for them, and those still inbound to the
    township (shown on the run with their expected arrival, not planned)."""
    return list(db.session.scalars(
        select(Shortage).options(selectinload(Shortage.product))
        .where(Shortage.facility_id.in_(village_ids), Shortage.status.in_(PLANNABLE_SHORTAGE_STATUSES),
               Shortage.stage.in_(PLANNABLE_STAGES + INBOUND_STAGES),
               Shortage.id.not_in(shortages_on_pending_runs()))
        .order_by(Shortage.id)))


def available_township_lots(township_id: int, product_ids, *, exclude_run_id: int | None = None,
                            ) -> dict[int, list[LotStock]]:
    """The township's lots on hand less what pending runs (other than `exclude_run_id`) have already claimed."""
    product_ids = list(product_ids)
    if not product_ids:
        return {}
    reserved_stmt = (select(DeliveryLine.lot_id, func.sum(DeliveryLine.qty_base))
                     .join(DeliveryStop, DeliveryStop.id == DeliveryLine.stop_id)
                     .join(DeliveryRun, DeliveryRun.id == DeliveryStop.run_id)
                     .where(DeliveryRun.township_id == township_id, DeliveryRun.status.in_(PENDING_RUN_STATUSES),
                            DeliveryLine.product_id.in_(product_ids))
                     .group_by(DeliveryLine.lot_id))
    if exclude_run_id is not None:
        reserved_stmt = reserved_stmt.where(DeliveryRun.id != exclude_run_id)
    reserved = {lot_id: int(q) for lot_id, q in db.session.execute(reserved_stmt)}
    lots: dict[int, list[LotStock]] = defaultdict(list)
    for lot_id, product_id, expiry, number, qty in db.session.execute(
            select(Lot.id, Lot.product_id, Lot.expiry_date, Lot.lot_number, StockBalance.qty_base)
            .join(StockBalance, StockBalance.lot_id == Lot.id)
            .where(StockBalance.facility_id == township_id, StockBalance.qty_base > 0,
                   Lot.product_id.in_(product_ids))):
        available = qty - reserved.get(lot_id, 0)
        if available > 0:
            lots[product_id].append(LotStock(lot_id, expiry, available, number))
    return dict(lots)


def plan_run(route: Route, departure_date: date, *, user=None) -> DeliveryRun:
    """Plan the run of `route` leaving on `departure_date`: which villages are due and what each receives."""
    if db.session.scalar(select(DeliveryRun.id).where(DeliveryRun.route_id == route.id,
                                                      DeliveryRun.departure_date == departure_date)) is not None:
        raise Conflict(_("该路线 %(date)s 的配送单已存在", date=departure_date), code="run_exists")
    township = route.township
    usable_after = dispatch_policy.current().usable_after(departure_date, Tier.VILLAGE)
    sequence = _sequence_for(route, departure_date)
    route_stops = [s for s in route.stops if s.village.is_active]
    shortages_by_village: dict[int, list[Shortage]] = defaultdict(list)
    inbound_by_village: dict[int, list[Shortage]] = defaultdict(list)
    for shortage in _open_shortages([s.village_id for s in route_stops]):
        into = inbound_by_village if shortage.stage in INBOUND_STAGES else shortages_by_village
        into[shortage.facility_id].append(shortage)

    due: list[tuple[RouteStop, bool]] = []
    for route_stop in route_stops:
        if is_stop_due(route_stop.every_n_runs, route_stop.phase, sequence):
            due.append((route_stop, False))
        elif any(s.urgency in OFF_TURN_URGENCIES for s in shortages_by_village[route_stop.village_id]):
            due.append((route_stop, True))
    village_ids = [rs.village_id for rs, _off in due]

    levels: dict[int, list[StockLevel]] = defaultdict(list)
    for row in stock_status_for_planning(village_ids):
        levels[row.facility_id].append(StockLevel(row.product_id, row.on_hand, row.in_transit, row.amc,
                                                  row.min_qty, row.max_qty))
    needs = [StopNeeds(
        village_id=rs.village_id, position=rs.position, tier=rs.village.tier,
        shortages=[ShortageNeed(s.id, s.product_id, s.qty_base, s.urgency, s.created_at)
                   for s in shortages_by_village[rs.village_id]],
        levels=levels[rs.village_id]) for rs, _off in due]
    product_ids = {lv.product_id for stop in needs for lv in stop.levels} | {
        s.product_id for stop in needs for s in stop.shortages if s.product_id is not None}
    products = {p.id: ProductInfo(p.id, p.lowest_tier, p.pack_size, p.is_active)
                for p in db.session.scalars(select(Product).where(Product.id.in_(product_ids)))}
    plan = plan_delivery(needs, products, available_township_lots(township.id, product_ids),
                         usable_after=usable_after)

    run = DeliveryRun(route_id=route.id, township_id=township.id, sequence=sequence, departure_date=departure_date,
                      departure_time=route.departure_time, status=RunStatus.PLANNED, vehicle=route.vehicle,
                      driver=route.driver, usable_after=usable_after, planned_by_id=getattr(user, "id", None))
    for route_stop, off_turn in due:
        stop = DeliveryStop(village_id=route_stop.village_id, position=route_stop.position, is_off_turn=off_turn,
                            status=StopStatus.PENDING)
        for shortfall in plan.shortfalls_for(route_stop.village_id):
            stop.shortfalls.append(DeliveryShortfall(product_id=shortfall.product_id,
                                                     shortage_id=shortfall.shortage_id, qty_base=shortfall.qty_base,
                                                     source=shortfall.source, reason=shortfall.reason))
        for shortage in inbound_by_village[route_stop.village_id]:
            stop.shortfalls.append(DeliveryShortfall(product_id=shortage.product_id, shortage_id=shortage.id,
                                                     qty_base=shortage.qty_base, source=LineSource.SHORTAGE,
                                                     reason=ShortfallReason.INBOUND))
        run.stops.append(stop)
    try:
        with db.session.begin_nested():
            db.session.add(run)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("该路线 %(date)s 的配送单已存在", date=departure_date), code="run_exists") from None
    _insert_lines(run, plan.lines)
    log.info("delivery run %s planned for route %s on %s: %s stops, %s lines, by %s", run.id, route.id,
             departure_date, len(run.stops), len(plan.lines), getattr(user, "username", "scheduler"))
    return run


def _insert_lines(run: DeliveryRun, lines) -> None:
    """Write a plan's lines and their shortage links in two bulk inserts (thousands of lines per planning pass)."""
    stop_ids = {stop.village_id: stop.id for stop in run.stops}
    rows = []
    for planned in lines:
        level = planned.level
        rows.append({
            "stop_id": stop_ids[planned.village_id], "product_id": planned.product_id, "lot_id": planned.lot_id,
            "qty_base": planned.qty_base, "planned_qty_base": planned.qty_base,
            "source": _source_of(planned.qty_base, planned.qty_for_shortages_base),
            "qty_for_shortages_base": planned.qty_for_shortages_base, "note": "",
            "on_hand_base": level.on_hand_base if level else None,
            "in_transit_base": level.in_transit_base if level else None,
            "amc_base": level.amc_base if level else None, "min_base": level.min_base if level else None,
            "max_base": level.max_base if level else None})
    if rows:
        ids = db.session.scalars(insert(DeliveryLine).returning(DeliveryLine.id, sort_by_parameter_order=True),
                                 rows).all()
        links = [{"line_id": line_id, "shortage_id": shortage_id}
                 for line_id, planned in zip(ids, lines, strict=True) for shortage_id in planned.shortage_ids]
        if links:
            db.session.execute(insert(delivery_line_shortage), links)
    for stop in run.stops:
        db.session.expire(stop, ["lines"])


def _source_of(qty_base: int, qty_for_shortages_base: int) -> str:
    if qty_for_shortages_base >= qty_base:
        return LineSource.SHORTAGE
    if qty_for_shortages_base == 0:
        return LineSource.REPLENISH
    return LineSource.SHORTAGE_AND_REPLENISH


def next_unplanned_departure(route: Route) -> date:
    """The route's first departure from now on that has no run yet."""
    days = route.weekday_numbers
    planned = set(db.session.scalars(select(DeliveryRun.departure_date).where(DeliveryRun.route_id == route.id)))
    now = clock.now_local()
    day = next_departure_on_or_after(days, now.date())
    if day == now.date() and now.time() >= route.departure_time:
        day = next_departure_on_or_after(days, day + timedelta(days=1))
    while day in planned:
        day = next_departure_on_or_after(days, day + timedelta(days=1))
    return day


def plan_next_run(route: Route, *, user=None, departure_date: date | None = None) -> DeliveryRun:
    """Plan the route's next departure that has no run yet (or the given one)."""
    if not route.is_active:
        raise Conflict(_("该路线已停用"), code="route_inactive")
    if departure_date is not None:
        if departure_date.isoweekday() not in route.weekday_numbers:
            raise InvalidInput(_("该日期不是本路线的出发日"), fields={"departure_date": [_("不是出发日")]})
        if departure_date < clock.today():
            raise InvalidInput(_("出发日期不能早于今天"), fields={"departure_date": [_("日期已过")]})
    return plan_run(route, departure_date or next_unplanned_departure(route), user=user)


def plan_due_runs(now: datetime | None = None) -> dict:
    """Scheduler job: plan every active route's next departure that falls within the planning lead time."""
    # Route times are local wall-clock times: compare in the deployment's zone.
    now = clock.to_local(now or clock.now_utc()).replace(tzinfo=None)
    lead = timedelta(hours=current_app.config["DELIVERY_PLAN_LEAD_HOURS"])
    planned = []
    routes = db.session.scalars(select(Route).where(Route.is_active.is_(True)).order_by(Route.id)
                                .options(selectinload(Route.stops).selectinload(RouteStop.village),
                                         selectinload(Route.township)))
    for route in routes:
        departure = departures_after(route.weekday_numbers, route.departure_time, now)[0]
        if departure - now > lead:
            continue
        exists = db.session.scalar(select(DeliveryRun.id).where(DeliveryRun.route_id == route.id,
                                                                DeliveryRun.departure_date == departure.date()))
        if exists is None:
            planned.append(plan_run(route, departure.date()).id)
    return {"planned_runs": len(planned), "run_ids": planned}


# ---------------------------------------------------------------- review

def _require_status(run: DeliveryRun, *allowed: str) -> None:
    if run.status not in allowed:
        raise Conflict(_("配送单状态为“%(status)s”，不能执行此操作", status=run_status_label(run.status)),
                       code="invalid_state")


def _require_qty(qty_base) -> int:
    if not isinstance(qty_base, int) or isinstance(qty_base, bool) or not 0 < qty_base <= MAX_QTY_BASE:
        raise InvalidInput(_("数量必须是正整数"), fields={"qty_base": [_("数量必须是正整数")]})
    return qty_base


def _shortfall_lots(run: DeliveryRun, lines: list[DeliveryLine]) -> list[str]:
    """Describe every lot this run needs more of than the township has free for it."""
    product_ids = {line.product_id for line in lines}
    available = {lot.lot_id: lot.qty_base for lots in available_township_lots(
        run.township_id, product_ids, exclude_run_id=run.id).values() for lot in lots}
    wanted: dict[int, int] = defaultdict(int)
    for line in lines:
        wanted[line.lot_id] += line.qty_base
    problems = []
    for line in lines:
        if line.lot_id in wanted and wanted[line.lot_id] > available.get(line.lot_id, 0):
            problems.append(_("%(name)s 批号 %(lot)s：需要 %(need)s，可用 %(have)s", name=line.product.display_name,
                              lot=line.lot.lot_number, need=wanted.pop(line.lot_id),
                              have=available.get(line.lot_id, 0)))
    return problems


def update_line(line: DeliveryLine, *, qty_base: int, note: str = "") -> DeliveryLine | None:
    """Change a planned line's quantity; zero removes the line. The lot must still cover it."""
    run = line.stop.run
    _require_status(run, RunStatus.PLANNED)
    if qty_base == 0:
        remove_line(line)
        return None
    line.qty_base = _require_qty(qty_base)
    line.note = (note or "").strip()[:500]
    problems = _shortfall_lots(run, [x for x in run.lines if x.lot_id == line.lot_id])
    if problems:
        raise InsufficientStock(_("乡镇库存不足：%(detail)s", detail="；".join(problems)))
    db.session.flush()
    return line


def remove_line(line: DeliveryLine) -> None:
    """Drop a planned line; shortages it served become open for the next plan."""
    _require_status(line.stop.run, RunStatus.PLANNED)
    line.stop.lines.remove(line)
    db.session.flush()


def add_line(stop: DeliveryStop, product: Product, *, qty_base: int, lot: Lot | None = None,
             note: str = "") -> list[DeliveryLine]:
    """Add a product to a stop by hand: from the named lot, or first-expiry-first-out from township stock."""
    run = stop.run
    _require_status(run, RunStatus.PLANNED)
    _require_qty(qty_base)
    if not product.is_active:
        raise InvalidInput(_("该药品已停用"), fields={"product_id": [_("已停用")]})
    if not may_stock(stop.village.tier, product.lowest_tier):
        raise InvalidInput(_("%(village)s 不能配备该药品（最低层级：%(tier)s）", village=stop.village.name,
                             tier=product.lowest_tier), fields={"product_id": [_("层级不允许")]},
                           code="tier_not_allowed")
    lots = available_township_lots(run.township_id, [product.id], exclude_run_id=run.id).get(product.id, [])
    taken_here: dict[int, int] = defaultdict(int)
    for other in run.lines:
        taken_here[other.lot_id] += other.qty_base
    lots = [LotStock(x.lot_id, x.expiry_date, x.qty_base - taken_here[x.lot_id], x.lot_number) for x in lots]
    if lot is not None:
        if lot.product_id != product.id:
            raise InvalidInput(_("批号与产品不符"), fields={"lot_id": [_("批号与产品不符")]})
        if lot.expiry_date <= run.usable_after:
            raise InvalidInput(_("批号 %(lot)s 在 %(date)s 前到期，不能配送", lot=lot.lot_number,
                                 date=run.usable_after), fields={"lot_id": [_("近效期")]}, code="near_expiry")
        lots = [x for x in lots if x.lot_id == lot.id]
    picks, short = choose_lots_fefo(lots, qty_base, usable_after=run.usable_after)
    if short:
        raise InsufficientStock(_("乡镇库存不足：%(name)s 可配送 %(have)s%(unit)s，需要 %(need)s%(unit)s",
                                  name=product.display_name, have=qty_base - short, need=qty_base,
                                  unit=product.base_unit))
    added = []
    for pick in picks:
        line = next((x for x in stop.lines if x.product_id == product.id and x.lot_id == pick.lot_id), None)
        if line is None:
            line = DeliveryLine(product_id=product.id, lot_id=pick.lot_id, qty_base=0, planned_qty_base=0,
                                source=LineSource.MANUAL, qty_for_shortages_base=0)
            stop.lines.append(line)
        line.qty_base += pick.qty_base
        line.note = (note or line.note or "").strip()[:500]
        added.append(line)
    db.session.flush()
    return added


def update_run_details(run: DeliveryRun, *, vehicle: str | None = None, driver: str | None = None,
                       note: str | None = None) -> DeliveryRun:
    """Set the vehicle, driver and note printed on the manifest (until the run leaves)."""
    _require_status(run, RunStatus.PLANNED, RunStatus.CONFIRMED)
    if vehicle is not None:
        run.vehicle = vehicle.strip()[:40]
    if driver is not None:
        run.driver = driver.strip()[:40]
    if note is not None:
        run.note = note.strip()
    db.session.flush()
    return run


def confirm_run(run: DeliveryRun, *, user) -> DeliveryRun:
    """The pharmacist accepts the plan: the manifest can be printed and the run dispatched."""
    _require_status(run, RunStatus.PLANNED)
    if not run.lines:
        raise Conflict(_("配送单没有任何明细，不能确认"), code="empty_run")
    problems = _shortfall_lots(run, run.lines)
    if problems:
        raise InsufficientStock(_("乡镇库存不足：%(detail)s", detail="；".join(problems)))
    run.status = RunStatus.CONFIRMED
    run.confirmed_by_id, run.confirmed_at = user.id, clock.now_utc()
    db.session.flush()
    log.info("delivery run %s confirmed by %s", run.id, user.username)
    return run


def reopen_run(run: DeliveryRun, *, user) -> DeliveryRun:
    """Take a confirmed run back to review (its printed manifest is void)."""
    _require_status(run, RunStatus.CONFIRMED)
    run.status = RunStatus.PLANNED
    run.confirmed_by_id, run.confirmed_at = None, None
    db.session.flush()
    log.info("delivery run %s reopened by %s", run.id, user.username)
    return run


def cancel_run(run: DeliveryRun, *, reason: str, user) -> DeliveryRun:
    """Cancel a run that has not left; its shortages become open for the next plan."""
    _require_status(run, RunStatus.PLANNED, RunStatus.CONFIRMED)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("取消配送单必须填写原因"), fields={"reason": [_("必填")]})
    run.status, run.cancel_reason = RunStatus.CANCELLED, reason
    db.session.flush()
    log.info("delivery run %s cancelled by %s: %s", run.id, user.username, reason)
    return run


def _run_shortages(lines: list[DeliveryLine]) -> list[Shortage]:
    seen: dict[int, Shortage] = {}
    for line in lines:
        for shortage in line.shortages:
            seen.setdefault(shortage.id, shortage)
    return list(seen.values())


def dispatch_run(run: DeliveryRun, *, user) -> DeliveryRun:
    """The goods leave: each stop with lines becomes a consignment to its village, dispatched from the township."""
    _require_status(run, RunStatus.CONFIRMED)
    township = run.township
    for stop in run.stops:
        if not stop.lines:
            stop.status = StopStatus.SKIPPED
            continue
        planned = [supply.PlannedLine(line.product, line.lot, line.qty_base, shortages=list(line.shortages))
                   for line in stop.lines]
        consignment = supply.plan(ConsignmentKind.DELIVERY, township, stop.village, planned, user=user,
                                  note=f"{run.number} {stop.village.name}")
        for line, consignment_line in zip(stop.lines, consignment.lines, strict=True):
            line.consignment_line_id = consignment_line.id
        stop.consignment_id = consignment.id
        supply.dispatch(consignment, user=user, key=f"delivery-stop-{stop.id}-out")
        stop.status = StopStatus.DISPATCHED
    run.status = RunStatus.DISPATCHED
    run.dispatched_by_id, run.dispatched_at = user.id, clock.now_utc()
    db.session.flush()
    log.info("delivery run %s dispatched by %s: %s stops", run.id, user.username,
             sum(1 for s in run.stops if s.status == StopStatus.DISPATCHED))
    return run


def lock_stop(stop: DeliveryStop) -> DeliveryStop:
    """Receipts of one stop take turns (several clients sending at once): the row is locked for the transaction and
    read again, so the status check that follows sees what the first receipt committed."""
    return db.session.scalars(select(DeliveryStop).where(DeliveryStop.id == stop.id)
                              .with_for_update(of=DeliveryStop).execution_options(populate_existing=True)).one()


def receive_stop(stop: DeliveryStop, received: dict[int, ReceivedLine], *, receiver_name: str, user,
                 note: str = "", proxy_reason: str = "") -> DeliveryStop:
    """The village signs for what arrived, line by line (lines not listed arrived as sent): the delivery page's
    line ids, handed to the one proof-of-delivery service."""
    if stop.status == StopStatus.RECEIVED:
        raise Conflict(_("该站点已签收，不能重复签收"), code="already_received")
    if stop.consignment is None or stop.status != StopStatus.DISPATCHED:
        raise Conflict(_("货物尚未发出，不能签收"), code="not_dispatched")
    if not (receiver_name or "").strip():
        raise InvalidInput(_("请填写签收人"), fields={"receiver_name": [_("必填")]})
    lines = {line.id: line for line in stop.lines}
    unknown = set(received) - set(lines)
    if unknown:
        raise InvalidInput(_("明细不属于该站点：%(ids)s", ids=", ".join(map(str, sorted(unknown)))))
    try:
        supply.receive(stop.consignment, {lines[line_id].consignment_line_id: item
                                          for line_id, item in received.items()},
                       user=user, signer_name=receiver_name, proxy_reason=proxy_reason, note=note)
    except InvalidInput as exc:  # name the lines as the delivery page does
        to_stop_line = {str(line.consignment_line_id): str(line.id) for line in stop.lines}
        exc.fields = {to_stop_line.get(k, k): v for k, v in (exc.fields or {}).items()}
        raise
    return stop


def record_receipt(stop: DeliveryStop) -> None:
    """After the village signed: the stop is received, and the run delivered once every stop is."""
    stop.status = StopStatus.RECEIVED
    run = stop.run
    if all(s.status in (StopStatus.RECEIVED, StopStatus.SKIPPED) for s in run.stops):
        run.status, run.delivered_at = RunStatus.DELIVERED, clock.now_utc()
    db.session.flush()
    log.info("delivery stop %s received at %s", stop.id, stop.village.code)
