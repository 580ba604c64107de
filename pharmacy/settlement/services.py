"""Monthly statements: every receipt of a facility valued at the unified price in force when it was received.

A receipt is a `transfer_in` movement (goods delivered within the medical community: county → township,
township → village). Open months are computed from the ledger on demand; closing a month stores every facility's
statement, which is what is shown ever after."""

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock
from ..catalog.models import Drug, Product, ProductPrice
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..facilities.models import Facility
from ..inventory.models import Lot, MovementKind, StockMovement
from .models import SettlementMonth, Statement, StatementLine
from .rules import Totals, is_month_over, line_amount, month_bounds, month_of, parse_month, price_on, summarize

log = logging.getLogger(__name__)


@dataclass
class StatementRow:
    movement_id: int
    facility_id: int
    received_at: datetime
    product_id: int
    product_code: str
    product_name: str
    category: str
    is_vbp: bool
    lot_number: str
    qty_base: int
    base_unit: str
    pack_size: int
    unit_price: Decimal
    amount: Decimal

    @property
    def qty_packs(self) -> Decimal:
        return (Decimal(self.qty_base) / Decimal(self.pack_size or 1)).quantize(Decimal("0.01"))


@dataclass
class StatementView:
    facility: Facility
    month: str
    is_closed: bool
    closed_at: datetime | None = None
    rows: list[StatementRow] = field(default_factory=list)

    @property
    def totals(self) -> Totals:
        return summarize(self.rows)


def check_month(month: str) -> str:
    try:
        parse_month(month)
    except ValueError:
        raise InvalidInput(_("月份格式应为 YYYY-MM"), fields={"month": [_("月份格式应为 YYYY-MM")]}) from None
    return month


def current_month() -> str:
    return month_of(clock.now_utc(), clock.local_zone())


def root_of(facility: Facility) -> int:
    return int(facility.path.strip("/").split("/")[0])


def price_histories(product_ids) -> dict[int, list[tuple[datetime, Decimal]]]:
    histories: dict[int, list[tuple[datetime, Decimal]]] = {}
    for product_id, valid_from, price in db.session.execute(
            select(ProductPrice.product_id, ProductPrice.valid_from, ProductPrice.unified_price)
            .where(ProductPrice.product_id.in_(list(product_ids)))
            .order_by(ProductPrice.product_id, ProductPrice.valid_from, ProductPrice.id)):
        histories.setdefault(product_id, []).append((valid_from, price))
    return histories


def compute_rows(facility_ids, month: str) -> dict[int, list[StatementRow]]:
    """Every receipt of these facilities in the month, valued at the price of its moment, by facility."""
    start, end = month_bounds(check_month(month), clock.local_zone())
    rows = db.session.execute(
        select(StockMovement.id, StockMovement.facility_id, StockMovement.created_at, StockMovement.qty_base,
               Product.id, Product.code, Drug.generic_name, Product.dosage_form, Product.strength, Drug.category,
               Product.vbp_batch, Product.base_unit, Product.pack_size, Product.unified_price, Lot.lot_number)
        .join(Product, Product.id == StockMovement.product_id).join(Drug, Drug.id == Product.drug_id)
        .join(Lot, Lot.id == StockMovement.lot_id)
        .where(StockMovement.facility_id.in_(list(facility_ids)), StockMovement.kind == MovementKind.TRANSFER_IN,
               StockMovement.created_at >= start, StockMovement.created_at < end)
        .order_by(StockMovement.created_at, StockMovement.id)).all()
    histories = price_histories({r[4] for r in rows})
    out: dict[int, list[StatementRow]] = {}
    for (movement_id, facility_id, created_at, qty, product_id, code, name, form, strength, category, vbp,
         base_unit, pack_size, current_price, lot_number) in rows:
        history = histories.get(product_id, [])
        # A product older than its price history is valued at the first price recorded for it.
        price = price_on(history, created_at)
        if price is None:
            price = history[0][1] if history else current_price
        out.setdefault(facility_id, []).append(StatementRow(
            movement_id=movement_id, facility_id=facility_id, received_at=clock.as_utc(created_at), product_id=product_id,
            product_code=code, product_name=f"{name} {form} {strength}", category=category, is_vbp=bool(vbp),
            lot_number=lot_number, qty_base=qty, base_unit=base_unit, pack_size=pack_size, unit_price=price,
            amount=line_amount(qty, pack_size, price)))
    return out


