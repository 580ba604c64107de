"""Reads of people, always within the reader's scope."""

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..errors import NotFound
from ..extensions import db
from ..facilities.models import Facility
from .models import User
from .policy import can_see, visible_facility_ids


def users_in_scope(user: User, *, under: Facility | None = None, role: str | None = None,
                   active: bool | None = None) -> list[User]:
    """The people of the user's facility subtree (or of `under`, a facility in it), by facility then name."""
    stmt = (select(User).join(User.facility).options(joinedload(User.facility))
            .where(User.facility_id.in_(visible_facility_ids(user))).order_by(Facility.path, User.username))
    if under is not None:
        stmt = stmt.where(Facility.path.startswith(under.path))
    if role:
        stmt = stmt.where(User.role == role)
    if active is not None:
        stmt = stmt.where(User.is_active.is_(active))
    return list(db.session.scalars(stmt))


def user_in_scope(viewer: User, user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None or not can_see(viewer, user.facility):
        raise NotFound(_("找不到该用户"))
    return user


def facilities_for_choice(user: User) -> list[Facility]:
    stmt = select(Facility).where(Facility.id.in_(visible_facility_ids(user)), Facility.is_active.is_(True))
    return list(db.session.scalars(stmt.order_by(Facility.path)))
