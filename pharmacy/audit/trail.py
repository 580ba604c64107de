"""Record every write made through the session in the audit trail, generically, from SQLAlchemy session events.

Two ways rows change, two listeners, one kind of event: every inserted, updated and deleted row of every table
(except the trail itself and the scheduler's heartbeat) becomes an `AuditEvent` with its changed columns,
old → new, written on the session's own connection, so the trail commits or rolls back with the change it
describes.

- The unit of work (`after_flush`, here): the objects a flush inserted, updated and deleted, and the link rows
  it wrote for many-to-many relationships (`secondary=` tables, which have no objects of their own).
- Statements run with `session.execute(insert/update/delete(...))`, ORM-enabled or Core, single or executemany
  (`do_orm_execute`, in `statements.py`): bulk writes name every row they touched.

Who did it comes from the signed-in user during a request, else from `acting_as(...)` (jobs), else from the
click command being run (CLI). Bulk loads wrapped in `summarised(...)` write one summary row, naming the rows
per table and action, instead of one row per changed row. Not seen: SQL written as text (`text("UPDATE …")`,
which the application does not use for writes) and writes on connections taken outside the session.
"""

import contextvars
import enum
import functools
import json
import logging
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from .. import clock
from .models import AuditAction, AuditEvent, AuditSource

log = logging.getLogger(__name__)

# Tables never audited: the trail itself, and rows rewritten by machinery every few seconds (not by people).
SKIP_TABLES = {"audit_event", "scheduler_lease"}
_SECRET_MARKERS = ("password", "token", "secret")


@dataclass(frozen=True)
class Actor:
    source: str
    actor: str = ""
    user_id: int | None = None
    username: str = ""
    facility_id: int | None = None
    remote_addr: str = ""
    request_id: str = ""


_actor_override: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)
# Inside a summarised load: the ids of the rows it changed, per (table, action).
_summary: contextvars.ContextVar[dict | None] = contextvars.ContextVar("audit_summary", default=None)


@contextmanager
def acting_as(actor: str, *, source: str = AuditSource.JOB, user=None):
    """Attribute the writes made inside the block to a job or a named process (and optionally a user)."""
    token = _actor_override.set(Actor(
        source=source, actor=actor[:120], user_id=getattr(user, "id", None),
        username=getattr(user, "username", "") or "", facility_id=getattr(user, "facility_id", None)))
    try:
        yield
    finally:
        _actor_override.reset(token)


def summarised(label: str):
    """Decorate a bulk loader: its writes are recorded as one summary row naming the rows per table and action."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            if _summary.get() is not None:  # already inside a summarised load
                return function(*args, **kwargs)
            row_ids: dict = defaultdict(dict)  # ordered sets
            token = _summary.set(row_ids)
            try:
                result = function(*args, **kwargs)
                from ..extensions import db

                db.session.flush()
            finally:
                _summary.reset(token)
            if row_ids:
                _write_summary(label, row_ids)
            return result

        return wrapper

    return decorate


def _write_summary(label: str, row_ids: dict) -> None:
    from ..extensions import db

    per_table: dict[str, dict[str, list[str]]] = {}
    for (table, action), ids in sorted(row_ids.items()):
        per_table.setdefault(table, {})[action] = list(ids)
    row = _base_row(current_actor()) | {"action": AuditAction.BULK, "table_name": "*", "row_id": label[:64],
                                        "changes": json.dumps(per_table, ensure_ascii=False)}
    db.session.connection().execute(AuditEvent.__table__.insert(), [row])


def current_actor() -> Actor:
    """Who is writing now: an explicit actor, else the signed-in user of the request, else the CLI command."""
    override = _actor_override.get()
    if override is not None:
        return override
    from flask import g, has_request_context, request

    if has_request_context():
        # The user flask-login already loaded for this request; loading it here would query inside a flush.
        user = g.get("_login_user")
        signed_in = user is not None and getattr(user, "is_authenticated", False)
        state = inspect(user) if signed_in else None
        return Actor(
            source=AuditSource.API if request.path.startswith("/api/") else AuditSource.WEB,
            actor=_request_actor(request.method, request.path, g.get("api_token_id")),
            user_id=state.dict.get("id") if state else None,
            username=(state.dict.get("username") or "") if state else "",
            facility_id=state.dict.get("facility_id") if state else None,
            remote_addr=(request.remote_addr or "")[:64],
            request_id=str(g.get("request_id", ""))[:64])
    import click

    context = click.get_current_context(silent=True)
    if context is not None:
        return Actor(source=AuditSource.CLI, actor=f"cli: {context.command_path}"[:120])
    return Actor(source=AuditSource.SYSTEM)


def _request_actor(method: str, path: str, token_id: int | None) -> str:
    """`POST /api/v1/...`, naming the API token when the request signed in with one (the user is its owner)."""
    suffix = f" [token {token_id}]" if token_id else ""
    return f"{method} {path}"[:120 - len(suffix)] + suffix


def _jsonable(value):
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime):
        return clock.isoformat_utc(value)
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(value)} bytes>"
    return str(value)


@functools.cache
def _is_secret(key: str) -> bool:
    return any(marker in key for marker in _SECRET_MARKERS)


def _shown(key: str, value):
    if value not in (None, "") and _is_secret(key):
        return "***"
    return _jsonable(value)


def _row_changes(state, mapper, action: str) -> dict:
    changes = {}
    for attr in mapper.column_attrs:
        key = attr.key
        if action == AuditAction.UPDATE:
            history = state.attrs[key].history
            if not history.has_changes():
                continue
            old = history.deleted[0] if history.deleted else None
            new = history.added[0] if history.added else None
            if old == new:
                continue
            changes[key] = [_shown(key, old), _shown(key, new)]
        else:
            value = state.dict.get(key)
            if value is None:
                continue
            changes[key] = [None, _shown(key, value)] if action == AuditAction.INSERT else [_shown(key, value), None]
    return changes


def _row_id(state, mapper) -> str:
    return format_row_id(state.dict.get(mapper.get_property_by_column(column).key) for column in mapper.primary_key)


def format_row_id(values) -> str:
    """The trail's name for a row: its primary key, parts joined by commas."""
    return ",".join("" if v is None else str(v) for v in values)[:64]


