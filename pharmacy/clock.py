"""The one clock: what time it is, what day it is in the county, and how a moment is written for the API.

Moments are stored and compared in UTC. A day (today, an expiry, a report's range, a month's statement) is a day
in the county's zone, BABEL_DEFAULT_TIMEZONE (PHARMACY_TIMEZONE, Asia/Shanghai by default), whatever zone the
server's own clock is set to: at 01:00 in Shanghai it is already tomorrow, though still yesterday in UTC.

Callers use `clock.now_utc()` and `clock.today()` through the module, so that a test can set the time in one place.
"""

import functools
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app


def now_utc() -> datetime:
    """Return the current moment, aware, in UTC."""
    return datetime.now(UTC)


@functools.cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_zone() -> ZoneInfo:
    """Return the county's time zone (needs an app context)."""
    return _zone(current_app.config["BABEL_DEFAULT_TIMEZONE"])


def as_utc(moment: datetime) -> datetime:
    """Return a stored moment as an aware UTC datetime: SQLite hands back naive UTC, PostgreSQL aware ones."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def to_local(moment: datetime) -> datetime:
    """Return a stored moment as an aware datetime in the county's zone."""
    return as_utc(moment).astimezone(local_zone())


def now_local() -> datetime:
    """Return the current moment in the county's zone."""
    return to_local(now_utc())


def today() -> date:
    """Return today's date in the county."""
    return now_local().date()


def local_day_start(day: date) -> datetime:
    """Return the UTC moment at which a county day begins (for `>=` / `<` filters on stored moments)."""
    return datetime.combine(day, time.min, tzinfo=local_zone()).astimezone(UTC)


def isoformat_utc(moment: datetime) -> str:
    """Write a stored moment as the API does: ISO 8601 in UTC with a `Z`, e.g. 2026-12-04T01:31:00Z."""
    return as_utc(moment).isoformat().removesuffix("+00:00") + "Z"
