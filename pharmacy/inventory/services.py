"""Stock writes. Every write is one `StockOperation` with an idempotency key and one or more movements; a balance
row is locked (SELECT … FOR UPDATE on PostgreSQL; SQLite serialises writers at BEGIN) while it changes, and may
never fall below zero. Services flush; the caller's request, job or command commits."""

import functools
import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from .. import clock, idempotency
from ..auth.policy import can_see
from ..catalog.models import Product
from ..catalog.rules import may_stock
from ..errors import Conflict, Forbidden, InsufficientStock, InvalidInput, NotFound
from ..extensions import db
from ..facilities.models import Facility
from .fefo import LotStock, Pick, choose_lots_fefo
from .models import (AdjustmentRequest, AdjustmentRequestStatus, AdjustReason, Lot, MovementKind, StockBalance,
                     StockMovement, StockOperation, StockPolicy, Transfer, TransferLine, TransferStatus)

log = logging.getLogger(__name__)


@dataclass
class LineRequest:
    """One product to move; `lot` pins the lot, otherwise lots are chosen FEFO."""

    product: Product
    qty_base: int
    lot: Lot | None = None
    ref_type: str = ""
    ref_id: int | None = None


def _all_or_nothing(service):
    """Run a stock write inside a savepoint: when a rule refuses it half-way, the operation row and any movement
    already posted are undone too, so a caller that catches the error (and commits other work) has not burnt the
    idempotency key on an empty operation."""

    @functools.wraps(service)
    def wrapper(*args, **kwargs):
        with db.session.begin_nested():
            return service(*args, **kwargs)

    return wrapper


# Far above any real movement; keeps a typo (or an attack) from overflowing the integer columns.
MAX_QTY_BASE = 10_000_000


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _require_positive(qty_base: int, field: str = "qty_base") -> int:
    if not _is_int(qty_base) or qty_base <= 0:
        raise InvalidInput(_("数量必须是正整数"), fields={field: [_("数量必须是正整数")]})
    if qty_base > MAX_QTY_BASE:
        raise InvalidInput(_("数量过大"), fields={field: [_("数量过大")]})
    return qty_base


def _require_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 80:
        raise InvalidInput(_("缺少幂等键（idempotency key）"), fields={"idempotency_key": [_("必填")]})
    return key


def find_operation(key: str, facility_id: int, user) -> StockOperation | None:
    """The operation `user` recorded at the facility under this key, if any (keys are the sender's)."""
    return db.session.scalar(select(StockOperation).where(
        StockOperation.key_scope == idempotency.scope_of(facility_id, user),
        StockOperation.idempotency_key == (key or "").strip()))


def _start_operation(key: str, kind: str, facility: Facility, user, note: str = "", *,
                     request: dict) -> tuple[StockOperation, bool]:
    """Insert the operation row first, so a replayed or racing request with the same key finds the first one.

    Returns (operation, created). When not created, the caller returns the earlier result unchanged; the same key
    with another request (`request`: the write's normalised values) is refused. The operation remembers which
    it was (`is_replay`) for the entry point's 201 or 200.
    """
    key = _require_key(key)
    request_hash = idempotency.fingerprint(kind=kind, note=(note or "").strip(), **request)
    existing = find_operation(key, facility.id, user)
    if existing is None:
        operation = StockOperation(idempotency_key=key, key_scope=idempotency.scope_of(facility.id, user),
                                   request_hash=request_hash, kind=kind, facility_id=facility.id,
                                   user_id=getattr(user, "id", None), note=note or "")
        try:
            with db.session.begin_nested():
                db.session.add(operation)
            return operation, True
        except IntegrityError:  # the same key at the same moment: the other request recorded it first
            existing = find_operation(key, facility.id, user)
            if existing is None:
                raise
    if existing.kind != kind:
        raise Conflict(_("该幂等键已用于另一项操作"), code="idempotency_key_reused")
    idempotency.require_same_request(existing.request_hash, request_hash)
    existing.is_replay = True
    return existing, False


def _insert_ignore(table, values: dict, index_elements: list[str]):
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return insert(table).values(**values).on_conflict_do_nothing(index_elements=index_elements)


