"""Building, editing, submitting and approving township orders. Services flush; the request commits."""

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import insert, select
from sqlalchemy.orm import joinedload, selectinload

from .. import clock, events
from ..catalog.models import Drug, Product, ProductStatus
from ..catalog.rules import may_stock, packs_for
from ..deliveries.queries import shortages_on_pending_runs
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..facilities.models import Facility, Tier
from ..shortages.models import Shortage, ShortageStatus, Urgency
from ..shortages.progress import Stage
from .models import ACTIVE_STATUSES, LineSource, LineStatus, Order, OrderLine, OrderLineShortage, OrderStatus
from .replenishment import stock_levels, suggest_packs

log = logging.getLogger(__name__)

MAX_QTY_PACKS = 100000
# Shortages the builder may take up: registered or acknowledged, not yet on an order.
ORDERABLE_SHORTAGE_STATUSES = (ShortageStatus.REGISTERED, ShortageStatus.ACKNOWLEDGED)


# ---------------------------------------------------------------------------------------------------------------
# Lines of a loaded order


def get_line(order: Order, line_id: int) -> OrderLine:
    line = next((line for line in order.lines if line.id == line_id), None)
    if line is None:
        raise NotFound(_("找不到该订单明细"))
    return line


def _require_status(order: Order, *statuses: str) -> None:
    if order.status not in statuses:
        raise Conflict(_("订单状态为“%(status)s”，不能执行此操作", status=OrderStatus.label_of(order.status)),
                       code="invalid_transition")




# ---------------------------------------------------------------------------------------------------------------
# What a township should order


@dataclass
class LineProposal:
    # id, code, pack_size, lowest_tier and generic_name of the product (a row, not an entity: hundreds per draft)
    product: object
    shortage_packs: int = 0
    township_need_packs: int = 0
    village_need_packs: int = 0
    on_order_packs: int = 0
    shortages: list[Shortage] = field(default_factory=list)

    @property
    def suggested_packs(self) -> int:
        return suggest_packs(shortage_packs=self.shortage_packs, township_need_packs=self.township_need_packs,
                             village_need_packs=self.village_need_packs, on_order_packs=self.on_order_packs)

    @property
    def is_for_villages(self) -> bool:
        return self.village_need_packs > 0 or any(s.facility.tier == Tier.VILLAGE for s in self.shortages)

    @property
    def urgency(self) -> str:
        return most_urgent([s.urgency for s in self.shortages])


def most_urgent(urgencies) -> str:
    return min(urgencies, key=Urgency.rank_of, default=Urgency.ROUTINE)


def _require_township(facility: Facility) -> None:
    if facility.tier != Tier.TOWNSHIP:
        raise InvalidInput(_("只有乡镇卫生院可以编制统一订单"), code="not_a_township")


def _villages_of(township: Facility) -> list[Facility]:
    return list(db.session.scalars(select(Facility).where(
        Facility.parent_id == township.id, Facility.tier == Tier.VILLAGE, Facility.is_active.is_(True))))


def open_shortages(township: Facility, *, exclude_order_id: int | None = None) -> list[Shortage]:
    """Open registrations of the township and its villages whose goods are not under way: not on another draft,
    not on a live order, not on a village delivery run that has not left yet."""
    on_draft = (select(OrderLineShortage.shortage_id)
                .join(OrderLine, OrderLine.id == OrderLineShortage.line_id)
                .join(Order, Order.id == OrderLine.order_id)
                .where(Order.status == OrderStatus.DRAFT))
    if exclude_order_id is not None:
        on_draft = on_draft.where(Order.id != exclude_order_id)
    stmt = (select(Shortage).join(Facility, Facility.id == Shortage.facility_id)
            .where(Facility.path.startswith(township.path), Shortage.status.in_(ORDERABLE_SHORTAGE_STATUSES),
                   Shortage.stage == Stage.NONE, Shortage.id.notin_(on_draft),
                   Shortage.id.notin_(shortages_on_pending_runs()))
            .options(joinedload(Shortage.facility))
            .order_by(Shortage.created_at, Shortage.id))
    return list(db.session.scalars(stmt))


