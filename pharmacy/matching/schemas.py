"""API shapes for matching and search; input and output kept apart."""

from marshmallow import Schema, fields, validate

from ..api import UtcDateTime
from ..fields import Integer, Money
from ..listing import PagingSchema, page_schema
from .models import MatchStatus


class FacilityRefField(fields.Str):
    """A facility given by id or by code."""


class SearchQuerySchema(Schema):
    q = fields.Str(required=True, validate=validate.Length(min=1, max=60))
    facility = FacilityRefField(load_default=None, allow_none=True, validate=validate.Length(max=32))
    limit = Integer(load_default=10, validate=validate.Range(min=1, max=50))


class ProductBriefSchema(Schema):
    id = Integer()
    code = fields.Str()
    generic_name = fields.Str(attribute="drug.generic_name")
    dosage_form = fields.Str()
    strength = fields.Str()
    base_unit = fields.Str()
    pack_label = fields.Str()
    lowest_tier = fields.Str()
    vbp_batch = fields.Str()
    unified_price = Money(as_string=True)


class SearchResultSchema(Schema):
    product_id = Integer()
    id = Integer(metadata={"description": "the same as product_id"})
    code = fields.Str()
    generic_name = fields.Str()
    dosage_form = fields.Str()
    strength = fields.Str()
    pack_label = fields.Str()
    pack_size = Integer()
    pack_unit = fields.Str()
    base_unit = fields.Str()
    lowest_tier = fields.Str()
    vbp_batch = fields.Str()
    is_vbp = fields.Bool()
    score = fields.Float()
    matched = fields.Str(metadata={"description": "the spelling that matched: a generic name, brand, alias, initials"})
    edition = fields.Str(metadata={"description": "the list edition of the product"})
    is_other_edition = fields.Bool(metadata={
        "description": "a product of another edition than the one in force, offered because the facility still "
                       "holds it"})


class ImportSchema(Schema):
    id = Integer()
    facility_id = Integer()
    facility_code = fields.Str(attribute="facility.code")
    facility_name = fields.Str(attribute="facility.name")
    filename = fields.Str()
    file_format = fields.Str()
    encoding = fields.Str()
    row_count = Integer()
    problems = fields.List(fields.Dict())
    created_by = fields.Str(attribute="created_by.username", allow_none=True)
    created_at = UtcDateTime()
    counts = fields.Dict(keys=fields.Str(), values=Integer())


class ImportUploadSchema(Schema):
    facility = FacilityRefField(load_default=None, allow_none=True, validate=validate.Length(max=32),
                                metadata={"description": "id or code of the facility (default: the caller's)"})
    facility_id = Integer(load_default=None, allow_none=True,
                             metadata={"description": "the facility's id (the page's form sends this one)"})


class CandidateSchema(Schema):
    product = fields.Nested(ProductBriefSchema)
    score = fields.Float()
    source = fields.Str()


class LocalDrugSchema(Schema):
    id = Integer(attribute="local.id")
    import_id = Integer(attribute="local.import_id")
    row_no = Integer(attribute="local.row_no")
    local_code = fields.Str(attribute="local.local_code")
    local_name = fields.Str(attribute="local.local_name")
    spec = fields.Str(attribute="local.spec")
    manufacturer = fields.Str(attribute="local.manufacturer")
    unit = fields.Str(attribute="local.unit")
    parsed_drug = fields.Str(attribute="local.parsed_drug")
    parsed_form = fields.Str(attribute="local.parsed_form")
    parsed_strength = fields.Str(attribute="local.parsed_strength")
    parsed_pack = fields.Str(attribute="local.parsed_pack")
    status = fields.Str(attribute="local.status")
    score = fields.Float(attribute="local.score")
    source = fields.Str(attribute="local.source")
    reason = fields.Str(attribute="local.reason")
    issue = fields.Str(attribute="local.issue")
    product = fields.Nested(ProductBriefSchema, allow_none=True)
    candidates = fields.List(fields.Nested(CandidateSchema))
    decided_by = fields.Str(attribute="local.decided_by.username", allow_none=True)
    decided_at = UtcDateTime(attribute="local.decided_at", allow_none=True)


class LocalDrugPageSchema(page_schema(LocalDrugSchema, "LocalDrugPageBase")):
    """One page of an import's local drugs: `items`, `total`, `page`, `per_page`, `has_next`."""


class LocalDrugQuerySchema(PagingSchema):
    """The filters of an import's rows: its page and `GET …/imports/<id>/local-drugs`."""

    status = fields.Str(load_default="", validate=validate.OneOf([s.value for s in MatchStatus] + [""]))
    q = fields.Str(load_default="", validate=validate.Length(max=100))


class ReviewQuerySchema(PagingSchema):
    """The review queue: the rows the machine was unsure of (needs_review) or found nothing for (no_match)."""

    status = fields.Str(load_default=MatchStatus.NEEDS_REVIEW.value,
                        validate=validate.OneOf([MatchStatus.NEEDS_REVIEW.value, MatchStatus.NO_MATCH.value]))


class ConfirmSchema(Schema):
    product_id = Integer(required=True)
    county_wide = fields.Bool(load_default=False)
    note = fields.Str(load_default="", validate=validate.Length(max=255))


class RejectSchema(Schema):
    note = fields.Str(load_default="", validate=validate.Length(max=255))


class BulkConfirmSchema(Schema):
    min_score = fields.Float(required=True, validate=validate.Range(min=0, max=100))


class BulkConfirmResultSchema(Schema):
    confirmed = Integer()


class MatchRequestSchema(Schema):
    names = fields.List(fields.Str(validate=validate.Length(min=1, max=200)), required=True,
                        validate=validate.Length(min=1, max=500))
    facility = FacilityRefField(load_default=None, allow_none=True, validate=validate.Length(max=32))


class MatchResultSchema(Schema):
    input = fields.Str()
    status = fields.Str()
    score = fields.Float()
    product = fields.Nested(ProductBriefSchema, allow_none=True)
    candidates = fields.List(fields.Nested(CandidateSchema))
    parsed_drug = fields.Str()
    parsed_form = fields.Str()
    parsed_strength = fields.Str()
