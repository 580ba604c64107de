"""The database lock that lets one scheduler process act per deployment.

PostgreSQL: a session-level advisory lock held on a connection of its own; the server frees it when the holder's
connection ends, so a standby takes over as soon as the holder dies. SQLite has no such lock: a lease row that
the holder renews by heartbeat, which another process may take once it has expired.
Both keep the `scheduler_lease` row current, so the admin page shows who acts.
"""

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import create_engine, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from ..clock import now_utc
from .models import SchedulerLease

log = logging.getLogger(__name__)

LOCK_NAME = "scheduler"
# pg_try_advisory_lock key: "pharmsch" read as a 63-bit number, unlikely to clash with another application's.
ADVISORY_KEY = int.from_bytes(b"pharmsch", "big") & 0x7FFFFFFFFFFFFFFF
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A bigint advisory key shows in pg_locks as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
_HELD = text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
             "AND pid = pg_backend_pid() AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1)")

table = SchedulerLease.__table__


def _ensure_row(conn: Connection) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(table).values(name=LOCK_NAME, holder="", expires_at=_EPOCH)
                 .on_conflict_do_nothing(index_elements=["name"]))


class LeaseLock:
    """A lease row: held while `expires_at` lies ahead and the holder renews it before then."""

    def __init__(self, engine: Engine, holder: str, lease_seconds: int, clock: Callable[[], datetime] = now_utc):
        self.engine, self.holder, self.lease, self.clock = engine, holder, timedelta(seconds=lease_seconds), clock

    def acquire(self) -> bool:
        now = self.clock()
        with self.engine.begin() as conn:
            _ensure_row(conn)
            taken = conn.execute(
                update(table).where(table.c.name == LOCK_NAME,
                                    or_(table.c.holder == self.holder, table.c.expires_at < now))
                .values(holder=self.holder, acquired_at=now, heartbeat_at=now, expires_at=now + self.lease))
            return taken.rowcount == 1

    def renew(self) -> bool:
        """Extend the lease; False when another process has taken it meanwhile."""
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                renewed = conn.execute(update(table).where(table.c.name == LOCK_NAME, table.c.holder == self.holder)
                                       .values(heartbeat_at=now, expires_at=now + self.lease))
                return renewed.rowcount == 1
        except DBAPIError:
            log.exception("scheduler lease renewal failed")
            return False

    def release(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(table).where(table.c.name == LOCK_NAME, table.c.holder == self.holder)
                         .values(holder="", expires_at=_EPOCH))


class AdvisoryLock:
    """pg_try_advisory_lock on a dedicated connection (no pool: closing it must end the session)."""

    def __init__(self, url, holder: str, lease_seconds: int, clock: Callable[[], datetime] = now_utc):
        self.engine = create_engine(url, poolclass=NullPool)
        self.holder, self.lease, self.clock = holder, timedelta(seconds=lease_seconds), clock
        self.conn: Connection | None = None

    def acquire(self) -> bool:
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not conn.scalar(select(func.pg_try_advisory_lock(ADVISORY_KEY))):
            conn.close()
            return False
        self.conn = conn
        self._heartbeat(acquired=True)
        return True

    def renew(self) -> bool:
        """Check that this session still holds the lock (a dropped connection loses it, and a reconnect would
        not get it back silently)."""
        if self.conn is None:
            return False
        try:
            held = self.conn.scalar(_HELD, {"hi": ADVISORY_KEY >> 32, "lo": ADVISORY_KEY & 0xFFFFFFFF})
        except SQLAlchemyError:
            log.exception("scheduler lock connection lost")
            held = False
        if not held:
            self._drop()
            return False
        self._heartbeat()
        return True

    def release(self) -> None:
        if self.conn is None:
            return
        try:
            self.conn.scalar(select(func.pg_advisory_unlock(ADVISORY_KEY)))
            self.conn.execute(update(table).where(table.c.name == LOCK_NAME, table.c.holder == self.holder)
                              .values(holder="", expires_at=_EPOCH))
        finally:
            self._drop()

    def _drop(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except SQLAlchemyError:
                pass
            self.conn = None

    def _heartbeat(self, acquired: bool = False) -> None:
        now = self.clock()
        _ensure_row(self.conn)
        values = {"holder": self.holder, "heartbeat_at": now, "expires_at": now + self.lease}
        if acquired:
            values["acquired_at"] = now
        self.conn.execute(update(table).where(table.c.name == LOCK_NAME).values(**values))


def make_lock(engine: Engine, holder: str, lease_seconds: int, clock: Callable[[], datetime] = now_utc):
    """The lock that fits the database: advisory on PostgreSQL, a lease row elsewhere."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine.url, holder, lease_seconds, clock)
    return LeaseLock(engine, holder, lease_seconds, clock)


def lease_state(conn_or_session) -> SchedulerLease | None:
    return conn_or_session.get(SchedulerLease, LOCK_NAME)
