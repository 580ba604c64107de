"""API shapes for stock; input and output kept apart. Quantities say their unit: `qty` with `unit` (pack or base)
on input, `*_base` (base units) on output."""


from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from ..api import UtcDateTime
from ..fields import ExpiryDate, Integer, blank_is_missing
from ..listing import PagingSchema
from ..vocabulary import Tier
from .consumption import QtyUnit, StockStatus
from .models import AdjustmentRequestStatus, AdjustReason, TransferStatus

KEY = fields.Str(required=True, validate=validate.Length(min=1, max=80),
                 metadata={"description": "Idempotency key chosen by the client, the sender's own (per user and "
                                          "facility): the same key and request again records nothing and answers "
                                          "200 with the first result; the same key with another request is 409 "
                                          "`idempotency_key_reused`."})
QTY = Integer(required=True, validate=validate.Range(min=1, max=10_000_000))
UNIT = fields.Str(load_default=QtyUnit.PACK.value, validate=validate.OneOf([u.value for u in QtyUnit]))
NOTE = fields.Str(load_default="", validate=validate.Length(max=500))


# ---- input ---------------------------------------------------------------------------------------------------

class StatusQuerySchema(Schema):
    facility_id = fields.List(Integer(), load_default=None,
                              metadata={"description": "Facilities (repeat the parameter); default: the caller's "
                                                       "facility, or its whole subtree with subtree=true"})
    subtree = fields.Bool(load_default=False)
    product_id = fields.List(Integer(), load_default=None)
    status = fields.List(fields.Str(validate=validate.OneOf([s.value for s in StockStatus])), load_default=None)
    near_expiry_only = fields.Bool(load_default=False)

    def load(self, data, **kwargs):
        # Repeated query parameters arrive as a list, a single one as a string: accept both.
        data = dict(data)
        for key in ("facility_id", "product_id", "status"):
            if key in data and not isinstance(data[key], list):
                data[key] = [data[key]]
        return super().load(data, **kwargs)


class StockListQuerySchema(StatusQuerySchema, PagingSchema):
    """The stock pages' filters: the API's, a search, a tier and a branch of the tree, and the page."""

    q = fields.Str(load_default="", validate=validate.Length(max=50),
                   metadata={"description": "generic name, pinyin initials or product code"})
    tier = fields.Str(load_default=None, validate=validate.OneOf([t.value for t in Tier]))
    under = Integer(load_default=None, metadata={"description": "only facilities within this one"})


class LotQuerySchema(Schema):
    product_id = Integer(load_default=None)



class ReceiptInputSchema(Schema):
    facility_id = Integer(required=True)
    product_id = Integer(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    expiry_date = ExpiryDate(required=True, metadata={"description": "YYYY-MM-DD"})
    manufacturer = fields.Str(load_default="", validate=validate.Length(max=120))
    qty = QTY
    unit = UNIT
    note = NOTE
    idempotency_key = KEY

    @pre_load
    def _blank_is_missing(self, data, **kwargs):
        return blank_is_missing(data)


class DispenseInputSchema(Schema):
    facility_id = Integer(required=True)
    product_id = Integer(required=True)
    lot_id = Integer(load_default=None, metadata={"description": "Pin a lot; otherwise lots are taken FEFO."})
    qty = QTY
    unit = UNIT
    note = NOTE
    idempotency_key = KEY


class AdjustInputSchema(Schema):
    facility_id = Integer(required=True)
    lot_id = Integer(required=True)
    qty_delta_base = Integer(required=True, validate=validate.Range(min=-10_000_000, max=10_000_000))
    reason = fields.Str(required=True, validate=validate.OneOf([r.value for r in AdjustReason]))
    note = NOTE
    idempotency_key = KEY


class AdjustmentRequestQuerySchema(Schema):
    facility_id = Integer(required=True)
    subtree = fields.Bool(load_default=False, metadata={"description": "also the facilities under it (a township's "
                                                                       "villages)"})
    status = fields.Str(load_default=None, validate=validate.OneOf([s.value for s in AdjustmentRequestStatus]))


class AdjustmentDecisionInputSchema(Schema):
    note = fields.Str(load_default="", validate=validate.Length(max=500),
                      metadata={"description": "why; required to reject"})


class CountSchema(Schema):
    lot_id = Integer(required=True)
    counted_base = Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))


class StocktakeInputSchema(Schema):
    facility_id = Integer(required=True)
    counts = fields.List(fields.Nested(CountSchema), required=True, validate=validate.Length(min=1, max=5000))
    note = NOTE
    idempotency_key = KEY

    @validates_schema
    def lots_once(self, data, **kwargs):
        lot_ids = [c["lot_id"] for c in data.get("counts", [])]
        if len(lot_ids) != len(set(lot_ids)):
            raise ValidationError("Each lot may be counted once.", "counts")


class WriteOffInputSchema(Schema):
    facility_id = Integer(required=True)
    idempotency_key = KEY


class PolicyInputSchema(Schema):
    facility_id = Integer(required=True)
    product_id = Integer(required=True)
    min_months = fields.Float(required=True, validate=validate.Range(min=0, max=36))
    max_months = fields.Float(required=True, validate=validate.Range(min=0, max=36))
    min_qty_base = Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=10_000_000))
    max_qty_base = Integer(load_default=None, allow_none=True, validate=validate.Range(min=0, max=10_000_000))


