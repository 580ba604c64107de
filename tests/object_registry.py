"""What each URL parameter names, for the tests generated from the URL map (test_url_map_security.py).

Every rule parameter must be listed here, or the generated tests fail: a new endpoint cannot slip past the
horizontal-privilege checks. For a parameter naming an object that belongs to a facility, give a factory that
makes such an object at a given facility and returns the value to put in the URL; the tests then check that a
user who may not see that facility gets 403 or 404. Factories receive `made`, a dict shared by the factories of
one URL, so that /runs/<run_id>/stops/<stop_id> can make the stop inside the run it made for run_id.

When you add an endpoint with a new parameter, add a line here.
"""

from collections.abc import Callable

from pharmacy.auth.models import Role
from pharmacy.facilities.models import Facility, Tier
from tests.factories import make_user

GLOBAL = "global"  # objects everyone with the permission may see (the formulary): nothing to scope

# Parameters that are not object ids, per endpoint.
NOT_OBJECTS: dict[str, set[str]] = {
    "static": {"filename"},
    "i18n.set_language": {"code"},
    "catalog.export": {"fmt"},
}

Factory = Callable[[Facility, dict], object]

_ROLE_AT_TIER = {Tier.VILLAGE: Role.VILLAGE_DOCTOR, Tier.TOWNSHIP: Role.TOWNSHIP_PHARMACIST, Tier.COUNTY: Role.VIEWER}


def _user_at(facility: Facility, made: dict) -> int:
    return made.setdefault("user", make_user(facility, _ROLE_AT_TIER[Tier(facility.tier)])).id


OBJECTS: dict[str, Factory | str] = {
    "facility_id": lambda facility, made: facility.id,
    "user_id": _user_at,
    "product_id": GLOBAL,
    "drug_id": GLOBAL,
}
