"""A database outage answers 503 `database_unavailable` in the user's language (JSON on the API, a page otherwise),
and every request still gets its access-log line: nothing on the error path reads the database again (issue 13)."""

import logging
import socket
import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from pharmacy import create_app
from pharmacy.extensions import db
from pharmacy.logging_setup import RequestContextFilter


class Collect(logging.Handler):
    """The production handler's filter in front of a list, as `make_handler` installs it."""

    def __init__(self):
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestContextFilter())

    def emit(self, record):
        self.records.append(record)


@pytest.fixture
def logged():
    handler = Collect()
    loggers = [logging.getLogger("pharmacy.access"), logging.getLogger("pharmacy.errors")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    yield handler
    for logger, level in zip(loggers, levels, strict=True):
        logger.removeHandler(handler)
        logger.setLevel(level)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


def _signed_in(client, user_id: int = 1, token: str = "x", lang: str | None = None) -> None:
    with client.session_transaction() as session:
        session["_user_id"] = f"{user_id}:{token}"
        session["_fresh"] = True
        if lang:
            session["lang"] = lang


REQUESTS = [
    ("GET", "/api/v1/shortages"),
    ("GET", "/api/v1/stock/status"),
    ("POST", "/api/v1/shortages/acknowledge"),
    ("GET", "/api/v1/orders"),
]


def test_unreachable_database_is_a_localized_503_with_a_log_line_for_each_request(logged):
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://nobody@127.0.0.1:{_closed_port()}/none",
                      "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}})
    client = app.test_client()
    _signed_in(client)
    for method, path in REQUESTS:
        response = client.open(path, method=method, json={"shortage_ids": [1]} if method == "POST" else None)
        assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
        assert response.is_json and response.json["error"]["code"] == "database_unavailable"
        assert response.json["error"]["message"] == "数据库暂时无法访问，请稍后重试"
        assert response.headers["Retry-After"]
    _signed_in(client, lang="en")
    english = client.get("/api/v1/shortages")
    assert english.status_code == 503 and english.json["error"]["message"].startswith("The database")
    page = client.get("/shortages/open")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert "The database" in page.get_data(as_text=True)
    lines = [r for r in logged.records if r.name == "pharmacy.access"]
    assert len(lines) == len(REQUESTS) + 2
    assert all(r.status == 503 and r.user_id == 1 for r in lines)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def failing_app(tmp_path):
    """An app on its own SQLite file whose database "dies" once a request has loaded its user."""
    app = create_app({"TESTING": True, "SECRET_KEY": "test", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'outage.sqlite3'}"})
    with app.app_context():
        db.create_all()
        from tests.factories import make_county

        county = make_county(townships=1, villages=1)
        db.session.commit()
        users = {role: (user.get_id(), user.username, user.facility_id) for role, user in county.users.items()}
        users["english"] = users["township"]
        township = county.users["township"]
        township.locale = "en"
        db.session.commit()
        outage = {"on": False}

        @event.listens_for(db.engine, "before_cursor_execute")
        def refuse(*_args, **_kwargs):
            if outage["on"]:
                raise sqlite3.OperationalError("disk I/O error")

        @event.listens_for(db.engine, "commit")
        def refuse_commit(_connection):
            if outage.get("at_commit"):
                raise OperationalError("COMMIT", {}, sqlite3.OperationalError("server closed the connection"))

    @app.before_request
    def database_dies_after_the_user_is_loaded():
        outage["on"] = not outage.get("at_commit")

    yield app, users, outage
    outage["on"] = False
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_outage_after_the_user_is_loaded_logs_from_what_was_loaded(failing_app, logged):
    app, users, outage = failing_app
    client = app.test_client()
    session_id, username, facility_id = users["english"]
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    for method, path in REQUESTS * 2:
        outage["on"] = False
        response = client.open(path, method=method, json={"shortage_ids": [1]} if method == "POST" else None)
        assert response.status_code == 503, (path, response.get_data(as_text=True)[:300])
        assert response.json["error"]["code"] == "database_unavailable"
        assert response.json["error"]["message"].startswith("The database")  # the user's own language
    outage["on"] = False
    page = client.get("/shortages/open")
    assert page.status_code == 503 and "The database" in page.get_data(as_text=True)
    lines = [r for r in logged.records if r.name == "pharmacy.access"]
    assert len(lines) == 2 * len(REQUESTS) + 1
    assert all(r.status == 503 and r.user == username and r.facility_id == facility_id for r in lines)


def test_outage_at_commit_is_a_503_too(failing_app, logged):
    app, users, outage = failing_app
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = users["village"][0]
        session["_fresh"] = True
    outage["at_commit"] = True
    try:
        response = client.get("/api/v1/shortages")
    finally:
        outage["at_commit"] = False
    assert response.status_code == 503, response.get_data(as_text=True)[:300]
    assert response.json["error"] == {"code": "database_unavailable", "message": "数据库暂时无法访问，请稍后重试",
                                      "fields": {}}
    assert [r.status for r in logged.records if r.name == "pharmacy.access"] == [503]


def test_a_normal_request_logs_its_user_and_facility(county, login, logged):
    user = county.users["township"]
    response = login(user).get("/api/v1/auth/me")
    assert response.status_code == 200
    line = next(r for r in logged.records if r.name == "pharmacy.access")
    assert (line.user, line.facility_id, line.status) == (user.username, user.facility_id, 200)
