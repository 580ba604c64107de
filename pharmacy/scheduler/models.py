"""The scheduler's tables: who holds the lock, the log of job runs, and APScheduler's own job store."""

from datetime import datetime

from sqlalchemy import Column, DateTime, Float, Integer, LargeBinary, String, Table, Text, Unicode
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..extensions import db
from ..vocabulary import RunOutcome  # noqa: F401


class SchedulerLease(db.Model):
    """The scheduler lock's visible state. On SQLite this row is the lock itself (a lease that the holder renews
    by heartbeat and another process may take once it expired); on PostgreSQL an advisory lock guards and the
    holder keeps this row current so the admin page can show who acts."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120), default="")
    acquired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

class JobRun(db.Model):
    """One execution of a scheduled job: when it started and ended, how, and what it did or why it failed."""

    __tablename__ = "scheduler_job_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64), index=True)
    trigger: Mapped[str] = mapped_column(String(16))
    holder: Mapped[str] = mapped_column(String(120), default="")
    outcome: Mapped[str] = mapped_column(String(16), default=RunOutcome.RUNNING, index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    summary: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str] = mapped_column(Text, default="")

    @property
    def duration_seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at.replace(tzinfo=None) - self.started_at.replace(tzinfo=None)).total_seconds()


# APScheduler's SQLAlchemyJobStore table, declared here with the same columns so that migrations create it and
# the schema stays whole; the job store finds it and does not create its own.
apscheduler_jobs = Table(
    "apscheduler_jobs", db.metadata,
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
