"""Production settings, logs, proxy handling and the gunicorn configuration, without a database."""

import json
import logging
import runpy

import pytest
from flask import request

from pharmacy import create_app
from pharmacy.config import DEFAULT_SECRET_KEY, ROOT
from pharmacy.i18n import public
from pharmacy.logging_setup import JsonFormatter, RequestContextFilter

GOOD_SECRET = "a-long-and-random-production-secret"


def _app(tmp_path, **overrides):
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite3'}", "TESTING": True,
                       **overrides})


@pytest.mark.parametrize("secret", [DEFAULT_SECRET_KEY, "", "short"])
def test_production_refuses_to_start_without_its_own_secret(tmp_path, secret):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        _app(tmp_path, PRODUCTION=True, SECRET_KEY=secret)


def test_production_cookies_are_secure_httponly_and_samesite(tmp_path):
    app = _app(tmp_path, PRODUCTION=True, SECRET_KEY=GOOD_SECRET, SESSION_COOKIE_SECURE=False)
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True and app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert app.config["REMEMBER_COOKIE_HTTPONLY"] is True and app.config["REMEMBER_COOKIE_SAMESITE"] == "Lax"
    client = app.test_client()
    client.get("/lang/en")  # a public page that writes the session
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.secure and cookie.http_only and cookie.same_site == "Lax"


def _probe(app):
    @app.get("/_probe")
    @public
    def probe():
        return f"{request.scheme} {request.remote_addr} {request.host}"

    return app.test_client()


FORWARDED = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "yao.example.cn"}


def test_forwarded_headers_are_ignored_without_a_proxy(tmp_path):
    client = _probe(_app(tmp_path))
    assert client.get("/_probe", headers=FORWARDED).get_data(as_text=True) == "http 127.0.0.1 localhost"


def test_forwarded_headers_are_trusted_behind_one_proxy(tmp_path):
    client = _probe(_app(tmp_path, PROXY_FIX_HOPS=1))
    assert client.get("/_probe", headers=FORWARDED).get_data(as_text=True) == "https 203.0.113.9 yao.example.cn"


def test_json_log_lines_carry_the_request_context(tmp_path):
    app = _app(tmp_path)
    record = logging.LogRecord("pharmacy.test", logging.INFO, __file__, 1, "库存 %s", ("已更新",), None)
    record.duration_ms = 12.5
    with app.test_request_context("/x"):
        from flask import g

        g.request_id = "req-1"
        RequestContextFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["message"] == "库存 已更新" and line["level"] == "INFO" and line["logger"] == "pharmacy.test"
    assert line["request_id"] == "req-1" and line["duration_ms"] == 12.5 and line["ts"].endswith("+00:00")


def test_responses_carry_a_request_id(tmp_path):
    client = _app(tmp_path).test_client()
    assert client.get("/login").headers["X-Request-ID"]
    assert client.get("/login", headers={"X-Request-ID": "abc"}).headers["X-Request-ID"] == "abc"


def test_gunicorn_config_runs_several_workers():
    settings = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert settings["workers"] >= 2 and settings["bind"] and settings["timeout"] > 0
    assert settings["preload_app"] is False  # each worker opens its own database connections


def test_health_reports_an_unreachable_database_as_503(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'missing' / 'dir' / 'x.sqlite3'}",
                      "TESTING": True})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["database"] == "unreachable" and response.json["status"] == "error"
