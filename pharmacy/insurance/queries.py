"""Reads for 医保药品代码: an import's rows, recent imports, the products still without a code."""

from sqlalchemy import select

from ..extensions import db
from ..listing import ListQuery
from .models import UNDECIDED, NhsaImport, NhsaRow
from .schemas import RowQuerySchema, UncodedQuerySchema
from .services import candidate_products, status_counts, uncoded_products_query


def _rows(_user, filters: dict):
    stmt = select(NhsaRow).where(NhsaRow.import_id == filters["import_id"]).order_by(NhsaRow.row_no)
    status = filters.get("status", "needs_review")
    if status == "needs_review":
        stmt = stmt.where(NhsaRow.status.in_(UNDECIDED))
    elif status != "all":
        stmt = stmt.where(NhsaRow.status == status)
    return stmt


ROWS = ListQuery(RowQuerySchema, _rows, per_page=50)
UNCODED = ListQuery(UncodedQuerySchema, lambda _user, f: uncoded_products_query(f.get("q", "")), per_page=100,
                    scalars=False)


def present(rows: list[NhsaRow]) -> list[dict]:
    """Rows with their product and candidates loaded, as pages and the API show them."""
    products = candidate_products(rows)
    out = []
    for row in rows:
        out.append({**{c: getattr(row, c) for c in ("id", "import_id", "row_no", "nhsa_code", "registered_name",
                                                     "trade_name", "dosage_form", "spec", "pack_qty", "manufacturer",
                                                     "approval_no", "insurance_class", "status", "score", "reason",
                                                     "decided_at", "packaging_material", "min_unit", "pack_unit")},
                    "row": row, "product": products.get(row.product_id),
                    "candidates": [{"product": products[pid], "score": score}
                                   for pid, score in row.candidates if pid in products]})
    return out


def recent_imports(limit: int = 20) -> list[dict]:
    records = db.session.scalars(select(NhsaImport).order_by(NhsaImport.id.desc()).limit(limit))
    return [summary(record) for record in records]


def summary(record: NhsaImport) -> dict:
    return {**{c: getattr(record, c) for c in ("id", "filename", "file_format", "encoding", "row_count",
                                               "created_at", "created_by")},
            "record": record, "counts": status_counts(record.id)}


def uncoded_rows(q: str = ""):
    """Every product without a code, stocked first, streamed for the export."""
    for product, on_hand in db.session.execute(uncoded_products_query(q).execution_options(yield_per=500)):
        yield product, on_hand
