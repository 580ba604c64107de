"""Logs: one JSON object per line when PHARMACY_LOG_JSON=1 (for journald, Loki, ELK), plain text otherwise.

Each record carries the request id (the proxy's X-Request-ID or a fresh one), the signed-in user and facility,
so a line in the log leads to the audit trail and back.
"""

import json
import logging
import secrets
import sys
import time
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request, session
from sqlalchemy import inspect as sa_inspect

REQUEST_ID_HEADER = "X-Request-ID"
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def remember_identity(user) -> None:
    """Keep who is signed in (as loaded, once per request) for the log lines and error pages of this request.

    Logging must never touch the database: after a rollback the user's attributes are expired, and reading them
    would query a database that may be the very thing that failed.
    """
    if user is not None and has_request_context():
        g.signed_in = {"user_id": user.id, "username": user.username, "facility_id": user.facility_id,
                       "locale": user.locale}


def signed_in() -> dict:
    """Who this request's user is, from what was already loaded: the loader's record, else the session's user id."""
    identity = g.get("signed_in")
    if identity is not None:
        return identity
    user = g.get("_login_user")  # signed in during this request (the login form): its values as loaded, no query
    state = sa_inspect(user, raiseerr=False) if user is not None else None
    if state is not None and state.dict.get("username"):
        return {"user_id": state.dict.get("id"), "username": state.dict["username"],
                "facility_id": state.dict.get("facility_id"), "locale": state.dict.get("locale")}
    session_id = str(session.get("_user_id") or "") if has_request_context() else ""
    user_id = session_id.partition(":")[0]
    return {"user_id": int(user_id)} if user_id.isascii() and user_id.isdigit() else {}


class RequestContextFilter(logging.Filter):
    """Add request_id, user and facility to records logged while a request is handled (never from the database)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if has_request_context():
            record.request_id = getattr(g, "request_id", "")
            identity = signed_in()
            if identity.get("username"):
                record.user = identity["username"]
                record.facility_id = identity["facility_id"]
            elif identity.get("user_id") is not None:
                record.user_id = identity["user_id"]
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message, context and extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) else str(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def make_handler(json_lines: bool) -> logging.Handler:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RequestContextFilter())
    return handler


def configure_logging(app: Flask) -> None:
    """Send the app's logs to stderr in the configured format; tests keep pytest's own capture."""
    if not app.config.get("TESTING") or app.config.get("LOG_JSON"):
        root = logging.getLogger()
        if not any(getattr(h, "_pharmacy", False) for h in root.handlers):
            handler = make_handler(bool(app.config.get("LOG_JSON")))
            handler._pharmacy = True
            root.addHandler(handler)
        root.setLevel(app.config.get("LOG_LEVEL", "INFO"))
    access = logging.getLogger("pharmacy.access")

    @app.before_request
    def start_request_clock():
        g.request_id = (request.headers.get(REQUEST_ID_HEADER) or "")[:64] or secrets.token_hex(8)
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response):
        started = g.get("request_started")
        response.headers.setdefault(REQUEST_ID_HEADER, g.get("request_id", ""))
        if started is not None and request.endpoint != "static":
            access.info("%s %s %s", request.method, request.path, response.status_code, extra={
                "method": request.method, "path": request.path, "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "remote_addr": request.remote_addr or ""})
        return response