def _lock_balance(facility_id: int, lot: Lot) -> StockBalance:
    """Return the facility × lot balance row, created at zero if new, locked for this transaction."""
    db.session.execute(_insert_ignore(StockBalance.__table__, {
        "facility_id": facility_id, "product_id": lot.product_id, "lot_id": lot.id, "qty_base": 0,
        "updated_at": clock.now_utc()}, ["facility_id", "lot_id"]))
    stmt = (select(StockBalance).where(StockBalance.facility_id == facility_id, StockBalance.lot_id == lot.id)
            .with_for_update().execution_options(populate_existing=True))
    return db.session.scalars(stmt).one()


def _post(operation: StockOperation, facility_id: int, lot: Lot, delta: int, kind: str, user, *, reason: str = "",
          note: str = "", ref_type: str = "", ref_id: int | None = None) -> StockMovement:
    if delta > 0:  # the tier rule holds for every way stock comes in: receipt, transfer, stocktake, adjustment
        _require_stockable(db.session.get(Facility, facility_id), lot.product)
    balance = _lock_balance(facility_id, lot)
    new_qty = balance.qty_base + delta
    if new_qty < 0:
        raise InsufficientStock(
            _("库存不足：批号 %(lot)s 现有 %(have)s，需要 %(need)s", lot=lot.lot_number, have=balance.qty_base,
              need=-delta),
            details={"lot_id": lot.id, "on_hand": balance.qty_base, "requested": -delta})
    balance.qty_base = new_qty
    balance.updated_at = clock.now_utc()
    movement = StockMovement(operation=operation, facility_id=facility_id, product_id=lot.product_id, lot_id=lot.id,
                             qty_base=delta, balance_after=new_qty, kind=kind, reason=reason, note=note or "",
                             ref_type=ref_type, ref_id=ref_id, user_id=getattr(user, "id", None))
    db.session.add(movement)
    log.info("stock %s facility=%s lot=%s delta=%s balance=%s user=%s op=%s", kind, facility_id, lot.id, delta,
             new_qty, getattr(user, "username", "-"), operation.idempotency_key)
    return movement


def get_or_create_lot(product: Product, lot_number: str, expiry_date: date, manufacturer: str = "") -> Lot:
    lot_number = (lot_number or "").strip()
    if not lot_number:
        raise InvalidInput(_("批号必填"), fields={"lot_number": [_("必填")]})
    if len(lot_number) > 64:
        raise InvalidInput(_("批号过长"), fields={"lot_number": [_("长度不能超过 %(a)s", a=64)]})
    if not isinstance(expiry_date, date):
        raise InvalidInput(_("有效期无效"), fields={"expiry_date": [_("日期格式无效")]})
    manufacturer = (manufacturer or "").strip()[:120]
    lot = db.session.scalar(select(Lot).where(Lot.product_id == product.id, Lot.lot_number == lot_number))
    if lot is None:
        db.session.execute(_insert_ignore(Lot.__table__, {
            "product_id": product.id, "lot_number": lot_number, "expiry_date": expiry_date,
            "manufacturer": manufacturer or "", "created_at": clock.now_utc()}, ["product_id", "lot_number"]))
        lot = db.session.scalar(select(Lot).where(Lot.product_id == product.id, Lot.lot_number == lot_number))
    elif lot.expiry_date != expiry_date:
        raise Conflict(_("批号 %(lot)s 已登记的有效期为 %(expiry)s", lot=lot_number, expiry=lot.expiry_date),
                       fields={"expiry_date": [_("与已登记的有效期不一致")]})
    return lot


def get_lot(lot_id: int, product: Product | None = None) -> Lot:
    lot = db.session.get(Lot, lot_id)
    if lot is None or (product is not None and lot.product_id != product.id):
        raise NotFound(_("找不到该批号"), fields={"lot_id": [_("找不到该批号")]})
    return lot


def _require_stockable(facility: Facility, product: Product) -> None:
    if not may_stock(facility.tier, product.lowest_tier):
        raise InvalidInput(_("%(facility)s 不能配备该产品（最低层级：%(tier)s）", facility=facility.name,
                             tier=product.lowest_tier), code="tier_not_allowed")


