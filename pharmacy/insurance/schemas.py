"""API shapes for 医保药品代码; input and output kept apart."""

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates

from ..api import UtcDateTime
from ..fields import Integer
from ..listing import PagingSchema, page_schema
from ..vocabulary import NhsaRowStatus
from .codes import approval_problem, clean_approval, clean_code, nhsa_code_problem


class ProductCodesSchema(Schema):
    """Set a product's 医保 fields by hand (the code's generic-level part is derived from it)."""

    nhsa_code = fields.Str(required=True, metadata={"description": "the 23-character 医保药品代码"})
    approval_no = fields.Str(load_default="", metadata={"description": "批准文号, e.g. 国药准字H20000001"})
    manufacturer = fields.Str(load_default="", validate=validate.Length(max=120))
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))

    @pre_load
    def clean(self, data, **_kwargs):
        data = dict(data)
        if isinstance(data.get("nhsa_code"), str):
            data["nhsa_code"] = clean_code(data["nhsa_code"])
        if isinstance(data.get("approval_no"), str):
            data["approval_no"] = clean_approval(data["approval_no"])
        if isinstance(data.get("manufacturer"), str):
            data["manufacturer"] = data["manufacturer"].strip()
        return data

    @validates("nhsa_code")
    def check_code(self, value, **_kwargs):
        problem = nhsa_code_problem(value)
        if problem:
            raise ValidationError(_(problem, n=len(value)))

    @validates("approval_no")
    def check_approval(self, value, **_kwargs):
        if value and approval_problem(value):
            raise ValidationError(_(approval_problem(value)))


class ConfirmSchema(Schema):
    product_id = Integer(required=True)


class ProductBriefSchema(Schema):
    id = Integer()
    code = fields.Str()
    generic_name = fields.Str(attribute="drug.generic_name")
    dosage_form = fields.Str()
    strength = fields.Str()
    pack_label = fields.Str()
    manufacturer = fields.Str()
    nhsa_code = fields.Str(allow_none=True)


class ProductCodesOutSchema(ProductBriefSchema):
    nhsa_generic_code = fields.Str()
    approval_no = fields.Str()


class CandidateSchema(Schema):
    product = fields.Nested(ProductBriefSchema)
    score = fields.Float()


class RowSchema(Schema):
    id = Integer()
    import_id = Integer()
    row_no = Integer()
    nhsa_code = fields.Str()
    registered_name = fields.Str()
    trade_name = fields.Str()
    dosage_form = fields.Str()
    spec = fields.Str()
    pack_qty = Integer(allow_none=True)
    manufacturer = fields.Str()
    approval_no = fields.Str()
    insurance_class = fields.Str()
    status = fields.Str()
    score = fields.Float()
    reason = fields.Str()
    product = fields.Nested(ProductBriefSchema, allow_none=True)
    candidates = fields.List(fields.Nested(CandidateSchema))
    decided_at = UtcDateTime(allow_none=True)


class ImportSchema(Schema):
    id = Integer()
    filename = fields.Str()
    file_format = fields.Str()
    encoding = fields.Str()
    row_count = Integer()
    created_at = UtcDateTime()
    counts = fields.Dict(keys=fields.Str(), values=Integer())


class RowQuerySchema(PagingSchema):
    status = fields.Str(load_default="needs_review",
                        validate=validate.OneOf([s.value for s in NhsaRowStatus] + ["all"]))


class UncodedQuerySchema(PagingSchema):
    q = fields.Str(load_default="", validate=validate.Length(max=60))


class UncodedSchema(Schema):
    product = fields.Nested(ProductBriefSchema)
    on_hand_base = Integer()


RowPageSchema = page_schema(RowSchema, "NhsaRowPageSchema")
UncodedPageSchema = page_schema(UncodedSchema, "UncodedProductPageSchema")