def closed_month(root_id: int, month: str) -> SettlementMonth | None:
    return db.session.scalar(select(SettlementMonth).where(SettlementMonth.root_facility_id == root_id,
                                                           SettlementMonth.month == month))


def _stored_rows(statement: Statement) -> list[StatementRow]:
    return [StatementRow(movement_id=line.movement_id, facility_id=statement.facility_id,
                         received_at=clock.as_utc(line.received_at), product_id=line.product_id,
                         product_code=line.product_code, product_name=line.product_name, category=line.category,
                         is_vbp=line.is_vbp, lot_number=line.lot_number, qty_base=line.qty_base,
                         base_unit=line.base_unit, pack_size=line.pack_size, unit_price=line.unit_price,
                         amount=line.amount) for line in statement.lines]


def get_statement(facility: Facility, month: str) -> StatementView:
    """A facility's statement: as stored when the month is closed, else computed from the ledger now."""
    check_month(month)
    closed = closed_month(root_of(facility), month)
    if closed is not None:
        statement = db.session.scalar(select(Statement).where(Statement.facility_id == facility.id,
                                                              Statement.month == month))
        rows = _stored_rows(statement) if statement is not None else []
        return StatementView(facility, month, True, closed.closed_at, rows)
    return StatementView(facility, month, False, None, compute_rows([facility.id], month).get(facility.id, []))


def overview(facilities: list[Facility], month: str) -> list[StatementView]:
    """Every facility's statement of the month, side by side (one query for the open ones)."""
    check_month(month)
    if not facilities:
        return []
    closed = closed_month(root_of(facilities[0]), month)
    if closed is not None:
        stored = {s.facility_id: s for s in db.session.scalars(
            select(Statement).where(Statement.month == month,
                                    Statement.facility_id.in_([f.id for f in facilities])))}
        return [StatementView(f, month, True, closed.closed_at,
                              _stored_rows(stored[f.id]) if f.id in stored else []) for f in facilities]
    rows = compute_rows([f.id for f in facilities], month)
    return [StatementView(f, month, False, None, rows.get(f.id, [])) for f in facilities]


def close_month(root: Facility, facilities: list[Facility], month: str, user) -> SettlementMonth:
    """Store every facility's statement of an ended month; from then on the month never changes."""
    check_month(month)
    if not is_month_over(month, clock.now_utc(), clock.local_zone()):
        raise Conflict(_("%(month)s 尚未结束，不能结账", month=month), code="month_not_over")
    if closed_month(root.id, month) is not None:
        raise Conflict(_("%(month)s 已结账", month=month), code="already_closed")
    settlement_month = SettlementMonth(root_facility_id=root.id, month=month, closed_by_id=getattr(user, "id", None))
    try:
        with db.session.begin_nested():
            db.session.add(settlement_month)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("%(month)s 已结账", month=month), code="already_closed") from None
    rows = compute_rows([f.id for f in facilities], month)
    for facility in facilities:
        facility_rows = rows.get(facility.id, [])
        statement = Statement(settlement_month=settlement_month, facility_id=facility.id, month=month,
                              total_amount=summarize(facility_rows).total)
        statement.lines = [StatementLine(movement_id=r.movement_id, received_at=r.received_at,
                                         product_id=r.product_id, product_code=r.product_code,
                                         product_name=r.product_name, category=r.category, is_vbp=r.is_vbp,
                                         lot_number=r.lot_number, qty_base=r.qty_base, base_unit=r.base_unit,
                                         pack_size=r.pack_size, unit_price=r.unit_price, amount=r.amount)
                           for r in facility_rows]
        db.session.add(statement)
    db.session.flush()
    log.info("month %s closed for %s by %s: %s statements", month, root.code, getattr(user, "username", "-"),
             len(facilities))
    return settlement_month
