"""Reads behind the dashboard: set-based SQL that runs the same on SQLite and PostgreSQL.

Historic points (a week ago, two weeks ago ...) are derived from today's balances minus the movements posted
since each point, lot by lot, so only the last weeks of the ledger are read. Time windows are fixed by the
caller's `now`, so tests can state their own clock.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Numeric, and_, case, cast, func, or_, select, union
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import ColumnElement

from .. import clock
from ..catalog.models import Drug, Product, ProductStatus
from ..deliveries.models import DeliveryLine, DeliveryStop, StopStatus
from ..extensions import db
from ..facilities.models import Facility, Tier
from ..inventory.models import Lot, MovementKind, StockBalance, StockMovement, Transfer
from ..orders.models import LineStatus, Order, OrderLine, OrderStatus, Shipment
from ..purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchaseStatus
from ..supply.models import ConsignmentLine, ProofOfDelivery
from ..shortages.models import OPEN_STATUSES, Shortage, ShortageEvent, ShortageStatus
from .models import FigureSnapshot, TracerProduct
from .stats import Weeks


@dataclass
class Scope:
    """The part of the tree a figure covers: `root` and its units (the columns of the dashboard's grids:
    townships under a county, villages under a township)."""

    root: Facility
    units: list[Facility] = field(default_factory=list)
    unit_of: dict[int, int | None] = field(default_factory=dict)
    village_ids: list[int] = field(default_factory=list)
    villages_per_unit: dict[int, int] = field(default_factory=dict)
    names: dict[int, str] = field(default_factory=dict)
    county_id: int = 0

    @property
    def unit_is_village(self) -> bool:
        return self.root.tier == Tier.TOWNSHIP

    def unit_column(self) -> ColumnElement:
        """SQL for a village's unit: its township under a county, itself under a township."""
        return Facility.id if self.unit_is_village else Facility.parent_id

    def facility_ids(self):
        return select(Facility.id).where(Facility.path.startswith(self.root.path)).scalar_subquery()


def build_scope(root: Facility) -> Scope:
    """Load the facilities under `root` and how they group into units."""
    rows = db.session.execute(
        select(Facility.id, Facility.tier, Facility.path, Facility.name, Facility.is_active)
        .where(Facility.path.startswith(root.path)).order_by(Facility.code)).all()
    scope = Scope(root=root, county_id=int(root.path.strip("/").split("/")[0]))
    unit_tier = Tier.VILLAGE if root.tier == Tier.TOWNSHIP else Tier.TOWNSHIP
    depth = root.path.count("/") - 1
    unit_ids = {r.id for r in rows if r.tier == unit_tier and r.path.count("/") - 1 == depth + 1}
    for r in rows:
        scope.names[r.id] = r.name
        ids = [int(x) for x in r.path.strip("/").split("/")]
        unit = ids[depth] if len(ids) > depth else None
        scope.unit_of[r.id] = unit if unit in unit_ids else None
        if r.tier == Tier.VILLAGE and r.is_active:
            scope.village_ids.append(r.id)
            if scope.unit_of[r.id] is not None:
                scope.villages_per_unit[scope.unit_of[r.id]] = scope.villages_per_unit.get(scope.unit_of[r.id], 0) + 1
    scope.units = list(db.session.scalars(select(Facility).where(Facility.id.in_(unit_ids), Facility.is_active)
                                          .order_by(Facility.code)))
    return scope


# --- tracer products -------------------------------------------------------------------------------------------

def configured_tracer_ids(county_id: int) -> list[int]:
    return list(db.session.scalars(select(TracerProduct.product_id).where(TracerProduct.county_id == county_id)))


def tracer_product_ids(county_id: int, county_path: str) -> list[int]:
    """Chronic-disease products a village of the county has ever stocked, plus the county's own tracer list."""
    carried = (select(StockBalance.product_id).join(Facility, Facility.id == StockBalance.facility_id)
               .where(Facility.tier == Tier.VILLAGE, Facility.path.startswith(county_path)).distinct())
    chronic = (select(Product.id).join(Drug, Drug.id == Product.drug_id)
               .where(Drug.chronic_tags != "", Product.status == ProductStatus.ACTIVE,
                      Product.lowest_tier == Tier.VILLAGE, Product.id.in_(carried)))
    configured = select(TracerProduct.product_id).where(TracerProduct.county_id == county_id)
    return sorted(db.session.scalars(union(chronic, configured)))


