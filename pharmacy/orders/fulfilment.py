"""Filling approved orders from the central pharmacy: allocation (FEFO, fair when scarce), back-orders, pick list,
shipment as an in-transit transfer, and the township's receipt. Services flush; the caller commits."""

import logging
from collections import defaultdict
from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..catalog.models import Product
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..facilities.models import Facility
from ..facilities.services import central_pharmacy_of
from ..inventory import services as stock
from ..inventory.fefo import LotStock
from ..inventory.models import Lot, StockBalance, StockPolicy
from ..shortages.models import URGENCY_RANK, Shortage, ShortageStatus
from ..shortages.services import advance_many, transition
from .allocation import Demand, allocate
from .models import Allocation, LineStatus, Order, OrderLine, OrderStatus, Shipment, ShipmentStatus
from .services import _require_status

log = logging.getLogger(__name__)

RULE_NEAR_EXPIRY = "near_expiry"
DISCREPANCY_REASONS = ("short", "damaged", "lost", "wrong_item", "expired", "other")


def near_expiry_days(facility: Facility) -> int:
    """Days before expiry within which a lot is not sent to `facility` (one setting for now, per facility later)."""
    return int(current_app.config["NEAR_EXPIRY_DAYS"])


def usable_after(facility: Facility, today: date | None = None) -> date:
    return (today or clock.today()) + timedelta(days=near_expiry_days(facility))


def _lock_central(central: Facility) -> None:
    """Allocation runs of one central pharmacy take turns (row lock on PostgreSQL; SQLite is serial already)."""
    db.session.execute(select(Facility.id).where(Facility.id == central.id).with_for_update())


def available_lots(central: Facility, product_ids) -> dict[int, list[LotStock]]:
    """Central stock per product and lot, less what earlier allocations set aside and have not shipped yet."""
    product_ids = list(product_ids)
    if not product_ids:
        return {}
    reserved = dict(db.session.execute(
        select(Allocation.lot_id, func.sum(Allocation.qty_base))
        .where(Allocation.source_facility_id == central.id, Allocation.shipment_id.is_(None))
        .group_by(Allocation.lot_id)).all())
    rows = db.session.execute(
        select(Lot.id, Lot.product_id, Lot.expiry_date, Lot.lot_number, StockBalance.qty_base)
        .join(StockBalance, StockBalance.lot_id == Lot.id)
        .where(StockBalance.facility_id == central.id, StockBalance.product_id.in_(product_ids),
               StockBalance.qty_base > 0))
    lots: dict[int, list[LotStock]] = defaultdict(list)
    for lot_id, product_id, expiry, number, qty in rows:
        free = qty - int(reserved.get(lot_id, 0))
        if free > 0:
            lots[product_id].append(LotStock(lot_id, expiry, free, number))
    return lots


def _run_allocation(central: Facility, needs: list[tuple[OrderLine, int]], user) -> list[OrderLine]:
    """Allocate `needs` [(line, packs still needed)] from central stock by the fairness rule; the part not covered
    becomes (or stays) the line's back-order. Returns the lines that received something."""
    _lock_central(central)
    product_ids = {line.product_id for line, _n in needs}
    lots = available_lots(central, product_ids)
    pack_sizes = {line.product_id: line.product.pack_size for line, _n in needs}
    today = clock.today()
    demands = [Demand(line.id, line.product_id, packs, urgency=line.urgency,
                      usable_after=usable_after(line.order.facility, today),
                      sequence=(line.order.submitted_at or clock.now_utc(), line.order_id))
               for line, packs in needs if packs > 0]
    allotments = allocate(demands, lots, pack_sizes)
    # Thousands of lines in one run: rows go in with two bulk statements, and the loaded lines are given the
    # same values without being marked dirty (so the unit of work does not update them one by one again).
    created_at, user_id = clock.now_utc(), getattr(user, "id", None)
    allocation_rows, line_rows, filled = [], [], []
    for line, packs in needs:
        allotment = allotments.get(line.id)
        got = allotment.qty_packs if allotment else 0
        allocation_rows += [{"line_id": line.id, "source_facility_id": central.id, "lot_id": pick.lot_id,
                             "qty_base": pick.qty_base, "created_by_id": user_id, "created_at": created_at}
                            for pick in (allotment.picks if allotment else [])]
        rule = line.allocation_rule
        if allotment is not None:
            rule = RULE_NEAR_EXPIRY if allotment.near_expiry_skipped and got == 0 else allotment.rule
        values = {"qty_packs_allocated": line.qty_packs_allocated + got, "qty_packs_backordered": packs - got,
                  "allocation_rule": rule}
        line_rows.append({"line_id": line.id, **values})
        for name, value in values.items():
            set_committed_value(line, name, value)
        db.session.expire(line, ["allocations"])
        if got:
            filled.append(line)
    if allocation_rows:
        db.session.execute(insert(Allocation.__table__), allocation_rows)
    if line_rows:
        table = OrderLine.__table__
        db.session.execute(update(table).where(table.c.id == bindparam("line_id")).values(
            qty_packs_allocated=bindparam("qty_packs_allocated"),
            qty_packs_backordered=bindparam("qty_packs_backordered"),
            allocation_rule=bindparam("allocation_rule")), line_rows)
    return filled


