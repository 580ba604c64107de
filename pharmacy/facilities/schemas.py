"""API shapes for facilities."""

from marshmallow import Schema, fields, validate

from ..fields import Integer
from .models import FacilityKind, Tier


class FacilitySchema(Schema):
    id = Integer()
    code = fields.Str()
    name = fields.Str()
    tier = fields.Str()
    kind = fields.Str()
    parent_id = Integer(allow_none=True)
    population = Integer(allow_none=True)
    is_active = fields.Bool()


class FacilityQuerySchema(Schema):
    tier = fields.Str(validate=validate.OneOf([t.value for t in Tier]))
    active = fields.Bool(load_default=None)


class FacilityInputSchema(Schema):
    code = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in FacilityKind]))
    parent_id = Integer(allow_none=True, load_default=None)
    population = Integer(allow_none=True, load_default=None, validate=validate.Range(min=0))


class FacilityActiveInputSchema(Schema):
    is_active = fields.Bool(required=True)
