"""Input shapes of the dashboard and report pages (and their API twins); output shapes for the API."""

from marshmallow import Schema, fields, validate


class DashboardQuerySchema(Schema):
    unit = fields.Int(load_default=None, validate=validate.Range(min=1))


class ReportQuerySchema(Schema):
    township = fields.Int(load_default=None, validate=validate.Range(min=1))
    village = fields.Int(load_default=None, validate=validate.Range(min=1))
    q = fields.Str(load_default="", validate=validate.Length(max=100))
    class_path = fields.Str(load_default="", validate=validate.Length(max=255))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)
    page = fields.Int(load_default=1, validate=validate.Range(min=1, max=100000))
    per_page = fields.Int(load_default=50, validate=validate.Range(min=1, max=500))


class TracerAddSchema(Schema):
    product_code = fields.Str(required=True, validate=validate.Length(min=1, max=24))
    note = fields.Str(load_default="", validate=validate.Length(max=500))