def _central_of_orders(orders: list[Order]) -> Facility:
    centrals = {central_pharmacy_of(order.facility) for order in orders}
    if len(centrals) != 1 or None in centrals:
        raise InvalidInput(_("这些订单不属于同一个区域中心药房"))
    return centrals.pop()


def allocate_orders(orders: list[Order], user) -> list[Order]:
    """Fill approved orders from central stock in one fair run; what cannot be covered is back-ordered."""
    if not orders:
        raise InvalidInput(_("请选择要分配的订单"))
    for order in orders:
        _require_status(order, OrderStatus.APPROVED)
    central = _central_of_orders(orders)
    # Lines and their products in two queries, not one per line.
    db.session.scalars(select(Order).where(Order.id.in_([o.id for o in orders]))
                       .options(selectinload(Order.lines).joinedload(OrderLine.product))).all()
    needs = [(line, line.qty_packs_effective - line.qty_packs_allocated)
             for order in orders for line in order.lines if line.status == LineStatus.APPROVED]
    _run_allocation(central, needs, user)
    now = clock.now_utc()
    for order in orders:
        order.status = OrderStatus.ALLOCATED
        order.allocated_at = now
    db.session.flush()
    log.info("allocated %s orders (%s lines) from %s by %s", len(orders), len(needs), central.code,
             getattr(user, "username", "-"))
    return orders


def backordered_lines(central: Facility, product_ids=None) -> list[OrderLine]:
    """Lines waiting for stock, of every township served by `central`, oldest submission first."""
    county_root = central.path.split("/")[1]
    stmt = (select(OrderLine).join(Order, Order.id == OrderLine.order_id)
            .join(Facility, Facility.id == Order.facility_id)
            .where(OrderLine.qty_packs_backordered > 0, Facility.path.startswith(f"/{county_root}/"),
                   Order.status.in_([OrderStatus.ALLOCATED, OrderStatus.SHIPPED, OrderStatus.RECEIVED]))
            .options(joinedload(OrderLine.product).joinedload(Product.drug),
                     joinedload(OrderLine.order).joinedload(Order.facility))
            .order_by(Order.submitted_at, OrderLine.id))
    if product_ids is not None:
        stmt = stmt.where(OrderLine.product_id.in_(list(product_ids)))
    return list(db.session.scalars(stmt).unique())


def release_backorders(central: Facility, product_ids, user) -> list[OrderLine]:
    """Allocate newly arrived central stock to back-ordered lines (same fairness rule); orders that got goods go
    back to `allocated`, ready to ship."""
    lines = backordered_lines(central, product_ids)
    if not lines:
        return []
    filled = _run_allocation(central, [(line, line.qty_packs_backordered) for line in lines], user)
    for line in filled:
        if line.order.status in (OrderStatus.SHIPPED, OrderStatus.RECEIVED):
            line.order.status = OrderStatus.ALLOCATED
    db.session.flush()
    log.info("released back-orders: %s of %s lines got stock at %s", len(filled), len(lines), central.code)
    return filled