def product_labels(product_ids) -> dict[int, dict]:
    if not product_ids:
        return {}
    rows = db.session.execute(
        select(Product.id, Product.code, Drug.generic_name, Product.dosage_form, Product.strength, Product.vbp_batch,
               Drug.chronic_tags)
        .join(Drug, Drug.id == Product.drug_id).where(Product.id.in_(list(product_ids))))
    return {r.id: {"code": r.code, "name": r.generic_name, "form": r.dosage_form, "strength": r.strength,
                   "vbp": r.vbp_batch, "chronic": r.chronic_tags} for r in rows}


# --- stock at past points ----------------------------------------------------------------------------------------

def _after_sums(points: list[datetime], group: list, where: list):
    """Per group, the sum of movements posted after each point (a0, a1 …)."""
    m = StockMovement
    cols = [func.sum(case((m.created_at > point, m.qty_base), else_=0)).label(f"a{i}")
            for i, point in enumerate(points)]
    return select(*group, *cols).where(m.created_at > min(points), *where).group_by(*group)


def _village_pairs(scope: Scope, points: list[datetime], now: datetime):
    """Per village × product with a balance row (ever stocked): usable stock (of lots unexpired on the county's day
    of that moment) at each point, q0, q1 … — today's balances less what was posted since."""
    b, lot, m = StockBalance, Lot, StockMovement
    past = [p for p in points if p < now]
    after = (_after_sums(past, [m.facility_id, m.lot_id], [m.facility_id.in_(scope.village_ids)]).subquery()
             if past else None)
    qty_cols = []
    for i, point in enumerate(points):
        on_hand = b.qty_base
        if point < now:
            on_hand = b.qty_base - func.coalesce(after.c[f"a{past.index(point)}"], 0)
        usable = lot.expiry_date > clock.to_local(point).date()  # the county's day, as for now
        qty_cols.append(func.sum(case((usable, on_hand), else_=0)).label(f"q{i}"))
    stmt = select(b.facility_id, b.product_id, *qty_cols).join(lot, lot.id == b.lot_id)
    if after is not None:
        stmt = stmt.outerjoin(after, and_(after.c.facility_id == b.facility_id, after.c.lot_id == b.lot_id))
    return stmt.where(b.facility_id.in_(scope.village_ids)).group_by(b.facility_id, b.product_id).subquery()


def village_stock_by_unit(scope: Scope, now: datetime) -> list:
    """Now, per unit × product carried by its villages: rows (unit_id, product_id, carried, in_stock) — how many
    villages ever stocked it and how many hold usable stock."""
    if not scope.village_ids:
        return []
    b = StockBalance
    unit = scope.unit_column()
    holding = case((and_(b.qty_base > 0, Lot.expiry_date > clock.to_local(now).date()), b.facility_id), else_=None)
    stmt = (select(unit.label("unit_id"), b.product_id, func.count(func.distinct(b.facility_id)).label("carried"),
                   func.count(func.distinct(holding)).label("in_stock"))
            .join(Facility, Facility.id == b.facility_id).join(Lot, Lot.id == b.lot_id)
            .where(b.facility_id.in_(scope.village_ids))
            .group_by(unit, b.product_id))
    return db.session.execute(stmt).all()


def village_stock_history(scope: Scope, points: list[datetime], now: datetime) -> dict[datetime, dict[int, list]]:
    """At each point, per product: [villages carrying it, villages holding usable stock]. A village carries a
    product from its first movement of it on (one index probe per pair), so a product a village took up lately
    is not counted out of stock before it came."""
    if not scope.village_ids or not points:
        return {p: {} for p in points}
    pairs = _village_pairs(scope, points, now)
    m = StockMovement
    first_at = (select(func.min(m.created_at)).where(m.facility_id == pairs.c.facility_id,
                                                      m.product_id == pairs.c.product_id)
                .correlate(pairs).scalar_subquery())
    dated = select(pairs, first_at.label("first_at")).subquery()
    cols = []
    for i, point in enumerate(points):
        cols.append(func.sum(case((dated.c.first_at <= point, 1), else_=0)).label(f"c{i}"))
        cols.append(func.sum(case((dated.c[f"q{i}"] > 0, 1), else_=0)).label(f"s{i}"))
    rows = db.session.execute(select(dated.c.product_id, *cols).group_by(dated.c.product_id)).all()
    return {point: {row.product_id: [int(row[1 + 2 * i]), int(row[2 + 2 * i])] for row in rows}
            for i, point in enumerate(points)}


# --- near expiry ---------------------------------------------------------------------------------------------------

