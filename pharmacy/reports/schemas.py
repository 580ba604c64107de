"""Input shapes of the dashboard and report pages (and their API twins); output shapes for the API."""

from marshmallow import Schema, fields, validate

from ..api import UtcDateTime
from ..fields import Integer
from ..listing import PagingSchema
from .definitions import definitions


class DashboardQuerySchema(Schema):
    unit = Integer(load_default=None, validate=validate.Range(min=1))


class ReportQuerySchema(PagingSchema):
    township = Integer(load_default=None, validate=validate.Range(min=1))
    village = Integer(load_default=None, validate=validate.Range(min=1))
    q = fields.Str(load_default="", validate=validate.Length(max=100))
    class_path = fields.Str(load_default="", validate=validate.Length(max=255))
    date_from = fields.Date(load_default=None)
    date_to = fields.Date(load_default=None)


class TracerAddSchema(Schema):
    product_code = fields.Str(required=True, validate=validate.Length(min=1, max=24))
    note = fields.Str(load_default="", validate=validate.Length(max=500))


# --- output --------------------------------------------------------------------------------------------------------

class ReportScopeSchema(Schema):
    id = Integer()
    code = fields.Str()
    name = fields.Str()
    tier = fields.Str()


class DashboardTrendSchema(Schema):
    current = fields.Float(allow_none=True, metadata={"description": "The figure now (or this week so far)."})
    before = fields.Float(allow_none=True, metadata={"description": "The figure about four weeks ago."})
    points = fields.List(UtcDateTime(), metadata={"description": "Week starts (Monday 00:00 local), then now; "
                                                                     "for weekly sums the start of each week."})
    values = fields.List(fields.Float(allow_none=True), metadata={"description": "Oldest first."})


class DashboardResponseTimesSchema(Schema):
    count = Integer()
    median_days = fields.Float(allow_none=True)
    p90_days = fields.Float(allow_none=True)


class DashboardFillSchema(Schema):
    planned = fields.Float()
    done = fields.Float()
    share = fields.Float(allow_none=True)


class DashboardFillRateSchema(Schema):
    share_4w = fields.Float(allow_none=True)
    share_12w = fields.Float(allow_none=True)
    trend = fields.Nested(DashboardTrendSchema)
    by_unit = fields.Dict(keys=fields.Str(), values=fields.Nested(DashboardFillSchema))


class DashboardVbpSchema(Schema):
    vbp_value = fields.Float()
    value = fields.Float()
    share = fields.Float(allow_none=True)


class DashboardCellSchema(Schema):
    in_stock = Integer()
    villages = Integer()
    share = fields.Float(allow_none=True)
    status = fields.Str()


class DashboardTracerSchema(Schema):
    product_id = Integer()
    code = fields.Str(attribute="label.code")
    name = fields.Str(attribute="label.name")
    dosage_form = fields.Str(attribute="label.form")
    strength = fields.Str(attribute="label.strength")
    in_stock = Integer()
    villages = Integer()
    share = fields.Float(allow_none=True)
    cells = fields.Dict(keys=fields.Str(), values=fields.Nested(DashboardCellSchema))


class DashboardSchema(Schema):
    as_of = UtcDateTime(attribute="now")
    scope = fields.Nested(ReportScopeSchema, attribute="root")
    units = fields.List(fields.Nested(ReportScopeSchema))
    village_count = Integer(metadata={"description": "Active village points in the scope."})
    tracer_count = Integer(metadata={"description": "The county's tracer products."})
    tracer_pairs = Integer(metadata={"description": "village_count × tracer_count: the one population of "
                                                       "availability and stockouts."})
    definitions = fields.Function(lambda _board: definitions(), metadata={
        "description": "Per figure key, its name and definition in the reader's language (what the page's ⓘ shows)."})
    availability = fields.Nested(DashboardTrendSchema,
                                 metadata={"description": "Share of village × tracer pairs holding unexpired stock."})
    unit_availability = fields.Dict(keys=fields.Str(), values=fields.Float(allow_none=True))
    tracers = fields.List(fields.Nested(DashboardTracerSchema), attribute="tracer_rows")
    stockouts = fields.Nested(DashboardTrendSchema, metadata={
        "description": "Village × tracer pairs without unexpired stock (tracer_pairs × (1 − availability))."})
    open_shortages = fields.Nested(DashboardTrendSchema)
    open_by_urgency_age = fields.Dict(keys=fields.Str(), values=fields.List(Integer()), metadata={
        "description": "Per urgency, open registrations aged < 3, 3–7, 7–14 and ≥ 14 days."})
    open_by_unit = fields.Dict(keys=fields.Str(), values=Integer())
    registrations = fields.Nested(DashboardTrendSchema)
    response = fields.Dict(keys=fields.Str(), values=fields.Nested(DashboardResponseTimesSchema),
                           metadata={"description": "Registration to delivery over the last 4w and 12w."})
    response_by_unit = fields.Dict(keys=fields.Str(), values=fields.Dict(
        keys=fields.Str(), values=fields.Nested(DashboardResponseTimesSchema)))
    response_median = fields.Nested(DashboardTrendSchema)
    fill_rates = fields.Dict(keys=fields.Str(), values=fields.Nested(DashboardFillRateSchema), metadata={
        "description": "orders: township orders received over approved; deliveries: village stops received over "
                       "planned."})
    near_expiry_days = Integer()
    near_expiry_value = fields.Nested(DashboardTrendSchema)
    vbp = fields.Dict(keys=fields.Str(), values=fields.Nested(DashboardVbpSchema))
    vbp_share = fields.Nested(DashboardTrendSchema)


class ReportColumnSchema(Schema):
    key = fields.Str()
    label = fields.Str()
    kind = fields.Str()


class ReportPageSchema(Schema):
    report = fields.Str()
    title = fields.Str()
    scope = fields.Nested(ReportScopeSchema)
    date_from = fields.Date(allow_none=True)
    date_to = fields.Date(allow_none=True)
    columns = fields.List(fields.Nested(ReportColumnSchema))
    rows = fields.List(fields.Dict())
    page = Integer()
    per_page = Integer()
    has_next = fields.Bool()


class TracerSchema(Schema):
    id = Integer()
    product_id = Integer()
    product_code = fields.Str(attribute="product.code")
    note = fields.Str()
    created_at = UtcDateTime()