# ---------------------------------------------------------------------------------------------------------------
# Pick list and shipment


def unshipped_allocations(order: Order) -> list[Allocation]:
    return list(db.session.scalars(
        select(Allocation).join(OrderLine, OrderLine.id == Allocation.line_id)
        .where(OrderLine.order_id == order.id, Allocation.shipment_id.is_(None))
        .options(joinedload(Allocation.lot), joinedload(Allocation.line).joinedload(OrderLine.product)
                 .joinedload(Product.drug))
        .order_by(Allocation.id)))


def pick_list_rows(order: Order) -> list[dict]:
    """What to take off the central shelves for an order: by shelf location where one is set, else by product."""
    allocations = unshipped_allocations(order)
    if not allocations:
        return []
    source_id = allocations[0].source_facility_id
    shelves = dict(db.session.execute(
        select(StockPolicy.product_id, StockPolicy.shelf_location)
        .where(StockPolicy.facility_id == source_id,
               StockPolicy.product_id.in_({a.line.product_id for a in allocations}))).all())
    rows = []
    for allocation in allocations:
        product = allocation.line.product
        rows.append({"shelf": shelves.get(product.id) or "", "product": product, "lot": allocation.lot,
                     "qty_base": allocation.qty_base, "qty_packs": allocation.qty_base / product.pack_size,
                     "urgency": allocation.line.urgency, "line": allocation.line})
    return sorted(rows, key=lambda r: (r["shelf"] == "", r["shelf"], r["product"].drug.generic_name,
                                       r["product"].code, r["lot"].expiry_date, r["lot"].lot_number))


def shortages_covered(shortages: list[Shortage], qty_packs: float) -> list[Shortage]:
    """The registrations a quantity satisfies in full, most urgent and oldest first."""
    covered, left = [], qty_packs
    for shortage in sorted(shortages, key=lambda s: (URGENCY_RANK.get(s.urgency, 2), s.created_at, s.id)):
        if shortage.qty_packs <= left:
            covered.append(shortage)
            left -= shortage.qty_packs
    return covered


def ship_order(order: Order, user, *, key: str | None = None) -> Shipment:
    """Send an order's allocated lots to the township as one in-transit transfer."""
    _require_status(order, OrderStatus.ALLOCATED)
    allocations = unshipped_allocations(order)
    if not allocations:
        raise Conflict(_("没有可发货的已分配明细"), code="nothing_to_ship")
    central = db.session.get(Facility, allocations[0].source_facility_id)
    merged: dict[tuple[int, int], int] = defaultdict(int)
    for allocation in allocations:
        merged[(allocation.line_id, allocation.lot_id)] += allocation.qty_base
    lines = {a.line_id: a.line for a in allocations}
    requests = [stock.LineRequest(lines[line_id].product, qty, lot=db.session.get(Lot, lot_id),
                                  ref_type="order_line", ref_id=line_id)
                for (line_id, lot_id), qty in sorted(merged.items())]
    key = key or f"order:{order.id}:shipment:{len(order.shipments) + 1}"
    transfer = stock.send_transfer(central, order.facility, requests, user=user, key=key, ref_type="order",
                                   ref_id=order.id, note=_("统一订单 %(number)s", number=order.number))
    shipment = Shipment(order=order, transfer_id=transfer.id, shipped_by_id=getattr(user, "id", None))
    db.session.add(shipment)
    db.session.flush()
    for allocation in allocations:
        allocation.shipment_id = shipment.id
        allocation.line.qty_base_shipped += allocation.qty_base
    order.status = OrderStatus.SHIPPED
    db.session.flush()
    for line in lines.values():
        waiting = [s for s in line.shortages if s.status == ShortageStatus.ORDERED]
        already = sum(s.qty_packs for s in line.shortages if s.status == ShortageStatus.DISPATCHED)
        shipped_packs = line.qty_base_shipped / line.product.pack_size - already
        advance_many(shortages_covered(waiting, shipped_packs), ShortageStatus.DISPATCHED, user=user,
                     ref_type="shipment", ref_id=shipment.id)
    log.info("order %s shipped as transfer %s by %s", order.id, transfer.id, getattr(user, "username", "-"))
    return shipment