def _value(qty) -> ColumnElement:
    return cast(qty, Numeric(18, 4)) * Product.unified_price / Product.pack_size


def near_expiry_by_facility(scope: Scope, today: date, days: int) -> list:
    """Lots expiring within `days` and lots already expired but still on the shelf, per facility:
    rows (facility_id, lots, packs, value, expired_lots, expired_value)."""
    b, lot = StockBalance, Lot
    soon = and_(lot.expiry_date > today, lot.expiry_date <= today + timedelta(days=days))
    expired = lot.expiry_date <= today
    stmt = (select(b.facility_id,
                   func.sum(case((soon, 1), else_=0)).label("lots"),
                   func.sum(case((soon, cast(b.qty_base, Numeric(18, 4)) / Product.pack_size), else_=0)).label("packs"),
                   func.sum(case((soon, _value(b.qty_base)), else_=0)).label("value"),
                   func.sum(case((expired, 1), else_=0)).label("expired_lots"),
                   func.sum(case((expired, _value(b.qty_base)), else_=0)).label("expired_value"))
            .join(lot, lot.id == b.lot_id).join(Product, Product.id == b.product_id)
            .where(b.qty_base > 0, b.facility_id.in_(scope.facility_ids()),
                   lot.expiry_date <= today + timedelta(days=days))
            .group_by(b.facility_id))
    return db.session.execute(stmt).all()


def near_expiry_values(scope: Scope, points: list[datetime], now: datetime, days: int) -> dict[datetime, Decimal]:
    """At each point, the value of stock in the scope expiring within `days` of that day."""
    if not points:
        return {}
    b, lot, m = StockBalance, Lot, StockMovement
    first, last = min(points).date(), max(points).date() + timedelta(days=days)
    lots_in_range = select(lot.id).where(lot.expiry_date > first, lot.expiry_date <= last)
    in_scope = scope.facility_ids()
    past = [p for p in points if p < now]
    after = (_after_sums(past, [m.lot_id], [m.facility_id.in_(in_scope), m.lot_id.in_(lots_in_range)]).subquery()
             if past else None)
    held_where = [b.facility_id.in_(in_scope), b.lot_id.in_(lots_in_range)]
    if not past:
        held_where.append(b.qty_base > 0)
    held = select(b.lot_id, func.sum(b.qty_base).label("qty")).where(*held_where).group_by(b.lot_id).subquery()
    cols = []
    for i, point in enumerate(points):
        day = point.date()
        qty = held.c.qty if point >= now else held.c.qty - func.coalesce(after.c[f"a{past.index(point)}"], 0)
        window = and_(lot.expiry_date > day, lot.expiry_date <= day + timedelta(days=days))
        cols.append(func.coalesce(func.sum(case((window, _value(qty)), else_=0)), 0).label(f"v{i}"))
    stmt = (select(*cols).select_from(held).join(lot, lot.id == held.c.lot_id)
            .join(Product, Product.id == lot.product_id))
    if after is not None:
        stmt = stmt.outerjoin(after, after.c.lot_id == held.c.lot_id)
    row = db.session.execute(stmt).one()
    return {point: Decimal(str(row[i] or 0)) for i, point in enumerate(points)}


# --- shortages -----------------------------------------------------------------------------------------------------

AGE_BUCKETS = (3, 7, 14)  # days: <3, 3–7, 7–14, ≥14


def open_shortages(scope: Scope, now: datetime) -> list:
    """Open registrations by facility, urgency and age bucket (0: < 3 days … 3: ≥ 14 days)."""
    s = Shortage
    age = case(*[(s.created_at > now - timedelta(days=d), i) for i, d in enumerate(AGE_BUCKETS)],
               else_=len(AGE_BUCKETS))
    stmt = (select(s.facility_id, s.urgency, age.label("age"), func.count().label("n"))
            .where(s.status.in_(OPEN_STATUSES), s.facility_id.in_(scope.facility_ids()))
            .group_by(s.facility_id, s.urgency, age))
    return db.session.execute(stmt).all()


