"""Reads for the delivery pages and API, always scoped to what the user may see."""

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import selectinload

from ..auth.policy import visible_facility_ids
from ..catalog.models import Product
from ..extensions import db
from ..facilities.models import Facility, Tier
from ..inventory.models import StockBalance
from ..supply.models import Consignment, ProofOfDelivery
from .models import (PENDING_RUN_STATUSES, AlertKind, DeliveryLine, DeliveryRun, DeliveryStop, Route, RouteStop,
                     RunStatus, StockAlert, StopStatus, delivery_line_shortage)

RUN_PAGE_SIZE = 50
# Most serious first: nothing on the shelf, expired on the shelf, expiring soon, running low.
ALERT_SEVERITY = case({AlertKind.STOCKOUT: 0, AlertKind.EXPIRED: 1, AlertKind.NEAR_EXPIRY: 2, AlertKind.BELOW_MIN: 3},
                      value=StockAlert.kind, else_=4)


def shortages_on_pending_runs():
    """A subquery of the registrations a run that has not left yet will serve."""
    return (select(delivery_line_shortage.c.shortage_id)
            .join(DeliveryLine, DeliveryLine.id == delivery_line_shortage.c.line_id)
            .join(DeliveryStop, DeliveryStop.id == DeliveryLine.stop_id)
            .join(DeliveryRun, DeliveryRun.id == DeliveryStop.run_id)
            .where(DeliveryRun.status.in_(PENDING_RUN_STATUSES)))


def townships_in_scope(user) -> list[Facility]:
    return list(db.session.scalars(select(Facility).where(Facility.id.in_(visible_facility_ids(user)),
                                                          Facility.tier == Tier.TOWNSHIP).order_by(Facility.code)))


def routes_in_scope(user, *, township_id: int | None = None) -> list[Route]:
    """Routes of the townships the user sees, and (for a village) the routes that stop at the user's village."""
    visible = visible_facility_ids(user)
    serving = select(RouteStop.route_id).where(RouteStop.village_id.in_(visible))
    stmt = (select(Route).where(or_(Route.township_id.in_(visible), Route.id.in_(serving)))
            .options(selectinload(Route.stops).selectinload(RouteStop.village), selectinload(Route.township))
            .order_by(Route.township_id, Route.name))
    if township_id is not None:
        stmt = stmt.where(Route.township_id == township_id)
    return list(db.session.scalars(stmt))


def villages_of(township: Facility) -> list[Facility]:
    return list(db.session.scalars(select(Facility).where(Facility.parent_id == township.id,
                                                          Facility.tier == Tier.VILLAGE).order_by(Facility.code)))


def villages_on_other_routes(township: Facility, route: Route | None) -> dict[int, str]:
    """Village id → name of the other active route of the township it is on."""
    stmt = (select(RouteStop.village_id, Route.name).join(Route, Route.id == RouteStop.route_id)
            .where(Route.township_id == township.id, Route.is_active.is_(True)))
    if route is not None:
        stmt = stmt.where(Route.id != route.id)
    return dict(db.session.execute(stmt).all())


def runs_in_scope(user, *, status: str | None = None, route_id: int | None = None,
                  limit: int = RUN_PAGE_SIZE) -> list[DeliveryRun]:
    visible = visible_facility_ids(user)
    # A village sees the runs that stop at it (its incoming deliveries); their other stops stay the township's.
    stopping = select(DeliveryStop.run_id).where(DeliveryStop.village_id.in_(visible))
    stmt = (select(DeliveryRun).where(or_(DeliveryRun.township_id.in_(visible), DeliveryRun.id.in_(stopping)))
            .options(selectinload(DeliveryRun.route), selectinload(DeliveryRun.township),
                     selectinload(DeliveryRun.stops).selectinload(DeliveryStop.lines)
                     .selectinload(DeliveryLine.consignment_line))
            .order_by(DeliveryRun.departure_date.desc(), DeliveryRun.id.desc()).limit(limit))
    if status:
        stmt = stmt.where(DeliveryRun.status == status)
    if route_id is not None:
        stmt = stmt.where(DeliveryRun.route_id == route_id)
    return list(db.session.scalars(stmt))


def load_run_for_review(run: DeliveryRun) -> DeliveryRun:
    """Load a run's stops, lines, products, lots and shortages in a few queries."""
    db.session.scalars(select(DeliveryStop).where(DeliveryStop.run_id == run.id).options(
        selectinload(DeliveryStop.village),
        selectinload(DeliveryStop.shortfalls),
        selectinload(DeliveryStop.lines).options(
            selectinload(DeliveryLine.product).selectinload(Product.drug), selectinload(DeliveryLine.lot),
            selectinload(DeliveryLine.shortages), selectinload(DeliveryLine.consignment_line)),
        selectinload(DeliveryStop.consignment).selectinload(Consignment.proof))).all()
    return run


