"""Dispatch and proof of delivery: the one way goods leave a facility and the one way their receipt is signed.

Planners (unified orders, delivery runs, manual transfers) build consignments; `dispatch` sends them through the
ledger under the dispatch policy and `receive` records the destination's signature, line by line. Both announce
what happened (`pharmacy.events`); shortages, orders and deliveries react. Services flush; the caller commits.
"""

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import events
from ..auth.policy import has_permission
from ..catalog.models import Product
from ..errors import Conflict, Forbidden, InsufficientStock, InvalidInput, NotFound
from ..extensions import db
from ..facilities.models import Facility, Tier
from ..inventory import services as stock
from ..inventory.fefo import choose_lots_fefo
from ..inventory.models import Lot, Transfer
from .. import clock
from ..shortages.models import Shortage
from . import policy as dispatch_policy
from .models import Consignment, ConsignmentKind, ConsignmentLine, ConsignmentStatus, DifferenceReason, ProofOfDelivery

log = logging.getLogger(__name__)

# Codes older clients still send; they mean the same as the current code.
LEGACY_REASONS = {DifferenceReason.MISSING.value: DifferenceReason.SHORT.value,
                  "correction": DifferenceReason.OTHER.value}
RECEIPT_REASONS = tuple(r.value for r in DifferenceReason if r != DifferenceReason.MISSING)
MAX_NOTE_CHARS = 500
MAX_RECEIPT_NOTE_CHARS = 2000


@dataclass
class PlannedLine:
    """One lot to send; `final_facility` when the goods go on beyond the destination (a village's goods sent to
    its township), `shortages` the registrations they serve."""

    product: Product
    lot: Lot
    qty_base: int
    final_facility: Facility | None = None
    shortages: list[Shortage] = field(default_factory=list)


@dataclass
class ReceivedLine:
    qty_base: int
    reason: str = ""
    note: str = ""


def new_key() -> str:
    """An idempotency key for a form drawn now: a double tap or a resubmitted form books once."""
    return uuid.uuid4().hex


def consignment_of_transfer(transfer: Transfer) -> Consignment:
    consignment = db.session.scalar(select(Consignment).where(Consignment.transfer_id == transfer.id))
    if consignment is None:
        raise NotFound(_("找不到该货单"))
    return consignment


def plan(kind: str, source: Facility, destination: Facility, lines: list[PlannedLine], *, user,
         note: str = "") -> Consignment:
    """Write a planned consignment; nothing moves until it is dispatched."""
    if kind not in set(ConsignmentKind):
        raise InvalidInput(_("未知货单类型"))
    if source.id == destination.id:
        raise InvalidInput(_("调出和调入机构不能相同"))
    if not lines:
        raise InvalidInput(_("货单没有明细"))
    consignment = Consignment(kind=kind, source_id=source.id, destination_id=destination.id,
                              status=ConsignmentStatus.PLANNED, note=(note or "").strip(),
                              created_by_id=getattr(user, "id", None))
    for line in lines:
        final = line.final_facility if line.final_facility is not None and line.final_facility.id != destination.id \
            else None
        consignment.lines.append(ConsignmentLine(product=line.product, lot=line.lot, qty_base=line.qty_base,
                                                 final_facility=final, shortages=list(line.shortages)))
    db.session.add(consignment)
    db.session.flush()
    return consignment


def _check_policy(consignment: Consignment, departure: date) -> None:
    rule = dispatch_policy.current()
    tier = consignment.destination.tier
    refused = []
    for line in consignment.lines:
        usable_after = rule.usable_after(departure, tier, goes_onward=line.final_facility_id is not None)
        if not rule.may_travel(line.lot.expiry_date, usable_after):
            refused.append(_("%(name)s 批号 %(lot)s 有效期至 %(expiry)s，须在 %(date)s 之后",
                             name=line.product.display_name,
                             lot=line.lot.lot_number, expiry=line.lot.expiry_date, date=usable_after))
    if refused:
        raise Conflict(_("近效期批号不能发出：%(detail)s", detail="；".join(refused)), code="near_expiry")


class SentMeanwhile(Conflict):
    """The dispatch's key booked another consignment's transfer: a request with the same key, sent at the same
    moment, committed first."""

    code = "idempotency_key_reused"

    def __init__(self, consignment_id: int | None):
        super().__init__(_("该幂等键已用于另一项操作"))
        self.consignment_id = consignment_id


