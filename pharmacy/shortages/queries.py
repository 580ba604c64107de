"""Reads of shortage registrations, always within the reader's facility subtree."""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import joinedload

from ..auth.policy import get_facility_in_scope, visible_facility_ids
from ..catalog.editions import offered_condition
from ..catalog.models import Drug, Product
from ..catalog.services import tiers_at_or_below
from ..extensions import db
from ..facilities.models import Facility
from ..inventory.queries import in_ids
from ..matching.services import propose_many
from .models import OPEN_STATUSES, Shortage, ShortageEvent, Urgency


def scope_ids(user, facility_id: int | None = None) -> Select:
    """Ids of the subtree of `facility_id` (403/404 outside the user's scope), or of all the user may see."""
    if facility_id is None:
        return visible_facility_ids(user)
    facility = get_facility_in_scope(user, facility_id)
    return select(Facility.id).where(Facility.path.startswith(facility.path))


def shortages_in(facility_ids: Iterable[int] | Select, *, statuses: Iterable[str] | None = None,
                 limit: int = 200, registered_by_id: int | None = None) -> list[Shortage]:
    """Registrations of the given facilities, newest first."""
    stmt = (select(Shortage).where(in_ids(Shortage.facility_id, facility_ids))
            .options(joinedload(Shortage.product).joinedload(Product.drug), joinedload(Shortage.facility),
                     joinedload(Shortage.registered_by))
            .order_by(Shortage.created_at.desc(), Shortage.id.desc()).limit(limit))
    if statuses:
        stmt = stmt.where(Shortage.status.in_(list(statuses)))
    if registered_by_id is not None:
        stmt = stmt.where(Shortage.registered_by_id == registered_by_id)
    return list(db.session.scalars(stmt))


def count_shortages(facility_ids: Iterable[int] | Select, statuses: Iterable[str]) -> int:
    """How many registrations of the given facilities are in one of `statuses` (for start pages)."""
    return db.session.scalar(select(func.count(Shortage.id)).where(
        in_ids(Shortage.facility_id, facility_ids), Shortage.status.in_(list(statuses)))) or 0


def events_of(shortage: Shortage) -> list[ShortageEvent]:
    stmt = (select(ShortageEvent).where(ShortageEvent.shortage_id == shortage.id)
            .options(joinedload(ShortageEvent.user)).order_by(ShortageEvent.id))
    return list(db.session.scalars(stmt))


@dataclass
class ProductGroup:
    """Open registrations of one product (or one free-text name) with totals; worst urgency first."""

    key: str
    product: Product | None
    label: str
    total_packs: int = 0
    urgency: str = "routine"
    earliest_at: datetime | None = None
    facility_count: int = 0
    shortages: list[Shortage] = field(default_factory=list)

    @property
    def has_emergency(self) -> bool:
        return self.urgency == "emergency"


def open_by_product(facility_ids: Iterable[int] | Select) -> list[ProductGroup]:
    """Open registrations grouped by product: emergencies first, then urgent, then by waiting time."""
    stmt = (select(Shortage).where(in_ids(Shortage.facility_id, facility_ids),
                                   Shortage.status.in_(list(OPEN_STATUSES)))
            .options(joinedload(Shortage.product).joinedload(Product.drug), joinedload(Shortage.facility))
            .order_by(Shortage.created_at, Shortage.id))
    groups: dict[str, ProductGroup] = {}
    for shortage in db.session.scalars(stmt):
        key = f"p{shortage.product_id}" if shortage.product_id else "t" + shortage.free_text.strip().lower()
        group = groups.get(key)
        if group is None:
            group = groups[key] = ProductGroup(key, shortage.product, shortage.label,
                                               earliest_at=shortage.created_at)
        group.shortages.append(shortage)
        group.total_packs += shortage.qty_packs
        if Urgency.rank_of(shortage.urgency) < Urgency.rank_of(group.urgency):
            group.urgency = shortage.urgency
    for group in groups.values():
        group.facility_count = len({s.facility_id for s in group.shortages})
        group.shortages.sort(key=lambda s: (Urgency.rank_of(s.urgency), s.created_at))
    return sorted(groups.values(), key=lambda g: (Urgency.rank_of(g.urgency), g.earliest_at, g.label))


@dataclass(frozen=True)
class PickItem:
    """A product a facility may register, in the compact form the tablet caches for offline search."""

    id: int
    name: str
    form: str
    strength: str
    pack: str
    pack_unit: str
    initials: str
    code: str


def registrable_products(facility: Facility) -> list[PickItem]:
    """Active products the facility's tier may hold, of the list edition in force or still held there, as plain
    rows (one query)."""
    stmt = (select(Product.id, Drug.generic_name, Product.dosage_form, Product.strength, Product.pack_size,
                   Product.base_unit, Product.pack_unit, Drug.pinyin_initials, Product.code)
            .join(Drug, Drug.id == Product.drug_id)
            .where(Product.status == "active", Product.lowest_tier.in_(tiers_at_or_below(facility.tier)),
                   offered_condition(facility.id))
            .order_by(Drug.pinyin_initials, Product.code))
    return [PickItem(pid, name, form, strength, f"{size}{base}/{pack_unit}", pack_unit, initials or "", code)
            for pid, name, form, strength, size, base, pack_unit, initials, code in db.session.execute(stmt)]


def quick_picks(facility: Facility, limit: int = 8) -> list[Product]:
    """Products this facility registered most recently, for one-tap choice on the tablet."""
    ids = db.session.scalars(
        select(Shortage.product_id).where(Shortage.facility_id == facility.id, Shortage.product_id.is_not(None))
        .order_by(Shortage.created_at.desc()).limit(50)).all()
    seen: list[int] = []
    for pid in ids:
        if pid not in seen:
            seen.append(pid)
        if len(seen) == limit:
            break
    if not seen:
        return []
    products = {p.id: p for p in db.session.scalars(
        select(Product).where(Product.id.in_(seen), Product.status == "active").options(joinedload(Product.drug)))}
    return [products[pid] for pid in seen if pid in products]


# ---------------------------------------------------------------------------------------------------------------
# Free text waiting for a product


@dataclass
class FreeTextItem:
    """An open registration that names no product, with what the matching engine proposes for its text."""

    shortage: Shortage
    status: str
    proposals: list[dict]


def free_text_queue(facility_ids: Iterable[int] | Select, *, limit: int = 200) -> list[FreeTextItem]:
    """Open free-text registrations of these facilities, most urgent and longest waiting first, each with the
    products proposed for its text at the facility that typed it."""
    rank = case({u.value: u.rank for u in Urgency}, value=Shortage.urgency, else_=len(Urgency))
    stmt = (select(Shortage).where(in_ids(Shortage.facility_id, facility_ids), Shortage.product_id.is_(None),
                                   Shortage.status.in_(list(OPEN_STATUSES)))
            .options(joinedload(Shortage.facility), joinedload(Shortage.registered_by))
            .order_by(rank, Shortage.created_at, Shortage.id).limit(limit))
    shortages = list(db.session.scalars(stmt))
    proposals = propose_many([(s.free_text, s.facility) for s in shortages])
    return [FreeTextItem(s, p.status, p.products) for s, p in zip(shortages, proposals, strict=True)]
