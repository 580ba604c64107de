"""Signing in and managing people."""

import logging
import secrets
from datetime import timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from .. import clock
from ..db_setup import keep_writes_on_error
from ..errors import Conflict, Forbidden, InvalidInput
from ..extensions import db
from ..facilities.models import Facility, Tier
from .models import Role, User

log = logging.getLogger(__name__)

MAX_FAILED_LOGINS = 5
LOCK_MINUTES = 15

# Which roles make sense at which tier of home facility.
ROLE_TIERS = {
    Role.VILLAGE_DOCTOR: {Tier.VILLAGE},
    Role.TOWNSHIP_PHARMACIST: {Tier.TOWNSHIP},
    Role.COUNTY_PHARMACIST: {Tier.COUNTY},
    Role.FORMULARY_ADMIN: {Tier.COUNTY},
    Role.VIEWER: {Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE},
}


class LoginRefused(Forbidden):
    status = 401
    code = "login_failed"


def authenticate(username: str, password: str) -> User:
    """Return the user for these credentials, counting failures and locking after repeated ones.

    The user's row is locked (`SELECT … FOR UPDATE` on PostgreSQL; SQLite's write lock at BEGIN already makes
    requests serial) before the lock and the password are checked, and stays locked until the request commits the
    count: parallel guesses for one account take turns, each sees the failures before it, and at most
    `MAX_FAILED_LOGINS` guesses are ever checked before the lock engages.
    """
    user = db.session.scalar(select(User).where(User.username == (username or "").strip())
                             .with_for_update().execution_options(populate_existing=True))
    now = clock.now_utc()
    if user is not None and user.locked_until is not None and clock.as_utc(user.locked_until) > now:
        raise LoginRefused(_("登录失败次数过多，账户已锁定 %(minutes)s 分钟", minutes=LOCK_MINUTES), code="locked")
    if user is None or not user.is_active or not user.check_password(password or ""):
        if user is not None:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILED_LOGINS:
                user.locked_until = now + timedelta(minutes=LOCK_MINUTES)
                user.failed_logins = 0
                log.warning("user %s locked after repeated failed logins", user.username)
            db.session.flush()
            keep_writes_on_error()
        raise LoginRefused(_("用户名或密码错误"))
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if not user.session_token:
        user.session_token = secrets.token_hex(16)
    db.session.flush()
    return user


def end_sessions(user: User) -> None:
    """Sign the user out everywhere: every session cookie issued so far, copied or not, stops working.

    A cookie names the user's `session_token`, which changes here, so the server refuses the old cookies. There is
    one token per user, not one per browser: signing out of one browser ends the user's sessions in the others too
    (as deactivating does); they sign in again there. API tokens are not sessions and keep working.
    """
    user.session_token = secrets.token_hex(16)
    db.session.flush()
    log.info("user %s signed out: every session ended", user.username)


def load_user_by_session_id(session_id: str) -> User | None:
    user_id, _sep, token = (session_id or "").partition(":")
    if not (user_id.isascii() and user_id.isdigit()):
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_token != token:
        return None
    return user


def create_user(*, username: str, display_name: str, password: str, role: str, facility: Facility,
                locale: str | None = None) -> User:
    """Add a person with a hashed password; the role must fit the tier of the home facility."""
    username = (username or "").strip()
    if not username or len(username) > 64:
        raise InvalidInput(_("用户名不能为空，且不超过 64 个字符"), fields={"username": [_("必填")]})
    if role not in set(Role):
        raise InvalidInput(_("未知角色"), fields={"role": [_("未知角色")]})
    if facility.tier not in ROLE_TIERS[Role(role)]:
        raise InvalidInput(_("该角色不能归属于此级别的机构"), fields={"facility_id": [_("级别不符")]})
    if len(password or "") < 8:
        raise InvalidInput(_("密码至少 8 位"), fields={"password": [_("密码至少 8 位")]})
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(_("用户名已存在"), fields={"username": [_("用户名已存在")]})
    user = User(username=username, display_name=display_name or username, role=role, facility=facility,
                locale=locale, session_token=secrets.token_hex(16))
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def set_user_active(user: User, is_active: bool) -> User:
    """Activate or deactivate a person; deactivation ends their open sessions."""
    user.is_active = is_active
    user.session_token = secrets.token_hex(16)
    db.session.flush()
    return user
