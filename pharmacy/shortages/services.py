"""Registering shortages and moving them through their lifecycle; every change is an event with user and time."""

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import clock, idempotency
from ..catalog.models import Product
from ..catalog.rules import may_stock
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..facilities.models import Facility, Tier
from ..matching.services import learn_typed_name
from .models import TRANSITIONS, Shortage, ShortageEvent, ShortageReason, ShortageStatus, Urgency
from .progress import Stage, derived_status

log = logging.getLogger(__name__)

MAX_QTY_PACKS = 10000
MAX_NOTE_CHARS = 500


def register_shortage(*, facility: Facility, user, client_id: str, qty_packs: int, product: Product | None = None,
                      free_text: str = "", urgency: str = Urgency.ROUTINE, reason: str = ShortageReason.OUT_OF_STOCK,
                      note: str = "", client_created_at: datetime | None = None) -> tuple[Shortage, bool]:
    """Record what a village lacks. A resend with the same client id, by the same user for the same facility,
    returns the first registration; the same client id with another request is refused (409).

    Returns (shortage, created).
    """
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 64:
        raise InvalidInput(_("缺少登记编号（client_id）"), fields={"client_id": [_("必填")]})
    scope = idempotency.scope_of(facility.id, user)
    request_hash = idempotency.fingerprint(
        product_id=getattr(product, "id", None), free_text=(free_text or "").strip()[:200], qty_packs=qty_packs,
        urgency=urgency, reason=reason, note=(note or "").strip())
    existing = _registered_under(scope, client_id)
    if existing is not None:
        _require_same_request(existing, request_hash)
        return existing, False
    if facility.tier != Tier.VILLAGE and facility.tier != Tier.TOWNSHIP:
        raise InvalidInput(_("只有村卫生室和乡镇卫生院可以登记缺药"))
    if product is None and not (free_text or "").strip():
        raise InvalidInput(_("请选择药品或填写药品名称"), fields={"product_id": [_("必填")]})
    if product is not None and not may_stock(facility.tier, product.lowest_tier):
        raise InvalidInput(_("该药品不在本机构可配备的范围内"), fields={"product_id": [_("层级不允许")]},
                           code="tier_not_allowed")
    if product is not None and not product.is_active:
        raise InvalidInput(_("该药品已停用"), fields={"product_id": [_("已停用")]})
    if not isinstance(qty_packs, int) or isinstance(qty_packs, bool) or not 0 < qty_packs <= MAX_QTY_PACKS:
        raise InvalidInput(_("数量应在 1 到 %(max)s 之间", max=MAX_QTY_PACKS), fields={"qty_packs": [_("数量无效")]})
    if urgency not in set(Urgency):
        raise InvalidInput(_("未知紧急程度"), fields={"urgency": [_("未知紧急程度")]})
    if reason not in set(ShortageReason):
        raise InvalidInput(_("未知缺药原因"), fields={"reason": [_("未知缺药原因")]})
    if len(note or "") > MAX_NOTE_CHARS:
        raise InvalidInput(_("备注过长"), fields={"note": [_("长度不能超过 %(a)s", a=MAX_NOTE_CHARS)]})
    shortage = Shortage(client_id=client_id, key_scope=scope, request_hash=request_hash, facility_id=facility.id,
                        product=product, free_text=(free_text or "").strip()[:200], qty_packs=qty_packs,
                        urgency=urgency, reason=reason, note=(note or "").strip(),
                        registered_by_id=getattr(user, "id", None), client_created_at=client_created_at,
                        status=ShortageStatus.REGISTERED)
    try:
        with db.session.begin_nested():
            db.session.add(shortage)
            db.session.flush()
    except IntegrityError:  # the same key sent at the same moment: the other request recorded it first
        existing = _registered_under(scope, client_id)
        if existing is None:
            raise
        _require_same_request(existing, request_hash)
        return existing, False
    db.session.add(ShortageEvent(shortage=shortage, from_status="", to_status=ShortageStatus.REGISTERED,
                                 user_id=getattr(user, "id", None)))
    db.session.flush()
    log.info("shortage %s registered at %s by %s", shortage.id, facility.code, getattr(user, "username", "-"))
    return shortage, True


def _registered_under(scope: str, client_id: str) -> Shortage | None:
    return db.session.scalar(select(Shortage).where(Shortage.key_scope == scope, Shortage.client_id == client_id))


def _require_same_request(existing: Shortage, request_hash: str) -> None:
    idempotency.require_same_request(existing.request_hash, request_hash, _("该登记编号已用于另一条内容不同的登记"))


def transition(shortage: Shortage, to_status: str, *, user, note: str = "", ref_type: str = "",
               ref_id: int | None = None) -> Shortage:
    """Acknowledge or cancel a registration if the lifecycle allows it; 409 otherwise. (Statuses that follow
    the goods are derived in `record_stage`, never set here.)"""
    if to_status not in (ShortageStatus.ACKNOWLEDGED, ShortageStatus.CANCELLED) \
            or to_status not in TRANSITIONS.get(shortage.status, set()):
        raise Conflict(_("登记状态为“%(status)s”，不能改为“%(to)s”", status=ShortageStatus.label_of(shortage.status),
                         to=ShortageStatus.label_of(to_status)),
                       code="invalid_transition")
    if to_status == ShortageStatus.CANCELLED and not (note or "").strip():
        raise InvalidInput(_("取消登记必须填写原因"), fields={"note": [_("必填")]})
    if len(note or "") > MAX_NOTE_CHARS:
        raise InvalidInput(_("备注过长"), fields={"note": [_("长度不能超过 %(a)s", a=MAX_NOTE_CHARS)]})
    db.session.add(ShortageEvent(shortage=shortage, from_status=shortage.status, to_status=to_status,
                                 stage=shortage.stage, note=(note or "").strip(), ref_type=ref_type, ref_id=ref_id,
                                 user_id=getattr(user, "id", None)))
    shortage.status = to_status
    if to_status == ShortageStatus.CANCELLED:
        shortage.cancel_reason = note.strip()
    if to_status == ShortageStatus.ACKNOWLEDGED:
        shortage.acknowledged_at = clock.now_utc()
    db.session.flush()
    log.info("shortage %s %s by %s", shortage.id, to_status, getattr(user, "username", "-"))
    return shortage


