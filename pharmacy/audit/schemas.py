"""API shapes for the audit trail."""

import json

from marshmallow import Schema, fields, validate

from ..api import UtcDateTime
from .models import AuditAction
from ..fields import Integer


class AuditQuerySchema(Schema):
    username = fields.Str(load_default="", validate=validate.Length(max=64))
    facility_code = fields.Str(load_default="", validate=validate.Length(max=32))
    table_name = fields.Str(load_default="", validate=validate.Length(max=64))
    action = fields.Str(load_default="", validate=validate.OneOf(["", *[a.value for a in AuditAction]]))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
    text = fields.Str(load_default="", validate=validate.Length(max=100))
    before_id = Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    limit = Integer(load_default=100, validate=validate.Range(min=1, max=500))


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
