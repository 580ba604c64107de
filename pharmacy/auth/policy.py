"""Who may do what, and where: every view and API call asks here.

A user sees the subtree of the facility their scope starts at: county staff the whole county tree,
a township pharmacist the township and its villages, a village doctor only the village.
"""

import functools

from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import Select, select

from ..errors import Forbidden, NotFound
from ..extensions import db
from ..facilities.models import Facility, Tier
from .models import Role, User

READ_ALL = {"catalog.read", "stock.read", "shortage.read", "order.read", "delivery.read", "report.read",
            "settlement.read", "route.read"}

PERMISSIONS: dict[str, set[str]] = {
    Role.VILLAGE_DOCTOR: {"catalog.read", "stock.read", "stock.write", "shortage.read", "shortage.register",
                          "delivery.read", "delivery.receive"},
    Role.TOWNSHIP_PHARMACIST: READ_ALL | {"stock.write", "shortage.register", "shortage.manage",
                                          "matching.import", "matching.review", "order.build",
                                          "order.receive", "route.edit", "delivery.plan", "delivery.receive"},
    Role.COUNTY_PHARMACIST: READ_ALL | {"stock.write", "shortage.manage", "matching.import", "matching.review",
                                        "order.build", "order.approve", "order.receive", "purchase.manage",
                                        "route.edit", "delivery.plan", "delivery.receive", "admin.manage",
                                        "audit.read", "scheduler.admin", "settlement.close", "tracer.edit"},
    Role.FORMULARY_ADMIN: READ_ALL | {"catalog.edit", "matching.import", "matching.review", "audit.read",
                                      "tracer.edit"},
    Role.VIEWER: set(READ_ALL),
}

def has_permission(user: User, permission: str) -> bool:
    return bool(user and user.is_authenticated and permission in PERMISSIONS.get(user.role, set()))


def require_permission(user: User, permission: str) -> None:
    if not has_permission(user, permission):
        raise Forbidden(_("您没有权限执行此操作"))


def permission_required(permission: str):
    """Refuse the view with 403 unless the current user's role grants `permission`."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            require_permission(current_user, permission)
            return view(*args, **kwargs)

        wrapper._permission = permission
        return wrapper

    return decorate


def scope_root(user: User) -> Facility:
    """The facility whose subtree the user may see."""
    facility = user.facility
    if facility.tier == Tier.COUNTY:
        while facility.parent is not None:
            facility = facility.parent
    return facility


def visible_facility_ids(user: User) -> Select:
    """A subquery of the ids of every facility the user may see."""
    return select(Facility.id).where(Facility.path.startswith(scope_root(user).path))


def can_see(user: User, facility: Facility) -> bool:
    return facility.path.startswith(scope_root(user).path)


def get_facility_in_scope(user: User, facility_id: int | None = None, *, code: str | None = None) -> Facility:
    """Load a facility the user may see: 404 when it does not exist, 403 when it lies outside the user's scope."""
    if code is not None:
        facility = db.session.scalar(select(Facility).where(Facility.code == code))
    else:
        facility = db.session.get(Facility, facility_id) if facility_id is not None else None
    if facility is None:
        raise NotFound(_("找不到该机构"))
    if not can_see(user, facility):
        raise Forbidden(_("您无权访问该机构的数据"))
    return facility


def ensure_can_see(user: User, facility_id: int) -> None:
    """Refuse with 404 when an object's facility is outside the user's scope (ids of others are not confirmed)."""
    facility = db.session.get(Facility, facility_id)
    if facility is None or not can_see(user, facility):
        raise NotFound(_("找不到该记录"))


def load_in_scope(user: User, model, object_id: int, *, for_update: bool = False, options=()):
    """The one scoped loader: the `model` row `object_id` if the user may see it, else 404 (the ids of other
    facilities are not confirmed). A model names the facility columns that place it in the tree with
    `__scope__ = ("facility_id",)` (several: any of them visible is enough, e.g. a transfer's two ends) and its
    404 message with `__not_found__`; a model without `__scope__` is visible to every signed-in user.
    `for_update` locks the row for a state change and refreshes it from the database."""
    stmt = select(model).where(model.id == object_id).options(*options)
    if for_update:
        stmt = stmt.with_for_update(of=model).execution_options(populate_existing=True)
    row = db.session.scalars(stmt).first() if object_id is not None else None
    if row is None or not in_scope(user, row):
        message = getattr(model, "__not_found__", None)
        raise NotFound(str(message) if message is not None else _("找不到该记录"))
    return row


def in_scope(user: User, row) -> bool:
    """Whether a scoped row (see `load_in_scope`) lies in the user's subtree."""
    columns = getattr(type(row), "__scope__", None)
    if columns is None:
        return True
    root = scope_root(user).path
    for column in columns:
        facility_id = getattr(row, column)
        facility = db.session.get(Facility, facility_id) if facility_id is not None else None
        if facility is not None and facility.path.startswith(root):
            return True
    return False
