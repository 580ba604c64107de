"""API shapes for unified orders; input and output kept apart."""

import base64
import binascii

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from ..api import UtcDateTime
from ..fields import Integer
from ..operations import RowForm
from ..shortages.models import Urgency
from ..supply.schemas import REASON_CHOICES
from .models import OrderStatus
from .services import MAX_QTY_PACKS

URGENCIES = [u.value for u in Urgency]


# ---------------------------------------------------------------------------------------------- output


class OrderLineSchema(Schema):
    id = Integer()
    product_id = Integer()
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.display_name")
    pack_label = fields.Str(attribute="product.pack_label")
    pack_size = Integer(attribute="product.pack_size")
    base_unit = fields.Str(attribute="product.base_unit")
    lowest_tier = fields.Str(attribute="product.lowest_tier")
    is_vbp = fields.Bool(attribute="product.is_vbp")
    source = fields.Str()
    is_for_villages = fields.Bool()
    urgency = fields.Str()
    qty_packs = Integer()
    suggested_packs = Integer()
    shortage_packs = Integer()
    township_need_packs = Integer()
    village_need_packs = Integer()
    on_order_packs = Integer()
    note = fields.Str()
    status = fields.Str()
    qty_packs_approved = Integer(allow_none=True)
    approval_reason = fields.Str()
    qty_packs_allocated = Integer()
    qty_packs_backordered = Integer()
    allocation_rule = fields.Str()
    qty_base_shipped = Integer()
    qty_base_received = Integer()
    shortage_ids = fields.Method("get_shortage_ids")

    def get_shortage_ids(self, line):
        return [s.id for s in line.shortages]


class ShipmentLineSchema(Schema):
    id = Integer()
    order_line_id = Integer(attribute="ref_id", allow_none=True)
    product_id = Integer()
    product_code = fields.Str(attribute="product.code")
    lot_number = fields.Str(attribute="lot.lot_number")
    expiry_date = fields.Date(attribute="lot.expiry_date")
    qty_base_sent = Integer()
    qty_base_received = Integer(allow_none=True)
    discrepancy_reason = fields.Str()
    discrepancy_note = fields.Str()


class OrderShipmentSchema(Schema):
    id = Integer()
    order_id = Integer()
    transfer_id = Integer()
    consignment_id = Integer()
    status = fields.Str()
    shipped_at = UtcDateTime()
    received_at = UtcDateTime(allow_none=True)
    lines = fields.List(fields.Nested(ShipmentLineSchema), attribute="transfer.lines")


class OrderSummarySchema(Schema):
    id = Integer()
    number = fields.Str()
    facility_id = Integer()
    facility_name = fields.Str(attribute="facility.name")
    status = fields.Str()
    note = fields.Str()
    has_emergency = fields.Bool()
    backordered_packs = Integer()
    line_count = fields.Function(lambda order: len(order.lines))
    submitted_at = UtcDateTime(allow_none=True)
    approved_at = UtcDateTime(allow_none=True)
    allocated_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class OrderSchema(OrderSummarySchema):
    lines = fields.List(fields.Nested(OrderLineSchema))
    shipments = fields.List(fields.Nested(OrderShipmentSchema))


class OrderImportResultSchema(Schema):
    order = fields.Nested(OrderSchema)
    imported_rows = Integer()


# ---------------------------------------------------------------------------------------------- input


class OrderQuerySchema(Schema):
    status = fields.Str(load_default=None, validate=validate.OneOf([s.value for s in OrderStatus]))
    facility_id = Integer(load_default=None)


class OrderDraftInputSchema(Schema):
    facility_id = Integer(load_default=None)


class OrderLineCreateSchema(Schema):
    product_id = Integer(required=True)
    qty_packs = Integer(required=True, validate=validate.Range(min=0, max=MAX_QTY_PACKS))
    is_for_villages = fields.Bool(load_default=False)
    urgency = fields.Str(load_default="routine", validate=validate.OneOf(URGENCIES))
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class OrderLineUpdateSchema(Schema):
    qty_packs = Integer(validate=validate.Range(min=0, max=MAX_QTY_PACKS))
    is_for_villages = fields.Bool()
    urgency = fields.Str(validate=validate.OneOf(URGENCIES))
    note = fields.Str(validate=validate.Length(max=500))


