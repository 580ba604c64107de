"""One row per changed database row (or one summary per bulk load)."""

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .. import clock
from ..extensions import db
from ..vocabulary import AuditAction, AuditSource  # noqa: F401

class AuditEvent(db.Model):
    """Who (user, facility, source, address, request), when, and what: the table, the row and the changed
    columns as JSON {column: [old, new]}. Actor fields are copies, so the trail stays readable if names change.
    No foreign keys: the trail must never block or be blocked by a change to the rows it describes."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_table_row", "table_name", "row_id"),
        Index("ix_audit_event_user_time", "user_id", "occurred_at"),
        Index("ix_audit_event_facility_time", "facility_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64), default="")
    facility_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16), default=AuditSource.SYSTEM)
    actor: Mapped[str] = mapped_column(String(120), default="")  # "GET /path" or "cli: catalog load" or a job id
    remote_addr: Mapped[str] = mapped_column(String(64), default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(8))
    table_name: Mapped[str] = mapped_column(String(64))
    row_id: Mapped[str] = mapped_column(String(64), default="")
    changes: Mapped[str] = mapped_column(Text, default="{}")
