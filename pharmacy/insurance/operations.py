"""What people do with 医保药品代码, for its pages and its API alike (see `pharmacy/operations.py`).

Importing the national table and deciding its rows are formulary work (`catalog.edit`); the report of products
still without a code is readable by whoever reads the catalog.
"""

from dataclasses import replace

from flask_babel import gettext as _

from ..auth.policy import load_in_scope, require_permission
from ..catalog.models import Product
from ..errors import InvalidInput
from ..listing import Page
from . import queries, services
from .models import NhsaImport, NhsaRow

REPORT_HEADER = ["产品编码", "通用名", "剂型", "规格", "包装", "生产企业", "库存（基本单位）", "医保类别"]


def import_table(user, upload) -> dict:
    """Read an uploaded code table and attach the codes the matching engine is sure of; a file that cannot be
    read or holds a malformed row is refused whole and nothing changes."""
    require_permission(user, "catalog.edit")
    if upload is None or not upload.filename:
        raise InvalidInput(_("请选择要上传的文件"), fields={"file": [_("必填")]})
    return queries.summary(services.import_table(upload.filename, upload.read(), user=user))


def imports(user) -> list[dict]:
    require_permission(user, "catalog.edit")
    return queries.recent_imports()


def import_summary(user, record: NhsaImport) -> dict:
    require_permission(user, "catalog.edit")
    return queries.summary(record)


def rows_page(user, record: NhsaImport, filters: dict) -> Page:
    """One page of an import's rows (by default those waiting for review), each with its candidates."""
    require_permission(user, "catalog.edit")
    page = queries.ROWS.page(user, {**filters, "import_id": record.id})
    return replace(page, items=queries.present(page.items))


def confirm(user, row: NhsaRow, command: dict) -> dict:
    """Attach a row's code to the product chosen (a candidate, or any active product found by search)."""
    require_permission(user, "catalog.edit")
    product = load_in_scope(user, Product, command["product_id"])
    services.confirm(row, product, user=user)
    return queries.present([row])[0]


def reject(user, row: NhsaRow) -> dict:
    """Mark a row as none of the county's products."""
    require_permission(user, "catalog.edit")
    services.reject(row, user=user)
    return queries.present([row])[0]


def set_product_codes(user, product: Product, command: dict) -> Product:
    """Set a product's 医保药品代码, 批准文号 and maker by hand, with a reason."""
    require_permission(user, "catalog.edit")
    values = {k: command[k] for k in ("nhsa_code", "approval_no", "manufacturer") if command.get(k)}
    if not services.set_codes(product, values, reason=command["reason"], user=user):
        raise InvalidInput(_("没有任何变化"), code="no_change")
    return product


def uncoded_page(user, filters: dict) -> Page:
    """Active products without a 医保药品代码, stocked ones first."""
    require_permission(user, "catalog.read")
    page = queries.UNCODED.page(user, filters)
    return replace(page, items=[{"product": product, "on_hand_base": int(on_hand or 0)}
                                for product, on_hand in page.items])


def uncoded_export_rows(user, filters: dict):
    """The report's rows for the XLSX export (in the columns of `REPORT_HEADER`), streamed."""
    require_permission(user, "catalog.read")
    return ([p.code, p.drug.generic_name, p.dosage_form, p.strength, p.pack_label, p.manufacturer, int(on_hand or 0),
             p.insurance_class] for p, on_hand in queries.uncoded_rows(filters.get("q", "")))