def record_stage(shortage: Shortage, stage: str, *, user, note: str = "", ref_type: str = "",
                 ref_id: int | None = None, expected_arrival_date=None) -> bool:
    """Record where a registration's goods are now and derive its status from that; every change is an event.
    Cancelled and delivered registrations keep their end state. Returns whether anything changed."""
    if shortage.status in (ShortageStatus.CANCELLED, ShortageStatus.DELIVERED):
        return False
    stage = Stage(stage)
    status = derived_status(stage, is_acknowledged=shortage.acknowledged_at is not None
                            or shortage.status != ShortageStatus.REGISTERED, is_cancelled=False)
    if stage == shortage.stage and status == shortage.status and expected_arrival_date == \
            shortage.expected_arrival_date and not note:
        return False
    db.session.add(ShortageEvent(shortage=shortage, from_status=shortage.status, to_status=status, stage=stage,
                                 note=(note or "").strip()[:MAX_NOTE_CHARS], ref_type=ref_type, ref_id=ref_id,
                                 user_id=getattr(user, "id", None)))
    if status != ShortageStatus.REGISTERED and shortage.acknowledged_at is None:
        shortage.acknowledged_at = clock.now_utc()
    shortage.stage, shortage.status = stage.value, status
    shortage.expected_arrival_date = expected_arrival_date if stage in (
        Stage.UPSTREAM_TRANSIT, Stage.IN_TRANSIT) else None
    if stage == Stage.DELIVERED:
        shortage.delivered_at, shortage.difference_note = clock.now_utc(), ""
    elif stage == Stage.NONE and note:
        shortage.difference_note = note.strip()[:MAX_NOTE_CHARS]
    log.info("shortage %s goods %s → %s by %s", shortage.id, stage.value or "none", status,
             getattr(user, "username", "-"))
    return True


def acknowledge(shortage: Shortage, *, user, note: str = "") -> Shortage:
    """The township has seen the registration and will act on it."""
    return transition(shortage, ShortageStatus.ACKNOWLEDGED, user=user, note=note)


def cancel(shortage: Shortage, *, user, reason: str) -> Shortage:
    """Cancel an open registration; the reason is required and kept."""
    return transition(shortage, ShortageStatus.CANCELLED, user=user, note=reason)


def acknowledge_many(shortages: list[Shortage], *, user, note: str = "") -> int:
    """Acknowledge every registration that is still only registered; returns how many moved."""
    todo = [s for s in shortages if s.status == ShortageStatus.REGISTERED]
    for shortage in todo:
        transition(shortage, ShortageStatus.ACKNOWLEDGED, user=user, note=note)
    return len(todo)


# ---------------------------------------------------------------------------------------------------------------
# Free text becomes a product

# ShortageEvent.ref_type of the event that names the product a free-text registration asks for (ref_id: the product).
PRODUCT_RESOLVED = "product_resolved"


def resolve_product(shortage: Shortage, product: Product, *, user, learn_alias: bool = True,
                    note: str = "") -> Shortage:
    """Name the product a free-text registration asks for; from then on it is ordered and delivered like any other.

    The caller has loaded the registration within the user's scope. With `learn_alias` the typed text becomes a
    confirmed local name of the registration's township, so that the matching engine proposes this product when
    any of its villages types it again.
    """
    # Two pharmacists resolving the same registration: the second waits here, then sees it resolved.
    shortage = db.session.scalars(select(Shortage).where(Shortage.id == shortage.id).with_for_update()
                                  .execution_options(populate_existing=True)).one()
    if shortage.product_id is not None:
        raise Conflict(_("该登记已对应药品：%(product)s", product=shortage.product.display_name),
                       code="already_resolved")
    if not shortage.is_open:
        raise Conflict(_("登记状态为“%(status)s”，不能再对应药品", status=ShortageStatus.label_of(shortage.status)),
                       code="not_open")
    if not product.is_active:
        raise InvalidInput(_("该药品已停用"), fields={"product_id": [_("已停用")]})
    if not may_stock(shortage.facility.tier, product.lowest_tier):
        raise InvalidInput(_("该药品不在本机构可配备的范围内"), fields={"product_id": [_("层级不允许")]},
                           code="tier_not_allowed")
    if len(note or "") > MAX_NOTE_CHARS:
        raise InvalidInput(_("备注过长"), fields={"note": [_("长度不能超过 %(a)s", a=MAX_NOTE_CHARS)]})
    alias = None
    if learn_alias:
        facility = shortage.facility
        township_id = facility.parent_id if facility.tier == Tier.VILLAGE else facility.id
        alias = learn_typed_name(shortage.free_text, product, facility_id=township_id, user=user,
                                 source_ref=f"shortage:{shortage.id}")
    db.session.add(ShortageEvent(shortage=shortage, from_status=shortage.status, to_status=shortage.status, stage=shortage.stage,
                                 note=(note or "").strip(), ref_type=PRODUCT_RESOLVED, ref_id=product.id,
                                 user_id=getattr(user, "id", None)))
    shortage.product = product
    db.session.flush()
    log.info("shortage %s (%r) resolved to %s by %s, alias %s", shortage.id, shortage.free_text, product.code,
             getattr(user, "username", "-"), alias.id if alias else "-")
    return shortage
