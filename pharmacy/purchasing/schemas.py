"""API shapes for purchasing; input and output kept apart."""

from marshmallow import Schema, fields, validate

from ..api import UtcDateTime
from .services import MAX_QTY_PACKS


class SupplierProductSchema(Schema):
    product_id = fields.Int()
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.display_name")
    is_vbp = fields.Bool(attribute="product.is_vbp")
    unit_price = fields.Decimal(as_string=True)


class SupplierSchema(Schema):
    id = fields.Int()
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
    unit_price = fields.Decimal(required=True, places=2, validate=validate.Range(min=0))


class PurchaseLineSchema(Schema):
    id = fields.Int()
    product_id = fields.Int()
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.display_name")
    pack_label = fields.Str(attribute="product.pack_label")
    is_vbp = fields.Bool()
    qty_packs = fields.Int()
    unit_price = fields.Decimal(as_string=True)
    amount = fields.Decimal(as_string=True)
    backordered_packs = fields.Int()
    qty_packs_received = fields.Int()


class GoodsReceiptLineSchema(Schema):
    id = fields.Int()
    purchase_order_line_id = fields.Int()
    lot_id = fields.Int()
    lot_number = fields.Str(attribute="lot.lot_number")
    expiry_date = fields.Date(attribute="lot.expiry_date")
    qty_packs = fields.Int()
    qty_base = fields.Int()


class GoodsReceiptSchema(Schema):
    id = fields.Int()
    purchase_order_id = fields.Int()
    idempotency_key = fields.Str()
    note = fields.Str()
    received_at = UtcDateTime()
    lines = fields.List(fields.Nested(GoodsReceiptLineSchema))


class PurchaseOrderSchema(Schema):
    id = fields.Int()
    number = fields.Str()
    supplier_id = fields.Int()
    supplier_name = fields.Str(attribute="supplier.name")
    facility_id = fields.Int()
    status = fields.Str()
    note = fields.Str()
    total_amount = fields.Decimal(as_string=True)
    confirmed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    lines = fields.List(fields.Nested(PurchaseLineSchema))
    receipts = fields.List(fields.Nested(GoodsReceiptSchema))


class PurchaseNeedSchema(Schema):
    product_id = fields.Int(attribute="product.id")
    product_code = fields.Str(attribute="product.code")
    product_name = fields.Str(attribute="product.display_name")
    is_vbp = fields.Bool(attribute="product.is_vbp")
    backordered_packs = fields.Int()
    on_purchase_packs = fields.Int()
    to_buy_packs = fields.Int()


class PurchaseProposalResultSchema(Schema):
    purchase_orders = fields.List(fields.Nested(PurchaseOrderSchema))
    without_supplier = fields.List(fields.Nested(PurchaseNeedSchema))


class PurchaseQuerySchema(Schema):
    status = fields.Str(load_default=None)


class PurchaseLineAddSchema(Schema):
    product_id = fields.Int(required=True)
    qty_packs = fields.Int(required=True, validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    unit_price = fields.Decimal(load_default=None, places=2, validate=validate.Range(min=0))


class PurchaseLineChangeSchema(Schema):
    qty_packs = fields.Int(validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    unit_price = fields.Decimal(places=2, validate=validate.Range(min=0))


class PurchaseReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class GoodsReceiptLineInputSchema(Schema):
    purchase_order_line_id = fields.Int(required=True)
    lot_number = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    expiry_date = fields.Date(required=True)
    qty_packs = fields.Int(required=True, validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    manufacturer = fields.Str(load_default="", validate=validate.Length(max=120))


class GoodsReceiptInputSchema(Schema):
    key = fields.Str(required=True, validate=validate.Length(min=1, max=80))
    note = fields.Str(load_default="", validate=validate.Length(max=500))
    lines = fields.List(fields.Nested(GoodsReceiptLineInputSchema), required=True, validate=validate.Length(min=1))
