"""API: who am I, API tokens, and the people in the caller's scope."""

from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..api import api_blueprint, api_operation
from ..errors import Forbidden
from . import queries, services, tokens
from .policy import PERMISSIONS, get_facility_in_scope, permission_required
from .schemas import (CsrfSchema, MeSchema, NewTokenSchema, TokenInputSchema, TokenQuerySchema, TokenSchema,
                      UserActiveInputSchema, UserInputSchema, UserQuerySchema, UserSchema)

bp = api_blueprint("auth_api", __name__, "/auth")
users_bp = api_blueprint("users_api", __name__, "/users")


@bp.get("/me")
@api_operation(summary="The signed-in user, their facility and permissions", tags=["auth"], response=MeSchema)
def me():
    return {"id": current_user.id, "username": current_user.username, "display_name": current_user.display_name,
            "role": current_user.role, "facility": current_user.facility,
            "permissions": sorted(PERMISSIONS.get(current_user.role, set()))}


@bp.get("/csrf")
@api_operation(summary="The session's CSRF token, for X-CSRFToken on bodyless writes from a cookie session",
               tags=["auth"], response=CsrfSchema)
def csrf_token():
    return {"csrf_token": generate_csrf()}


@bp.get("/tokens")
@api_operation(summary="My API tokens (admins: everyone's in their scope with everyone=true), newest first",
               tags=["auth"], query=TokenQuerySchema, response=TokenSchema, many=True)
def list_tokens(query):
    return tokens.tokens_of(current_user, everyone_in_scope=query["everyone"])


@bp.post("/tokens")
@api_operation(summary="Create an API token; the response shows it once", tags=["auth"], body=TokenInputSchema,
               response=NewTokenSchema, status=201,
               description="Only from a signed-in browser session: a token cannot make tokens. Admins may make one "
                           "for a user in their scope (a system's account) with `user_id`.")
def create_token(body):
    if tokens.current_token() is not None:
        raise Forbidden(_("令牌不能用来创建令牌，请在账户页面创建"), code="token_not_allowed")
    owner = queries.user_in_scope(current_user, body["user_id"]) if body["user_id"] else current_user
    created = tokens.create_token(owner, name=body["name"], scopes=body["scopes"], days=body["days"],
                                  by=current_user)
    document = NewTokenSchema().dump(created.token)
    return document | {"token": created.plain}, 201


@bp.post("/tokens/<int:token_id>/revoke")
@api_operation(summary="Revoke an API token at once (my own, or admins: any in their scope)", tags=["auth"],
               response=TokenSchema)
def revoke_token(token_id: int):
    return tokens.revoke_token(tokens.token_in_scope(current_user, token_id), by=current_user)


@users_bp.get("")
@permission_required("admin.manage")
@api_operation(summary="People in the caller's facility subtree", tags=["auth"], query=UserQuerySchema,
               response=UserSchema, many=True)
def list_users(query):
    facility = get_facility_in_scope(current_user, query["facility_id"]) if query["facility_id"] else None
    return queries.users_in_scope(current_user, under=facility, role=query["role"], active=query["active"])


@users_bp.get("/<int:user_id>")
@permission_required("admin.manage")
@api_operation(summary="One person in the caller's scope", tags=["auth"], response=UserSchema)
def get_user(user_id: int):
    return queries.user_in_scope(current_user, user_id)


@users_bp.post("")
@permission_required("admin.manage")
@api_operation(summary="Add a person (the role must fit the tier of the home facility)", tags=["auth"],
               body=UserInputSchema, response=UserSchema, status=201)
def create_user(body):
    facility = get_facility_in_scope(current_user, body["facility_id"])
    return services.create_user(username=body["username"], display_name=body["display_name"],
                                password=body["password"], role=body["role"], facility=facility)


@users_bp.post("/<int:user_id>/active")
@permission_required("admin.manage")
@api_operation(summary="Activate or deactivate a person; deactivation ends their sessions and API tokens",
               tags=["auth"], body=UserActiveInputSchema, response=UserSchema)
def set_active(user_id: int, body):
    user = queries.user_in_scope(current_user, user_id)
    if user.id == current_user.id:
        raise Forbidden(_("不能停用自己的账户"))
    return services.set_user_active(user, body["is_active"])