@_all_or_nothing
def receive(facility: Facility, product: Product, *, lot_number: str, expiry_date: date, qty_base: int, user,
            key: str, manufacturer: str = "", note: str = "", ref_type: str = "", ref_id: int | None = None,
            kind: str = MovementKind.RECEIPT) -> StockOperation:
    """Receive goods into stock (a goods receipt, an opening balance, a return)."""
    _require_positive(qty_base)
    if expiry_date is not None and isinstance(expiry_date, date) and expiry_date <= clock.today() \
            and kind == MovementKind.RECEIPT:
        raise InvalidInput(_("不能入库已过期的批号"), fields={"expiry_date": [_("已过期")]}, code="expired_lot")
    _require_stockable(facility, product)
    operation, created = _start_operation(key, kind, facility, user, note, request={
        "product_id": product.id, "lot_number": (lot_number or "").strip(), "expiry_date": expiry_date,
        "qty_base": qty_base, "manufacturer": (manufacturer or "").strip(), "ref": [ref_type, ref_id]})
    if not created:
        return operation
    lot = get_or_create_lot(product, lot_number, expiry_date, manufacturer)
    _post(operation, facility.id, lot, qty_base, kind, user, note=note, ref_type=ref_type, ref_id=ref_id)
    db.session.flush()
    return operation


def lot_stock(facility_id: int, product_id: int) -> list[LotStock]:
    rows = db.session.execute(
        select(Lot.id, Lot.expiry_date, StockBalance.qty_base, Lot.lot_number)
        .join(StockBalance, StockBalance.lot_id == Lot.id)
        .where(StockBalance.facility_id == facility_id, StockBalance.product_id == product_id,
               StockBalance.qty_base > 0))
    return [LotStock(r[0], r[1], r[2], r[3]) for r in rows]


def on_hand(facility_id: int, product_id: int, *, usable_after: date | None = None) -> int:
    stmt = (select(func.coalesce(func.sum(StockBalance.qty_base), 0))
            .where(StockBalance.facility_id == facility_id, StockBalance.product_id == product_id))
    if usable_after is not None:
        stmt = stmt.join(Lot, Lot.id == StockBalance.lot_id).where(Lot.expiry_date > usable_after)
    return int(db.session.scalar(stmt))


def _plan_picks(facility: Facility, line: LineRequest, *, usable_after: date) -> list[Pick]:
    """Lots to take for one line: the named lot, or FEFO among unexpired lots; refuse when short."""
    if line.lot is not None:
        if line.lot.product_id != line.product.id:
            raise InvalidInput(_("批号与产品不符"), fields={"lot_id": [_("批号与产品不符")]})
        if line.lot.expiry_date <= usable_after:
            raise InvalidInput(_("批号 %(lot)s 已过期，不能发出", lot=line.lot.lot_number),
                               fields={"lot_id": [_("已过期")]}, code="expired_lot")
        return [Pick(line.lot.id, line.qty_base, line.lot.expiry_date, line.lot.lot_number)]
    picks, short = choose_lots_fefo(lot_stock(facility.id, line.product.id), line.qty_base, usable_after=usable_after)
    if short:
        available = line.qty_base - short
        raise InsufficientStock(
            _("库存不足：%(name)s 可用 %(have)s%(unit)s，需要 %(need)s%(unit)s", name=line.product.display_name,
              have=available, need=line.qty_base, unit=line.product.base_unit),
            details={"product_id": line.product.id, "available": available, "requested": line.qty_base})
    return picks


def _lock_stock_of(facility: Facility, lines: list[LineRequest]) -> None:
    """Lock every balance the lines may take from — all lots of a product picked FEFO, the named lot otherwise —
    in one statement in lot order (the one global order of balance locks, so no deadlock), before picking.

    The pick then reads balances nobody else can change until this transaction ends: a lot another dispense
    emptied a moment ago is simply not chosen, instead of refusing with stock on other lots."""
    auto = sorted({line.product.id for line in lines if line.lot is None})
    named = sorted({line.lot.id for line in lines if line.lot is not None})
    chosen = [StockBalance.product_id.in_(auto)] if auto else []
    chosen += [StockBalance.lot_id.in_(named)] if named else []
    db.session.scalars(select(StockBalance).where(StockBalance.facility_id == facility.id, or_(*chosen))
                       .order_by(StockBalance.lot_id).with_for_update()
                       .execution_options(populate_existing=True)).all()


