"""API tokens: created for a person (or a system's account), shown once, kept hashed, revocable, expiring.

A request that sends `Authorization: Bearer <token>` is that token's user for the request (flask-login's
`request_loader`), on /api/ paths only; a cookie it also carries is ignored. The token's scopes narrow what the
role allows: `read` for GET, `write` for every other method. Token requests need no CSRF defence (a browser never
adds the header by itself).
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from flask import g, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from .. import clock
from ..errors import Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..vocabulary import TokenScope
from .models import ApiToken, User
from .policy import can_see, has_permission, visible_facility_ids

log = logging.getLogger(__name__)

TOKEN_PREFIX = "ph_"
PREFIX_SHOWN = 10
DEFAULT_DAYS = 90
MAX_DAYS = 365
# Recording every use would write a row (and an audit event) per request; an hour is precise enough.
LAST_USED_PRECISION = timedelta(hours=1)
READ_METHODS = {"GET", "HEAD", "OPTIONS"}


class TokenRefused(Forbidden):
    status = 401
    code = "invalid_token"


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    plain: str  # shown once, never stored


def hash_token(plain: str) -> str:
    """The stored form of a token: tokens are long random strings, so one SHA-256 is enough (no brute force)."""
    return hashlib.sha256(plain.encode()).hexdigest()


def create_token(owner: User, *, name: str, scopes: list[str], days: int | None, by: User) -> NewToken:
    """Make a token for `owner` (oneself, or a user in an admin's scope) and return it with its plain text."""
    if owner.id != by.id and not (has_permission(by, "admin.manage") and can_see(by, owner.facility)):
        raise Forbidden(_("您只能为自己或您管理范围内的用户创建令牌"))
    if not owner.is_active:
        raise InvalidInput(_("该用户已停用"), fields={"user_id": [_("该用户已停用")]})
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise InvalidInput(_("令牌名称不能为空，且不超过 80 个字符"), fields={"name": [_("必填")]})
    chosen = [scope.value for scope in TokenScope if scope.value in set(scopes or [])]
    unknown = sorted(set(scopes or []) - set(chosen))
    if unknown or not chosen:
        raise InvalidInput(_("请选择令牌权限范围"), fields={"scopes": [_("未知或为空的权限范围")]})
    days = DEFAULT_DAYS if days is None else days
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(_("有效期应在 1 到 %(n)s 天之间", n=MAX_DAYS), fields={"days": [_("超出范围")]})
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user=owner, name=name, token_prefix=plain[:PREFIX_SHOWN], token_hash=hash_token(plain),
                     scopes=" ".join(chosen), expires_at=clock.now_utc() + timedelta(days=days),
                     created_by_id=by.id)
    db.session.add(token)
    db.session.flush()
    log.info("API token %s (%s) created for %s by %s", token.id, token.token_prefix, owner.username, by.username)
    return NewToken(token, plain)


def revoke_token(token: ApiToken, *, by: User) -> ApiToken:
    """Revoke a token at once; revoking one already revoked changes nothing."""
    if token.revoked_at is None:
        token.revoked_at = clock.now_utc()
        token.revoked_by_id = by.id
        db.session.flush()
        log.info("API token %s revoked by %s", token.id, by.username)
    return token


def token_in_scope(viewer: User, token_id: int) -> ApiToken:
    """A token the viewer may see: their own, or any of a user in an admin's scope (404 otherwise)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or not _may_manage(viewer, token.user):
        raise NotFound(_("找不到该令牌"))
    return token


def _may_manage(viewer: User, owner: User) -> bool:
    return owner.id == viewer.id or (has_permission(viewer, "admin.manage") and can_see(viewer, owner.facility))


def tokens_of(viewer: User, *, everyone_in_scope: bool = False) -> list[ApiToken]:
    """The viewer's own tokens, or (admins) the tokens of every user in their scope; newest first."""
    stmt = select(ApiToken).join(ApiToken.user).options(joinedload(ApiToken.user).joinedload(User.facility))
    if everyone_in_scope and has_permission(viewer, "admin.manage"):
        stmt = stmt.where(User.facility_id.in_(visible_facility_ids(viewer)))
    else:
        stmt = stmt.where(ApiToken.user_id == viewer.id)
    return list(db.session.scalars(stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def bearer_token_sent() -> str | None:
    """The token of an `Authorization: Bearer` header, '' for a malformed one, None without one."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return value.strip()


def user_for_request() -> User | None:
    """Flask-login's request loader: the active user of a valid bearer token sent to the API, else None."""
    plain = bearer_token_sent()
    if plain is None or not request.path.startswith("/api/"):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(plain)))
    now = clock.now_utc()
    if token is None or token.revoked_at is not None or clock.as_utc(token.expires_at) <= now \
            or not token.user.is_active:
        g.api_token_refused = True
        return None
    if token.last_used_at is None or now - clock.as_utc(token.last_used_at) >= LAST_USED_PRECISION:
        token.last_used_at = now
    g.api_token = token
    g.api_token_id = token.id  # for the audit trail, which must not load attributes inside a flush
    return token.user


def current_token() -> ApiToken | None:
    """The token this request signed in with (None for a cookie session)."""
    return g.get("api_token")


def check_token_scope() -> None:
    """Refuse a token request its scopes do not cover (403 `token_scope`)."""
    token = current_token()
    if token is None:
        return
    needed = TokenScope.READ if request.method in READ_METHODS else TokenScope.WRITE
    scopes = set(token.scope_list)
    if needed in scopes or (needed == TokenScope.READ and TokenScope.WRITE in scopes):
        return
    raise Forbidden(_("该令牌没有“%(scope)s”权限", scope=needed.label), code="token_scope")
