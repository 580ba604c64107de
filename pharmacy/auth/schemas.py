"""API shapes for people."""

from marshmallow import Schema, fields, validate

from ..api import UtcDateTime
from ..fields import Integer
from ..vocabulary import Role, TokenScope


class FacilityRefSchema(Schema):
    id = Integer()
    code = fields.Str()
    name = fields.Str()
    tier = fields.Str()


class MeSchema(Schema):
    id = Integer()
    username = fields.Str()
    display_name = fields.Str()
    role = fields.Str()
    facility = fields.Nested(FacilityRefSchema)
    permissions = fields.List(fields.Str())


class UserSchema(Schema):
    id = Integer()
    username = fields.Str()
    display_name = fields.Str()
    role = fields.Str(metadata={"description": "a code of the `role` vocabulary"})
    facility = fields.Nested(FacilityRefSchema)
    is_active = fields.Bool()
    last_login_at = UtcDateTime(allow_none=True)


class UserQuerySchema(Schema):
    facility_id = Integer(load_default=None, metadata={"description": "only users of this facility's subtree"})
    role = fields.Str(load_default=None, validate=validate.OneOf([r.value for r in Role]))
    active = fields.Bool(load_default=None)


class UserInputSchema(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    display_name = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    password = fields.Str(required=True, load_only=True, validate=validate.Length(min=8, max=128))
    role = fields.Str(required=True, validate=validate.OneOf([r.value for r in Role]))
    facility_id = Integer(required=True)


class UserActiveInputSchema(Schema):
    is_active = fields.Bool(required=True)


class UserRefSchema(Schema):
    id = Integer()
    username = fields.Str()
    display_name = fields.Str()
    facility = fields.Nested(FacilityRefSchema)


class TokenSchema(Schema):
    id = Integer()
    name = fields.Str()
    token_prefix = fields.Str(metadata={"description": "the token's first characters, to recognise it"})
    scopes = fields.List(fields.Str(), attribute="scope_list",
                         metadata={"description": "codes of the `token_scope` vocabulary"})
    status = fields.Str(metadata={"description": "a code of the `token_status` vocabulary"})
    user = fields.Nested(UserRefSchema)
    created_at = UtcDateTime()
    expires_at = UtcDateTime()
    last_used_at = UtcDateTime(allow_none=True, metadata={"description": "to the hour"})
    revoked_at = UtcDateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = fields.Str(metadata={"description": "the token itself: shown this once, never again"})


class TokenInputSchema(Schema):
    name = fields.Str(required=True, validate=validate.Length(min=1, max=80),
                      metadata={"description": "what uses it, e.g. 'HIS 接口' or 'tablet 3'"})
    scopes = fields.List(fields.Str(validate=validate.OneOf([s.value for s in TokenScope])), required=True,
                         validate=validate.Length(min=1))
    days = Integer(load_default=None, validate=validate.Range(min=1, max=365),
                      metadata={"description": "valid for this many days (default 90)"})
    user_id = Integer(load_default=None, metadata={"description": "admins: a user in their scope (default: me)"})


class TokenQuerySchema(Schema):
    everyone = fields.Bool(load_default=False,
                           metadata={"description": "admins: the tokens of every user in their scope"})


class CsrfSchema(Schema):
    csrf_token = fields.Str()
