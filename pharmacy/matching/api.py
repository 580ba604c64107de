"""API: search-as-you-type under /api/v1/catalog/search; dictionary import and review under /api/v1/matching."""

from flask import request
from flask_babel import gettext as _
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import ensure_can_see, get_facility_in_scope, permission_required
from ..catalog.services import get_product
from ..errors import InvalidInput
from ..extensions import db
from . import queries, services
from .schemas import (BulkConfirmResultSchema, BulkConfirmSchema, ConfirmSchema, ImportSchema, ImportUploadSchema,
                      LocalDrugPageSchema, LocalDrugQuerySchema, LocalDrugSchema, MatchRequestSchema, MatchResultSchema,
                      RejectSchema, SearchQuerySchema, SearchResultSchema)

bp = api_blueprint("matching_api", __name__, "")


def resolve_facility(ref: str | None):
    """The facility named by id or code, in the user's scope; the user's own facility when none is named."""
    if not ref:
        return current_user.facility
    ref = str(ref).strip()
    if ref.isdigit():
        return get_facility_in_scope(current_user, int(ref))
    return get_facility_in_scope(current_user, code=ref.upper())


def _import_in_scope(import_id: int):
    record = services.get_import(import_id)
    ensure_can_see(current_user, record.facility_id)
    return record


def _local_in_scope(local_drug_id: int):
    local = services.get_local_drug(local_drug_id)
    ensure_can_see(current_user, local.facility_id)
    return local


def _import_out(record) -> dict:
    return {**{c: getattr(record, c) for c in ("id", "facility_id", "facility", "filename", "file_format", "encoding",
                                               "row_count", "problems", "created_by", "created_at")},
            "counts": services.status_counts(record.id)}


@bp.get("/catalog/search")
@permission_required("catalog.read")
@api_operation(summary="Search-as-you-type: products for Chinese text, pinyin initials or a mix", tags=["catalog"],
               query=SearchQuerySchema, response=SearchResultSchema, many=True,
               description="Ranked active products the facility's tier may stock (default: the caller's facility).")
def search(query):
    facility = resolve_facility(query["facility"])
    return services.search_products(query["q"], facility=facility, limit=query["limit"])


@bp.post("/matching/match")
@permission_required("catalog.read")
@api_operation(summary="Match free-text local names to formulary products", tags=["matching"],
               body=MatchRequestSchema, response=MatchResultSchema, many=True)
def match_names(body):
    facility = resolve_facility(body["facility"])
    results = services.match_many(body["names"], facility=facility)
    products = services.products_by_id({c.product_id for r in results for c in r.candidates})
    out = []
    for name, result in zip(body["names"], results, strict=True):
        out.append({"input": name, "status": result.status, "score": result.score,
                    "product": products.get(result.product_id) if result.product_id else None,
                    "candidates": [{"product": products[c.product_id], "score": round(c.score, 1),
                                    "source": c.source} for c in result.candidates],
                    "parsed_drug": result.parsed.drug_text, "parsed_form": result.parsed.form,
                    "parsed_strength": result.parsed.strength})
    return out


@bp.post("/matching/imports")
@permission_required("matching.import")
@api_operation(summary="Upload a local drug dictionary (multipart: file, facility)", tags=["matching"],
               response=ImportSchema, status=201,
               description="CSV (UTF-8, UTF-8 with BOM, GBK/GB18030) or XLSX; a file that cannot be read is "
                           "refused whole (422) and nothing is written.")
def upload_import():
    form = ImportUploadSchema().load(request.form.to_dict())
    facility = resolve_facility(form["facility"])
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise InvalidInput(_("请选择要上传的文件"), fields={"file": [_("必填")]})
    record = services.import_dictionary(facility, upload.filename, upload.read(), user=current_user)
    return _import_out(record)


@bp.get("/matching/imports")
@permission_required("matching.review")
@api_operation(summary="Recent dictionary imports in the caller's scope", tags=["matching"], response=ImportSchema,
               many=True)
def list_imports():
    return [{**_import_out(item["record"]), "counts": item["counts"]}
            for item in queries.imports_in_scope(current_user)]


@bp.get("/matching/imports/<int:import_id>")
@permission_required("matching.review")
@api_operation(summary="One dictionary import with its counts and reported rows", tags=["matching"],
               response=ImportSchema)
def get_import(import_id: int):
    return _import_out(_import_in_scope(import_id))


@bp.get("/matching/imports/<int:import_id>/local-drugs")
@permission_required("matching.review")
@api_operation(summary="Local drugs of an import with their candidates", tags=["matching"],
               query=LocalDrugQuerySchema, response=LocalDrugPageSchema)
def list_local_drugs(import_id: int, query):
    record = _import_in_scope(import_id)
    result = db.paginate(queries.local_drug_query(record.id, query["status"], query["q"]), page=query["page"],
                         per_page=query["per_page"], error_out=False)
    return {"items": queries.present(result.items), "total": result.total, "page": query["page"],
            "per_page": query["per_page"]}


@bp.post("/matching/local-drugs/<int:local_drug_id>/confirm")
@permission_required("matching.review")
@api_operation(summary="Confirm a local drug as a product; the name is learnt as an alias", tags=["matching"],
               body=ConfirmSchema, response=LocalDrugSchema)
def confirm(local_drug_id: int, body):
    local = _local_in_scope(local_drug_id)
    product = get_product(body["product_id"])
    services.confirm(local, product, user=current_user, county_wide=body["county_wide"], note=body["note"])
    return queries.present([local])[0]


@bp.post("/matching/local-drugs/<int:local_drug_id>/reject")
@permission_required("matching.review")
@api_operation(summary="Mark a local drug as not in the formulary", tags=["matching"], body=RejectSchema,
               response=LocalDrugSchema)
def reject(local_drug_id: int, body):
    local = _local_in_scope(local_drug_id)
    services.reject(local, user=current_user, note=body["note"])
    return queries.present([local])[0]


@bp.post("/matching/imports/<int:import_id>/bulk-confirm")
@permission_required("matching.review")
@api_operation(summary="Confirm the top candidate of every row under review scoring at least min_score",
               tags=["matching"], body=BulkConfirmSchema, response=BulkConfirmResultSchema)
def bulk_confirm(import_id: int, body):
    record = _import_in_scope(import_id)
    return {"confirmed": services.bulk_confirm(record, body["min_score"], user=current_user)}
