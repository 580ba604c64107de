"""API shapes for shortage registrations; input and output kept apart."""

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..api import UtcDateTime
from ..fields import Integer
from .models import ShortageReason, ShortageStatus, Urgency
from .services import MAX_NOTE_CHARS, MAX_QTY_PACKS


REQUIRED = "Missing data for required field."


class SaysWhatIsMissing(Schema):
    """A schema whose missing fields say in words what the user has to do (`missing_says`: field → message id),
    instead of a bare 必填: a page shows the message as it is, and the API sends the same words."""

    missing_says: dict[str, str] = {}

    def handle_error(self, error, data, **kwargs):
        if isinstance(error.messages, dict) and any(
                error.messages.get(name) == [REQUIRED] for name in self.missing_says):
            messages = {name: [_(self.missing_says[name])] if name in self.missing_says and said == [REQUIRED]
                        else said for name, said in error.messages.items()}
            raise ValidationError(messages, valid_data=error.valid_data) from None


class ShortageInputSchema(Schema):
    client_id = fields.Str(required=True, validate=validate.Length(min=8, max=64),
                           metadata={"description": "Generated on the device, the sender's own (per user and "
                                                    "facility): a resend with the same id and request is the same "
                                                    "registration (answered 200 instead of 201); the same id with "
                                                    "another request is 409 `idempotency_key_reused`."})
    facility_id = Integer(load_default=None, metadata={"description": "Default: the caller's facility"})
    product_id = Integer(load_default=None, allow_none=True)
    free_text = fields.Str(load_default="", validate=validate.Length(max=200),
                           metadata={"description": "The name typed when no product was picked"})
    qty_packs = Integer(required=True, strict=True, validate=validate.Range(min=1, max=MAX_QTY_PACKS))
    urgency = fields.Str(load_default=Urgency.ROUTINE.value, validate=validate.OneOf([u.value for u in Urgency]))
    reason = fields.Str(load_default=ShortageReason.OUT_OF_STOCK.value,
                        validate=validate.OneOf([r.value for r in ShortageReason]))
    note = fields.Str(load_default="", validate=validate.Length(max=MAX_NOTE_CHARS))
    client_created_at = UtcDateTime(load_default=None, allow_none=True)

    @validates_schema
    def product_or_text(self, data, **kwargs):
        if data.get("product_id") is None and not (data.get("free_text") or "").strip():
            raise ValidationError("Missing data for required field.", "product_id")


class ShortageQuerySchema(Schema):
    facility_id = Integer(load_default=None)
    status = fields.List(fields.Str(validate=validate.OneOf([s.value for s in ShortageStatus])), load_default=None)
    open = fields.Bool(load_default=False)
    mine = fields.Bool(load_default=False, metadata={"description": "Only what the caller registered"})
    limit = Integer(load_default=100, validate=validate.Range(min=1, max=500))

    def load(self, data, **kwargs):
        data = dict(data)
        if "status" in data and not isinstance(data["status"], list):
            data["status"] = [data["status"]]
        return super().load(data, **kwargs)


class GroupQuerySchema(Schema):
    facility_id = Integer(load_default=None, metadata={"description": "A township or village; default: all the "
                                                                         "caller may see"})


class NoteSchema(Schema):
    note = fields.Str(load_default="", validate=validate.Length(max=MAX_NOTE_CHARS))


class CancelSchema(SaysWhatIsMissing):
    missing_says = {"reason": "取消登记必须填写原因"}
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=MAX_NOTE_CHARS))


class TransitionSchema(Schema):
    status = fields.Str(required=True, validate=validate.OneOf([s.value for s in ShortageStatus]))
    note = fields.Str(load_default="", validate=validate.Length(max=MAX_NOTE_CHARS))


class EventSchema(Schema):
    id = Integer()
    from_status = fields.Str()
    to_status = fields.Str()
    stage = fields.Str()
    note = fields.Str()
    ref_type = fields.Str()
    ref_id = Integer(allow_none=True)
    user_id = Integer(allow_none=True)
    user = fields.Str(attribute="user.display_name", allow_none=True)
    created_at = UtcDateTime()


