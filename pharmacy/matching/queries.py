"""Reads for the matching pages and API: imports in the user's scope and their local drugs, ready to show."""

from sqlalchemy import case, func, select
from sqlalchemy.orm import joinedload

from ..auth.policy import visible_facility_ids
from ..extensions import db
from ..listing import ListQuery
from .models import DictionaryImport, LocalDrug, MatchStatus
from .schemas import LocalDrugQuerySchema, ReviewQuerySchema
from .services import candidate_products

PAGE_SIZE = 50
REVIEW_PAGE_SIZE = 25
EXPORT_BATCH = 500


def imports_in_scope(user, limit: int = 100) -> list[dict]:
    """Recent dictionary imports of the facilities the user may see, with their counts per status."""
    counts = {status: func.sum(case((LocalDrug.status == status, 1), else_=0)) for status in MatchStatus}
    stmt = (select(DictionaryImport, *counts.values())
            .outerjoin(LocalDrug, LocalDrug.import_id == DictionaryImport.id)
            .where(DictionaryImport.facility_id.in_(visible_facility_ids(user)))
            .group_by(DictionaryImport.id)
            .order_by(DictionaryImport.created_at.desc(), DictionaryImport.id.desc()).limit(limit)
            .options(joinedload(DictionaryImport.facility), joinedload(DictionaryImport.created_by)))
    out = []
    for record, *numbers in db.session.execute(stmt).unique():
        out.append({"record": record, "counts": {s.value: int(n or 0) for s, n in zip(counts, numbers, strict=True)}})
    return out


def local_drug_query(import_id: int, status: str = "", q: str = ""):
    stmt = select(LocalDrug).where(LocalDrug.import_id == import_id)
    if status:
        stmt = stmt.where(LocalDrug.status == status)
    if q:
        stmt = stmt.where(LocalDrug.local_name.contains(q.strip()))
    return stmt.order_by(LocalDrug.row_no).options(joinedload(LocalDrug.decided_by))


def _import_rows(user, filters: dict):
    return local_drug_query(filters["import_id"], filters.get("status", ""), filters.get("q", ""))


# An import's rows (its page and `GET …/imports/<id>/local-drugs`) and its review queue; the caller adds the
# `import_id` of an import it loaded in scope to the filters.
LOCAL_DRUGS = ListQuery(LocalDrugQuerySchema, _import_rows, per_page=PAGE_SIZE)
REVIEW_QUEUE = ListQuery(ReviewQuerySchema, _import_rows, per_page=REVIEW_PAGE_SIZE)


def presented_batches(import_id: int):
    """Every row of an import in order, presented (see `present`), in batches streamed from the database."""
    rows = db.session.scalars(local_drug_query(import_id)).yield_per(EXPORT_BATCH)
    for batch in rows.partitions():
        yield present(list(batch))


def present(locals_: list[LocalDrug]) -> list[dict]:
    """Each local drug with its candidates as products (code, name, form, strength, score), one query."""
    products = candidate_products(locals_)
    rows = []
    for local in locals_:
        candidates = []
        for candidate in local.candidates or []:
            product = products.get(candidate["product_id"])
            if product is not None:
                candidates.append({"product": product, "score": candidate["score"],
                                   "source": candidate.get("source", "")})
        rows.append({"local": local, "product": products.get(local.product_id) if local.product_id else None,
                     "candidates": candidates})
    return rows