def _take(operation, facility: Facility, lines: list[LineRequest], kind: str, user, *, note: str = "",
          reason: str = "") -> list[tuple[LineRequest, Pick]]:
    """Post negative movements for every line, locking balances in one global order to avoid deadlocks."""
    usable_after = clock.today()
    _lock_stock_of(facility, lines)
    planned = [(line, pick) for line in lines for pick in _plan_picks(facility, line, usable_after=usable_after)]
    for line, pick in sorted(planned, key=lambda lp: lp[1].lot_id):
        lot = db.session.get(Lot, pick.lot_id)
        _post(operation, facility.id, lot, -pick.qty_base, kind, user, note=note, reason=reason,
              ref_type=line.ref_type, ref_id=line.ref_id)
    return planned


@_all_or_nothing
def dispense(facility: Facility, product: Product, *, qty_base: int, user, key: str, lot: Lot | None = None,
             note: str = "") -> StockOperation:
    """Dispense to patients: FEFO over unexpired lots unless a lot is named."""
    _require_positive(qty_base)
    operation, created = _start_operation(key, MovementKind.DISPENSE, facility, user, note, request={
        "product_id": product.id, "qty_base": qty_base, "lot_id": getattr(lot, "id", None)})
    if not created:
        return operation
    _take(operation, facility, [LineRequest(product, qty_base, lot)], MovementKind.DISPENSE, user, note=note)
    db.session.flush()
    return operation


def _check_adjustment(facility: Facility, lot: Lot, qty_delta: int, reason: str) -> None:
    if reason not in set(AdjustReason):
        raise InvalidInput(_("请选择调整原因"), fields={"reason": [_("未知原因")]})
    if not _is_int(qty_delta) or qty_delta == 0:
        raise InvalidInput(_("调整数量不能为 0"), fields={"qty_delta": [_("不能为 0")]})
    if abs(qty_delta) > MAX_QTY_BASE:
        raise InvalidInput(_("数量过大"), fields={"qty_delta": [_("数量过大")]})
    if reason in (AdjustReason.DAMAGED, AdjustReason.EXPIRED, AdjustReason.LOST) and qty_delta > 0:
        raise InvalidInput(_("该原因只能减少库存"), fields={"qty_delta": [_("应为负数")]})
    if reason == AdjustReason.FOUND and qty_delta < 0:
        raise InvalidInput(_("该原因只能增加库存"), fields={"qty_delta": [_("应为正数")]})
    if qty_delta > 0:
        _require_stockable(facility, lot.product)


@_all_or_nothing
def adjust(facility: Facility, lot: Lot, *, qty_delta: int, reason: str, user, key: str,
           note: str = "") -> StockOperation:
    """Book a correction of one lot's stock with a reason code (damaged, expired, lost, found, correction).

    People's adjustments come through `request_adjustment`, which holds large ones for approval; this books."""
    _check_adjustment(facility, lot, qty_delta, reason)
    operation, created = _start_operation(key, MovementKind.ADJUSTMENT, facility, user, note,
                                          request=_adjustment_request(lot, qty_delta, reason))
    if not created:
        return operation
    _post(operation, facility.id, lot, qty_delta, MovementKind.ADJUSTMENT, user, reason=reason, note=note)
    db.session.flush()
    return operation


def approval_limit_packs() -> int:
    """`ADJUSTMENT_APPROVAL_PACKS`: adjustments of more whole packs than this wait for approval (0: every one)."""
    return max(0, int(current_app.config["ADJUSTMENT_APPROVAL_PACKS"]))


def approval_limit_base(product: Product) -> int:
    """The largest adjustment of `product` (base units, either way) booked without a second person's approval."""
    return approval_limit_packs() * max(product.pack_size or 1, 1)