def dispatch(consignment: Consignment, *, user, key: str | None = None) -> Consignment:
    """The goods leave: out of the source's stock into transit, under the dispatch policy."""
    _lock(consignment)
    if consignment.status != ConsignmentStatus.PLANNED:
        raise Conflict(_("货单状态不允许发出"), code="invalid_state")
    departure = clock.today()
    _check_policy(consignment, departure)
    requests = [stock.LineRequest(line.product, line.qty_base, lot=line.lot, ref_type="consignment_line",
                                  ref_id=line.id) for line in consignment.lines]
    transfer = stock.send_transfer(consignment.source, consignment.destination, requests, user=user,
                                   key=key or f"consignment:{consignment.id}:dispatch", note=consignment.note,
                                   ref_type="consignment", ref_id=consignment.id)
    if transfer.ref_id != consignment.id:
        raise SentMeanwhile(transfer.ref_id)
    by_line = {tl.ref_id: tl for tl in transfer.lines}
    for line in consignment.lines:
        line.transfer_line_id = by_line[line.id].id
    consignment.transfer_id = transfer.id
    consignment.status = ConsignmentStatus.DISPATCHED
    consignment.dispatched_by_id, consignment.dispatched_at = getattr(user, "id", None), clock.now_utc()
    consignment.expected_arrival_date = dispatch_policy.current().arrival_at_final(
        departure, consignment.destination.tier, goes_onward=False)
    db.session.flush()
    log.info("consignment %s (%s) dispatched %s → %s by %s", consignment.id, consignment.kind,
             consignment.source.code, consignment.destination.code, getattr(user, "username", "-"))
    events.consignment_dispatched.send(consignment, user=user)
    return consignment


def _consignment_for_key(key: str, source: Facility, user) -> Consignment | None:
    """The consignment an earlier dispatch by `user` from `source` with this idempotency key sent."""
    operation = stock.find_operation(key, source.id, user)
    if operation is None:
        return None
    transfer_id = next((m.ref_id for m in operation.movements if m.ref_type == "transfer"), None)
    return db.session.scalar(select(Consignment).where(Consignment.transfer_id == transfer_id))


def _require_same_goods(earlier: Consignment, destination: Facility, lines) -> None:
    """A key sent again must ask for the same goods to the same place (lots may be picked anew: compared by
    product), else it is refused."""
    asked: dict[int, int] = {}
    for line in lines:
        asked[line.product.id] = asked.get(line.product.id, 0) + line.qty_base
    sent: dict[int, int] = {}
    for line in earlier.lines:
        sent[line.product_id] = sent.get(line.product_id, 0) + line.qty_base
    if earlier.destination_id != destination.id or asked != sent:
        raise Conflict(_("该幂等键已用于另一项操作"), code="idempotency_key_reused")


def send(kind: str, source: Facility, destination: Facility, lines: list[PlannedLine], *, user, key: str,
         note: str = "") -> tuple[Consignment, bool]:
    """Plan and dispatch in one step. A retry with the same key returns the first consignment: (it, created); the
    same key asking for other goods is refused (409)."""
    earlier = _consignment_for_key(key, source, user)
    if earlier is not None:
        _require_same_goods(earlier, destination, lines)
        return earlier, False
    try:
        with db.session.begin_nested():
            consignment = plan(kind, source, destination, lines, user=user, note=note)
            dispatch(consignment, user=user, key=key)
    except SentMeanwhile as meanwhile:  # the same key at the same moment: the other request sent it first
        return db.session.get(Consignment, meanwhile.consignment_id), False
    return consignment, True


def cancel(consignment: Consignment, *, user, reason: str = "") -> Consignment:
    """Drop a consignment that has not left."""
    _lock(consignment)
    if consignment.status != ConsignmentStatus.PLANNED:
        raise Conflict(_("货单已发出，不能取消"), code="invalid_state")
    consignment.status, consignment.cancelled_at = ConsignmentStatus.CANCELLED, clock.now_utc()
    db.session.flush()
    events.consignment_cancelled.send(consignment, user=user, reason=reason)
    return consignment


def may_sign(user, consignment: Consignment) -> str:
    """Who may sign: a user of the destination ('own'); for a village, also a user of its township signing on
    its behalf ('proxy': recorded as such, with a reason, on the proof of delivery and the audit). '' otherwise:
    the county cannot sign for a township, nor a township for another's village."""
    return may_sign_at(user, consignment.destination)


def may_sign_at(user, destination: Facility) -> str:
    """`may_sign` for goods addressed to `destination`."""
    if user is None or not (has_permission(user, "delivery.receive") or has_permission(user, "order.receive")
                            or has_permission(user, "stock.write")):
        return ""
    if user.facility_id == destination.id:
        return "own"
    if destination.tier == Tier.VILLAGE and destination.parent_id is not None \
            and user.facility_id == destination.parent_id:
        return "proxy"
    return ""