def on_order_packs(township: Facility) -> dict[int, int]:
    """Packs per product the township has on live orders and that have not left the central pharmacy yet."""
    rows = db.session.execute(
        select(OrderLine.product_id, OrderLine.qty_packs, OrderLine.qty_packs_approved, OrderLine.status,
               OrderLine.qty_base_shipped, Product.pack_size)
        .join(Order, Order.id == OrderLine.order_id).join(Product, Product.id == OrderLine.product_id)
        .where(Order.facility_id == township.id, Order.status.in_(ACTIVE_STATUSES),
               OrderLine.status != LineStatus.REJECTED))
    out: dict[int, int] = {}
    for product_id, qty, approved, _status, shipped_base, pack_size in rows:
        agreed = qty if approved is None else approved
        outstanding = max(0, agreed - shipped_base // max(pack_size, 1))
        if outstanding:
            out[product_id] = out.get(product_id, 0) + outstanding
    return out


def propose_lines(township: Facility, *, exclude_order_id: int | None = None) -> list[LineProposal]:
    """For each product: the open shortages, the replenishment need of the township and of its villages, and what
    is already on order. Only products the township may stock (village need only for village-tier products)."""
    villages = _villages_of(township)
    village_ids = {v.id for v in villages}
    levels = stock_levels([township, *villages])
    shortages = [s for s in open_shortages(township, exclude_order_id=exclude_order_id) if s.product_id]
    on_order = on_order_packs(township)
    product_ids = {pid for _fid, pid in levels} | {s.product_id for s in shortages}
    products = {p.id: p for p in db.session.execute(
        select(Product.id, Product.code, Product.pack_size, Product.lowest_tier, Drug.generic_name)
        .join(Drug, Drug.id == Product.drug_id)
        .where(Product.id.in_(product_ids), Product.status == ProductStatus.ACTIVE))} if product_ids else {}
    proposals: dict[int, LineProposal] = {}
    refused: set[int] = set()

    def proposal(product_id: int) -> LineProposal | None:
        if product_id in proposals:
            return proposals[product_id]
        product = products.get(product_id)
        if product_id in refused or product is None or not may_stock(township.tier, product.lowest_tier):
            refused.add(product_id)
            return None
        proposals[product_id] = LineProposal(product, on_order_packs=on_order.get(product_id, 0))
        return proposals[product_id]

    village_need_base: dict[int, int] = {}
    for (facility_id, product_id), level in levels.items():
        if not level.need_base:
            continue
        item = proposal(product_id)
        if item is None:
            continue
        if facility_id == township.id:
            item.township_need_packs = packs_for(level.need_base, item.product.pack_size)
        elif facility_id in village_ids and item.product.lowest_tier == Tier.VILLAGE:
            village_need_base[product_id] = village_need_base.get(product_id, 0) + level.need_base
    for product_id, need_base in village_need_base.items():
        proposals[product_id].village_need_packs = packs_for(need_base, proposals[product_id].product.pack_size)
    for shortage in shortages:
        item = proposal(shortage.product_id)
        if item is None:
            continue
        if shortage.facility_id in village_ids and item.product.lowest_tier != Tier.VILLAGE:
            continue
        item.shortages.append(shortage)
        item.shortage_packs += shortage.qty_packs
    result = [p for p in proposals.values() if p.suggested_packs > 0 or p.shortages]
    return sorted(result, key=lambda p: (Urgency.rank_of(p.urgency), p.product.generic_name, p.product.code))


# ---------------------------------------------------------------------------------------------------------------
# Draft orders


def _new_order(township: Facility, user, note: str = "") -> Order:
    order = Order(facility=township, status=OrderStatus.DRAFT, created_by_id=getattr(user, "id", None),
                  note=note or "")
    db.session.add(order)
    db.session.flush()
    return order


def current_draft(township: Facility) -> Order | None:
    return db.session.scalars(select(Order).where(Order.facility_id == township.id,
                                                  Order.status == OrderStatus.DRAFT)
                              .order_by(Order.id.desc()).options(selectinload(Order.lines))).first()


def build_draft_order(township: Facility, user) -> Order:
    """Create the township's draft from its proposals, or refresh the open draft: suggestions are recomputed,
    new needs and shortages are added, and quantities the pharmacist edited are kept."""
    _require_township(township)
    order = current_draft(township) or _new_order(township, user)
    lines = {line.product_id: line for line in order.lines}
    new_rows, new_links, links = [], {}, []
    for item in propose_lines(township, exclude_order_id=order.id):
        figures = {"shortage_packs": item.shortage_packs, "township_need_packs": item.township_need_packs,
                   "village_need_packs": item.village_need_packs, "on_order_packs": item.on_order_packs,
                   "suggested_packs": item.suggested_packs}
        line = lines.get(item.product.id)
        if line is None:
            # A township proposes a few hundred lines: inserted in bulk, the ORM reloads them when asked.
            new_rows.append({"order_id": order.id, "product_id": item.product.id, "qty_packs": item.suggested_packs,
                             "source": LineSource.SHORTAGE if item.shortages else LineSource.REPLENISHMENT,
                             "is_for_villages": item.is_for_villages, "urgency": item.urgency, **figures})
            new_links[item.product.id] = [s.id for s in item.shortages]
            continue
        for name, value in figures.items():
            setattr(line, name, value)
        line.is_for_villages = line.is_for_villages or item.is_for_villages
        if not line.is_edited:
            line.qty_packs = item.suggested_packs
            line.urgency = most_urgent([line.urgency, item.urgency])
        known = {s.id for s in line.shortages}
        links += [{"line_id": line.id, "shortage_id": s.id} for s in item.shortages if s.id not in known]
    db.session.flush()
    if new_rows:
        # A plain executemany, then the ids: INSERT … RETURNING of hundreds of rows is slow to build on psycopg.
        db.session.execute(insert(OrderLine.__table__), new_rows)
        created = db.session.execute(select(OrderLine.id, OrderLine.product_id).where(
            OrderLine.order_id == order.id, OrderLine.product_id.in_(list(new_links))))
        links += [{"line_id": line_id, "shortage_id": shortage_id}
                  for line_id, product_id in created for shortage_id in new_links[product_id]]
    if links:
        db.session.execute(insert(OrderLineShortage), links)
    if new_rows or links:
        for line in lines.values():
            db.session.expire(line, ["shortages"])
        db.session.expire(order, ["lines"])
    log.info("draft order %s built for %s by %s: %s new lines, %s refreshed", order.id, township.code,
             getattr(user, "username", "-"), len(new_rows), len(lines))
    return order


def _check_orderable(township: Facility, product: Product, is_for_villages: bool) -> None:
    if not product.is_active:
        raise InvalidInput(_("%(name)s 已停用，不能订购", name=product.display_name), code="product_withdrawn",
                           fields={"product_id": [_("已停用")]})
    if not may_stock(township.tier, product.lowest_tier):
        raise InvalidInput(_("%(name)s 不允许在乡镇卫生院配备", name=product.display_name), code="tier_not_allowed",
                           fields={"product_id": [_("层级不允许")]})
    if is_for_villages and product.lowest_tier != Tier.VILLAGE:
        raise InvalidInput(_("%(name)s 不允许在村卫生室配备，不能为村室订购", name=product.display_name),
                           code="tier_not_allowed", fields={"is_for_villages": [_("层级不允许")]})


def _check_qty(qty_packs) -> int:
    if not isinstance(qty_packs, int) or isinstance(qty_packs, bool) or not 0 <= qty_packs <= MAX_QTY_PACKS:
        raise InvalidInput(_("数量应在 0 到 %(max)s 盒之间", max=MAX_QTY_PACKS), fields={"qty_packs": [_("数量无效")]})
    return qty_packs


def _check_urgency(urgency: str) -> str:
    if urgency not in set(Urgency):
        raise InvalidInput(_("未知紧急程度"), fields={"urgency": [_("未知紧急程度")]})
    return urgency


def create_order(township: Facility, user, note: str = "") -> Order:
    """Start an empty draft (or return the open one) for lines added by hand or imported."""
    _require_township(township)
    return current_draft(township) or _new_order(township, user, note)


def add_line(order: Order, product: Product, *, qty_packs: int, user, is_for_villages: bool = False,
             urgency: str = Urgency.ROUTINE, note: str = "", source: str = LineSource.MANUAL,
             changes: dict[int, dict] | None = None) -> OrderLine:
    """Add a product to a draft by hand (after the builder's unsaved edits of other lines, if any)."""
    _require_status(order, OrderStatus.DRAFT)
    if changes:
        update_lines(order, changes)
    _check_qty(qty_packs)
    _check_urgency(urgency)
    _check_orderable(order.facility, product, is_for_villages)
    if any(line.product_id == product.id for line in order.lines):
        raise Conflict(_("%(name)s 已在订单中，请直接修改数量", name=product.display_name), code="duplicate_line")
    line = OrderLine(product=product, qty_packs=qty_packs, is_for_villages=is_for_villages, urgency=urgency,
                     note=(note or "").strip(), source=source, is_edited=True)
    order.lines.append(line)
    db.session.flush()
    return line


def update_line(order: Order, line: OrderLine, *, qty_packs: int | None = None, urgency: str | None = None,
                is_for_villages: bool | None = None, note: str | None = None) -> OrderLine:
    """Change a draft line's quantity, urgency, destination or note."""
    _require_status(order, OrderStatus.DRAFT)
    if qty_packs is not None:
        line.qty_packs = _check_qty(qty_packs)
        line.is_edited = True
    if urgency is not None:
        line.urgency = _check_urgency(urgency)
        line.is_edited = True
    if is_for_villages is not None:
        _check_orderable(order.facility, line.product, is_for_villages)
        line.is_for_villages = is_for_villages
    if note is not None:
        line.note = note.strip()
    db.session.flush()
    return line


# A line's field as the order pages name it: qty_<line id>, reason_<line id>, urgency_<line id>.
_LINE_FIELDS = {"qty_packs": "qty", "reason": "reason", "urgency": "urgency"}


@contextmanager
def _on_line(line: OrderLine):
    """Name the line in a refusal's fields (qty_<id>, reason_<id>), so that a page can mark the very line."""
    try:
        yield
    except InvalidInput as exc:
        exc.fields = {f"{_LINE_FIELDS.get(name, name)}_{line.id}": messages for name, messages in exc.fields.items()}
        exc.details = {"line_id": line.id}
        raise


def update_lines(order: Order, changes: dict[int, dict]) -> Order:
    """Apply several line edits of one draft at once (the builder's save button); all or nothing."""
    _require_status(order, OrderStatus.DRAFT)
    for line_id, change in changes.items():
        line = get_line(order, line_id)
        if change.get("qty_packs") is not None and change["qty_packs"] == line.qty_packs:
            change = {k: v for k, v in change.items() if k != "qty_packs"}
        if change.get("urgency") is not None and change["urgency"] == line.urgency:
            change = {k: v for k, v in change.items() if k != "urgency"}
        with _on_line(line):
            update_line(order, line, **change)
    return order


def remove_line(order: Order, line: OrderLine) -> None:
    """Take a line off a draft; the shortages it served become free for the next order."""
    _require_status(order, OrderStatus.DRAFT)
    order.lines.remove(line)
    db.session.flush()


def submit_order(order: Order, user, *, changes: dict[int, dict] | None = None) -> Order:
    """Send a draft to the county (after the builder's last edits, if any): lines at zero are dropped; the
    shortages served move to `ordered`."""
    _require_status(order, OrderStatus.DRAFT)
    db.session.scalars(select(Order).where(Order.id == order.id).options(
        selectinload(Order.lines).joinedload(OrderLine.product),
        selectinload(Order.lines).selectinload(OrderLine.shortages))).all()
    if changes:
        update_lines(order, changes)
    for line in [line for line in order.lines if line.qty_packs == 0]:
        order.lines.remove(line)
    if not order.lines:
        raise InvalidInput(_("订单没有数量大于 0 的明细，不能提交"), code="empty_order")
    for line in order.lines:
        _check_orderable(order.facility, line.product, line.is_for_villages)
    order.status = OrderStatus.SUBMITTED
    order.submitted_at = clock.now_utc()
    order.submitted_by_id = getattr(user, "id", None)
    db.session.flush()
    served = sorted({s.id for line in order.lines for s in line.shortages})
    events.order_lines_placed.send(order, shortage_ids=served, user=user)
    log.info("order %s submitted by %s: %s lines, %s shortages", order.id,
             getattr(user, "username", "-"), len(order.lines), len(served))
    return order


def _release_shortages(line: OrderLine, user, note: str) -> None:
    """Announce that a line will not be supplied: its shortages are free for the next order."""
    events.order_lines_released.send(line.order, shortage_ids=[s.id for s in line.shortages], user=user, note=note)


def cancel_order(order: Order, user, reason: str) -> Order:
    """Withdraw a draft or a submitted order that the county has not approved yet."""
    _require_status(order, OrderStatus.DRAFT, OrderStatus.SUBMITTED)
    reason = _require_reason(reason)
    for line in order.lines:
        _release_shortages(line, user, reason)
    order.status = OrderStatus.CANCELLED
    order.note = (order.note + "\n" if order.note else "") + reason
    db.session.flush()
    return order


# ---------------------------------------------------------------------------------------------------------------
# County approval


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请填写原因"), fields={"reason": [_("必填")]})
    return reason


def set_approved_qty(order: Order, line: OrderLine, *, qty_packs: int, reason: str, user) -> OrderLine:
    """Approve one line, at a changed quantity when the county decides so (reason required)."""
    _require_status(order, OrderStatus.SUBMITTED)
    _check_qty(qty_packs)
    if qty_packs == 0:
        raise InvalidInput(_("审批数量为 0 时请驳回该明细"), fields={"qty_packs": [_("应大于 0")]})
    reason = (reason or "").strip()
    if qty_packs != line.qty_packs and not reason:
        raise InvalidInput(_("修改审批数量必须填写原因"), fields={"reason": [_("必填")]})
    line.status = LineStatus.APPROVED
    line.qty_packs_approved = qty_packs
    line.approval_reason = reason
    db.session.flush()
    log.info("order %s line %s approved at %s packs (asked %s) by %s", order.id, line.id, qty_packs, line.qty_packs,
             getattr(user, "username", "-"))
    return line


def reject_line(order: Order, line: OrderLine, *, reason: str, user) -> OrderLine:
    """Refuse one line (reason required); its shortages go back to acknowledged."""
    _require_status(order, OrderStatus.SUBMITTED)
    line.approval_reason = _require_reason(reason)
    line.status = LineStatus.REJECTED
    line.qty_packs_approved = 0
    _release_shortages(line, user, line.approval_reason)
    db.session.flush()
    return line


def approve_order(order: Order, user) -> Order:
    """Approve every line not yet decided at the quantity asked; an order whose lines were all refused is
    rejected."""
    _require_status(order, OrderStatus.SUBMITTED)
    for line in order.lines:
        if line.status == LineStatus.PENDING:
            line.status = LineStatus.APPROVED
            line.qty_packs_approved = line.qty_packs
    rejected = all(line.status == LineStatus.REJECTED for line in order.lines)
    order.status = OrderStatus.REJECTED if rejected else OrderStatus.APPROVED
    order.approved_at = clock.now_utc()
    order.approved_by_id = getattr(user, "id", None)
    db.session.flush()
    log.info("order %s %s by %s", order.id, order.status, getattr(user, "username", "-"))
    return order


def review_order(order: Order, decisions: dict[int, dict], user) -> Order:
    """Apply the county's decisions on some lines ({line id: {"qty_packs", "reason", "reject"}}), then approve the
    order (undecided lines at the quantity asked). All or nothing."""
    _require_status(order, OrderStatus.SUBMITTED)
    for line_id, decision in decisions.items():
        line = get_line(order, line_id)
        with _on_line(line):
            if decision.get("reject"):
                reject_line(order, line, reason=decision.get("reason", ""), user=user)
            elif decision.get("qty_packs") is not None and decision["qty_packs"] != line.qty_packs:
                set_approved_qty(order, line, qty_packs=decision["qty_packs"], reason=decision.get("reason", ""),
                                 user=user)
    return approve_order(order, user)


def reject_order(order: Order, *, reason: str, user) -> Order:
    """Refuse a whole submitted order (reason required)."""
    _require_status(order, OrderStatus.SUBMITTED)
    reason = _require_reason(reason)
    for line in order.lines:
        if line.status != LineStatus.REJECTED:
            reject_line(order, line, reason=reason, user=user)
    return approve_order(order, user)
