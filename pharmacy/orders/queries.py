"""Reading orders within the user's scope."""

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ..auth.policy import scope_root, visible_facility_ids
from ..catalog.models import Product
from ..extensions import db
from ..shortages.models import Shortage
from .fulfilment import backordered_lines
from .models import Order, OrderLine, OrderStatus


def orders_for(user, *, status: str | None = None, facility_id: int | None = None, limit: int = 200) -> list[Order]:
    """Orders of the facilities the user may see, newest first (drafts of others are theirs alone: not listed)."""
    stmt = (select(Order).where(Order.facility_id.in_(visible_facility_ids(user)))
            .options(joinedload(Order.facility), selectinload(Order.lines))
            .order_by(Order.id.desc()).limit(limit))
    if status:
        stmt = stmt.where(Order.status == status)
    if facility_id:
        stmt = stmt.where(Order.facility_id == facility_id)
    return list(db.session.scalars(stmt))


def approval_queue(user) -> list[Order]:
    """Submitted orders of every township in scope: those with emergency lines first, then oldest first; lines
    inside each order emergency first."""
    orders = list(db.session.scalars(
        select(Order).where(Order.facility_id.in_(visible_facility_ids(user)), Order.status == OrderStatus.SUBMITTED)
        .options(joinedload(Order.facility),
                 selectinload(Order.lines).joinedload(OrderLine.product).joinedload(Product.drug),
                 selectinload(Order.lines).selectinload(OrderLine.shortages).joinedload(Shortage.facility))))
    orders.sort(key=lambda o: (not o.has_emergency, o.submitted_at or o.created_at, o.id))
    return orders


def sorted_lines(order: Order) -> list[OrderLine]:
    rank = {"emergency": 0, "urgent": 1}
    return sorted(order.lines, key=lambda line: (rank.get(line.urgency, 2), line.product.drug.generic_name,
                                                 line.product.code))


def orders_in_status(user, *statuses: str) -> list[Order]:
    return list(db.session.scalars(
        select(Order).where(Order.facility_id.in_(visible_facility_ids(user)), Order.status.in_(statuses))
        .options(joinedload(Order.facility), selectinload(Order.lines).joinedload(OrderLine.product))
        .order_by(Order.submitted_at, Order.id)))


def backorders_for(user) -> list[OrderLine]:
    """Back-ordered lines the user may see."""
    from ..facilities.services import central_pharmacy_of

    central = central_pharmacy_of(scope_root(user))
    if central is None:
        return []
    visible = set(db.session.scalars(visible_facility_ids(user)))
    return [line for line in backordered_lines(central) if line.order.facility_id in visible]