class ShortageSchema(Schema):
    id = Integer()
    client_id = fields.Str()
    facility_id = Integer()
    facility_name = fields.Str(attribute="facility.name")
    product_id = Integer(allow_none=True)
    product_code = fields.Str(attribute="product.code", allow_none=True)
    label = fields.Str(metadata={"description": "Product name, form and strength, or the free text"})
    pack_unit = fields.Str(attribute="product.pack_unit", allow_none=True)
    free_text = fields.Str()
    qty_packs = Integer()
    urgency = fields.Str()
    reason = fields.Str()
    note = fields.Str()
    status = fields.Str(metadata={"description": "registered and acknowledged are set by people; ordered, "
                                                 "dispatched and delivered follow the goods (see stage)"})
    stage = fields.Str(metadata={"description": "where the goods are: '' | on_order | upstream_transit (to the "
                                                "township) | at_upstream (at the township) | in_transit (to this "
                                                "facility) | delivered"})
    expected_arrival_date = fields.Date(allow_none=True)
    difference_note = fields.Str(metadata={"description": "what arrived short, when a receipt reopened it"})
    acknowledged_at = UtcDateTime(allow_none=True)
    cancel_reason = fields.Str()
    registered_by_id = Integer(allow_none=True)
    client_created_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()
    updated_at = UtcDateTime()
    delivered_at = UtcDateTime(allow_none=True)


class ShortageDetailSchema(ShortageSchema):
    events = fields.List(fields.Nested(EventSchema))


class GroupSchema(Schema):
    product_id = Integer(attribute="product.id", allow_none=True)
    label = fields.Str()
    total_packs = Integer()
    urgency = fields.Str(metadata={"description": "the most urgent of the group"})
    facility_count = Integer()
    earliest_at = UtcDateTime()
    shortages = fields.List(fields.Nested(ShortageSchema))


class PickItemSchema(Schema):
    id = Integer()
    name = fields.Str()
    form = fields.Str()
    strength = fields.Str()
    pack = fields.Str()
    pack_unit = fields.Str()
    initials = fields.Str()
    code = fields.Str()


class ProposalQuerySchema(Schema):
    text = fields.Str(required=True, validate=validate.Length(min=1, max=200),
                      metadata={"description": "The name as typed on the tablet"})
    facility_id = Integer(load_default=None, metadata={"description": "Where it is typed; default: the caller's "
                                                                         "facility"})

    @validates_schema
    def text_not_blank(self, data, **kwargs):
        if not (data.get("text") or "").strip():
            raise ValidationError("Missing data for required field.", "text")


class ProposedProductSchema(Schema):
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
    is_vbp = fields.Bool()
    score = fields.Float(metadata={"description": "0–100"})
    source = fields.Str(metadata={"description": "what recognised the name: generic, brand, local_confirmed, "
                                                 "pinyin, fuzzy …"})


class ProposalSchema(Schema):
    text = fields.Str()
    status = fields.Str(metadata={"description": "auto_matched (the first product is surely meant), needs_review "
                                                 "(one of them may be), no_match (no products)"})
    products = fields.List(fields.Nested(ProposedProductSchema), metadata={"description": "best first, at most 4"})


class FreeTextQuerySchema(Schema):
    facility_id = Integer(load_default=None, metadata={"description": "A township or village; default: all the "
                                                                         "caller may see"})
    limit = Integer(load_default=200, validate=validate.Range(min=1, max=500))


class FreeTextItemSchema(Schema):
    shortage = fields.Nested(ShortageSchema)
    status = fields.Str(metadata={"description": "the matching engine's status for the text"})
    proposals = fields.List(fields.Nested(ProposedProductSchema))


class ResolveProductSchema(SaysWhatIsMissing):
    missing_says = {"product_id": "请先选择药品"}
    product_id = Integer(required=True, strict=True, validate=validate.Range(min=1))
    learn_alias = fields.Bool(load_default=True, metadata={"description": "Remember the text as a local name of the "
                                                                          "registration's township, so it matches "
                                                                          "this product next time"})
    note = fields.Str(load_default="", validate=validate.Length(max=MAX_NOTE_CHARS))


class AcknowledgeManySchema(Schema):
    shortage_ids = fields.List(Integer(), required=True, validate=validate.Length(min=1, max=500))
    note = fields.Str(load_default="", validate=validate.Length(max=500))


class AcknowledgedSchema(Schema):
    acknowledged = Integer(metadata={"description": "how many moved from registered to acknowledged"})
