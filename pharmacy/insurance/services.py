"""Attaching 医保药品代码 to the county's products: importing the national table, review, the report of gaps.

Services flush, never commit. Every code attached (by the importer, a reviewer or by hand) writes one
CatalogChange per changed field (source `nhsa_import` or `web`), and the audit trail records the rows themselves.
A file that cannot be read, or holds one malformed row, is refused whole before anything is written.
"""

import json
import logging
from collections import defaultdict

from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import clock
from ..catalog.models import CatalogChange, Drug, Product, ProductStatus
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..inventory.models import StockBalance
from ..matching.matcher import AUTO_MATCHED, NO_MATCH
from ..matching.normalize import compact, normalize_text
from ..matching.services import match_one
from ..vocabulary import NhsaRowStatus
from .codes import category_problem, generic_code_of
from .models import NhsaImport, NhsaRow
from . import table_file
from .table_file import TableFileError, TableRow, read_table

log = logging.getLogger(__name__)

CODE_FIELDS = ("nhsa_code", "nhsa_generic_code", "approval_no", "manufacturer")
# Why a row the engine matched still waits for a person (message ids, shown translated).
REASON_PACK = "包装数量与产品不同"
REASON_MAKER = "生产企业与产品登记的不同"
REASON_OTHER_CODE = "该产品已有另一个医保药品代码"
REASON_CODE_TAKEN = "该代码已在另一产品上"
REASON_SHARED = "文件中多行对应同一产品"
REASON_CATEGORY = "代码类别与药品分类不符"
REASON_ALREADY = "该产品已有此代码"


def _refuse_file(problems) -> None:
    shown = [(_("第 %(row)s 行：", row=row) if row else "") + _(message, **params)
             for row, message, params in problems]
    raise InvalidInput(_("医保代码表有误，未导入任何内容：%(problems)s", problems="；".join(shown)),
                       code="bad_file", fields={"file": shown})


def _same_maker(a: str, b: str) -> bool:
    a, b = compact(normalize_text(a)), compact(normalize_text(b))
    return not a or not b or a in b or b in a


def _query_name(row: TableRow) -> str:
    """The name the matching engine reads: the registered name, with the form when the name does not end in it."""
    form = row.dosage_form.removesuffix("剂")
    name = row.registered_name
    return name if not form or form in name else f"{name}{row.dosage_form}"


def _hold(row: NhsaRow, product: Product) -> str:
    """Why an engine match must wait for a person, or "" when it may be attached as is."""
    if product.drug.category and category_problem(row.nhsa_code, product.drug.category):
        return REASON_CATEGORY
    if product.nhsa_code and product.nhsa_code != row.nhsa_code:
        return REASON_OTHER_CODE
    if row.pack_qty and row.pack_qty != product.pack_size:
        return REASON_PACK
    if not _same_maker(row.manufacturer, product.manufacturer):
        return REASON_MAKER
    return ""


def import_table(filename: str, data: bytes, *, user, max_rows: int | None = None) -> NhsaImport:
    """Read the table (at most `max_rows`, by default a page's `table_file.MAX_ROWS`) and attach each code the
    matching engine is sure of; the others wait in the review queue."""
    try:
        table = read_table(filename, data, max_rows=max_rows or table_file.MAX_ROWS)
    except TableFileError as exc:
        _refuse_file(exc.problems)
    record = NhsaImport(filename=(filename or "")[:255], file_format=table.file_format, encoding=table.encoding,
                        row_count=len(table.rows), created_by_id=user.id)
    db.session.add(record)
    db.session.flush()
    holders = dict(db.session.execute(select(Product.nhsa_code, Product.id)
                                      .where(Product.nhsa_code.is_not(None))).all())
    rows: list[NhsaRow] = []
    proposed: dict[int, list[NhsaRow]] = defaultdict(list)
    for item in table.rows:
        row = NhsaRow(import_id=record.id, row_no=item.row_no, nhsa_code=item.code,
                      registered_name=item.registered_name, trade_name=item.trade_name,
                      dosage_form=item.dosage_form, spec=item.spec, packaging_material=item.packaging_material,
                      pack_qty=item.pack_qty, min_unit=item.min_unit, pack_unit=item.pack_unit,
                      manufacturer=item.manufacturer, approval_no=item.approval_no,
                      insurance_class=item.insurance_class)
        result = match_one(_query_name(item), spec=item.spec, manufacturer=item.manufacturer)
        row.candidates_json = json.dumps([[c.product_id, round(c.score, 1)] for c in result.candidates])
        row.score = round(result.score, 1)
        row.status = NhsaRowStatus.NO_MATCH if result.status == NO_MATCH or not result.candidates \
            else NhsaRowStatus.NEEDS_REVIEW
        if result.status == AUTO_MATCHED:
            row.product_id = result.product_id
            proposed[result.product_id].append(row)
        elif row.status == NhsaRowStatus.NEEDS_REVIEW:
            row.product_id = result.top.product_id
        rows.append(row)
    products = {p.id: p for p in db.session.scalars(
        select(Product).options(joinedload(Product.drug)).where(Product.id.in_(list(proposed))))}
    for product_id, claims in proposed.items():
        product = products[product_id]
        for row in claims:
            holder = holders.get(row.nhsa_code)
            if len(claims) > 1:
                row.reason = REASON_SHARED
            elif holder is not None and holder != product.id:
                row.reason = REASON_CODE_TAKEN
            else:
                row.reason = _hold(row, product)
            if row.reason:
                continue
            if product.nhsa_code == row.nhsa_code:
                row.reason = REASON_ALREADY
            else:
                _attach(product, row, user=user, source="nhsa_import")
            row.status, row.decided_by_id, row.decided_at = NhsaRowStatus.ATTACHED, user.id, clock.now_utc()
    db.session.add_all(rows)
    db.session.flush()
    log.info("nhsa import %s by %s: %s rows", record.id, user.username, len(rows))
    return record