def _adjustment_request(lot: Lot, qty_delta: int, reason: str) -> dict:
    return {"lot_id": lot.id, "qty_delta": qty_delta, "reason": reason}


def find_adjustment_request(key: str, facility_id: int, user) -> AdjustmentRequest | None:
    """The request `user` made at the facility under this key (keys are the sender's, see pharmacy/idempotency)."""
    return db.session.scalar(select(AdjustmentRequest).where(
        AdjustmentRequest.key_scope == idempotency.scope_of(facility_id, user),
        AdjustmentRequest.idempotency_key == key))


def request_adjustment(facility: Facility, lot: Lot, *, qty_delta: int, reason: str, user, key: str,
                       note: str = "") -> tuple[StockOperation | None, AdjustmentRequest | None]:
    """A person's adjustment: booked at once up to the approval limit, above it recorded as pending (nothing
    booked) for a second person to approve. Returns (the booking, None) or (None, the request); a repeat with
    the same key returns what the first one made."""
    key = _require_key(key)
    request_hash = idempotency.fingerprint(kind=MovementKind.ADJUSTMENT, note=(note or "").strip(),
                                           **_adjustment_request(lot, qty_delta, reason))
    earlier = find_adjustment_request(key, facility.id, user)
    if earlier is not None:
        idempotency.require_same_request(earlier.request_hash, request_hash)
        earlier.is_replay = True
        return None, earlier
    _check_adjustment(facility, lot, qty_delta, reason)
    if find_operation(key, facility.id, user) is not None or abs(qty_delta) <= approval_limit_base(lot.product):
        return adjust(facility, lot, qty_delta=qty_delta, reason=reason, user=user, key=key, note=note), None
    request = AdjustmentRequest(idempotency_key=key, key_scope=idempotency.scope_of(facility.id, user),
                                request_hash=request_hash, facility_id=facility.id, product_id=lot.product_id,
                                lot_id=lot.id, qty_delta_base=qty_delta, reason=reason, note=note or "",
                                status=AdjustmentRequestStatus.PENDING, requested_by_id=getattr(user, "id", None))
    try:
        with db.session.begin_nested():
            db.session.add(request)
    except IntegrityError:  # the same key raced in: the first request stands
        request = find_adjustment_request(key, facility.id, user)
        if request is None:
            raise
        idempotency.require_same_request(request.request_hash, request_hash)
        request.is_replay = True
        return None, request
    log.info("stock adjustment requested facility=%s lot=%s delta=%s reason=%s user=%s request=%s (approval "
             "needed)", facility.id, lot.id, qty_delta, reason, getattr(user, "username", "-"), request.id)
    return None, request


def decide_adjustment(request: AdjustmentRequest, *, approve: bool, user, note: str = "") -> AdjustmentRequest:
    """Approve (book it) or reject a pending adjustment: by another person than the one who asked; the request
    must be locked by the caller (`load_in_scope(..., for_update=True)`), so two approvers book it once."""
    if request.status != AdjustmentRequestStatus.PENDING:
        raise Conflict(_("该调整申请已处理"), code="already_decided")
    if getattr(user, "id", None) is not None and user.id == request.requested_by_id:
        raise Forbidden(_("调整申请须由另一人审批"), code="same_person")
    note = (note or "").strip()
    if not approve and not note:
        raise InvalidInput(_("驳回须填写原因"), fields={"note": [_("必填")]})
    if approve:
        facility = db.session.get(Facility, request.facility_id)
        request.operation = adjust(facility, request.lot, qty_delta=request.qty_delta_base, reason=request.reason,
                                   user=user, key=f"adjustment-request:{request.id}", note=request.note)
    request.status = AdjustmentRequestStatus.APPROVED if approve else AdjustmentRequestStatus.REJECTED
    request.decided_by_id, request.decided_at, request.decision_note = getattr(user, "id", None), clock.now_utc(), note
    db.session.flush()
    log.info("stock adjustment request %s %s by %s", request.id, request.status, getattr(user, "username", "-"))
    return request


