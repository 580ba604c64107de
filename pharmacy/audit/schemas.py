"""API shapes for the audit trail."""

import json

from marshmallow import Schema, fields, post_load, validate

from ..api import UtcDateTime
from ..fields import Integer
from ..listing import MAX_PER_PAGE, PagingSchema
from .models import AuditAction


class AuditQuerySchema(PagingSchema):
    """The trail's filters and its page (the page and the API share them). `limit` is the API's older name for
    `per_page`; `before_id` keeps only events older than that one."""

    username = fields.Str(load_default="", validate=validate.Length(max=64))
    facility_code = fields.Str(load_default="", validate=validate.Length(max=32))
    table_name = fields.Str(load_default="", validate=validate.Length(max=64))
    action = fields.Str(load_default="", validate=validate.OneOf(["", *[a.value for a in AuditAction]]))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
    text = fields.Str(load_default="", validate=validate.Length(max=100))
    before_id = Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    per_page = Integer(load_default=100, validate=validate.Range(min=1, max=MAX_PER_PAGE))
    limit = Integer(load_default=None, validate=validate.Range(min=1, max=MAX_PER_PAGE),
                       metadata={"description": "the older name of per_page"})

    @post_load
    def _limit_is_per_page(self, data, **_kwargs):
        limit = data.pop("limit", None)
        if limit is not None:
            data["per_page"] = limit
        return data


class AuditEventSchema(Schema):
    id = Integer()
    occurred_at = UtcDateTime()
    user_id = Integer(allow_none=True)
    username = fields.Str()
    facility_id = Integer(allow_none=True)
    facility_code = fields.Method("_facility_code")
    source = fields.Str()
    actor = fields.Str()
    remote_addr = fields.Str()
    request_id = fields.Str()
    action = fields.Str()
    table_name = fields.Str()
    row_id = fields.Str()
    changes = fields.Method("_changes")

    def _facility_code(self, event) -> str:
        facility = getattr(event, "facility", None)
        return facility.code if facility is not None else ""

    def _changes(self, event) -> dict:
        return json.loads(event.changes or "{}")
