"""API shapes for purchasing; input and output kept apart."""

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, pre_load, validate

from ..api import UtcDateTime
from ..fields import ExpiryDate, Integer, Money, blank_is_missing
from ..operations import RowForm
from .services import MAX_QTY_PACKS


class SupplierProductSchema(Schema):
    product_id = Integer()
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.display_name")
    is_vbp = fields.Bool(attribute="product.is_vbp")
    unit_price = Money(as_string=True)


class SupplierSchema(Schema):
    id = Integer()
    code = fields.Str()
    name = fields.Str()
    contact = fields.Str()
    phone = fields.Str()
    address = fields.Str()
    is_active = fields.Bool()
    products = fields.List(fields.Nested(SupplierProductSchema))


class SupplierInputSchema(Schema):
    code = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    contact = fields.Str(load_default="", validate=validate.Length(max=80))
    phone = fields.Str(load_default="", validate=validate.Length(max=40))
    address = fields.Str(load_default="", validate=validate.Length(max=255))


class SupplierUpdateSchema(Schema):
    name = fields.Str(validate=validate.Length(min=1, max=120))
    contact = fields.Str(validate=validate.Length(max=80))
    phone = fields.Str(validate=validate.Length(max=40))
    address = fields.Str(validate=validate.Length(max=255))
    is_active = fields.Bool()


class SupplierPriceSchema(Schema):
    unit_price = Money(required=True, places=2, validate=validate.Range(min=0))


class PurchaseLineSchema(Schema):
    id = Integer()
    product_id = Integer()
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.display_name")
    pack_label = fields.Str(attribute="product.pack_label")
    is_vbp = fields.Bool()
    qty_packs = Integer()
    unit_price = Money(as_string=True)
    amount = Money(as_string=True)
    backordered_packs = Integer()
    qty_packs_received = Integer()


class GoodsReceiptLineSchema(Schema):
    id = Integer()
    purchase_order_line_id = Integer()
    lot_id = Integer()
    lot_number = fields.Str(attribute="lot.lot_number")
    expiry_date = fields.Date(attribute="lot.expiry_date")
    qty_packs = Integer()
    qty_base = Integer()


class GoodsReceiptSchema(Schema):
    id = Integer()
    purchase_order_id = Integer()
    idempotency_key = fields.Str()
    note = fields.Str()
    received_at = UtcDateTime()
    lines = fields.List(fields.Nested(GoodsReceiptLineSchema))


class PurchaseOrderSchema(Schema):
    id = Integer()
    number = fields.Str()
    supplier_id = Integer()
    supplier_name = fields.Str(attribute="supplier.name")
    facility_id = Integer()
    status = fields.Str()
    note = fields.Str()
    total_amount = Money(as_string=True)
    confirmed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    lines = fields.List(fields.Nested(PurchaseLineSchema))
    receipts = fields.List(fields.Nested(GoodsReceiptSchema))


class PurchaseNeedSchema(Schema):
    product_id = Integer(attribute="product.id")
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.display_name")
    is_vbp = fields.Bool(attribute="product.is_vbp")
    backordered_packs = Integer()
    on_purchase_packs = Integer()
    to_buy_packs = Integer()


class PurchaseProposalResultSchema(Schema):
    purchase_orders = fields.List(fields.Nested(PurchaseOrderSchema))
    without_supplier = fields.List(fields.Nested(PurchaseNeedSchema))


class PurchaseQuerySchema(Schema):
    status = fields.Str(load_default=None)


class PurchaseLineAddSchema(Schema):
    product_id = Integer(required=True)
    qty_packs = Integer(required=True, validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    unit_price = Money(load_default=None, places=2, validate=validate.Range(min=0))


class PurchaseLineChangeSchema(Schema):
    qty_packs = Integer(validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    unit_price = Money(places=2, validate=validate.Range(min=0))


class PurchaseReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))



class GoodsReceiptLineInputSchema(Schema):
    purchase_order_line_id = Integer(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    expiry_date = ExpiryDate(required=True, metadata={"description": "YYYY-MM-DD"})
    qty_packs = Integer(required=True, validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    manufacturer = fields.Str(load_default="", validate=validate.Length(max=120))

    @pre_load
    def _blank_is_missing(self, data, **kwargs):
        return blank_is_missing(data)


class GoodsReceiptInputSchema(Schema):
    key = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    note = fields.Str(load_default="", validate=validate.Length(max=500))
    lines = fields.List(fields.Nested(GoodsReceiptLineInputSchema), required=True,
                        validate=validate.Length(min=1, error=_l("到货单没有明细")))


# ---------------------------------------------------------------------------------------------- page forms
# The purchase-order page names a line's fields <field>_<line id>; these schemas read them into the API's command
# (the same validation) and name a refusal by the form's fields, so the page marks the very input.

class GoodsReceiptForm(RowForm):
    """The receipt form: qty_<id>, lot_<id>, expiry_<id>, manufacturer_<id> per open line, with key and note; a
    line with no quantity or 0 is not received this time."""

    families = {"lines": ("purchase_order_line_id", {"qty": "qty_packs", "lot": "lot_number",
                                                     "expiry": "expiry_date", "manufacturer": "manufacturer"})}
    scalars = ("key", "note")
    schema = GoodsReceiptInputSchema

    def keep_row(self, family, row):
        return str(row.get("qty_packs", "")).strip() not in ("", "0")


class PurchaseLineEditSchema(Schema):
    line_id = Integer(required=True)
    qty_packs = Integer(validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    unit_price = Money(places=2, validate=validate.Range(min=0))


class PurchaseLinesEditSchema(Schema):
    lines = fields.List(fields.Nested(PurchaseLineEditSchema), load_default=list)


class PurchaseLinesForm(RowForm):
    """The proposal's save button: qty_<id> and price_<id> of every line."""

    families = {"lines": ("line_id", {"qty": "qty_packs", "price": "unit_price"})}
    schema = PurchaseLinesEditSchema


class PurchaseLineByCodeSchema(Schema):
    """The page's add-a-line form: the product by its code."""

    product_code = fields.Str(required=True, validate=validate.Length(min=1, max=24))
    qty_packs = Integer(required=True, validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    unit_price = Money(load_default=None, places=2, validate=validate.Range(min=0))


class SupplierPriceByCodeSchema(Schema):
    """The suppliers page's price form: the product by its code."""

    product_code = fields.Str(required=True, validate=validate.Length(min=1, max=24))
    unit_price = Money(required=True, places=2, validate=validate.Range(min=0))
