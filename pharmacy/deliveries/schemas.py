"""API shapes for routes and delivery runs; input and output kept apart."""

from marshmallow import Schema, fields, validate

from ..api import UtcDateTime
from ..fields import Integer
from ..listing import MAX_PER_PAGE, PagingSchema
from ..supply.schemas import REASON_CHOICES
from ..vocabulary import AlertKind, StopStatus
from .labels import line_reason, qty_label
from .models import RunStatus
from .schedule import MAX_EVERY_N_RUNS
from .services import MAX_QTY_BASE


class TimeText(fields.Field):
    """A time of day as "HH:MM"."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.strftime("%H:%M")

    def _deserialize(self, value, attr, data, **kwargs):
        return str(value)


# ---------------------------------------------------------------- routes

class RouteStopSchema(Schema):
    village_id = Integer()
    village_code = fields.Str(attribute="village.code")
    village_name = fields.Str(attribute="village.name")
    population = Integer(attribute="village.population", allow_none=True)
    position = Integer()
    every_n_runs = Integer()
    phase = Integer()


class RouteSchema(Schema):
    id = Integer()
    township_id = Integer()
    township_name = fields.Str(attribute="township.name")
    name = fields.Str()
    weekdays = fields.List(Integer(), attribute="weekday_numbers")
    departure_time = TimeText()
    vehicle = fields.Str()
    driver = fields.Str()
    is_active = fields.Bool()
    note = fields.Str()
    stops = fields.List(fields.Nested(RouteStopSchema))


class RouteStopInputSchema(Schema):
    village_id = Integer(required=True)
    position = Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=10_000),
                          metadata={"description": "driving order (1 first); by default the order of the list"})
    every_n_runs = Integer(load_default=1, validate=validate.Range(min=1, max=MAX_EVERY_N_RUNS))
    phase = Integer(load_default=0, validate=validate.Range(min=0, max=MAX_EVERY_N_RUNS - 1))


class RouteInputSchema(Schema):
    township_id = Integer(load_default=None, allow_none=True)
    name = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    # At least one weekday and one stop: the route service says so in the words the page shows.
    weekdays = fields.List(Integer(validate=validate.Range(min=1, max=7)), required=True,
                           validate=validate.Length(max=7))
    departure_time = TimeText(required=True)
    vehicle = fields.Str(load_default="", validate=validate.Length(max=40))
    driver = fields.Str(load_default="", validate=validate.Length(max=40))
    is_active = fields.Bool(load_default=True)
    note = fields.Str(load_default="", validate=validate.Length(max=2000))
    stops = fields.List(fields.Nested(RouteStopInputSchema), required=True)


# ---------------------------------------------------------------- runs

class ShortfallSchema(Schema):
    product_id = Integer(allow_none=True)
    product_name = fields.Method("_name")
    shortage_id = Integer(allow_none=True)
    qty_base = Integer()
    source = fields.Str()
    reason = fields.Str()

    def _name(self, obj):
        return obj.product.display_name if obj.product is not None else None


class LineSchema(Schema):
    id = Integer()
    product_id = Integer()
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.drug.generic_name")
    dosage_form = fields.Str(attribute="product.dosage_form")
    strength = fields.Str(attribute="product.strength")
    base_unit = fields.Str(attribute="product.base_unit")
    pack_size = Integer(attribute="product.pack_size")
    lot_id = Integer()
    lot_number = fields.Str(attribute="lot.lot_number")
    expiry_date = fields.Date(attribute="lot.expiry_date")
    qty_base = Integer()
    qty_packs = fields.Method("_packs")
    planned_qty_base = Integer()
    source = fields.Str()
    shortage_ids = fields.Method("_shortages")
    reason = fields.Method("_reason")
    on_hand_base = Integer(allow_none=True)
    amc_base = fields.Float(allow_none=True)
    min_base = Integer(allow_none=True)
    max_base = Integer(allow_none=True)
    qty_received_base = Integer(allow_none=True)
    discrepancy_reason = fields.Str(attribute="difference_reason")
    discrepancy_note = fields.Str(attribute="difference_note")
    consignment_line_id = Integer(allow_none=True)

    def _packs(self, line):
        return qty_label(line.qty_base, line.product)

    def _shortages(self, line):
        return [s.id for s in line.shortages]

    def _reason(self, line):
        return line_reason(line)



class StopSchema(Schema):
    id = Integer()
    run_id = Integer()
    run_number = fields.Str(attribute="run.number")
    village_id = Integer()
    village_name = fields.Str(attribute="village.name")
    position = Integer()
    status = fields.Str()
    is_off_turn = fields.Bool()
    has_differences = fields.Bool()
    receiver_name = fields.Str()
    receipt_note = fields.Str()
    received_at = UtcDateTime(allow_none=True)
    consignment_id = Integer(allow_none=True, metadata={"description": "/api/v1/consignments/{id}"})
    transfer_id = Integer(attribute="consignment.transfer_id", allow_none=True, dump_default=None,
                             metadata={"description": "the ledger's transfer, /api/v1/stock/transfers/{id}"})
    departure_date = fields.Date(attribute="run.departure_date")
    run_status = fields.Str(attribute="run.status")
    is_proxy_receipt = fields.Bool(attribute="proof.is_proxy", dump_default=False)
    proxy_reason = fields.Str(attribute="proof.proxy_reason", dump_default="")
    lines = fields.List(fields.Nested(LineSchema))
    shortfalls = fields.List(fields.Nested(ShortfallSchema))


class StopQuerySchema(Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf([s.value for s in StopStatus]))
    village_id = Integer(load_default=None)


class RunSummarySchema(Schema):
    id = Integer()
    number = fields.Str()
    route_id = Integer()
    route_name = fields.Str(attribute="route.name")
    township_id = Integer()
    township_name = fields.Str(attribute="township.name")
    sequence = Integer()
    departure_date = fields.Date()
    departure_time = TimeText()
    status = fields.Str()
    vehicle = fields.Str()
    driver = fields.Str()
    note = fields.Str()
    usable_after = fields.Date()
    confirmed_at = UtcDateTime(allow_none=True)
    dispatched_at = UtcDateTime(allow_none=True)
    delivered_at = UtcDateTime(allow_none=True)
    cancel_reason = fields.Str()
    stop_count = fields.Method("_stops")
    line_count = fields.Method("_lines")

    def _stops(self, run):
        return sum(1 for stop in run.stops if stop.lines)

    def _lines(self, run):
        return len(run.lines)


class RunSchema(RunSummarySchema):
    stops = fields.List(fields.Nested(StopSchema))


class RunQuerySchema(Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf([s.value for s in RunStatus]))
    route_id = Integer(load_default=None)


class PlanRunInputSchema(Schema):
    route_id = Integer(required=True)
    departure_date = fields.Date(load_default=None, allow_none=True)


class PlanRouteInputSchema(Schema):
    departure_date = fields.Date(load_default=None, allow_none=True)


class RunDetailsInputSchema(Schema):
    vehicle = fields.Str(load_default=None, validate=validate.Length(max=40))
    driver = fields.Str(load_default=None, validate=validate.Length(max=40))
    note = fields.Str(load_default=None, validate=validate.Length(max=2000))


class CancelInputSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


QTY_PARTS_HELP = "instead of qty_base: whole packs and loose base units, added up with the product's pack size"


class LineUpdateInputSchema(Schema):
    qty_base = Integer(load_default=None, strict=True, validate=validate.Range(min=0, max=MAX_QTY_BASE),
                          metadata={"description": "new quantity in base units; 0 removes the line"})
    qty_packs = Integer(load_default=None, validate=validate.Range(min=0, max=MAX_QTY_BASE),
                           metadata={"description": QTY_PARTS_HELP})
    qty_units = Integer(load_default=None, validate=validate.Range(min=0, max=MAX_QTY_BASE),
                           metadata={"description": QTY_PARTS_HELP})
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class LineCreateInputSchema(Schema):
    product_id = Integer(load_default=None, allow_none=True)
    product_query = fields.Str(load_default="", validate=validate.Length(max=100),
                               metadata={"description": "instead of product_id: a name, pinyin initials or code; "
                                                        "taken when it matches one product the village may stock "
                                                        "and the township holds (422 when none or several)"})
    qty_base = Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=MAX_QTY_BASE))
    qty_packs = Integer(load_default=None, validate=validate.Range(min=0, max=MAX_QTY_BASE),
                           metadata={"description": QTY_PARTS_HELP})
    qty_units = Integer(load_default=None, validate=validate.Range(min=0, max=MAX_QTY_BASE),
                           metadata={"description": QTY_PARTS_HELP})
    lot_id = Integer(load_default=None, allow_none=True)
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class ReceiptLineInputSchema(Schema):
    line_id = Integer(required=True)
    qty_received_base = Integer(load_default=None, allow_none=True, strict=True,
                                   validate=validate.Range(min=0, max=MAX_QTY_BASE),
                                   metadata={"description": "what arrived, in base units; omitted: as sent"})
    qty_received_packs = Integer(load_default=None, validate=validate.Range(min=0, max=MAX_QTY_BASE),
                                    metadata={"description": "instead of qty_received_base: " + QTY_PARTS_HELP})
    qty_received_units = Integer(load_default=None, validate=validate.Range(min=0, max=MAX_QTY_BASE),
                                    metadata={"description": "instead of qty_received_base: " + QTY_PARTS_HELP})
    # The receipt operation refuses a code outside the list (a rule of the receipt, not of the shape).
    reason = fields.Str(load_default="", validate=validate.Length(max=40),
                        metadata={"enum": REASON_CHOICES,
                                  "description": "difference reason, from the receipt list of /api/v1/vocabulary"})
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class ReceiptInputSchema(Schema):
    receiver_name = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    # Not `required`: the operation refuses a missing or false tick in the page's words (and a resend of a stop
    # already received is answered as recorded whatever it says).
    checked = fields.Bool(load_default=False, metadata={
        "description": "must be true: the signer checked every line against the goods (the page's 已逐行核对); "
                       "false or missing is refused with 422 not_checked"})
    proxy_reason = fields.Str(load_default="", validate=validate.Length(max=500),
                              metadata={"description": "required when a township user signs for the village"})
    note = fields.Str(load_default="", validate=validate.Length(max=2000))
    lines = fields.List(fields.Nested(ReceiptLineInputSchema), load_default=list)


class AlertSchema(Schema):
    id = Integer()
    facility_id = Integer()
    facility_name = fields.Str(attribute="facility.name")
    product_id = Integer()
    product_name = fields.Str(attribute="product.display_name")
    lot_id = Integer(allow_none=True)
    lot_number = fields.Method("_lot")
    kind = fields.Str()
    on_hand_base = Integer()
    amc_base = fields.Float(allow_none=True)
    months_of_stock = fields.Float(allow_none=True)
    min_base = Integer(allow_none=True)
    expiry_date = fields.Date(allow_none=True)
    first_seen_at = UtcDateTime()
    last_seen_at = UtcDateTime()

    def _lot(self, alert):
        return alert.lot.lot_number if alert.lot is not None else None


class AlertQuerySchema(PagingSchema):
    kind = fields.Str(load_default=None, validate=validate.OneOf([k.value for k in AlertKind]))
    facility_id = Integer(load_default=None)
    per_page = Integer(load_default=500, validate=validate.Range(min=1, max=MAX_PER_PAGE))