def values_changes(action: str, old: dict | None, new: dict | None) -> dict:
    """{column: [old, new]} from a row's values before and after: an insert's non-null values, a delete's, or the
    columns an update changed."""
    if action == AuditAction.INSERT:
        return {key: [None, _shown(key, value)] for key, value in new.items() if value is not None}
    if action == AuditAction.DELETE:
        return {key: [_shown(key, value), None] for key, value in old.items() if value is not None}
    return {key: [_shown(key, old.get(key)), _shown(key, value)] for key, value in new.items()
            if old.get(key) != value}


def _base_row(actor: Actor) -> dict:
    return {"occurred_at": clock.now_utc(), "user_id": actor.user_id, "username": actor.username[:64],
            "facility_id": actor.facility_id, "source": actor.source, "actor": actor.actor,
            "remote_addr": actor.remote_addr, "request_id": actor.request_id}


class EventBatch:
    """Audit rows collected while one flush or statement is recorded, written with one executemany (or, inside a
    summarised load, added to its summary)."""

    def __init__(self):
        self.summary = _summary.get()
        self.rows: list[dict] = []
        self._base: dict | None = None

    def add(self, action: str, table: str, row_id: str, changes: dict | None = None) -> None:
        if self.summary is not None:
            self.summary[(table, str(action))][row_id] = None
            return
        if self._base is None:
            self._base = _base_row(current_actor())
        self.rows.append(self._base | {"action": str(action), "table_name": table, "row_id": row_id,
                                       "changes": json.dumps(changes or {}, ensure_ascii=False, sort_keys=True)})

    def write(self, connection) -> None:
        if self.rows:
            connection.execute(AuditEvent.__table__.insert(), self.rows)
            self.rows = []


def _changed_rows(session: Session):
    for action, objects in ((AuditAction.INSERT, session.new), (AuditAction.UPDATE, session.dirty),
                            (AuditAction.DELETE, session.deleted)):
        for obj in objects:
            state = inspect(obj)
            mapper = state.mapper
            table = mapper.local_table.name
            if table in SKIP_TABLES:
                continue
            yield action, state, mapper, table


def _column_value(state, column):
    return state.dict.get(state.mapper.get_property_by_column(column).key)


def _link_rows(session: Session):
    """Rows this flush wrote in many-to-many link tables: (action, table, {column: value}), each once, although
    both sides of a two-way relationship report it."""
    seen = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        state = inspect(obj)
        parent_deleted = obj in session.deleted
        for prop in state.mapper.relationships:
            if prop.secondary is None or prop.viewonly or prop.secondary.name in SKIP_TABLES:
                continue
            history = state.attrs[prop.key].history
            removed = [*history.unchanged, *history.deleted] if parent_deleted else list(history.deleted)
            added = [] if parent_deleted else list(history.added)
            for action, children in ((AuditAction.INSERT, added), (AuditAction.DELETE, removed)):
                for child in children:
                    child_state = inspect(child)
                    values = {link.key: _column_value(state, own) for own, link in prop.synchronize_pairs}
                    values |= {link.key: _column_value(child_state, theirs)
                               for theirs, link in prop.secondary_synchronize_pairs}
                    key = (action, prop.secondary.name, tuple(sorted(values.items())))
                    if key not in seen:
                        seen.add(key)
                        yield action, prop.secondary, values


def link_row_id(table, values: dict) -> str:
    columns = list(table.primary_key.columns) or list(table.columns)
    return format_row_id(values.get(column.key) for column in columns)


def record_flush(session: Session, _flush_context) -> None:
    """after_flush: write one audit row per row this flush inserted, updated or deleted."""
    batch = EventBatch()
    for action, state, mapper, table in _changed_rows(session):
        if batch.summary is not None:
            if action != AuditAction.UPDATE or session.is_modified(state.obj(), include_collections=False):
                batch.add(action, table, _row_id(state, mapper))
            continue
        changes = _row_changes(state, mapper, action)
        if action == AuditAction.UPDATE and not changes:
            continue  # only relationships or unchanged values were touched
        batch.add(action, table, _row_id(state, mapper), changes)
    for action, table, values in _link_rows(session):
        batch.add(action, table.name, link_row_id(table, values),
                  values_changes(action, None if action == AuditAction.INSERT else values,
                                 values if action == AuditAction.INSERT else None))
    batch.write(session.connection())


_installed = False


def install(session_class: type[Session]) -> None:
    """Listen to every flush and every statement of sessions of `session_class` (once per process)."""
    global _installed
    if _installed:
        return
    from .statements import record_statement

    event.listen(session_class, "after_flush", record_flush)
    event.listen(session_class, "do_orm_execute", record_statement)
    _installed = True
