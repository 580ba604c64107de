"""API shapes for monthly statements."""

from marshmallow import Schema, fields, validate

from ..api import UtcDateTime
from ..fields import Integer, Money


def _money(value) -> str:
    return f"{value:.2f}"


class StatementRowSchema(Schema):
    movement_id = Integer()
    received_at = UtcDateTime()
    product_id = Integer()
    product_code = fields.Str()
    product_name = fields.Str()
    category = fields.Str()
    is_vbp = fields.Bool()
    lot_number = fields.Str()
    qty_base = Integer()
    base_unit = fields.Str()
    pack_size = Integer()
    unit_price = Money(as_string=True)
    amount = Money(as_string=True)


class StatementTotalsSchema(Schema):
    total = fields.Function(lambda t: _money(t.total))
    vbp = fields.Function(lambda t: _money(t.vbp))
    non_vbp = fields.Function(lambda t: _money(t.non_vbp))
    by_category = fields.Function(lambda t: {k: _money(v) for k, v in sorted(t.by_category.items())})
    lines = Integer()


class StatementSummarySchema(Schema):
    facility_id = Integer(attribute="facility.id")
    facility_code = fields.Str(attribute="facility.code")
    facility_name = fields.Str(attribute="facility.name")
    tier = fields.Str(attribute="facility.tier")
    month = fields.Str()
    is_closed = fields.Bool()
    closed_at = UtcDateTime(allow_none=True)
    totals = fields.Nested(StatementTotalsSchema)


class StatementSchema(StatementSummarySchema):
    rows = fields.List(fields.Nested(StatementRowSchema))


class SettlementQuerySchema(Schema):
    month = fields.Str(load_default=None, validate=validate.Regexp(r"^\d{4}-(0[1-9]|1[0-2])$"))
    tier = fields.Str(load_default=None, validate=validate.OneOf(["county", "township", "village"]))


class SettlementMonthSchema(Schema):
    id = Integer()
    month = fields.Str()
    root_facility_id = Integer()
    closed_at = UtcDateTime()


class SettlementCloseSchema(Schema):
    """Closing a month: `confirm` must be true (closing cannot be undone). `expected_lines`/`expected_total`, the
    figures of the preview the user confirmed, are optional; when sent and the ledger no longer agrees, 409."""

    confirm = fields.Bool(required=True, metadata={"description": "true: the caller has seen what will be frozen "
                                                                  "(GET /api/v1/settlements/<month>/close)"})
    expected_lines = Integer(load_default=None, validate=validate.Range(min=0))
    expected_total = Money(load_default=None, places=2, as_string=True)


class SettlementClosePreviewSchema(Schema):
    month = fields.Str()
    root_facility_id = Integer()
    is_month_over = fields.Bool()
    is_closed = fields.Function(lambda preview: preview.closed is not None)
    may_close = fields.Bool()
    totals = fields.Nested(StatementTotalsSchema)
    facilities = fields.List(fields.Nested(StatementSummarySchema), attribute="statements")