def stops_in_scope(user, *, status: str | None = None, village_id: int | None = None,
                   limit: int = RUN_PAGE_SIZE) -> list[DeliveryStop]:
    """The stops at the villages the user sees (a village doctor: the village's own), latest departure first."""
    stmt = (select(DeliveryStop).join(DeliveryRun, DeliveryRun.id == DeliveryStop.run_id)
            .where(DeliveryStop.village_id.in_(visible_facility_ids(user)))
            .options(selectinload(DeliveryStop.run), selectinload(DeliveryStop.village),
                     selectinload(DeliveryStop.shortfalls),
                     selectinload(DeliveryStop.lines).options(
                         selectinload(DeliveryLine.product).selectinload(Product.drug),
                         selectinload(DeliveryLine.lot), selectinload(DeliveryLine.shortages),
                         selectinload(DeliveryLine.consignment_line)),
                     selectinload(DeliveryStop.consignment).selectinload(Consignment.proof))
            .order_by(DeliveryRun.departure_date.desc(), DeliveryStop.id.desc()).limit(limit))
    if status:
        stmt = stmt.where(DeliveryStop.status == status)
    if village_id is not None:
        stmt = stmt.where(DeliveryStop.village_id == village_id)
    return list(db.session.scalars(stmt))


def stops_for_receipt(user, *, limit: int = 30) -> tuple[list[DeliveryStop], list[DeliveryStop]]:
    """Stops in the user's scope on their way (to receive) and the latest received ones."""
    visible = visible_facility_ids(user)
    base = (select(DeliveryStop).join(DeliveryRun, DeliveryRun.id == DeliveryStop.run_id)
            .where(DeliveryStop.village_id.in_(visible))
            .options(selectinload(DeliveryStop.run).selectinload(DeliveryRun.township),
                     selectinload(DeliveryStop.village), selectinload(DeliveryStop.lines)
                     .selectinload(DeliveryLine.consignment_line),
                     selectinload(DeliveryStop.consignment).selectinload(Consignment.proof)))
    waiting = list(db.session.scalars(base.where(DeliveryStop.status == StopStatus.DISPATCHED)
                                      .order_by(DeliveryRun.departure_date, DeliveryStop.id)))
    received = list(db.session.scalars(
        base.where(DeliveryStop.status == StopStatus.RECEIVED)
        .join(ProofOfDelivery, ProofOfDelivery.consignment_id == DeliveryStop.consignment_id)
        .order_by(ProofOfDelivery.signed_at.desc()).limit(limit)))
    return waiting, received


def township_products(township_id: int) -> list[Product]:
    """Products the township holds stock of, for adding a line by hand."""
    ids = select(StockBalance.product_id).where(StockBalance.facility_id == township_id, StockBalance.qty_base > 0)
    return list(db.session.scalars(select(Product).where(Product.id.in_(ids)).options(selectinload(Product.drug))
                                   .order_by(Product.code)))


def alert_query(user, filters: dict):
    """Open alerts in the user's scope, most severe first (`kind`, `facility_id` narrow them)."""
    stmt = (select(StockAlert).where(StockAlert.resolved_at.is_(None),
                                     StockAlert.facility_id.in_(visible_facility_ids(user)))
            .options(selectinload(StockAlert.facility), selectinload(StockAlert.product).selectinload(Product.drug),
                     selectinload(StockAlert.lot))
            .order_by(ALERT_SEVERITY, StockAlert.facility_id, StockAlert.product_id, StockAlert.id))
    if filters.get("kind"):
        stmt = stmt.where(StockAlert.kind == filters["kind"])
    if filters.get("facility_id") is not None:
        stmt = stmt.where(StockAlert.facility_id == filters["facility_id"])
    return stmt


def alert_counts(user) -> dict[str, int]:
    rows = db.session.execute(select(StockAlert.kind, func.count(StockAlert.id))
                              .where(StockAlert.resolved_at.is_(None),
                                     StockAlert.facility_id.in_(visible_facility_ids(user)))
                              .group_by(StockAlert.kind))
    return dict(rows.all())


def run_counts(user) -> dict[str, int]:
    rows = db.session.execute(select(DeliveryRun.status, func.count(DeliveryRun.id))
                              .where(DeliveryRun.township_id.in_(visible_facility_ids(user)),
                                     DeliveryRun.status != RunStatus.CANCELLED)
                              .group_by(DeliveryRun.status))
    return dict(rows.all())