def adjustment_requests(facility_id: int, status: str | None = None, *,
                        within: Facility | None = None) -> list[AdjustmentRequest]:
    """A facility's adjustment requests (or, `within`, those of every facility of its subtree), newest first."""
    where = (AdjustmentRequest.facility_id.in_(select(Facility.id).where(Facility.path.startswith(within.path)))
             if within is not None else AdjustmentRequest.facility_id == facility_id)
    stmt = select(AdjustmentRequest).where(where).order_by(AdjustmentRequest.id.desc())
    if status:
        stmt = stmt.where(AdjustmentRequest.status == status)
    return list(db.session.scalars(stmt))


@_all_or_nothing
def stocktake(facility: Facility, counts: dict[int, int], *, user, key: str, note: str = "") -> StockOperation:
    """Post counted − recorded for every counted lot as one stocktake movement per lot that differs."""
    if not counts:
        raise InvalidInput(_("没有盘点数据"))
    for lot_id, counted in counts.items():
        if not _is_int(counted) or counted < 0:
            raise InvalidInput(_("盘点数量不能为负"), fields={str(lot_id): [_("不能为负")]})
        if counted > MAX_QTY_BASE:
            raise InvalidInput(_("数量过大"), fields={str(lot_id): [_("数量过大")]})
    operation, created = _start_operation(key, MovementKind.STOCKTAKE, facility, user, note, request={
        "counts": sorted(counts.items())})
    if not created:
        return operation
    too_large: dict[str, list[str]] = {}
    for lot_id in sorted(counts):
        lot = get_lot(lot_id)
        balance = _lock_balance(facility.id, lot)
        difference = counts[lot_id] - balance.qty_base
        if abs(difference) > approval_limit_base(lot.product):
            too_large[str(lot_id)] = [_("差异 %(d)s 超过 %(n)s 个包装", d=difference, n=approval_limit_packs())]
        elif difference:
            _post(operation, facility.id, lot, difference, MovementKind.STOCKTAKE, user, note=note)
    if too_large:
        # The approval limit is not to be walked round by a count: a difference that large is an adjustment,
        # which waits for a second person's approval.
        raise Conflict(_("盘点差异超过审批限额（%(n)s 个包装）：请以库存调整提交，经另一人审批后入账",
                         n=approval_limit_packs()), fields=too_large, code="approval_required")
    db.session.flush()
    return operation


@_all_or_nothing
def write_off_expired(facility: Facility, *, user, key: str, as_of: date | None = None) -> StockOperation:
    """Write off every lot at the facility that has expired by `as_of`."""
    as_of = as_of or clock.today()
    operation, created = _start_operation(key, MovementKind.EXPIRY_WRITE_OFF, facility, user, request={})
    if not created:
        return operation
    rows = db.session.execute(
        select(StockBalance.lot_id).join(Lot, Lot.id == StockBalance.lot_id)
        .where(StockBalance.facility_id == facility.id, StockBalance.qty_base > 0, Lot.expiry_date <= as_of)
        .order_by(StockBalance.lot_id)).scalars().all()
    for lot_id in rows:
        lot = db.session.get(Lot, lot_id)
        balance = _lock_balance(facility.id, lot)
        if balance.qty_base:
            _post(operation, facility.id, lot, -balance.qty_base, MovementKind.EXPIRY_WRITE_OFF, user,
                  reason=AdjustReason.EXPIRED)
    db.session.flush()
    return operation


