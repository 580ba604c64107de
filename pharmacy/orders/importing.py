"""Import an order from the township's own spreadsheet (XLSX): read the rows, match the local names, and add them
to the draft; a file with any bad row is refused whole, with every bad row reported."""

import logging
import re
import unicodedata
from dataclasses import dataclass, field

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..catalog.models import Drug, Product, ProductStatus
from ..errors import InvalidInput
from ..extensions import db
from ..facilities.models import Facility
from ..matching.matcher import NEEDS_REVIEW
from ..uploads import SheetLimits, read_sheet
from .models import LineSource, Order, OrderLine, OrderStatus
from .services import MAX_QTY_PACKS, _check_orderable, _require_status, create_order, update_lines

log = logging.getLogger(__name__)

MAX_ROWS = 2000
# Candidates within this many points of the best are offered to the pharmacist when a name is ambiguous.
CLOSE_SCORE = 10
MAX_CANDIDATES = 6
HEADER_SCAN_ROWS = 10
# What an order sheet may hold (a title, the heading, MAX_ROWS lines and some blank rows; a few columns of text).
SHEET_LIMITS = SheetLimits(rows=MAX_ROWS + 500, columns=32, cells=(MAX_ROWS + 500) * 12, chars=1_000_000,
                           cpu_seconds=10.0)
# Column headings pharmacists use, by field (compared after normalisation: no spaces, half-width brackets).
HEADINGS = {
    "code": {"编码", "药品编码", "产品编码", "目录编码", "code", "productcode"},
    "name": {"药品名称", "名称", "品名", "通用名", "通用名称", "药品", "name"},
    "spec": {"规格", "strength", "spec"},
    "form": {"剂型", "dosageform", "form"},
    "qty": {"数量", "数量(盒)", "订购数量", "订货数量", "申领数量", "qty", "qtypacks"},
    "note": {"备注", "note"},
}


@dataclass(frozen=True)
class LocalName:
    """A product as the township's spreadsheet names it."""

    code: str = ""
    name: str = ""
    spec: str = ""
    form: str = ""


@dataclass
class NameMatch:
    product: Product | None
    method: str = ""  # "code" | "matched" | "picked" | "" (no match)
    # when the matcher cannot tell them apart: the products the name fits equally well, best first
    candidates: list[Product] = field(default_factory=list)


@dataclass
class ImportRow:
    row: int
    local: LocalName
    qty_raw: object
    note: str = ""


@dataclass
class ImportProblem:
    row: int
    column: str
    message: str
    candidates: list[Product] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message,
                "candidates": [{"product_id": p.id, "code": p.code, "label": _product_label(p)}
                               for p in self.candidates]}


def _product_label(product: Product) -> str:
    return f"{product.drug.generic_name} {product.dosage_form} {product.strength}"


def _norm(text) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).lower()


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _pick(columns: dict[str, int], values: list) -> dict:
    return {field: values[columns[field]] if field in columns and columns[field] < len(values) else None
            for field in HEADINGS}


def read_order_rows(data: bytes) -> tuple[list[ImportRow], list[ImportProblem]]:
    """Rows of the first sheet below its heading row; problems for a missing heading or too many rows."""
    try:
        sheet_rows = read_sheet(data, SHEET_LIMITS)
    except InvalidInput as exc:
        if exc.code != "bad_file":
            raise
        raise InvalidInput(_("无法读取文件：请上传 Excel（.xlsx）文件"), code="bad_file") from None
    columns, heading_row = None, 0
    for index, values in enumerate(sheet_rows[:HEADER_SCAN_ROWS], start=1):
        found = {}
        for position, value in enumerate(values):
            text = _norm(value)
            for field, names in HEADINGS.items():
                if text in names and field not in found:
                    found[field] = position
        if "qty" in found and ("code" in found or "name" in found):
            columns, heading_row = found, index
            break
    if columns is None:
        return [], [ImportProblem(0, "", _("找不到表头：需要“数量”列，以及“药品编码”或“药品名称”列"))]
    result, problems = [], []
    for index, values in enumerate(sheet_rows[heading_row:], start=heading_row + 1):
        cells = _pick(columns, values)
        local = LocalName(_cell_text(cells["code"]), _cell_text(cells["name"]), _cell_text(cells["spec"]),
                          _cell_text(cells["form"]))
        if not (local.code or local.name) and cells["qty"] in (None, ""):
            continue
        if len(result) >= MAX_ROWS:
            problems.append(ImportProblem(index, "", _("文件超过 %(max)s 行，请分批导入", max=MAX_ROWS)))
            break
        result.append(ImportRow(index, local, cells["qty"], _cell_text(cells["note"])))
    return result, problems