class OrderLineApprovalSchema(Schema):
    qty_packs = Integer(required=True, validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    reason = fields.Str(load_default="", validate=validate.Length(max=500))


class OrderReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class OrderAllocateSchema(Schema):
    order_ids = fields.List(Integer(), required=True, validate=validate.Length(min=1, max=500))


class OrderShipSchema(Schema):
    key = fields.Str(load_default=None, validate=validate.Length(min=1, max=80))


class ShipmentReceiptLineSchema(Schema):
    transfer_line_id = Integer(required=True)
    qty_base = Integer(required=True, validate=validate.Range(min=0))
    reason = fields.Str(load_default="", validate=validate.OneOf(REASON_CHOICES))
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class ShipmentReceiptSchema(Schema):
    lines = fields.List(fields.Nested(ShipmentReceiptLineSchema), load_default=list)


class OrderBackorderSchema(Schema):
    order_id = Integer()
    order_number = fields.Str(attribute="order.number")
    facility_name = fields.Str(attribute="order.facility.name")
    line_id = Integer(attribute="id")
    product_id = Integer()
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.display_name")
    urgency = fields.Str()
    qty_packs_approved = Integer(allow_none=True)
    qty_packs_allocated = Integer()
    qty_packs_backordered = Integer()


# ---------------------------------------------------------------------------------------------- page forms
# The order pages name a line's inputs <field>_<line id> (qty_12, urgency_12, reason_12) and an import row's pick
# pick_<row>; these forms read them into the commands the operations take, with the same validation as the API.

QTY_IS_WHOLE = {"invalid": _l("数量必须是整数")}


class LineChangeSchema(Schema):
    line_id = Integer(required=True)
    qty_packs = Integer(validate=validate.Range(min=0, max=MAX_QTY_PACKS), error_messages=QTY_IS_WHOLE)
    urgency = fields.Str(validate=validate.OneOf(URGENCIES))


class PickSchema(Schema):
    row = Integer(required=True)
    product_id = Integer(required=True, error_messages={"invalid": _l("应为整数")})


class Upload(fields.Field):
    """An uploaded file (multipart field) as its bytes; no file chosen is none."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or not getattr(value, "filename", ""):
            return None
        if not hasattr(value, "read"):
            raise ValidationError(_("无法读取文件：请上传 Excel（.xlsx）文件"))
        return value.read()


class CarriedFile(fields.Str):
    """The spreadsheet a refused import carried back to the page (base64), so a pick needs no new upload."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValidationError(_("无法读取文件：请上传 Excel（.xlsx）文件")) from None


class DraftEditSchema(Schema):
    """The builder's unsaved edits: save, submit, add and import carry them."""

    lines = fields.List(fields.Nested(LineChangeSchema), load_default=list)


class DraftLineAddSchema(DraftEditSchema):
    """The builder's add-a-line form (with the table's unsaved edits)."""

    product_id = Integer(load_default=None)
    qty_packs = Integer(load_default=0, validate=validate.Range(min=0, max=MAX_QTY_PACKS),
                           error_messages=QTY_IS_WHOLE)
    is_for_villages = fields.Bool(load_default=False)
    urgency = fields.Str(load_default="routine", validate=validate.OneOf(URGENCIES))
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class OrderImportSchema(DraftEditSchema):
    """An XLSX import, new draft or into a draft: the file (or the one carried back), the picks that settle rows
    fitting several products ({row, product_id}), and for a draft the table's unsaved edits."""

    facility_id = Integer(load_default=None)
    file = Upload(load_default=None)
    carried_file = CarriedFile(load_default=None)
    picks = fields.List(fields.Nested(PickSchema), load_default=list)


class ReviewDecisionSchema(Schema):
    line_id = Integer(required=True)
    qty_packs = Integer(validate=validate.Range(min=0, max=MAX_QTY_PACKS), error_messages=QTY_IS_WHOLE)
    reason = fields.Str(load_default="", validate=validate.Length(max=500))
    reject = fields.Bool(load_default=False)


class OrderReviewSchema(Schema):
    decisions = fields.List(fields.Nested(ReviewDecisionSchema), load_default=list)


class OrderReasonFormSchema(Schema):
    """A page's reason field: an empty reason is refused by the rule, with its own message."""

    reason = fields.Str(load_default="", validate=validate.Length(max=500))


class OrderAllocateFormSchema(Schema):
    order_ids = fields.List(Integer(), required=True, data_key="order_id",
                            validate=validate.Length(min=1, max=500))


class DraftEditForm(RowForm):
    families = {"lines": ("line_id", {"qty": "qty_packs", "urgency": "urgency"})}
    schema = DraftEditSchema


class DraftLineAddForm(DraftEditForm):
    scalars = ("product_id", "qty_packs", "is_for_villages", "urgency", "note")
    schema = DraftLineAddSchema


class OrderImportForm(DraftEditForm):
    """Page and API alike: multipart with `file` (or `carried_file`), `pick_<row>`, and qty_/urgency_<line id>."""

    families = {**DraftEditForm.families, "picks": ("row", {"pick": "product_id"})}
    scalars = ("facility_id", "carried_file")
    schema = OrderImportSchema


class OrderReviewForm(RowForm):
    families = {"decisions": ("line_id", {"qty": "qty_packs", "reason": "reason", "reject": "reject"})}
    schema = OrderReviewSchema


class ShipmentReceiptForm(RowForm):
    """The township's receipt page: qty_<transfer line id>, reason_<id>, note_<id>."""

    families = {"lines": ("transfer_line_id", {"qty": "qty_base", "reason": "reason", "note": "note"})}
    schema = ShipmentReceiptSchema

    def keep_row(self, family, row):
        return "qty_base" in row
