"""Building and changing the facility tree."""

from flask_babel import gettext as _
from sqlalchemy import select

from ..errors import Conflict, InvalidInput
from ..extensions import db
from .models import KIND_TIER, Facility, FacilityKind, Tier

PARENT_TIER = {Tier.COUNTY: {None, Tier.COUNTY}, Tier.TOWNSHIP: {Tier.COUNTY}, Tier.VILLAGE: {Tier.TOWNSHIP}}


def create_facility(*, code: str, name: str, kind: str, parent: Facility | None = None,
                    population: int | None = None, address: str = "", phone: str = "") -> Facility:
    """Add a facility under `parent`; the kind fixes the tier and the tier the allowed parent."""
    code = (code or "").strip().upper()
    if not code or not (name or "").strip():
        raise InvalidInput(_("编码和名称均为必填"), fields={"code": [_("必填")], "name": [_("必填")]})
    try:
        tier = KIND_TIER[FacilityKind(kind)]
    except ValueError:
        raise InvalidInput(_("未知机构类型"), fields={"kind": [_("未知机构类型")]}) from None
    parent_tier = Tier(parent.tier) if parent is not None else None
    if parent_tier not in PARENT_TIER[tier]:
        raise InvalidInput(_("上级机构的级别不符"), fields={"parent_id": [_("级别不符")]})
    if db.session.scalar(select(Facility.id).where(Facility.code == code)) is not None:
        raise Conflict(_("机构编码已存在"), fields={"code": [_("机构编码已存在")]})
    facility = Facility(code=code, name=name.strip(), kind=kind, tier=tier, parent=parent,
                        population=population, address=address, phone=phone)
    db.session.add(facility)
    db.session.flush()
    facility.path = (parent.path if parent is not None else "/") + f"{facility.id}/"
    db.session.flush()
    return facility


def set_facility_active(facility: Facility, is_active: bool) -> Facility:
    facility.is_active = is_active
    db.session.flush()
    return facility


def facilities_under(root: Facility, *, tier: str | None = None, active_only: bool = False,
                     is_active: bool | None = None) -> list[Facility]:
    """Every facility in the subtree of `root` (of a tier, active or not), ordered by path so a tree prints
    top-down."""
    stmt = select(Facility).where(Facility.path.startswith(root.path))
    if tier:
        stmt = stmt.where(Facility.tier == tier)
    if active_only:
        is_active = True
    if is_active is not None:
        stmt = stmt.where(Facility.is_active.is_(is_active))
    return list(db.session.scalars(stmt.order_by(Facility.path)))


def central_pharmacy_of(facility: Facility) -> Facility | None:
    """The county central pharmacy of the tree `facility` belongs to."""
    root_id = int(facility.path.strip("/").split("/")[0])
    root = db.session.get(Facility, root_id)
    return db.session.scalar(select(Facility).where(
        Facility.path.startswith(root.path), Facility.kind == FacilityKind.CENTRAL_PHARMACY).limit(1))