def open_shortage_series(scope: Scope, weeks: Weeks) -> list[int]:
    """How many registrations were open at each point, point 0 first."""
    s, e = Shortage, ShortageEvent
    closed = (select(e.shortage_id, func.min(e.created_at).label("closed_at"))
              .where(e.to_status.in_([ShortageStatus.DELIVERED, ShortageStatus.CANCELLED]))
              .group_by(e.shortage_id)).subquery()
    cols = [func.coalesce(func.sum(case((and_(s.created_at <= weeks.point(k),
                                             or_(closed.c.closed_at.is_(None), closed.c.closed_at > weeks.point(k))),
                                        1), else_=0)), 0).label(f"n{k}")
            for k in range(weeks.count + 1)]
    stmt = (select(*cols).select_from(s).outerjoin(closed, closed.c.shortage_id == s.id)
            .where(s.facility_id.in_(scope.facility_ids()), s.created_at <= weeks.now,
                   or_(closed.c.closed_at.is_(None), closed.c.closed_at > weeks.start)))
    return [int(v) for v in db.session.execute(stmt).one()]


def delivered_shortages(scope: Scope, since: datetime, until: datetime) -> list:
    """Registrations delivered in (since, until]: rows (facility_id, urgency, created_at, delivered_at),
    ordered by facility and duration so percentiles can be read off per group."""
    s = Shortage
    stmt = (select(s.facility_id, s.urgency, s.created_at, s.delivered_at)
            .where(s.status == ShortageStatus.DELIVERED, s.delivered_at > since, s.delivered_at <= until,
                   s.facility_id.in_(scope.facility_ids()))
            .order_by(s.facility_id, s.delivered_at))
    return db.session.execute(stmt).all()


def registrations_per_week(scope: Scope, weeks: Weeks) -> list[int]:
    """Registrations created in each bucket, bucket 0 (the last seven days) first."""
    s = Shortage
    bucket = case(*[(s.created_at > weeks.point(k + 1), k) for k in range(weeks.count)], else_=weeks.count)
    rows = dict(db.session.execute(
        select(bucket, func.count()).where(s.created_at > weeks.start, s.created_at <= weeks.now,
                                           s.facility_id.in_(scope.facility_ids())).group_by(bucket)).all())
    return [int(rows.get(k, 0)) for k in range(weeks.count)]


# --- 集采 share ------------------------------------------------------------------------------------------------------

def _entering(scope: Scope):
    m = StockMovement
    from_outside = m.ref_id.in_(select(Transfer.id).where(Transfer.from_facility_id.not_in(scope.facility_ids())))
    return or_(m.kind == MovementKind.RECEIPT,
               and_(m.kind == MovementKind.TRANSFER_IN, m.ref_type == "transfer", from_outside))


def intake_value_since(scope: Scope, starts: list[datetime], now: datetime) -> list:
    """Value entering the scope since each start: rows (is_vbp, v0, v1 …)."""
    m = StockMovement
    is_vbp = case((Product.vbp_batch != "", 1), else_=0)
    cols = [func.sum(case((m.created_at > start, _value(m.qty_base)), else_=0)).label(f"v{i}")
            for i, start in enumerate(starts)]
    stmt = (select(is_vbp.label("is_vbp"), *cols).select_from(m).join(Product, Product.id == m.product_id)
            .where(m.created_at > min(starts), m.created_at <= now, m.facility_id.in_(scope.facility_ids()),
                   _entering(scope))
            .group_by(is_vbp))
    return db.session.execute(stmt).all()


def intake_value_by_week(scope: Scope, weeks: Weeks) -> list:
    """Value of goods entering the scope from outside (supplier receipts; transfers whose source lies outside),
    per bucket and 集采 flag, at unified prices: rows (bucket, is_vbp, value)."""
    m = StockMovement
    in_scope = scope.facility_ids()
    entering = _entering(scope)
    bucket = case(*[(m.created_at > weeks.point(k + 1), k) for k in range(weeks.count)], else_=weeks.count)
    is_vbp = case((Product.vbp_batch != "", 1), else_=0)
    stmt = (select(bucket.label("bucket"), is_vbp.label("is_vbp"), func.sum(_value(m.qty_base)).label("value"))
            .select_from(m).join(Product, Product.id == m.product_id)
            .where(m.created_at > weeks.start, m.created_at <= weeks.now, m.facility_id.in_(in_scope), entering)
            .group_by(bucket, is_vbp))
    return db.session.execute(stmt).all()



# --- kept figures --------------------------------------------------------------------------------------------------

def snapshots(root_id: int, kind: str, points: list[datetime]) -> dict[datetime, dict]:
    """Kept figures of a scope at the given points: {point: payload}."""
    if not points:
        return {}
    wanted = {clock.as_utc(p): p for p in points}
    rows = db.session.execute(select(FigureSnapshot.point_at, FigureSnapshot.payload).where(
        FigureSnapshot.root_id == root_id, FigureSnapshot.kind == kind,
        FigureSnapshot.point_at >= min(points), FigureSnapshot.point_at <= max(points)))
    found = {}
    for point_at, payload in rows:
        point = wanted.get(clock.as_utc(point_at))
        if point is not None:
            found[point] = payload
    return found


