from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from flask import Flask

from pharmacy import clock

# 16:30 UTC on 3 December is 00:30 on 4 December in Shanghai: the county's day has already turned.
LATE_UTC = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)


@pytest.fixture
def county_clock(monkeypatch):
    """An app context in the county's zone, with the clock stopped at LATE_UTC."""
    app = Flask(__name__)
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Shanghai"
    monkeypatch.setattr(clock, "now_utc", lambda: LATE_UTC)
    with app.app_context():
        yield app


def test_today_is_the_county_date_when_utc_is_still_yesterday(county_clock):
    assert clock.today() == date(2026, 12, 4)
    assert clock.now_local().isoformat() == "2026-12-04T00:30:00+08:00"


def test_today_follows_the_configured_zone(county_clock):
    county_clock.config["BABEL_DEFAULT_TIMEZONE"] = "UTC"
    assert clock.today() == date(2026, 12, 3)


def test_a_county_day_starts_at_local_midnight():
    app = Flask(__name__)
    app.config["BABEL_DEFAULT_TIMEZONE"] = "Asia/Shanghai"
    with app.app_context():
        assert clock.local_day_start(date(2026, 12, 4)) == datetime(2026, 12, 3, 16, 0, tzinfo=UTC)


def test_stored_moments_are_utc_whether_naive_or_aware():
    assert clock.as_utc(datetime(2026, 12, 4, 1, 31)) == datetime(2026, 12, 4, 1, 31, tzinfo=UTC)
    plus8 = datetime(2026, 12, 4, 9, 31, tzinfo=timezone(timedelta(hours=8)))
    assert clock.as_utc(plus8) == datetime(2026, 12, 4, 1, 31, tzinfo=UTC)


@pytest.mark.parametrize("moment", [
    datetime(2026, 12, 4, 1, 31),  # naive from SQLite: UTC
    datetime(2026, 12, 4, 1, 31, tzinfo=UTC),
    datetime(2026, 12, 4, 9, 31, tzinfo=timezone(timedelta(hours=8))),  # PostgreSQL in a +08:00 session
])
def test_api_moments_are_written_in_utc_with_z(moment):
    assert clock.isoformat_utc(moment) == "2026-12-04T01:31:00Z"
