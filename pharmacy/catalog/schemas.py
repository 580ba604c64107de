"""API shapes for the formulary; input and output kept apart."""

from marshmallow import Schema, fields, post_load, validate

from ..api import UtcDateTime
from ..facilities.models import Tier
from ..fields import Integer, Money
from ..listing import PagingSchema, page_schema
from ..vocabulary import EditionChange
from .models import BASE_UNITS, CHRONIC_TAGS, INSURANCE_CLASSES, PACK_UNITS, ProductStatus


class DrugSchema(Schema):
    id = Integer()
    edition = fields.Str()
    code = fields.Str()
    eml_no = Integer(allow_none=True)
    category = fields.Str()
    class_path = fields.Str()
    class_paths = fields.List(fields.Str(), metadata={"description": "the class path, then those of a cross-listing"})
    generic_name = fields.Str()
    name_en = fields.Str()
    pinyin_initials = fields.Str()
    chronic_tags = fields.List(fields.Str(), attribute="chronic_tag_list")
    remarks = fields.Str()


class ProductSchema(Schema):
    id = Integer()
    edition = fields.Str()
    code = fields.Str()
    drug_id = Integer()
    generic_name = fields.Str(attribute="drug.generic_name")
    drug_code = fields.Str(attribute="drug.code")
    category = fields.Str(attribute="drug.category")
    class_path = fields.Str(attribute="drug.class_path")
    class_paths = fields.List(fields.Str(), attribute="drug.class_paths")
    pinyin_initials = fields.Str(attribute="drug.pinyin_initials")
    chronic_tags = fields.List(fields.Str(), attribute="drug.chronic_tag_list")
    dosage_form = fields.Str()
    strength = fields.Str()
    base_unit = fields.Str()
    pack_size = Integer()
    pack_unit = fields.Str()
    lowest_tier = fields.Str()
    vbp_batch = fields.Str()
    is_vbp = fields.Bool()
    insurance_class = fields.Str()
    unified_price = Money(as_string=True)
    status = fields.Str()
    remarks = fields.Str()
    edition_change = fields.Str(allow_none=True, metadata={
        "description": "the product's drug compared with the neighbouring edition: `added`, `removed`, "
                       "`strength_changed`, or null (lists only)"})
    # 医保 settlement (pharmacy/insurance)
    nhsa_code = fields.Str(allow_none=True)
    nhsa_generic_code = fields.Str()
    approval_no = fields.Str()
    manufacturer = fields.Str()


class ProductPageSchema(page_schema(ProductSchema, "ProductPageBase")):
    """One page of products: `items`, `total`, `page`, `per_page`, `has_next`."""

ANY_STATUS = "all"


class ProductQuerySchema(PagingSchema):
    """The formulary's filters, for its page and `GET /api/v1/catalog/products` alike."""

    q = fields.Str(load_default="", validate=validate.Length(max=100))
    class_path = fields.Str(load_default="", validate=validate.Length(max=255))
    category = fields.Str(load_default="")
    chronic = fields.Str(load_default="")
    vbp = fields.Bool(load_default=None, allow_none=True)
    status = fields.Str(load_default=ProductStatus.ACTIVE,
                        validate=validate.OneOf([s.value for s in ProductStatus] + ["", ANY_STATUS]),
                        metadata={"description": "a product status; empty or `all` for every status"})
    edition = fields.Str(load_default="", validate=validate.Length(max=8),
                         metadata={"description": "a list edition (`2018`, `2026`; products outside the list, of "
                                                  "another edition code, are kept too) or another edition code; "
                                                  "empty for every edition"})
    change = fields.Str(load_default="", validate=validate.OneOf([c.value for c in EditionChange] + [""]),
                        metadata={"description": "an edition badge: `added` (drug not in the previous edition), "
                                                 "`removed` (drug not in the next edition), `strength_changed` "
                                                 "(same drug, another set of strengths); compares `edition`, or "
                                                 "the edition in force when `edition` is empty"})

    @post_load
    def every_status(self, data, **kwargs):
        # A page drops empty fields, so its "every status" choice is sent as `all`.
        if data.get("status") == ANY_STATUS:
            data["status"] = ""
        data["q"] = data["q"].strip()
        return data


class ProductUpdateSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    unified_price = Money(validate=validate.Range(min=0), places=2)
    vbp_batch = fields.Str(validate=validate.Length(max=16))
    insurance_class = fields.Str(validate=validate.OneOf(INSURANCE_CLASSES))
    lowest_tier = fields.Str(validate=validate.OneOf([t.value for t in Tier]))
    pack_size = Integer(validate=validate.Range(min=1, max=100000))
    pack_unit = fields.Str(validate=validate.OneOf(PACK_UNITS))
    remarks = fields.Str(validate=validate.Length(max=2000))


class ReasonSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class StatusChangeSchema(ReasonSchema):
    """The product page's withdraw / reinstate form (the API has one endpoint for each)."""

    status = fields.Str(required=True, validate=validate.OneOf([s.value for s in ProductStatus]))


class ProductCreateSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    dosage_form = fields.Str(required=True, validate=validate.Length(min=1, max=40))
    strength = fields.Str(required=True, validate=validate.Length(min=1, max=120))
    base_unit = fields.Str(required=True, validate=validate.OneOf(BASE_UNITS))
    pack_size = Integer(required=True, validate=validate.Range(min=1, max=100000))
    pack_unit = fields.Str(required=True, validate=validate.OneOf(PACK_UNITS))
    unified_price = Money(required=True, validate=validate.Range(min=0), places=2)
    lowest_tier = fields.Str(load_default=Tier.VILLAGE.value, validate=validate.OneOf([t.value for t in Tier]))
    vbp_batch = fields.Str(load_default="", validate=validate.Length(max=16))
    insurance_class = fields.Str(load_default="", validate=validate.OneOf(INSURANCE_CLASSES))
    remarks = fields.Str(load_default="", validate=validate.Length(max=2000))


class ChangeSchema(Schema):
    id = Integer()
    entity = fields.Str()
    entity_code = fields.Str()
    action = fields.Str()
    field = fields.Str()
    old_value = fields.Str(allow_none=True)
    new_value = fields.Str(allow_none=True)
    reason = fields.Str()
    source = fields.Str()
    user = fields.Str(attribute="user.username", allow_none=True)
    created_at = UtcDateTime()


class ClassSchema(Schema):
    category = fields.Str()
    path = fields.Str()
    name = fields.Str()
    depth = Integer()
    count = Integer()


class ChronicTagsSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))
    chronic_tags = fields.List(fields.Str(validate=validate.OneOf(CHRONIC_TAGS)), required=True)


class EditionSettingInputSchema(Schema):
    """The county's choice of the edition in force (page form and `PUT /api/v1/catalog/edition` alike)."""

    edition = fields.Str(required=True, validate=validate.Length(min=1, max=8))
    effective_from = fields.Date(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=500))


class EditionSettingSchema(Schema):
    edition = fields.Str()
    effective_from = fields.Date()
    reason = fields.Str()
    set_by = fields.Str(attribute="set_by.username", allow_none=True)
    set_at = UtcDateTime()


class EditionsSchema(Schema):
    in_force = fields.Str(metadata={"description": "the edition in force today"})
    loaded = fields.List(fields.Str(), metadata={"description": "editions loaded, oldest first"})
    scheduled = fields.Nested(EditionSettingSchema, allow_none=True,
                              metadata={"description": "a choice whose date has not come yet"})
    history = fields.List(fields.Nested(EditionSettingSchema), metadata={"description": "the choices, latest first"})


class DrugGroupSchema(Schema):
    id = Integer()
    edition = fields.Str()
    code = fields.Str()
    eml_no = Integer(allow_none=True)
    category = fields.Str()
    class_path = fields.Str()
    name = fields.Str()
    remarks = fields.Str()


class GroupQuerySchema(Schema):
    edition = fields.Str(load_default="", validate=validate.Length(max=8),
                         metadata={"description": "a list edition; the edition in force when empty"})
