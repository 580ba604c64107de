"""Searching the audit trail, scoped to what the reader may see."""

from dataclasses import dataclass
from datetime import date, timedelta

from marshmallow import ValidationError
from sqlalchemy import Select, or_, select

from .. import clock
from ..auth.policy import visible_facility_ids
from ..extensions import db
from ..facilities.models import Facility
from ..listing import ListQuery, Page
from . import labels
from .models import AuditEvent
from .schemas import AuditQuerySchema

PAGE_SIZE = 50


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


# The trail as one list, newest first, paged in SQL: the page and `GET /api/v1/audit/events` share it.
EVENTS = ListQuery(AuditQuerySchema, lambda reader, filters: events_query(reader, AuditFilters(**filters)),
                   per_page=PAGE_SIZE, scalars=False)


def invalid_filters(args) -> list[str]:
    """The page's filters that do not load (the page ignores them and says so)."""
    try:
        AuditQuerySchema().load({k: v for k, v in args.items() if v not in ("", None)}, unknown="exclude")
    except ValidationError as err:
        return sorted(err.messages) if isinstance(err.messages, dict) else ["?"]
    return []


def search_events(reader, filters: dict) -> Page:
    """One page of the events the reader may see, each with its facility: `(event, facility)` rows."""
    page = EVENTS.page(reader, filters)
    page.items = [(row[0], row[1]) for row in page.items]
    return page


def event_list(reader, filters: dict) -> list[AuditEvent]:
    """The API's page: the events alone, each carrying its facility (for its code)."""
    events = []
    for event, facility in search_events(reader, filters).items:
        event.facility = facility
        events.append(event)
    return events


# Named rows that belong to a facility: their names show only inside the reader's scope.
_SCOPED_BY = {"app_user": "facility_id", "facility": "id"}


def row_names(reader, wanted: dict[str, set[int]]) -> dict[tuple[str, int], str]:
    """{(table, id): the row's name} of the named rows asked for (`labels.NAMED_BY`), one query per table. Rows
    deleted since, or people and facilities outside the reader's scope, are not named (the value shows its id)."""
    names = {}
    for table_name, ids in wanted.items():
        table = db.metadata.tables[table_name]
        columns = [table.columns[name] for name in labels.NAMED_BY[table_name]]
        stmt = select(table.c.id, *columns).where(table.c.id.in_(sorted(ids)))
        if table_name in _SCOPED_BY:
            stmt = stmt.where(table.columns[_SCOPED_BY[table_name]].in_(visible_facility_ids(reader)))
        for row in db.session.execute(stmt):
            names[(table_name, row[0])] = " ".join(str(part) for part in row[1:] if part)
    return names


def entries_page(reader, filters: dict) -> Page:
    """One page of the trail as people read it: tables, columns and values by their names (`labels.Entry`)."""
    page = search_events(reader, filters)
    names = row_names(reader, labels.references(event for event, _facility in page.items))
    page.items = [labels.present(event, facility, names) for event, facility in page.items]
    return page


def audited_tables() -> list[tuple[str, str]]:
    """(table, its name for people) of every audited table, by that name."""
    names = [table.name for table in db.metadata.sorted_tables if table.name != "audit_event"]
    return sorted(((name, labels.table_label(name)) for name in names), key=lambda pair: pair[1])