def _lock(consignment: Consignment) -> None:
    """Writes to one consignment take turns: the state check that follows sees the committed state. A receipt
    racing another (two tabs, several clients, each with its own key) waits here and is then refused as already
    received; the ledger locks the consignment's transfer too (`inventory.services.receive_transfer`)."""
    db.session.execute(select(Consignment.id).where(Consignment.id == consignment.id).with_for_update())
    db.session.refresh(consignment, ["status"])


def receive(consignment: Consignment, received: dict[int, ReceivedLine], *, user, signer_name: str = "",
            proxy_reason: str = "", note: str = "", key: str | None = None, handed_over: bool = False,
            ) -> Consignment:
    """The destination signs for what arrived, line by line (lines not listed arrived as sent). Each line that
    differs needs a reason from the one receipt vocabulary. The stock posts at the destination.

    A repeat with the key of the receipt that was booked returns it unchanged. `handed_over` records goods handed
    over in person and booked by the sender at once (a proxy receipt, marked so)."""
    right = "proxy" if handed_over else may_sign(user, consignment)
    if not right:
        raise Forbidden(_("只有收货机构可以签收"))
    proxy_reason = _("当面交接") if handed_over else (proxy_reason or "").strip()
    if right == "proxy" and not proxy_reason:
        raise InvalidInput(_("代收货物须填写代签原因"), fields={"proxy_reason": [_("必填")]},
                           code="proxy_reason_required")
    retry_key = (key or "").strip()
    key = retry_key or f"consignment:{consignment.id}:receive"
    _lock(consignment)
    if consignment.status == ConsignmentStatus.RECEIVED:
        if retry_key and stock.is_receipt_of(stock.find_operation(retry_key, consignment.destination_id, user),
                                             consignment.transfer):
            return consignment
        raise Conflict(_("该货单已签收，不能重复签收"), code="already_received")
    if consignment.status != ConsignmentStatus.DISPATCHED:
        raise Conflict(_("货物尚未发出，不能签收"), code="not_dispatched")
    signer_name = (signer_name or "").strip() or (getattr(user, "display_name", "") or getattr(user, "username", ""))
    lines = {line.id: line for line in consignment.lines}
    unknown = set(received) - set(lines)
    if unknown:
        raise InvalidInput(_("明细不属于该货单：%(ids)s", ids=", ".join(map(str, sorted(unknown)))))
    errors: dict[str, list[str]] = {}
    outcome: dict[int, tuple[int, str, str]] = {}
    for line_id, line in lines.items():
        item = received.get(line_id) or ReceivedLine(line.qty_base)
        qty = item.qty_base
        reason = LEGACY_REASONS.get(item.reason, item.reason or "")
        item_note = (item.note or "").strip()
        if not isinstance(qty, int) or isinstance(qty, bool) or not 0 <= qty <= line.qty_base:
            errors[str(line_id)] = [_("实收数量应在 0 到 %(sent)s 之间", sent=line.qty_base)]
        elif qty != line.qty_base and reason not in RECEIPT_REASONS:
            errors[str(line_id)] = [_("实收与发出不符时必须选择原因")]
        elif len(item_note) > MAX_NOTE_CHARS:
            errors[str(line_id)] = [_("说明过长")]
        outcome[line_id] = (qty, reason if qty != line.qty_base else "", item_note)
    if len((note or "").strip()) > MAX_RECEIPT_NOTE_CHARS or len(proxy_reason) > MAX_NOTE_CHARS:
        errors["note"] = [_("说明过长")]
    if errors:
        raise InvalidInput(_("签收数据有误，请检查标出的明细"), fields=errors)
    stock.receive_transfer(consignment.transfer, {
        line.transfer_line_id: outcome[line.id] for line in lines.values() if outcome[line.id][0] != line.qty_base},
        user=user, key=key)
    for line_id, (qty, reason, item_note) in outcome.items():
        line = lines[line_id]
        line.qty_base_received, line.difference_reason, line.difference_note = qty, reason, item_note
    consignment.proof = ProofOfDelivery(signed_by_id=getattr(user, "id", None), signer_name=signer_name[:80],
                                        is_proxy=right == "proxy", proxy_reason=proxy_reason,
                                        note=(note or "").strip(), signed_at=clock.now_utc())
    consignment.status = ConsignmentStatus.RECEIVED
    db.session.flush()
    log.info("consignment %s received at %s by %s%s: %s line(s) differ", consignment.id,
             consignment.destination.code, getattr(user, "username", "-"), " (proxy)" if right == "proxy" else "",
             sum(1 for line in lines.values() if line.has_difference))
    events.consignment_received.send(consignment, user=user)
    return consignment


