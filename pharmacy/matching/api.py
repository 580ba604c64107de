"""API: search-as-you-type under /api/v1/catalog/search; dictionary import and review under /api/v1/matching."""

from flask import request
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import load_in_scope, permission_required
from . import operations
from .models import DictionaryImport, LocalDrug
from .schemas import (BulkConfirmResultSchema, BulkConfirmSchema, ConfirmSchema, ImportSchema, ImportUploadSchema,
                      LocalDrugPageSchema, LocalDrugQuerySchema, LocalDrugSchema, MatchRequestSchema, MatchResultSchema,
                      RejectSchema, SearchQuerySchema, SearchResultSchema)

bp = api_blueprint("matching_api", __name__, "")


@bp.get("/catalog/search")
@permission_required("catalog.read")
@api_operation(summary="Search-as-you-type: products for Chinese text, pinyin initials or a mix", tags=["catalog"],
               query=SearchQuerySchema, response=SearchResultSchema, many=True,
               description="Ranked active products the facility's tier may stock (default: the caller's facility), "
                           "of the list edition in force, plus products of another edition the facility still "
                           "holds (`is_other_edition` true; each result names its `edition`).")
def search(query):
    return operations.search(current_user, query)


@bp.post("/matching/match")
@permission_required("catalog.read")
@api_operation(summary="Match free-text local names to formulary products", tags=["matching"],
               body=MatchRequestSchema, response=MatchResultSchema, many=True)
def match_names(body):
    return operations.match_names(current_user, body)


@bp.post("/matching/imports")
@permission_required("matching.import")
@api_operation(summary="Upload a local drug dictionary (multipart: file, facility)", tags=["matching"],
               response=ImportSchema, status=201,
               description="CSV (UTF-8, UTF-8 with BOM, UTF-16 with BOM, GBK/GB18030; another encoding such as "
                           "Shift-JIS or Big5 is refused) or XLSX (first sheet, read within limits: 20 050 rows, 64 "
                           "columns, cells, text, CPU time; XML with a DTD refused); a file that cannot be read is "
                           "refused whole (422) and nothing is written. The facility is `facility` (id or code) "
                           "or `facility_id`, in the caller's scope; by default the caller's own. A deactivated "
                           "facility is refused (422).")
def upload_import():
    command = ImportUploadSchema().load(request.form.to_dict())
    record = operations.import_dictionary(current_user, command, request.files.get("file"))
    return operations.import_summary(record)


@bp.get("/matching/imports")
@permission_required("matching.review")
@api_operation(summary="Recent dictionary imports in the caller's scope", tags=["matching"], response=ImportSchema,
               many=True)
def list_imports():
    return [operations.import_summary(item["record"], item["counts"]) for item in operations.imports(current_user)]


@bp.get("/matching/imports/<int:import_id>")
@permission_required("matching.review")
@api_operation(summary="One dictionary import with its counts and reported rows", tags=["matching"],
               response=ImportSchema)
def get_import(import_id: int):
    return operations.import_summary(load_in_scope(current_user, DictionaryImport, import_id))


@bp.get("/matching/imports/<int:import_id>/local-drugs")
@permission_required("matching.review")
@api_operation(summary="Local drugs of an import with their candidates", tags=["matching"],
               query=LocalDrugQuerySchema, response=LocalDrugPageSchema)
def list_local_drugs(import_id: int, query):
    record = load_in_scope(current_user, DictionaryImport, import_id)
    return operations.local_drugs_page(current_user, record, query)


@bp.post("/matching/local-drugs/<int:local_drug_id>/confirm")
@permission_required("matching.review")
@api_operation(summary="Confirm a local drug as a product; the name is learnt as an alias", tags=["matching"],
               body=ConfirmSchema, response=LocalDrugSchema)
def confirm(local_drug_id: int, body):
    return operations.confirm(current_user, load_in_scope(current_user, LocalDrug, local_drug_id), body)


@bp.post("/matching/local-drugs/<int:local_drug_id>/reject")
@permission_required("matching.review")
@api_operation(summary="Mark a local drug as not in the formulary", tags=["matching"], body=RejectSchema,
               response=LocalDrugSchema)
def reject(local_drug_id: int, body):
    return operations.reject(current_user, load_in_scope(current_user, LocalDrug, local_drug_id), body)


@bp.post("/matching/imports/<int:import_id>/bulk-confirm")
@permission_required("matching.review")
@api_operation(summary="Confirm the top candidate of every row under review scoring at least min_score",
               tags=["matching"], body=BulkConfirmSchema, response=BulkConfirmResultSchema)
def bulk_confirm(import_id: int, body):
    record = load_in_scope(current_user, DictionaryImport, import_id)
    return {"confirmed": operations.bulk_confirm(current_user, record, body)}