def _attach(product: Product, row: NhsaRow, *, user, source: str) -> list[CatalogChange]:
    values = {"nhsa_code": row.nhsa_code, "nhsa_generic_code": generic_code_of(row.nhsa_code),
              "approval_no": row.approval_no or product.approval_no,
              "manufacturer": row.manufacturer or product.manufacturer}
    reason = _("医保代码表导入 #%(id)s 第 %(row)s 行", id=row.import_id, row=row.row_no)
    return set_codes(product, values, reason=reason, user=user, source=source)


def set_codes(product: Product, values: dict, *, reason: str, user, source: str = "web") -> list[CatalogChange]:
    """Write a product's 医保 fields, one CatalogChange per changed field; the code must fit the drug's category
    and belong to no other product."""
    code = values.get("nhsa_code", product.nhsa_code)
    if code:
        problem = category_problem(code, product.drug.category)
        if problem:
            message = _(problem, prefix=code[0], category=product.drug.category)
            raise InvalidInput(message, fields={"nhsa_code": [message]})
        holder = db.session.scalar(select(Product).where(Product.nhsa_code == code, Product.id != product.id))
        if holder is not None:
            message = _("医保药品代码 %(code)s 已在产品 %(product)s 上", code=code, product=holder.code)
            raise Conflict(message, fields={"nhsa_code": [message]})
        values = {**values, "nhsa_generic_code": generic_code_of(code)}
    changes = []
    for field in CODE_FIELDS:
        if field not in values:
            continue
        old, new = getattr(product, field), values[field]
        if (old or "") == (new or ""):
            continue
        setattr(product, field, new)
        changes.append(CatalogChange(entity="product", entity_code=product.code, drug_id=product.drug_id,
                                     product=product, action="update", field=field, old_value=old or "",
                                     new_value=new or "", reason=reason, source=source,
                                     user_id=user.id if user else None))
    db.session.add_all(changes)
    try:
        db.session.flush()
    except IntegrityError:
        # Another request attached the same code to another product after our check (the unique index decides).
        message = _("医保药品代码 %(code)s 刚被另一产品使用，请刷新后重试", code=code)
        raise Conflict(message, code="nhsa_code_taken", fields={"nhsa_code": [message]}) from None
    return changes


def _undecided(row: NhsaRow) -> None:
    if not row.is_undecided:
        raise Conflict(_("该行已处理（%(status)s）", status=NhsaRowStatus.label_of(row.status)), code="decided")


def confirm(row: NhsaRow, product: Product, *, user) -> NhsaRow:
    """Attach the row's code to `product` (a candidate or one found by search), an active product."""
    _undecided(row)
    if product.status != ProductStatus.ACTIVE:
        raise InvalidInput(_("只能对应在用的产品"), fields={"product_id": [_("该产品已停用")]})
    _attach(product, row, user=user, source="nhsa_review")
    row.product_id, row.status = product.id, NhsaRowStatus.CONFIRMED
    row.decided_by_id, row.decided_at, row.reason = user.id, clock.now_utc(), ""
    db.session.flush()
    return row


def reject(row: NhsaRow, *, user) -> NhsaRow:
    """Mark a row as no product of the county's (nothing is attached)."""
    _undecided(row)
    row.status, row.product_id = NhsaRowStatus.REJECTED, None
    row.decided_by_id, row.decided_at = user.id, clock.now_utc()
    db.session.flush()
    return row


def status_counts(import_id: int) -> dict[str, int]:
    counts = dict(db.session.execute(select(NhsaRow.status, func.count()).where(NhsaRow.import_id == import_id)
                                     .group_by(NhsaRow.status)).all())
    return {status.value: counts.get(status.value, 0) for status in NhsaRowStatus}


def candidate_products(rows: list[NhsaRow]) -> dict[int, Product]:
    ids = {pid for row in rows for pid, _score in row.candidates} | {row.product_id for row in rows if row.product_id}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Product).options(joinedload(Product.drug))
                                                .where(Product.id.in_(ids)))}


def on_hand_column():
    """Each product's stock on hand in base units across the county (a correlated subquery)."""
    return (select(func.coalesce(func.sum(StockBalance.qty_base), 0))
            .where(StockBalance.product_id == Product.id).correlate(Product).scalar_subquery())


def uncoded_products_query(q: str = ""):
    """Active products without a 医保药品代码, the ones in stock first (most on hand first), then by code."""
    on_hand = on_hand_column().label("on_hand")
    stmt = (select(Product, on_hand).join(Drug).options(joinedload(Product.drug))
            .where(Product.nhsa_code.is_(None), Product.status == ProductStatus.ACTIVE)
            .order_by(case((on_hand > 0, 0), else_=1), on_hand.desc(), Product.code))
    if q:
        stmt = stmt.where(Drug.generic_name.contains(q) | Product.code.contains(q))
    return stmt
