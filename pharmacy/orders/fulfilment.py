"""Filling approved orders from the central pharmacy: allocation (FEFO, fair when scarce), back-orders, pick list,
shipment as an in-transit transfer, and the township's receipt. Services flush; the caller commits."""

import logging
from collections import defaultdict
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from .. import clock
from ..catalog.models import Product
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..facilities.models import Facility
from ..facilities.services import central_pharmacy_of
from ..inventory import services as stock
from ..inventory.fefo import LotStock
from ..inventory.models import Lot, StockBalance, StockPolicy
from ..shortages.models import Shortage
from ..shortages.progress import Need, Stage, covered_by
from ..supply import policy as dispatch_policy
from ..supply import services as supply
from ..supply.models import ConsignmentKind
from ..supply.services import PlannedLine
from .allocation import Demand, allocate
from .models import Allocation, LineStatus, Order, OrderLine, OrderStatus, Shipment, ShipmentStatus
from .services import _require_status

log = logging.getLogger(__name__)

RULE_NEAR_EXPIRY = "near_expiry"


def usable_after(line: OrderLine, today: date) -> date:
    """The dispatch policy's limit for a line shipped today: counted to the village when it serves villages."""
    return dispatch_policy.current().usable_after(today, line.order.facility.tier, goes_onward=_goes_onward(line))


def _goes_onward(line: OrderLine) -> bool:
    return line.is_for_villages or any(s.facility_id != line.order.facility_id for s in line.shortages)


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
                      usable_after=usable_after(line, today),
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


def _planned_lines(order: Order, allocations: list[Allocation]) -> list[PlannedLine]:
    """One consignment line per order line and lot; each carries the registrations still waiting on that line
    that the packs sent now cover in full (most urgent, then oldest, first)."""
    merged: dict[tuple[int, int], int] = defaultdict(int)
    lots: dict[int, Lot] = {}
    for allocation in allocations:
        merged[(allocation.line_id, allocation.lot_id)] += allocation.qty_base
        lots[allocation.lot_id] = allocation.lot
    lines = {a.line_id: a.line for a in allocations}
    riding: dict[int, list[Shortage]] = {}
    for line_id, line in lines.items():
        waiting = {s.id: s for s in line.shortages if s.stage == Stage.ON_ORDER}
        sent_now = sum(qty for (lid, _lot), qty in merged.items() if lid == line_id)
        needs = [Need(s.id, s.qty_base, s.urgency, s.created_at) for s in waiting.values()]
        riding[line_id] = [waiting[i] for i in covered_by(needs, sent_now)]
    villages = [f for f in order.facility.children if f.is_active]
    planned = []
    for (line_id, lot_id), qty in sorted(merged.items()):
        line = lines[line_id]
        onward = next((s.facility for s in riding[line_id] if s.facility_id != order.facility_id), None)
        if onward is None and _goes_onward(line) and villages:
            onward = villages[0]
        planned.append(PlannedLine(line.product, lots[lot_id], qty, final_facility=onward,
                                   shortages=riding[line_id] if (line_id, lot_id) == min(
                                       k for k in merged if k[0] == line_id) else []))
    return planned


def _shipped_under(order: Order, user, key: str) -> Shipment | None:
    """The shipment of this order that `user` sent with this key, if any."""
    for shipment in order.shipments:
        operation = stock.find_operation(key, shipment.consignment.source_id, user)
        if operation is not None and shipment.consignment.transfer_id in {m.ref_id for m in operation.movements}:
            return shipment
    return None


def ship_order(order: Order, user, *, key: str | None = None) -> Shipment:
    """Send an order's allocated lots to the township as one consignment. A retry with the caller's key returns
    the shipment it sent (`is_replay`); a key that sent something else is refused (409)."""
    earlier = _shipped_under(order, user, key) if key else None
    if earlier is not None:
        earlier.is_replay = True
        return earlier
    _require_status(order, OrderStatus.ALLOCATED)
    allocations = unshipped_allocations(order)
    if not allocations:
        raise Conflict(_("没有可发货的已分配明细"), code="nothing_to_ship")
    central = db.session.get(Facility, allocations[0].source_facility_id)
    key = key or f"order:{order.id}:shipment:{len(order.shipments) + 1}"
    consignment, created = supply.send(ConsignmentKind.SHIPMENT, central, order.facility,
                                       _planned_lines(order, allocations), user=user, key=key,
                                       note=_("统一订单 %(number)s", number=order.number))
    if not created:  # the key sent another consignment (another order's, or a transfer)
        raise Conflict(_("该幂等键已用于另一项操作"), code="idempotency_key_reused")
    shipment = Shipment(order=order, consignment=consignment, shipped_by_id=getattr(user, "id", None))
    db.session.add(shipment)
    db.session.flush()
    for allocation in allocations:
        allocation.shipment_id = shipment.id
        allocation.line.qty_base_shipped += allocation.qty_base
    order.status = OrderStatus.SHIPPED
    db.session.flush()
    log.info("order %s shipped as consignment %s by %s", order.id, consignment.id, getattr(user, "username", "-"))
    return shipment


def get_shipment(order: Order, shipment_id: int) -> Shipment:
    shipment = next((s for s in order.shipments if s.id == shipment_id), None)
    if shipment is None:
        raise NotFound(_("找不到该发货单"))
    return shipment


def receive_shipment(order: Order, shipment: Shipment, received: dict[int, tuple[int, str, str]], user, *,
                     signer_name: str = "") -> Shipment:
    """The township signs for a shipment: `received` maps transfer line id → (base units received, reason,
    note) for lines that differ (the ids the order pages and API show)."""
    supply.receive_transfer(shipment.transfer, {tl: supply.ReceivedLine(*item) for tl, item in received.items()},
                            user=user, signer_name=signer_name)
    return shipment


def record_receipt(shipment: Shipment) -> None:
    """Book what arrived on the order's lines and close the order once everything sent has arrived."""
    order = shipment.order
    order_lines = {line.id: line for line in order.lines}
    for allocation_line_id, qty in _received_by_order_line(shipment).items():
        order_lines[allocation_line_id].qty_base_received += qty
    pending = any(s.status == ShipmentStatus.IN_TRANSIT for s in order.shipments)
    if not pending and not unshipped_allocations(order):
        order.status = OrderStatus.RECEIVED
    db.session.flush()


def _received_by_order_line(shipment: Shipment) -> dict[int, int]:
    """Base units received per order line: a consignment line is one order line's lot (see _planned_lines)."""
    line_of_lot = {(a.line.product_id, a.lot_id): a.line_id for a in shipment.allocations}
    received: dict[int, int] = defaultdict(int)
    for line in shipment.consignment.lines:
        received[line_of_lot[(line.product_id, line.lot_id)]] += line.qty_base_received or 0
    return received


def order_detail(order: Order) -> Order:
    """Load what the order page shows in a few queries."""
    db.session.scalars(select(Order).where(Order.id == order.id).options(
        selectinload(Order.lines).joinedload(OrderLine.product).joinedload(Product.drug),
        selectinload(Order.lines).selectinload(OrderLine.shortages).joinedload(Shortage.facility),
        selectinload(Order.lines).selectinload(OrderLine.allocations).joinedload(Allocation.lot),
        selectinload(Order.shipments).joinedload(Shipment.consignment))).all()
    return order