def keep_snapshots(root_id: int, kind: str, payloads: dict[datetime, dict]) -> None:
    """Store figures at past points; a figure someone else stored meanwhile is left as it is (the same)."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    now = clock.now_utc()
    rows = [{"root_id": root_id, "kind": kind, "point_at": point, "payload": payload, "computed_at": now}
            for point, payload in payloads.items()]
    db.session.execute(insert(FigureSnapshot).values(rows).on_conflict_do_nothing(
        index_elements=["root_id", "kind", "point_at"]))


# --- fill rates and purchases ---------------------------------------------------------------------------------------

def received_orders(scope: Scope, since: datetime, now: datetime) -> list:
    """Township orders closed (everything shipped has been received) in (since, now], one row per order:
    (facility_id, closed_at, approved packs, received packs). Rejected lines count for nothing."""
    closed = (select(Shipment.order_id, func.max(ProofOfDelivery.signed_at).label("closed_at"))
              .join(ProofOfDelivery, ProofOfDelivery.consignment_id == Shipment.consignment_id)
              .group_by(Shipment.order_id)).subquery()
    approved = case((OrderLine.status == LineStatus.APPROVED,
                     func.coalesce(OrderLine.qty_packs_approved, OrderLine.qty_packs)), else_=0)
    received = cast(OrderLine.qty_base_received, Numeric(18, 4)) / Product.pack_size
    stmt = (select(Order.facility_id, closed.c.closed_at, func.sum(approved).label("approved"),
                   func.sum(received).label("received"))
            .select_from(OrderLine).join(Order, Order.id == OrderLine.order_id)
            .join(closed, closed.c.order_id == Order.id).join(Product, Product.id == OrderLine.product_id)
            .where(Order.status == OrderStatus.RECEIVED, closed.c.closed_at > since, closed.c.closed_at <= now,
                   Order.facility_id.in_(scope.facility_ids()))
            .group_by(Order.id, Order.facility_id, closed.c.closed_at))
    return db.session.execute(stmt).all()


def purchase_values(scope: Scope, since: datetime, now: datetime) -> list:
    """Purchase orders confirmed in (since, now] by facilities of the scope: rows (confirmed_at, is_vbp, value)
    at the agreed unit prices; a line is 集采 as it was when proposed."""
    value = cast(PurchaseOrderLine.qty_packs, Numeric(18, 4)) * PurchaseOrderLine.unit_price
    is_vbp = case((PurchaseOrderLine.is_vbp, 1), else_=0)
    stmt = (select(PurchaseOrder.confirmed_at, is_vbp.label("is_vbp"), func.sum(value).label("value"))
            .select_from(PurchaseOrderLine)
            .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
            .where(PurchaseOrder.status.in_([PurchaseStatus.CONFIRMED, PurchaseStatus.PARTIALLY_RECEIVED,
                                             PurchaseStatus.RECEIVED]),
                   PurchaseOrder.confirmed_at > since, PurchaseOrder.confirmed_at <= now,
                   PurchaseOrder.facility_id.in_(scope.facility_ids()))
            .group_by(PurchaseOrder.id, PurchaseOrder.confirmed_at, is_vbp))
    return db.session.execute(stmt).all()


def received_deliveries(scope: Scope, since: datetime, now: datetime) -> list:
    """Village stops received in (since, now], one row per stop: (village_id, received_at, planned base units,
    received base units) — planned as the planner proposed, received as the village confirmed."""
    line, stop = DeliveryLine, DeliveryStop
    signed_at = ProofOfDelivery.signed_at
    stmt = (select(stop.village_id, signed_at.label("received_at"), func.sum(line.planned_qty_base).label("planned"),
                   func.sum(func.coalesce(ConsignmentLine.qty_base_received, 0)).label("received"))
            .select_from(line).join(stop, stop.id == line.stop_id)
            .join(ProofOfDelivery, ProofOfDelivery.consignment_id == stop.consignment_id)
            .outerjoin(ConsignmentLine, ConsignmentLine.id == line.consignment_line_id)
            .where(stop.status == StopStatus.RECEIVED, signed_at > since, signed_at <= now,
                   stop.village_id.in_(scope.facility_ids()))
            .group_by(stop.id, stop.village_id, signed_at))
    return db.session.execute(stmt).all()