@_all_or_nothing
def send_transfer(source: Facility, destination: Facility, lines: list[LineRequest], *, user, key: str,
                  note: str = "", ref_type: str = "", ref_id: int | None = None,
                  in_transit: bool = True) -> Transfer:
    """Move goods out of `source` (FEFO unless lots are named); they sit in transit until received.

    With `in_transit=False` the destination receives everything at once, in the same transaction.
    """
    if source.id == destination.id:
        raise InvalidInput(_("调出和调入机构不能相同"))
    if not lines:
        raise InvalidInput(_("调拨单没有明细"))
    for line in lines:
        _require_positive(line.qty_base)
        _require_stockable(destination, line.product)
    operation, created = _start_operation(key, MovementKind.TRANSFER_OUT, source, user, note, request={
        "to_facility_id": destination.id, "in_transit": in_transit,
        "lines": [[line.product.id, line.qty_base, getattr(line.lot, "id", None)] for line in lines]})
    if not created:
        transfer = db.session.scalar(select(Transfer).where(Transfer.id == _transfer_id_of(operation)))
        return transfer
    transfer = Transfer(from_facility_id=source.id, to_facility_id=destination.id, ref_type=ref_type, ref_id=ref_id,
                        note=note or "", sent_by_id=getattr(user, "id", None), status=TransferStatus.IN_TRANSIT)
    db.session.add(transfer)
    db.session.flush()
    for line, pick in _take(operation, source, lines, MovementKind.TRANSFER_OUT, user, note=note):
        transfer.lines.append(TransferLine(product_id=line.product.id, lot_id=pick.lot_id, qty_base_sent=pick.qty_base,
                                           ref_type=line.ref_type, ref_id=line.ref_id))
    for movement in operation.movements:
        movement.ref_type, movement.ref_id = "transfer", transfer.id
    db.session.flush()
    if not in_transit:
        receive_transfer(transfer, {}, user=user, key=f"{key}:in")
    return transfer


def _transfer_id_of(operation: StockOperation) -> int | None:
    return next((m.ref_id for m in operation.movements if m.ref_type == "transfer"), None)


def lock_transfer(transfer: Transfer) -> None:
    """Writes to one transfer take turns (SELECT … FOR UPDATE): the state check that follows sees the committed
    state, never the one this session loaded before the lock."""
    db.session.execute(select(Transfer.id).where(Transfer.id == transfer.id).with_for_update())
    db.session.refresh(transfer, ["status", "received_by_id", "received_at"])


def is_receipt_of(operation: StockOperation | None, transfer: Transfer) -> bool:
    """Whether `operation` is the receipt that booked `transfer` in (a receipt of nothing books no movement, so it
    is known by its key's kind and facility then)."""
    if operation is None or operation.kind != MovementKind.TRANSFER_IN \
            or operation.facility_id != transfer.to_facility_id:
        return False
    booked = _transfer_id_of(operation)
    return booked is None or booked == transfer.id


@_all_or_nothing
def receive_transfer(transfer: Transfer, received: dict[int, tuple[int, str, str]], *, user,
                     key: str) -> Transfer:
    """Receive a transfer line by line: `received` maps line id → (qty received, reason, note) for lines that
    differ from what was sent; other lines arrive in full. Differences stay visible on the lines.

    A transfer is booked in once whatever the keys: its row is locked and its state read again under the lock,
    so a receipt racing another (two tabs, two clients) waits for it and is then refused as already received;
    a repeat with the key (and the request) of the receipt that was booked returns the transfer unchanged."""
    key = _require_key(key)
    request = {"transfer_id": transfer.id, "received": sorted([line_id, *item] for line_id, item in received.items())}
    lock_transfer(transfer)
    if transfer.status != TransferStatus.IN_TRANSIT:
        existing = find_operation(key, transfer.to_facility_id, user)
        if is_receipt_of(existing, transfer):
            idempotency.require_same_request(
                existing.request_hash, idempotency.fingerprint(kind=MovementKind.TRANSFER_IN, note="", **request))
            return transfer
        raise Conflict(_("该调拨已签收，不能重复签收"), code="already_received")
    destination = db.session.get(Facility, transfer.to_facility_id)
    operation, created = _start_operation(key, MovementKind.TRANSFER_IN, destination, user, request=request)
    if not created:  # the transfer is still on its way, so this key booked something else
        raise Conflict(_("该幂等键已用于另一项操作"), code="idempotency_key_reused")
    line_ids = {line.id for line in transfer.lines}
    unknown = set(received) - line_ids
    if unknown:
        raise InvalidInput(_("明细不属于该调拨：%(ids)s", ids=sorted(unknown)))
    for line in transfer.lines:
        qty, reason, note = received.get(line.id, (line.qty_base_sent, "", ""))
        if not isinstance(qty, int) or qty < 0 or qty > line.qty_base_sent:
            raise InvalidInput(_("实收数量应在 0 到发出数量之间"), fields={str(line.id): [_("数量无效")]})
        if qty != line.qty_base_sent and not reason:
            raise InvalidInput(_("实收与发出不符时必须填写原因"), fields={str(line.id): [_("请填写原因")]})
        line.qty_base_received = qty
        line.discrepancy_reason = reason if qty != line.qty_base_sent else ""
        line.discrepancy_note = note or ""
        if qty:
            _post(operation, destination.id, line.lot, qty, MovementKind.TRANSFER_IN, user, ref_type="transfer",
                  ref_id=transfer.id, note=note)
    transfer.status = TransferStatus.RECEIVED
    transfer.received_by_id = getattr(user, "id", None)
    transfer.received_at = clock.now_utc()
    db.session.flush()
    return transfer