def get_shipment(order: Order, shipment_id: int) -> Shipment:
    shipment = next((s for s in order.shipments if s.id == shipment_id), None)
    if shipment is None:
        raise NotFound(_("找不到该发货单"))
    return shipment


def receive_shipment(order: Order, shipment: Shipment, received: dict[int, tuple[int, str, str]], user) -> Shipment:
    """The township receives a shipment line by line: `received` maps transfer line id → (base units received,
    reason, note) for lines that differ. Posts the stock, moves served shortages on, closes the order when all
    has arrived."""
    if getattr(user, "facility_id", None) != order.facility_id:
        raise Forbidden(_("只有收货机构可以签收"))
    if shipment.status != ShipmentStatus.IN_TRANSIT:
        raise Conflict(_("该发货单已签收，不能重复签收"), code="already_received")
    for line_id, (_qty, reason, _note) in received.items():
        if reason and reason not in DISCREPANCY_REASONS:
            raise InvalidInput(_("未知差异原因"), fields={str(line_id): [_("未知差异原因")]})
    transfer = shipment.transfer
    stock.receive_transfer(transfer, received, user=user, key=f"shipment:{shipment.id}:receive")
    by_line: dict[int, int] = defaultdict(int)
    for transfer_line in transfer.lines:
        if transfer_line.ref_type == "order_line" and transfer_line.ref_id is not None:
            by_line[transfer_line.ref_id] += transfer_line.qty_base_received or 0
    order_lines = {line.id: line for line in order.lines}
    for line_id, qty in by_line.items():
        order_lines[line_id].qty_base_received += qty
    shipment.status = ShipmentStatus.RECEIVED
    shipment.received_at = clock.now_utc()
    shipment.received_by_id = getattr(user, "id", None)
    db.session.flush()
    for line_id in by_line:
        _settle_shortages(order, order_lines[line_id], shipment, user)
    pending = any(s.status == ShipmentStatus.IN_TRANSIT for s in order.shipments)
    if not pending and not unshipped_allocations(order):
        order.status = OrderStatus.RECEIVED
    db.session.flush()
    log.info("shipment %s of order %s received by %s", shipment.id, order.id, getattr(user, "username", "-"))
    return shipment


def _settle_shortages(order: Order, line: OrderLine, shipment: Shipment, user) -> None:
    """After a receipt: the township's own registrations that arrived are delivered; village registrations stay
    dispatched until their village delivery; those the received quantity no longer covers go back to ordered."""
    dispatched = [s for s in line.shortages if s.status == ShortageStatus.DISPATCHED]
    in_flight = sum(a.qty_base for a in line.allocations
                    if a.shipment_id is not None and a.shipment_id != shipment.id
                    and a.shipment_id in {s.id for s in order.shipments if s.status == ShipmentStatus.IN_TRANSIT})
    delivered = sum(s.qty_packs for s in line.shortages if s.status == ShortageStatus.DELIVERED)
    arrived_packs = (line.qty_base_received + in_flight) / line.product.pack_size - delivered
    covered = {s.id for s in shortages_covered(dispatched, arrived_packs)}
    for shortage in dispatched:
        if shortage.id not in covered:
            transition(shortage, ShortageStatus.ORDERED, user=user, ref_type="shipment", ref_id=shipment.id,
                       note=_("到货数量不足"))
        elif shortage.facility_id == order.facility_id:
            transition(shortage, ShortageStatus.DELIVERED, user=user, ref_type="shipment", ref_id=shipment.id)


def order_detail(order: Order) -> Order:
    """Load what the order page shows in a few queries."""
    db.session.scalars(select(Order).where(Order.id == order.id).options(
        selectinload(Order.lines).joinedload(OrderLine.product).joinedload(Product.drug),
        selectinload(Order.lines).selectinload(OrderLine.shortages).joinedload(Shortage.facility),
        selectinload(Order.lines).selectinload(OrderLine.allocations).joinedload(Allocation.lot),
        selectinload(Order.shipments).joinedload(Shipment.transfer))).all()
    return order

