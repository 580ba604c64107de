"""/healthz and the security headers every response carries."""

import importlib
from datetime import timedelta

import pytest
from sqlalchemy import text

from pharmacy import clock
from pharmacy.health import migration_heads


def _stamp(db_session, revision: str) -> None:
    db_session.execute(text("CREATE TABLE IF NOT EXISTS alembic_version "
                            "(version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
    db_session.execute(text("DELETE FROM alembic_version"))
    db_session.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": revision})


def test_health_is_ok_when_the_schema_is_at_head(client, db_session):
    [head] = migration_heads()
    _stamp(db_session, head)
    response = client.get("/healthz")
    assert response.status_code == 200, response.json
    assert response.json["status"] in ("ok", "degraded") and response.json["database"] == "ok"
    assert response.json["migrations"] == {"status": "current", "head": [head], "database": [head]}
    assert response.headers["Cache-Control"] == "no-store"


def test_health_is_503_when_migrations_are_pending(client, db_session):
    _stamp(db_session, "0123456789ab")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json["migrations"]["status"] == "pending"


def test_health_needs_no_login_and_reveals_nothing_else(client, db_session):
    body = client.get("/healthz").json
    assert set(body) == {"status", "database", "migrations", "scheduler"}


def test_health_reports_the_scheduler_heartbeat(client, db_session):
    [head] = migration_heads()
    _stamp(db_session, head)
    try:
        models = importlib.import_module("pharmacy.scheduler.models")
    except ImportError:
        assert client.get("/healthz").json["scheduler"] == "unknown"
        return
    lease = models.SchedulerLease
    db_session.execute(lease.__table__.delete())
    db_session.add(lease(name="health-test", holder="test", heartbeat_at=clock.now_utc() - timedelta(seconds=5)))
    db_session.flush()
    fresh = client.get("/healthz").json
    assert fresh["scheduler"]["status"] == "ok" and 0 <= fresh["scheduler"]["heartbeat_age_seconds"] < 120
    db_session.execute(lease.__table__.update().values(heartbeat_at=clock.now_utc() - timedelta(hours=1)))
    stale = client.get("/healthz")
    assert stale.status_code == 200 and stale.json["status"] == "degraded"
    assert stale.json["scheduler"]["status"] == "stale"


@pytest.mark.parametrize("path", ["/login", "/catalog", "/api/v1/catalog/products", "/healthz", "/nowhere"])
def test_security_headers_on_every_kind_of_response(county, login, path):
    response = login(county.users["viewer"]).get(path)
    csp = response.headers["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in csp.split(";") if part.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert directives["frame-ancestors"] == "'none'" and directives["object-src"] == "'none'"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(county, login):
    import re

    client = login(county.users["county"])
    for path in ["/login", "/", "/catalog", "/admin/facilities", "/admin/users", "/admin/audit"]:
        page = client.get(path).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"\sstyle=", page), path
        assert not re.search(r"\son[a-z]+=", page), path


def test_health_of_a_schema_built_without_alembic_is_degraded_not_down(client, db_session):
    db_session.execute(text("DROP TABLE IF EXISTS alembic_version"))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["status"] == "degraded" and response.json["migrations"]["status"] == "unversioned"