def in_transit_qty(facility_id: int, product_id: int) -> int:
    """Base units sent to `facility_id` and not yet received."""
    stmt = (select(func.coalesce(func.sum(TransferLine.qty_base_sent), 0))
            .join(Transfer, Transfer.id == TransferLine.transfer_id)
            .where(Transfer.to_facility_id == facility_id, Transfer.status == TransferStatus.IN_TRANSIT,
                   TransferLine.product_id == product_id))
    return int(db.session.scalar(stmt))


def _policy_of(facility: Facility, product: Product) -> StockPolicy | None:
    return db.session.scalar(select(StockPolicy).where(StockPolicy.facility_id == facility.id,
                                                       StockPolicy.product_id == product.id))


def set_policy(facility: Facility, product: Product, *, min_months: float, max_months: float, user,
               min_qty_base: int | None = None, max_qty_base: int | None = None) -> StockPolicy:
    """Set a product's min and max stock at a facility, in months of stock and optionally in base units."""
    fields: dict[str, list[str]] = {}
    for name, value in (("min_months", min_months), ("max_months", max_months)):
        if not isinstance(value, (int, float, Decimal)) or isinstance(value, bool) or not 0 <= value <= 36:
            fields[name] = [_("应在 %(a)s 到 %(b)s 之间", a=0, b=36)]
    for name, value in (("min_qty_base", min_qty_base), ("max_qty_base", max_qty_base)):
        if value is not None and (not _is_int(value) or not 0 <= value <= MAX_QTY_BASE):
            fields[name] = [_("数量无效")]
    if fields:
        raise InvalidInput(_("库存上下限无效"), fields=fields)
    if min_months > max_months or (min_qty_base is not None and max_qty_base is not None
                                   and min_qty_base > max_qty_base):
        raise InvalidInput(_("下限不能大于上限"), fields={"min_months": [_("下限不能大于上限")]})
    _require_stockable(facility, product)
    policy = _policy_of(facility, product)
    if policy is None:
        policy = StockPolicy(facility_id=facility.id, product_id=product.id)
        db.session.add(policy)
    policy.min_months, policy.max_months = Decimal(str(min_months)), Decimal(str(max_months))
    policy.min_qty_base, policy.max_qty_base = min_qty_base, max_qty_base
    db.session.flush()
    log.info("stock policy facility=%s product=%s min=%s max=%s abs=%s/%s user=%s", facility.id, product.id,
             min_months, max_months, min_qty_base, max_qty_base, getattr(user, "username", "-"))
    return policy


def clear_policy(facility: Facility, product: Product, *, user) -> None:
    """Go back to the tier defaults for a product at a facility."""
    policy = _policy_of(facility, product)
    if policy is not None:
        db.session.delete(policy)
        db.session.flush()
        log.info("stock policy cleared facility=%s product=%s user=%s", facility.id, product.id,
                 getattr(user, "username", "-"))


def transfer_destination(user, source: Facility, destination_id: int) -> Facility:
    """The facility `user` may send goods to from `source`: one in the user's scope, or the source's own parent
    (a village returning goods to its township). 404 for anything else, so ids of other trees are not confirmed."""
    destination = db.session.get(Facility, destination_id)
    if destination is None or not (can_see(user, destination) or destination.id == source.parent_id):
        raise NotFound(_("找不到调入机构"), fields={"to_facility_id": [_("找不到该机构")]})
    if not destination.is_active:
        raise InvalidInput(_("调入机构已停用"), fields={"to_facility_id": [_("已停用")]})
    return destination
