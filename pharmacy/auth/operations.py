"""What people do with accounts and API tokens, for the pages and the API alike (see `pharmacy/operations.py`).

Each function takes the acting user and a command loaded by a schema of `schemas.py`. People and tokens are loaded
in the actor's scope by `queries.user_in_scope` and `tokens.token_in_scope` (a token is its owner's, or in an admin's
scope: not a facility column, hence not `load_in_scope`).
"""

from flask_babel import gettext as _

from ..errors import Forbidden, InvalidInput
from . import queries, services, tokens
from .models import ApiToken, User
from .policy import PERMISSIONS, get_facility_in_scope, require_permission


def me(user) -> dict:
    """The signed-in user, their facility and permissions."""
    return {"id": user.id, "username": user.username, "display_name": user.display_name, "role": user.role,
            "facility": user.facility, "permissions": sorted(PERMISSIONS.get(user.role, set()))}


def sign_out(user) -> None:
    """End the signed-in user's sessions on the server, so a copied session cookie stops working too."""
    services.end_sessions(user)


# ---------------------------------------------------------------------------------------------------------------
# People


def users(user, query: dict) -> list[User]:
    """The people of the actor's subtree (or of a facility in it), by role and active state when asked."""
    require_permission(user, "admin.manage")
    under = get_facility_in_scope(user, query["facility_id"]) if query.get("facility_id") else None
    return queries.users_in_scope(user, under=under, role=query.get("role"), active=query.get("active"))


def create_user(user, command: dict) -> User:
    """Add a person at an active facility of the actor's scope; the role must fit the facility's tier."""
    require_permission(user, "admin.manage")
    facility = get_facility_in_scope(user, command["facility_id"])
    if not facility.is_active:
        raise InvalidInput(_("该机构已停用"), fields={"facility_id": [_("该机构已停用")]})
    return services.create_user(username=command["username"], display_name=command["display_name"],
                                password=command["password"], role=command["role"], facility=facility)


def set_user_active(user, person: User, command: dict) -> User:
    """Activate or deactivate a person of the actor's scope (never oneself); deactivation ends their sessions and
    their API tokens stop working."""
    require_permission(user, "admin.manage")
    if person.id == user.id:
        raise Forbidden(_("不能停用自己的账户"))
    return services.set_user_active(person, command["is_active"])


# ---------------------------------------------------------------------------------------------------------------
# API tokens


def token_list(user, query: dict) -> list[ApiToken]:
    """The actor's own tokens, or (admins, `everyone`) those of every user in their scope; newest first."""
    return tokens.tokens_of(user, everyone_in_scope=query.get("everyone", False))


def create_token(user, command: dict) -> tokens.NewToken:
    """Make an API token for oneself or (admins) a user in one's scope; only from a signed-in session, never with
    a token: a token cannot make tokens."""
    if tokens.current_token() is not None:
        raise Forbidden(_("令牌不能用来创建令牌，请在账户页面创建"), code="token_not_allowed")
    owner = queries.user_in_scope(user, command["user_id"]) if command.get("user_id") else user
    return tokens.create_token(owner, name=command["name"], scopes=command["scopes"], days=command.get("days"),
                               by=user)


def revoke_token(user, token: ApiToken) -> ApiToken:
    """Revoke a token at once (one's own, or admins: any in their scope)."""
    return tokens.revoke_token(token, by=user)
