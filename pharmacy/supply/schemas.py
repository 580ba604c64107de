"""Input and output of the goods-moving API."""

from ..api import UtcDateTime
from marshmallow import Schema, fields, validate

from ..fields import Integer
from ..inventory.schemas import KEY, NOTE, QTY, UNIT
from .services import RECEIPT_REASONS, LEGACY_REASONS


class TransferLineInputSchema(Schema):
    product_id = Integer(required=True)
    lot_id = Integer(load_default=None)
    qty = QTY
    unit = UNIT


class TransferInputSchema(Schema):
    from_facility_id = Integer(required=True)
    to_facility_id = Integer(required=True)
    lines = fields.List(fields.Nested(TransferLineInputSchema), required=True, validate=validate.Length(min=1, max=500))
    in_transit = fields.Bool(load_default=True, metadata={
        "description": "false: handed over in person, booked at the destination at once — only by a sender who may "
                       "sign for the destination (a township for its own villages, recorded as a proxy receipt); "
                       "into any other facility 422 `handover_not_allowed`: it signs for its goods itself"})
    note = NOTE
    idempotency_key = KEY


REASON_CHOICES = ["", *RECEIPT_REASONS, *LEGACY_REASONS]


class ReceiptLineSchema(Schema):
    """One line that arrived differing from what was sent, with a reason from the one receipt list."""

    line_id = Integer(required=True, metadata={"description": "a consignment line id"})
    qty_base_received = Integer(required=True, strict=True, validate=validate.Range(min=0, max=10_000_000))
    reason = fields.Str(load_default="", validate=validate.OneOf(REASON_CHOICES))
    note = NOTE


class TransferReceiptLineSchema(ReceiptLineSchema):
    line_id = Integer(required=True, metadata={"description": "a transfer line id"})


class TransferReceiveInputSchema(Schema):
    lines = fields.List(fields.Nested(TransferReceiptLineSchema), load_default=list,
                        metadata={"description": "Only the lines that differ from what was sent"})
    proxy_reason = fields.Str(load_default="", validate=validate.Length(max=500),
                              metadata={"description": "required when a township signs for one of its villages"})
    idempotency_key = KEY


class ConsignmentLineSchema(Schema):
    id = Integer()
    product_id = Integer()
    product_name = fields.Str(attribute="product.display_name")
    lot_id = Integer()
    lot_number = fields.Str(attribute="lot.lot_number")
    expiry_date = fields.Date(attribute="lot.expiry_date")
    qty_base = Integer()
    final_facility_id = Integer(allow_none=True)
    qty_base_received = Integer(allow_none=True)
    difference_reason = fields.Str()
    difference_note = fields.Str()
    transfer_line_id = Integer(allow_none=True)
    shortage_ids = fields.Method("_shortage_ids")

    def _shortage_ids(self, line):
        return [s.id for s in line.shortages]


class ProofOfDeliverySchema(Schema):
    signed_by_id = Integer(allow_none=True)
    signer_name = fields.Str()
    is_proxy = fields.Bool()
    proxy_reason = fields.Str()
    note = fields.Str()
    signed_at = UtcDateTime()


class ConsignmentLinksSchema(Schema):
    delivery_stop_id = Integer(allow_none=True, metadata={"description": "/api/v1/deliveries/stops/{id}"})
    delivery_run_id = Integer(allow_none=True, metadata={"description": "/api/v1/deliveries/{id}"})
    order_id = Integer(allow_none=True, metadata={"description": "/api/v1/orders/{id}"})
    shipment_id = Integer(allow_none=True, metadata={"description": "the order's shipment"})


class ConsignmentSchema(Schema):
    id = Integer()
    number = fields.Str()
    kind = fields.Str()
    status = fields.Str()
    source_id = Integer()
    source_name = fields.Str(attribute="source.name")
    destination_id = Integer()
    destination_name = fields.Str(attribute="destination.name")
    transfer_id = Integer(allow_none=True)
    expected_arrival_date = fields.Date(allow_none=True)
    dispatched_at = UtcDateTime(allow_none=True)
    note = fields.Str()
    lines = fields.List(fields.Nested(ConsignmentLineSchema))
    proof = fields.Nested(ProofOfDeliverySchema, allow_none=True)
    links = fields.Method("_links", metadata={"description": "what it is on the other side: a stop of a delivery "
                                                              "run (kind delivery) or an order's shipment"})

    def _links(self, consignment):
        from .links import link_of

        return ConsignmentLinksSchema().dump(link_of(consignment.id))


class ConsignmentQuerySchema(Schema):
    facility_id = Integer(required=True)
    direction = fields.Str(load_default="in", validate=validate.OneOf(["in", "out"]))
    status = fields.Str(load_default=None, validate=validate.OneOf(["planned", "dispatched", "received", "cancelled"]))


class ConsignmentReceiveInputSchema(Schema):
    lines = fields.List(fields.Nested(ReceiptLineSchema), load_default=list,
                        metadata={"description": "Only the lines that differ from what was sent"})
    signer_name = fields.Str(load_default="", validate=validate.Length(max=80))
    proxy_reason = fields.Str(load_default="", validate=validate.Length(max=500))
    note = NOTE
    idempotency_key = fields.Str(load_default="", validate=validate.Length(max=80))


class DispatchPolicySchema(Schema):
    near_expiry_days = Integer(metadata={"description": "a lot must stay usable this many days after it reaches "
                                                           "the facility it is meant for; stock expiring within it "
                                                           "is near expiry on stock status, alerts and reports"})
    shipment_transit_days = Integer(metadata={"description": "days a county→township shipment is on the road"})
    onward_delivery_days = Integer(metadata={"description": "longest wait at the township for a village's next "
                                                               "run, counted when a shipment carries village goods"})
    village_run_days = Integer(metadata={"description": "days a township→village run takes (arrives the day it "
                                                           "leaves)"})
