"""API: who am I, API tokens, and the people in the caller's scope."""

from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from ..api import api_blueprint, api_operation
from . import operations, queries, tokens
from .policy import permission_required
from .schemas import (CsrfSchema, MeSchema, NewTokenSchema, TokenInputSchema, TokenQuerySchema, TokenSchema,
                      UserActiveInputSchema, UserInputSchema, UserQuerySchema, UserSchema)

bp = api_blueprint("auth_api", __name__, "/auth")
users_bp = api_blueprint("users_api", __name__, "/users")


@bp.get("/me")
@api_operation(summary="The signed-in user, their facility and permissions", tags=["auth"], response=MeSchema)
def me():
    return operations.me(current_user)


@bp.get("/csrf")
@api_operation(summary="The session's CSRF token, for X-CSRFToken on bodyless writes from a cookie session",
               tags=["auth"], response=CsrfSchema)
def csrf_token():
    return {"csrf_token": generate_csrf()}


@bp.get("/tokens")
@api_operation(summary="My API tokens (admins: everyone's in their scope with everyone=true), newest first",
               tags=["auth"], query=TokenQuerySchema, response=TokenSchema, many=True)
def list_tokens(query):
    return operations.token_list(current_user, query)


@bp.post("/tokens")
@api_operation(summary="Create an API token; the response shows it once", tags=["auth"], body=TokenInputSchema,
               response=NewTokenSchema, status=201,
               description="Only from a signed-in browser session: a token cannot make tokens. Admins may make one "
                           "for a user in their scope (a system's account) with `user_id`.")
def create_token(body):
    created = operations.create_token(current_user, body)
    return NewTokenSchema().dump(created.token) | {"token": created.plain}, 201


@bp.post("/tokens/<int:token_id>/revoke")
@api_operation(summary="Revoke an API token at once (my own, or admins: any in their scope)", tags=["auth"],
               response=TokenSchema)
def revoke_token(token_id: int):
    return operations.revoke_token(current_user, tokens.token_in_scope(current_user, token_id))


@users_bp.get("")
@permission_required("admin.manage")
@api_operation(summary="People in the caller's facility subtree", tags=["auth"], query=UserQuerySchema,
               response=UserSchema, many=True)
def list_users(query):
    return operations.users(current_user, query)


@users_bp.get("/<int:user_id>")
@permission_required("admin.manage")
@api_operation(summary="One person in the caller's scope", tags=["auth"], response=UserSchema)
def get_user(user_id: int):
    return queries.user_in_scope(current_user, user_id)


@users_bp.post("")
@permission_required("admin.manage")
@api_operation(summary="Add a person (the role must fit the tier of the home facility)", tags=["auth"],
               body=UserInputSchema, response=UserSchema, status=201,
               description="The home facility must be active and in the caller's scope (a deactivated one: 422).")
def create_user(body):
    return operations.create_user(current_user, body)


@users_bp.post("/<int:user_id>/active")
@permission_required("admin.manage")
@api_operation(summary="Activate or deactivate a person; deactivation ends their sessions and API tokens",
               tags=["auth"], body=UserActiveInputSchema, response=UserSchema,
               description="Nobody deactivates their own account (403), on this endpoint or on the page.")
def set_active(user_id: int, body):
    return operations.set_user_active(current_user, queries.user_in_scope(current_user, user_id), body)
