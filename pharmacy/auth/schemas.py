"""API shapes for people."""

from marshmallow import Schema, fields


class FacilityRefSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    name = fields.Str()
    tier = fields.Str()


class MeSchema(Schema):
    id = fields.Int()
    username = fields.Str()
    display_name = fields.Str()
    role = fields.Str()
    facility = fields.Nested(FacilityRefSchema)
    permissions = fields.List(fields.Str())