def receive_transfer(transfer: Transfer, received: dict[int, ReceivedLine], *, user, key: str = "",
                     proxy_reason: str = "", signer_name: str = "", note: str = "") -> Consignment:
    """Receive goods addressed by their ledger transfer (the stock pages and /api/v1/stock/transfers): `received`
    maps transfer line id → what arrived, for the lines that differ."""
    consignment = consignment_of_transfer(transfer)
    by_transfer_line = {line.transfer_line_id: line.id for line in consignment.lines}
    unknown = set(received) - set(by_transfer_line)
    if unknown:
        raise InvalidInput(_("明细不属于该调拨：%(ids)s", ids=", ".join(map(str, sorted(unknown)))))
    try:
        return receive(consignment, {by_transfer_line[tl_id]: item for tl_id, item in received.items()}, user=user,
                       key=key, proxy_reason=proxy_reason, signer_name=signer_name, note=note)
    except InvalidInput as exc:  # name the lines as the caller did: by transfer line
        to_transfer_line = {str(line.id): str(line.transfer_line_id) for line in consignment.lines}
        exc.fields = {to_transfer_line.get(k, k): v for k, v in (exc.fields or {}).items()}
        raise


@dataclass
class GoodsRequest:
    """What a person asks to send by hand: a product and quantity, from a named lot or first-expiry-first-out."""

    product: Product
    qty_base: int
    lot: Lot | None = None


def pick_lots(source: Facility, request: GoodsRequest, *, usable_after: date) -> list[PlannedLine]:
    """The lots a hand-made consignment takes: the named one, or FEFO among lots the policy lets travel."""
    lots = stock.lot_stock(source.id, request.product.id)
    if request.lot is not None:
        if request.lot.product_id != request.product.id:
            raise InvalidInput(_("批号与产品不符"), fields={"lot_id": [_("批号与产品不符")]})
        lots = [lot for lot in lots if lot.lot_id == request.lot.id]
    picks, short = choose_lots_fefo(lots, request.qty_base, usable_after=usable_after)
    if short:
        raise InsufficientStock(_("%(name)s 可发出 %(have)s%(unit)s（有效期须晚于 %(date)s），需要 %(need)s%(unit)s",
                                  name=request.product.display_name, have=request.qty_base - short,
                                  need=request.qty_base, unit=request.product.base_unit, date=usable_after))
    lots_by_id = {lot.id: lot for lot in db.session.scalars(select(Lot).where(Lot.id.in_([p.lot_id for p in picks])))}
    return [PlannedLine(request.product, lots_by_id[pick.lot_id], pick.qty_base) for pick in picks]


def send_by_hand(source: Facility, destination: Facility, requests: list[GoodsRequest], *, user, key: str,
                 note: str = "", handed_over: bool = False) -> tuple[Consignment, bool]:
    """A manual transfer: a consignment dispatched at once; `handed_over` books it at the destination too."""
    if not requests:
        raise InvalidInput(_("调拨单没有明细"))
    earlier = _consignment_for_key(key, source, user)
    if earlier is not None:
        _require_same_goods(earlier, destination, requests)
        return earlier, False
    if handed_over and not may_sign_at(user, destination):
        # Goods come into a facility's stock only on that facility's signature: a sender who may not sign for the
        # destination (a village sending to its township, a township to the county) sends them in transit.
        raise InvalidInput(_("调入机构须自行签收：只有可为调入机构签收的人员才能当面交接，请按在途发出"),
                           fields={"in_transit": [_("调入机构须自行签收")]}, code="handover_not_allowed")
    usable_after = dispatch_policy.current().usable_after(clock.today(), destination.tier)
    planned = [line for request in requests for line in pick_lots(source, request, usable_after=usable_after)]
    consignment, created = send(ConsignmentKind.TRANSFER, source, destination, planned, user=user, key=key,
                                note=note)
    if handed_over:
        receive(consignment, {}, user=user, handed_over=True, key=f"{key}:in")
    return consignment, created


def consignments_of(facility_id: int, *, direction: str = "in", status: str | None = None) -> list[Consignment]:
    """Consignments coming to (`in`) or leaving (`out`) a facility, newest first."""
    side = Consignment.destination_id if direction == "in" else Consignment.source_id
    stmt = (select(Consignment).where(side == facility_id)
            .options(selectinload(Consignment.lines), selectinload(Consignment.proof))
            .order_by(Consignment.id.desc()))
    if status:
        stmt = stmt.where(Consignment.status == status)
    return list(db.session.scalars(stmt))
