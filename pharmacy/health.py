"""What /healthz reports: the database answers, its schema is at the migrations' head, the scheduler is alive."""

import functools
import importlib
import logging

from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import func, select, text

from . import clock
from .config import ROOT
from .extensions import db

log = logging.getLogger(__name__)


@functools.cache
def migration_heads() -> tuple[str, ...]:
    """The head revision(s) of the migrations shipped with this code."""
    return tuple(sorted(ScriptDirectory(str(ROOT / "migrations")).get_heads()))


def database_revisions() -> tuple[str, ...]:
    connection = db.session.connection()
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def scheduler_heartbeat_age() -> float | None:
    """Seconds since the scheduler last renewed its lease, or None when there is no scheduler (yet)."""
    try:
        models = importlib.import_module("pharmacy.scheduler.models")
    except ImportError:
        return None
    lease = getattr(models, "SchedulerLease", None)
    if lease is None:
        return None
    last = db.session.scalar(select(func.max(lease.heartbeat_at)))
    if last is None:
        return None
    return max(0.0, (clock.now_utc() - clock.as_utc(last)).total_seconds())


def check() -> dict:
    """Report on the database, the migrations and the scheduler; `status` is ok, degraded or error."""
    report: dict = {"status": "ok"}
    try:
        db.session.execute(text("SELECT 1"))
        report["database"] = "ok"
    except Exception as exc:  # the point is to report, not to raise
        db.session.rollback()
        log.warning("health: database unreachable: %s", exc)
        return {"status": "error", "database": "unreachable", "migrations": "unknown", "scheduler": "unknown"}

    heads, current = migration_heads(), database_revisions()
    report["migrations"] = {"status": "current" if heads == current else "pending" if current else "unversioned",
                            "head": list(heads), "database": list(current)}
    if current and heads != current:
        report["status"] = "error"  # the code expects another schema: not fit to serve
    elif not current:
        report["status"] = "degraded"  # built without Alembic (create_all in tests and benches): cannot tell

    try:
        age = scheduler_heartbeat_age()
    except Exception as exc:  # scheduler table not migrated yet
        db.session.rollback()
        log.warning("health: cannot read the scheduler heartbeat: %s", exc)
        age = None
    if age is None:
        report["scheduler"] = "unknown"
    else:
        stale = age > current_app.config["SCHEDULER_STALE_SECONDS"]
        report["scheduler"] = {"status": "stale" if stale else "ok", "heartbeat_age_seconds": round(age, 1)}
        if stale and report["status"] != "error":
            report["status"] = "degraded"
    return report
