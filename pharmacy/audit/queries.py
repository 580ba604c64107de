"""Searching the audit trail, scoped to what the reader may see."""

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Select, or_, select

from .. import clock
from ..auth.policy import visible_facility_ids
from ..extensions import db
from ..facilities.models import Facility
from .models import AuditEvent

PAGE_SIZE = 100


@dataclass
class AuditFilters:
    username: str = ""
    facility_code: str = ""
    table_name: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None
    text: str = ""
    before_id: int | None = None


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def events_query(reader, filters: AuditFilters) -> Select:
    """Events the reader may see (their scope's users, plus system and CLI events) that match the filters."""
    stmt = select(AuditEvent, Facility).outerjoin(Facility, Facility.id == AuditEvent.facility_id).where(
        or_(AuditEvent.facility_id.is_(None), AuditEvent.facility_id.in_(visible_facility_ids(reader))))
    if filters.username:
        stmt = stmt.where(AuditEvent.username == filters.username.strip())
    if filters.facility_code:
        stmt = stmt.where(Facility.code == filters.facility_code.strip().upper())
    if filters.table_name:
        stmt = stmt.where(AuditEvent.table_name == filters.table_name.strip())
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.date_from:
        stmt = stmt.where(AuditEvent.occurred_at >= clock.local_day_start(filters.date_from))
    if filters.date_to:
        stmt = stmt.where(AuditEvent.occurred_at < clock.local_day_start(filters.date_to + timedelta(days=1)))
    if filters.text:
        pattern = _like(filters.text.strip()[:100])
        stmt = stmt.where(or_(AuditEvent.changes.ilike(pattern, escape="\\"),
                              AuditEvent.row_id.ilike(pattern, escape="\\"),
                              AuditEvent.actor.ilike(pattern, escape="\\")))
    if filters.before_id:
        stmt = stmt.where(AuditEvent.id < filters.before_id)
    return stmt.order_by(AuditEvent.id.desc())


def search_events(reader, filters: AuditFilters, limit: int = PAGE_SIZE) -> list[tuple[AuditEvent, Facility | None]]:
    return [(row[0], row[1]) for row in db.session.execute(events_query(reader, filters).limit(limit))]


def audited_tables() -> list[str]:
    return sorted(table.name for table in db.metadata.sorted_tables if table.name != "audit_event")