def parse_qty(value) -> int | None:
    """Whole packs from a cell: 3, 3.0 and "3" are 3; anything else is None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    text = str(value)
    # Full-width ５ (Chinese input methods type it) counts as 5; any other script's digit or number sign (٣, ², ①)
    # is no quantity, whatever NFKC would make of it.
    if any(unicodedata.category(ch).startswith("N") and not ("0" <= ch <= "9" or "０" <= ch <= "９") for ch in text):
        return None
    text = unicodedata.normalize("NFKC", text).strip()
    text = re.sub(r"(盒|box|boxes)$", "", text, flags=re.IGNORECASE).strip()
    return int(text) if re.fullmatch(r"[0-9]+", text) else None


def match_names(names: list[LocalName], facility: Facility) -> list[NameMatch]:
    """Match local names to formulary products: an exact product code first, then the matching service
    (brand names, salts, pinyin, typos, the township's confirmed local names). Only a confident match is taken:
    a name the matcher is unsure of is reported as a bad row, never guessed."""
    from ..matching.services import match_one

    codes = {n.code for n in names if n.code}
    by_code: dict[str, Product] = {}
    if codes:
        for product in db.session.scalars(select(Product).where(Product.code.in_(codes))
                                          .options(joinedload(Product.drug))
                                          .order_by(Product.edition)):
            by_code[product.code] = product  # the latest edition wins
    matches = []
    for name in names:
        if name.code and name.code in by_code:
            matches.append(NameMatch(by_code[name.code], "code"))
            continue
        if not name.name:
            matches.append(NameMatch(None))
            continue
        # The form column joins the name: the matcher reads "布洛芬 片剂" as the drug and its form.
        result = match_one(" ".join(p for p in (name.name, name.form) if p), spec=name.spec, facility=facility)
        product = db.session.get(Product, result.product_id) if result.product_id else None
        if product is not None:
            matches.append(NameMatch(product, "matched"))
            continue
        matches.append(NameMatch(None, candidates=_close_candidates(result)))
    return matches


def _close_candidates(result) -> list[Product]:
    """The products a name fits about as well as the best one (the matcher's "several close candidates")."""
    if result.status != NEEDS_REVIEW or not result.candidates:
        return []
    best = result.candidates[0].score
    ids = [c.product_id for c in result.candidates if c.score >= best - CLOSE_SCORE][:MAX_CANDIDATES]
    products = [db.session.get(Product, product_id) for product_id in ids]
    return [p for p in products if p is not None and p.status == ProductStatus.ACTIVE]


def import_order(township: Facility, data: bytes, user, *, order: Order | None = None,
                 changes: dict[int, dict] | None = None, picks: dict[int, int] | None = None) -> tuple[Order, int]:
    """Add the spreadsheet's rows to the township's draft (the one given, else its current one, created if
    needed), after the builder's unsaved edits (`changes`) of that draft; a row naming a product already on the
    draft sets its quantity. `picks` ({row number: product id}) settles the rows whose name fits several products,
    among the products offered for them. Refuses the whole file when any row is bad. Returns (order, rows)."""
    rows, problems = read_order_rows(data)
    matches = match_names([r.local for r in rows], township)
    picks = picks or {}
    accepted: dict[int, tuple[Product, int, int, str]] = {}
    for row, match in zip(rows, matches, strict=True):
        label = row.local.code or " ".join(p for p in (row.local.name, row.local.form, row.local.spec) if p)
        if match.product is None and match.candidates:
            picked = next((p for p in match.candidates if p.id == picks.get(row.row)), None)
            if picked is None:
                problems.append(ImportProblem(row.row, "name", _(
                    "%(name)s 对应多个药品：%(products)s；请选择一个",
                    name=label, products="、".join(f"{p.code} {_product_label(p)}" for p in match.candidates)),
                    candidates=match.candidates))
                continue
            match = NameMatch(picked, "picked")
        if match.product is None:
            problems.append(ImportProblem(row.row, "name", _("找不到药品：%(name)s", name=label or "—")))
            continue
        qty = parse_qty(row.qty_raw)
        if qty is None or not 0 < qty <= MAX_QTY_PACKS:
            problems.append(ImportProblem(row.row, "qty", _("数量应为 1 到 %(max)s 之间的整数（盒）", max=MAX_QTY_PACKS)))
            continue
        try:
            _check_orderable(township, match.product, False)
        except InvalidInput as exc:
            problems.append(ImportProblem(row.row, "name", exc.message))
            continue
        if match.product.id in accepted:
            problems.append(ImportProblem(row.row, "name", _("与第 %(row)s 行重复", row=accepted[match.product.id][2])))
            continue
        accepted[match.product.id] = (match.product, qty, row.row, row.note)
    if not rows and not problems:
        problems.append(ImportProblem(0, "", _("文件中没有订购明细")))
    if problems:
        problems.sort(key=lambda p: p.row)
        raise InvalidInput(_("导入失败：%(n)s 行有误，未导入任何明细", n=len(problems)), code="import_rows",
                           details=[p.as_dict() for p in problems])
    if order is None:
        order = create_order(township, user)
    _require_status(order, OrderStatus.DRAFT)
    if changes:
        update_lines(order, changes)
    existing = {line.product_id: line for line in order.lines}
    for product, qty, _row, note in accepted.values():
        line = existing.get(product.id)
        if line is not None:
            line.qty_packs, line.is_edited = qty, True
            continue
        order.lines.append(OrderLine(product=product, qty_packs=qty, source=LineSource.IMPORT, is_edited=True,
                                     note=note))
    db.session.flush()
    log.info("order %s: %s rows imported for %s by %s", order.id, len(accepted), township.code,
             getattr(user, "username", "-"))
    return order, len(accepted)
