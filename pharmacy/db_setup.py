"""Engine settings per database engine."""

from flask import g, has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine


def configure_engine_events(engine: Engine) -> None:
    if engine.dialect.name != "sqlite" or getattr(engine, "_pharmacy_configured", False):
        return
    engine._pharmacy_configured = True

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        # pysqlite's own BEGIN handling breaks SAVEPOINT; SQLAlchemy emits BEGIN itself (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        # SQLite has no row locks: taking the write lock at BEGIN makes read-check-write sequences (stock
        # balances) serial instead of failing with "database is locked" when two writers meet.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def keep_writes_on_error() -> None:
    """Commit this request's writes even though it answers with an error (e.g. counting a failed login)."""
    if has_request_context():
        g.commit_on_error = True