class TransferQuerySchema(Schema):
    facility_id = Integer(required=True)
    status = fields.Str(load_default=None, validate=validate.OneOf([s.value for s in TransferStatus]))


class CardQuerySchema(Schema):
    limit = Integer(load_default=200, validate=validate.Range(min=1, max=2000))


# ---- output --------------------------------------------------------------------------------------------------

class StockStatusSchema(Schema):
    facility_id = Integer()
    product_id = Integer()
    on_hand = Integer(metadata={"description": "base units, expired lots included"})
    usable = Integer(metadata={"description": "base units in unexpired lots; the status is judged on this"})
    expired = Integer()
    near_expiry = Integer(metadata={"description": "base units expiring within the dispatch policy's "
                                                      "near-expiry window (GET /api/v1/settings/policy)"})
    allocated = Integer(metadata={"description": "base units set aside for unified-order lines, not shipped yet"})
    reserved = Integer(metadata={"description": "base units planned on delivery runs that have not left"})
    available = Integer(metadata={"description": "usable − allocated − reserved: what is left to promise"})
    earliest_expiry = fields.Date(allow_none=True)
    in_transit = Integer()
    dispensed_in_window = Integer()
    amc = fields.Float(allow_none=True, metadata={"description": "average monthly consumption, base units"})
    amc_basis = fields.Str(metadata={"description": "full | short | unknown (see inventory/consumption.py)"})
    history_days = Integer()
    months_of_stock = fields.Float(allow_none=True)
    min_months = fields.Float()
    max_months = fields.Float()
    min_base = Integer(allow_none=True)
    max_base = Integer(allow_none=True)
    policy_source = fields.Str()
    status = fields.Str()


class LotStockSchema(Schema):
    facility_id = Integer()
    product_id = Integer()
    lot_id = Integer()
    lot_number = fields.Str()
    expiry_date = fields.Date()
    manufacturer = fields.Str()
    qty_base = Integer()
    is_expired = fields.Bool()
    is_near_expiry = fields.Bool()


class MovementSchema(Schema):
    id = Integer()
    facility_id = Integer()
    product_id = Integer()
    lot_id = Integer()
    lot_number = fields.Str(attribute="lot.lot_number")
    expiry_date = fields.Date(attribute="lot.expiry_date")
    qty_base = Integer()
    balance_after = Integer(metadata={"description": "the lot's balance after this movement"})
    kind = fields.Str()
    reason = fields.Str()
    note = fields.Str()
    ref_type = fields.Str()
    ref_id = Integer(allow_none=True)
    user_id = Integer(allow_none=True)
    created_at = UtcDateTime()


class OperationSchema(Schema):
    id = Integer()
    idempotency_key = fields.Str()
    kind = fields.Str()
    facility_id = Integer()
    user_id = Integer(allow_none=True)
    note = fields.Str()
    created_at = UtcDateTime()
    movements = fields.List(fields.Nested(MovementSchema))


class AdjustmentRequestSchema(Schema):
    id = Integer()
    idempotency_key = fields.Str()
    facility_id = Integer()
    product_id = Integer()
    lot_id = Integer()
    lot_number = fields.Str(attribute="lot.lot_number")
    qty_delta_base = Integer()
    reason = fields.Str()
    note = fields.Str()
    status = fields.Str(metadata={"description": "pending | approved | rejected (vocabulary "
                                                 "`adjustment_request_status`)"})
    requested_by_id = Integer(allow_none=True)
    requested_at = UtcDateTime()
    decided_by_id = Integer(allow_none=True)
    decided_at = UtcDateTime(allow_none=True)
    decision_note = fields.Str()
    operation = fields.Nested(OperationSchema, allow_none=True,
                              metadata={"description": "the booking, once approved"})


class CardLineSchema(Schema):
    movement = fields.Nested(MovementSchema)
    balance = Integer(metadata={"description": "the product's balance (all lots) after this movement"})


class StockCardSchema(Schema):
    facility_id = Integer()
    product_id = Integer()
    opening_balance = Integer()
    has_more = fields.Bool()
    lines = fields.List(fields.Nested(CardLineSchema))


class TransferLineSchema(Schema):
    id = Integer()
    product_id = Integer()
    lot_id = Integer()
    lot_number = fields.Str(attribute="lot.lot_number")
    qty_base_sent = Integer()
    qty_base_received = Integer(allow_none=True)
    discrepancy_reason = fields.Str()
    discrepancy_note = fields.Str()


class TransferSchema(Schema):
    id = Integer()
    from_facility_id = Integer()
    to_facility_id = Integer()
    status = fields.Str()
    note = fields.Str()
    sent_at = UtcDateTime()
    received_at = UtcDateTime(allow_none=True)
    lines = fields.List(fields.Nested(TransferLineSchema))
    consignment = fields.Method("_consignment", metadata={
        "description": "the consignment these goods travel as (/api/v1/consignments/{id}), its kind and what it is: "
                       "a delivery run's stop or an order's shipment; null for a transfer older than consignments"})

    def _consignment(self, transfer):
        from ..supply.links import consignment_of_transfer

        return consignment_of_transfer(transfer.id)


class PolicySchema(Schema):
    facility_id = Integer()
    product_id = Integer()
    min_months = fields.Float()
    max_months = fields.Float()
    min_qty_base = Integer(allow_none=True)
    max_qty_base = Integer(allow_none=True)
