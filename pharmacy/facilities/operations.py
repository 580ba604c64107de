"""What county staff do with the facility tree, for its pages and the API alike (see `pharmacy/operations.py`).

Facilities are loaded in the actor's scope by `auth.policy.get_facility_in_scope` (404 unknown, 403 outside): a
facility is itself the scope, so it has no `__scope__` column for `load_in_scope`.
"""

from ..auth.policy import get_facility_in_scope, require_permission, scope_root
from . import services
from .models import Facility, Tier


def facilities(user, query: dict) -> list[Facility]:
    """The facilities of the actor's subtree, top-down, of a tier and active or not when asked."""
    return services.facilities_under(scope_root(user), tier=query.get("tier"), is_active=query.get("active"))


def parent_choices(user) -> list[Facility]:
    """The facilities a new one may be placed under: the non-village ones of the actor's subtree."""
    return [f for f in services.facilities_under(scope_root(user)) if f.tier != Tier.VILLAGE]


def create_facility(user, command: dict) -> Facility:
    """Add a facility under a parent in the actor's scope (none: a new county); the kind fixes the tier, the tier
    the parent's."""
    require_permission(user, "admin.manage")
    parent = get_facility_in_scope(user, command["parent_id"]) if command.get("parent_id") else None
    return services.create_facility(code=command["code"], name=command["name"], kind=command["kind"], parent=parent,
                                    population=command.get("population"))


def set_facility_active(user, facility: Facility, command: dict) -> Facility:
    """Activate or deactivate a facility of the actor's scope."""
    require_permission(user, "admin.manage")
    return services.set_facility_active(facility, command["is_active"])
