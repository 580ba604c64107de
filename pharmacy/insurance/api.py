"""API: 医保药品代码 under /api/v1/catalog/insurance."""

from flask import request
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import load_in_scope, permission_required
from ..catalog.models import Product
from . import operations
from .models import NhsaImport, NhsaRow
from .schemas import (ConfirmSchema, ImportSchema, ProductCodesOutSchema, ProductCodesSchema, RowPageSchema,
                      RowQuerySchema, RowSchema, UncodedPageSchema, UncodedQuerySchema)

bp = api_blueprint("insurance_api", __name__, "/catalog/insurance")


@bp.post("/imports")
@permission_required("catalog.edit")
@api_operation(summary="Upload the national 医保药品分类与代码 table (multipart: file)", tags=["catalog"],
               response=ImportSchema, status=201,
               description="XLSX (first sheet) or CSV (UTF-8, UTF-16 with BOM, GBK/GB18030) with the NHSA's column "
                           "names (药品代码, 注册名称, 注册剂型, 注册规格, 最小包装数量, 药品企业, 批准文号, 甲乙类…; "
                           "see README). Codes the matching engine is sure of are attached to products; the others "
                           "wait for review. A file that cannot be read, or with one row whose code is not 23 "
                           "capital letters and digits starting with X or Z, a malformed 批准文号 or pack quantity, "
                           "or a code twice, is refused whole (422, every problem in `fields.file`): nothing changes.")
def upload_import():
    return operations.import_table(current_user, request.files.get("file"))


@bp.get("/imports")
@permission_required("catalog.edit")
@api_operation(summary="Recent code-table imports with their counts per status", tags=["catalog"],
               response=ImportSchema, many=True)
def list_imports():
    return operations.imports(current_user)


@bp.get("/imports/<int:import_id>")
@permission_required("catalog.edit")
@api_operation(summary="One code-table import with its counts", tags=["catalog"], response=ImportSchema)
def show_import(import_id: int):
    return operations.import_summary(current_user, load_in_scope(current_user, NhsaImport, import_id))


@bp.get("/imports/<int:import_id>/rows")
@permission_required("catalog.edit")
@api_operation(summary="An import's rows (status=needs_review by default: the review queue; or all)",
               tags=["catalog"], query=RowQuerySchema, response=RowPageSchema)
def list_rows(import_id: int, query):
    return operations.rows_page(current_user, load_in_scope(current_user, NhsaImport, import_id), query)


@bp.post("/rows/<int:row_id>/confirm")
@permission_required("catalog.edit")
@api_operation(summary="Attach a row's code to the chosen active product", tags=["catalog"], body=ConfirmSchema,
               response=RowSchema,
               description="409 when the row was already decided or another product holds the code; 422 when the "
                           "code's category (X/Z) does not fit the drug's.")
def confirm(row_id: int, body):
    return operations.confirm(current_user, load_in_scope(current_user, NhsaRow, row_id), body)


@bp.post("/rows/<int:row_id>/reject")
@permission_required("catalog.edit")
@api_operation(summary="Mark a row as none of the county's products", tags=["catalog"], response=RowSchema)
def reject(row_id: int):
    return operations.reject(current_user, load_in_scope(current_user, NhsaRow, row_id))


@bp.put("/products/<int:product_id>/codes")
@permission_required("catalog.edit")
@api_operation(summary="Set a product's 医保药品代码, 批准文号 and maker by hand (reason required)",
               tags=["catalog"], body=ProductCodesSchema, response=ProductCodesOutSchema,
               description="The code must be 23 capital letters and digits starting with X (西药) or Z (中成药), "
                           "fit the drug's category and be on no other product (409); the 批准文号 is 国药准字 + "
                           "H/Z/S/B/T/F/J (+J/C) + 8 digits. The generic-level code is the code's first 12 "
                           "characters.")
def set_product_codes(product_id: int, body):
    return operations.set_product_codes(current_user, load_in_scope(current_user, Product, product_id), body)


@bp.get("/uncoded")
@permission_required("catalog.read")
@api_operation(summary="Active products without a 医保药品代码, stocked ones first", tags=["catalog"],
               query=UncodedQuerySchema, response=UncodedPageSchema)
def uncoded(query):
    return operations.uncoded_page(current_user, query)
