"""Reads of the formulary: the product list its page, API and export share."""

from ..extensions import db
from ..listing import ListQuery
from .schemas import ProductQuerySchema
from .services import product_query

EXPORT_BATCH = 500

PRODUCTS = ListQuery(ProductQuerySchema, lambda user, filters: product_query(**filters), per_page=50)


def export_rows(filters: dict):
    """Every product the filters select, one row per product, streamed from the database in batches."""
    filters = {key: value for key, value in filters.items() if key not in ("page", "per_page")}
    for p in db.session.scalars(product_query(**filters)).yield_per(EXPORT_BATCH):
        d = p.drug
        yield [p.code, d.code, d.eml_no, d.category, d.class_path, d.generic_name, d.pinyin_initials, p.dosage_form,
               p.strength, p.base_unit, p.pack_size, p.pack_unit, p.lowest_tier, p.vbp_batch, p.insurance_class,
               p.unified_price, p.status, d.chronic_tags, p.edition]
