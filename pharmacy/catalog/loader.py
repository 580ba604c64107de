"""Load the formulary from `catalog_data/` idempotently, refusing a malformed file whole.

Each edition is a pair of files `<prefix>_drugs.csv` and `<prefix>_products.csv`, and may have a
`<prefix>_groups.csv` of scope entries that name drug groups rather than products (结核病用药). Every edition present
is loaded; each keeps its own codes. A drug's `class_path` may hold several paths separated by `|` (a cross-listed
entry): the first is its class path, the others are kept beside it so the class tree shows it under each. The
whole set is parsed and checked before any row is written; the first error names the file, the line and the
reason, and the caller's transaction is left untouched. A second load of the same files changes nothing. Fields
that a formulary admin changed on the web since (price, flags, tier, status) are kept: the file does not silently
undo an audited edit. A group dropped from its file stays (it may hold the county's choices).
"""

import csv
import io
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import clock
from ..audit.trail import summarised
from ..extensions import db
from ..facilities.models import Tier
from .models import (BASE_UNITS, CATEGORIES, CHRONIC_TAGS, INSURANCE_CLASSES, PACK_UNITS, CatalogChange, Drug,
                     DrugClassPath, DrugGroup, Product, ProductPrice, ProductStatus)
from .pinyin import pinyin_initials

log = logging.getLogger(__name__)

DRUG_COLUMNS = ["edition", "drug_code", "eml_no", "category", "class_path", "generic_name", "name_en",
                "pinyin_initials", "chronic_tags", "remarks"]
PRODUCT_COLUMNS = ["edition", "product_code", "drug_code", "dosage_form", "strength", "base_unit", "pack_size",
                   "pack_unit", "lowest_tier", "vbp_batch", "insurance_class", "unified_price", "remarks"]
GROUP_COLUMNS = ["edition", "group_code", "eml_no", "category", "class_path", "name", "remarks"]
GROUP_FIELDS = ["eml_no", "category", "class_path", "name", "remarks"]
# Columns a file may omit (pinyin initials are computed when absent).
OPTIONAL_DRUG_COLUMNS = {"pinyin_initials"}

DRUG_FIELDS = ["eml_no", "category", "class_path", "generic_name", "name_en", "pinyin_initials", "chronic_tags",
               "remarks"]
PRODUCT_FIELDS = ["dosage_form", "strength", "base_unit", "pack_size", "pack_unit", "lowest_tier", "vbp_batch",
                  "insurance_class", "unified_price", "remarks"]
SOURCE = "catalog_load"


class CatalogFileError(Exception):
    """A catalog file cannot be loaded; nothing was written."""

    def __init__(self, file: str, line: int, reason: str):
        super().__init__(f"{file}:{line}: {reason}")
        self.file, self.line, self.reason = file, line, reason


@dataclass
class LoadReport:
    drugs_created: int = 0
    products_created: int = 0
    fields_changed: int = 0
    products_withdrawn: int = 0
    kept_local_edits: int = 0
    groups_created: int = 0
    editions: list[str] = field(default_factory=list)

    @property
    def changed_anything(self) -> bool:
        return bool(self.drugs_created or self.products_created or self.fields_changed or self.products_withdrawn
                    or self.groups_created)


def _read_rows(path: Path, columns: list[str], optional: set[str] = frozenset()) -> list[tuple[int, dict]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise CatalogFileError(path.name, line, "文件不是 UTF-8 编码 (file is not UTF-8)") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CatalogFileError(path.name, 1, "文件为空 (empty file)") from None
    required = [c for c in columns if c not in optional]
    unknown = [c for c in header if c not in columns]
    missing = [c for c in required if c not in header]
    if unknown or missing or len(set(header)) != len(header):
        raise CatalogFileError(path.name, 1, f"表头不符 (bad header): unknown={unknown} missing={missing}")
    rows = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            raise CatalogFileError(path.name, line, f"列数应为 {len(header)}，实为 {len(values)} (wrong column count)")
        rows.append((line, {k: v.strip() for k, v in zip(header, values, strict=True)}))
    return rows


def _listed_entry(row: dict, fail) -> int | None:
    """What a drug row and a group row both print: a known category and the list number (or none)."""
    if row["category"] not in CATEGORIES:
        fail(f"未知分类 (unknown category): {row['category']}")
    try:
        return int(row["eml_no"]) if row["eml_no"] else None
    except ValueError:
        fail(f"eml_no 不是整数 (not an integer): {row['eml_no']}")


def _parse_drug(file: str, line: int, row: dict) -> dict:
    def fail(reason):
        raise CatalogFileError(file, line, reason)

    if not row["drug_code"] or not row["generic_name"] or not row["edition"]:
        fail("edition、drug_code、generic_name 必填 (required)")
    eml_no = _listed_entry(row, fail)
    tags = [t for t in row["chronic_tags"].split("|") if t]
    bad = [t for t in tags if t not in CHRONIC_TAGS]
    if bad:
        fail(f"未知慢病标签 (unknown chronic tag): {bad}")
    initials = row.get("pinyin_initials") or pinyin_initials(row["generic_name"])
    paths = [p.strip() for p in row["class_path"].split("|")]
    if len(paths) > 1 and not all(paths):
        fail(f"class_path 含空路径 (empty class path): {row['class_path']}")
    if len(set(paths)) != len(paths):
        fail(f"class_path 路径重复 (repeated class path): {row['class_path']}")
    return {"edition": row["edition"], "code": row["drug_code"], "eml_no": eml_no, "category": row["category"],
            "class_path": paths[0], "other_class_paths": paths[1:], "generic_name": row["generic_name"],
            "name_en": row["name_en"], "pinyin_initials": initials, "chronic_tags": "|".join(tags),
            "remarks": row["remarks"]}


def _parse_group(file: str, line: int, row: dict) -> dict:
    def fail(reason):
        raise CatalogFileError(file, line, reason)

    if not row["edition"] or not row["group_code"] or not row["name"]:
        fail("edition、group_code、name 必填 (required)")
    eml_no = _listed_entry(row, fail)
    return {"edition": row["edition"], "code": row["group_code"], "eml_no": eml_no, "category": row["category"],
            "class_path": row["class_path"], "name": row["name"], "remarks": row["remarks"]}


def _parse_product(file: str, line: int, row: dict) -> dict:
    def fail(reason):
        raise CatalogFileError(file, line, reason)

    for col in ("edition", "product_code", "drug_code", "dosage_form", "strength"):
        if not row[col]:
            fail(f"{col} 必填 (required)")
    if row["base_unit"] not in BASE_UNITS:
        fail(f"未知基本单位 (unknown unit): {row['base_unit']}")
    if row["pack_unit"] not in PACK_UNITS:
        fail(f"未知包装单位 (unknown pack unit): {row['pack_unit']}")
    if row["lowest_tier"] not in set(Tier):
        fail(f"未知最低层级 (unknown tier): {row['lowest_tier']}")
    if row["insurance_class"] not in INSURANCE_CLASSES:
        fail(f"未知医保类别 (unknown insurance class): {row['insurance_class']}")
    try:
        pack_size = int(row["pack_size"])
        if pack_size <= 0:
            raise ValueError
    except ValueError:
        fail(f"pack_size 应为正整数 (positive integer): {row['pack_size']}")
    try:
        price = Decimal(row["unified_price"] or "0").quantize(Decimal("0.01"))
        if price < 0:
            raise InvalidOperation
    except InvalidOperation:
        fail(f"unified_price 不是有效金额 (bad price): {row['unified_price']}")
    return {"edition": row["edition"], "code": row["product_code"], "drug_code": row["drug_code"],
            "dosage_form": row["dosage_form"], "strength": row["strength"], "base_unit": row["base_unit"],
            "pack_size": pack_size, "pack_unit": row["pack_unit"], "lowest_tier": row["lowest_tier"],
            "vbp_batch": row["vbp_batch"], "insurance_class": row["insurance_class"], "unified_price": price,
            "remarks": row["remarks"]}


def read_catalog(data_dir: Path) -> tuple[list[dict], list[dict]]:
    """Parse and check every catalog file in `data_dir`; raise CatalogFileError on the first problem."""
    drug_files = sorted(data_dir.glob("*_drugs.csv"))
    if not drug_files:
        raise CatalogFileError(str(data_dir), 0, "找不到 *_drugs.csv (no drug files)")
    drugs: list[dict] = []
    products: list[dict] = []
    drug_keys: dict[tuple, str] = {}
    name_keys: dict[tuple, str] = {}
    product_keys: dict[tuple, str] = {}
    variant_keys: dict[tuple, str] = {}
    for drug_file in drug_files:
        product_file = drug_file.with_name(drug_file.name.replace("_drugs.csv", "_products.csv"))
        if not product_file.exists():
            raise CatalogFileError(product_file.name, 0, "缺少对应的产品文件 (missing products file)")
        for line, row in _read_rows(drug_file, DRUG_COLUMNS, OPTIONAL_DRUG_COLUMNS):
            drug = _parse_drug(drug_file.name, line, row)
            where = f"{drug_file.name}:{line}"
            key = (drug["edition"], drug["code"])
            if key in drug_keys:
                raise CatalogFileError(drug_file.name, line, f"药品编码重复 (duplicate code) {drug['code']}，"
                                                             f"已见于 {drug_keys[key]}")
            name_key = (drug["edition"], drug["category"], drug["generic_name"])
            if name_key in name_keys:
                raise CatalogFileError(drug_file.name, line, f"通用名重复 (duplicate name) {drug['generic_name']}，"
                                                             f"已见于 {name_keys[name_key]}")
            drug_keys[key] = name_keys[name_key] = where
            drugs.append(drug)
        for line, row in _read_rows(product_file, PRODUCT_COLUMNS):
            product = _parse_product(product_file.name, line, row)
            where = f"{product_file.name}:{line}"
            if (product["edition"], product["drug_code"]) not in drug_keys:
                raise CatalogFileError(product_file.name, line, f"未知药品编码 (unknown drug) {product['drug_code']}")
            key = (product["edition"], product["code"])
            if key in product_keys:
                raise CatalogFileError(product_file.name, line, f"产品编码重复 (duplicate code) {product['code']}，"
                                                                f"已见于 {product_keys[key]}")
            variant = (product["edition"], product["drug_code"], product["dosage_form"], product["strength"])
            if variant in variant_keys:
                raise CatalogFileError(product_file.name, line, "同一药品的剂型规格重复 (duplicate form and strength)，"
                                                                f"已见于 {variant_keys[variant]}")
            product_keys[key] = variant_keys[variant] = where
            products.append(product)
    return drugs, products


def read_groups(data_dir: Path, editions: set[str]) -> list[dict]:
    """Parse and check every `*_groups.csv`; a group of an edition without drugs is refused."""
    groups: list[dict] = []
    seen: dict[tuple, str] = {}
    for group_file in sorted(data_dir.glob("*_groups.csv")):
        for line, row in _read_rows(group_file, GROUP_COLUMNS):
            group = _parse_group(group_file.name, line, row)
            if group["edition"] not in editions:
                raise CatalogFileError(group_file.name, line, f"未知版本 (unknown edition) {group['edition']}")
            key = (group["edition"], group["code"])
            if key in seen:
                raise CatalogFileError(group_file.name, line, f"药品组编码重复 (duplicate code) {group['code']}，"
                                                              f"已见于 {seen[key]}")
            seen[key] = f"{group_file.name}:{line}"
            groups.append(group)
    return groups


def _text(value) -> str:
    return "" if value is None else str(value)


def _locally_edited(edition: str) -> set[tuple[str, str, str]]:
    """(entity, code, field) triples of this edition whose latest change came from a person, not from a load."""
    latest: dict[tuple[str, str, str], str] = {}
    for model, key in ((Product, CatalogChange.product_id), (Drug, CatalogChange.drug_id)):
        entity = "product" if model is Product else "drug"
        stmt = (select(CatalogChange.entity_code, CatalogChange.field, CatalogChange.source)
                .join(model, model.id == key)
                .where(CatalogChange.entity == entity, CatalogChange.field != "", model.edition == edition)
                .order_by(CatalogChange.id))
        for code, fld, source in db.session.execute(stmt):
            latest[(entity, code, fld)] = source
    return {k for k, source in latest.items() if source != SOURCE}


def _load_groups(edition: str, rows: list[dict], report: LoadReport) -> None:
    """Create or update the edition's drug groups; a group dropped from the file stays (it may hold choices)."""
    existing = {g.code: g for g in db.session.scalars(select(DrugGroup).where(DrugGroup.edition == edition))}
    for row in rows:
        group = existing.get(row["code"])
        if group is None:
            db.session.add(DrugGroup(**row))
            report.groups_created += 1
            continue
        for fld in GROUP_FIELDS:
            if _text(getattr(group, fld)) != _text(row[fld]):
                setattr(group, fld, row[fld])
                report.fields_changed += 1


@summarised("catalog load")
def load_catalog(data_dir: Path) -> LoadReport:
    """Bring the database in line with the files; flush, never commit."""
    drugs, products = read_catalog(data_dir)
    report = LoadReport(editions=sorted({d["edition"] for d in drugs}))
    groups = read_groups(data_dir, set(report.editions))
    now = clock.now_utc()
    changes: list[CatalogChange] = []
    for edition in report.editions:
        local = _locally_edited(edition)
        existing_drugs = {d.code: d for d in db.session.scalars(select(Drug).where(Drug.edition == edition)
                                                                .options(selectinload(Drug.other_class_paths)))}
        for row in (d for d in drugs if d["edition"] == edition):
            others = row.pop("other_class_paths")
            drug = existing_drugs.get(row["code"])
            if drug is None:
                drug = Drug(**row, other_class_paths=[DrugClassPath(class_path=p) for p in others])
                db.session.add(drug)
                existing_drugs[row["code"]] = drug
                report.drugs_created += 1
                changes.append(CatalogChange(entity="drug", entity_code=row["code"], drug=drug, action="create",
                                             source=SOURCE, reason="目录导入"))
                continue
            for fld in DRUG_FIELDS:
                old, new = getattr(drug, fld), row[fld]
                if _text(old) != _text(new) and ("drug", drug.code, fld) in local:
                    report.kept_local_edits += 1
                elif _text(old) != _text(new):
                    setattr(drug, fld, new)
                    report.fields_changed += 1
                    changes.append(CatalogChange(entity="drug", entity_code=drug.code, drug=drug, action="update",
                                                 field=fld, old_value=_text(old), new_value=_text(new),
                                                 source=SOURCE, reason="目录导入"))
            old_others = [c.class_path for c in drug.other_class_paths]
            if set(old_others) != set(others):
                kept = {c.class_path: c for c in drug.other_class_paths}
                drug.other_class_paths = [kept.get(p) or DrugClassPath(class_path=p) for p in others]
                report.fields_changed += 1
                changes.append(CatalogChange(entity="drug", entity_code=drug.code, drug=drug, action="update",
                                             field="other_class_paths", old_value=" | ".join(old_others),
                                             new_value=" | ".join(others), source=SOURCE, reason="目录导入"))
        db.session.flush()
        _load_groups(edition, [g for g in groups if g["edition"] == edition], report)
        existing_products = {p.code: p for p in db.session.scalars(select(Product).where(Product.edition == edition))}
        seen = set()
        for row in (p for p in products if p["edition"] == edition):
            seen.add(row["code"])
            drug = existing_drugs[row["drug_code"]]
            values = {k: v for k, v in row.items() if k != "drug_code"}
            product = existing_products.get(row["code"])
            if product is None:
                product = Product(drug=drug, status=ProductStatus.ACTIVE, effective_from=now, **values)
                db.session.add(product)
                report.products_created += 1
                changes.append(CatalogChange(entity="product", entity_code=row["code"], drug=drug, product=product,
                                             action="create", source=SOURCE, reason="目录导入"))
                db.session.add(ProductPrice(product=product, unified_price=row["unified_price"], valid_from=now))
                continue
            if product.drug_id != drug.id:
                product.drug = drug
            for fld in PRODUCT_FIELDS:
                old, new = getattr(product, fld), values[fld]
                if _text(old) == _text(new):
                    continue
                if ("product", product.code, fld) in local:
                    report.kept_local_edits += 1
                    continue
                setattr(product, fld, new)
                report.fields_changed += 1
                changes.append(CatalogChange(entity="product", entity_code=product.code, drug=drug, product=product,
                                             action="update", field=fld, old_value=_text(old),
                                             new_value=_text(new), source=SOURCE, reason="目录导入"))
                if fld == "unified_price":
                    db.session.add(ProductPrice(product=product, unified_price=new, valid_from=now))
        for code, product in existing_products.items():
            if code not in seen and product.status == ProductStatus.ACTIVE and ("product", code, "status") not in local:
                product.status = ProductStatus.WITHDRAWN
                product.withdrawn_at = now
                report.products_withdrawn += 1
                changes.append(CatalogChange(entity="product", entity_code=code, drug=product.drug, product=product,
                                             action="withdraw", field="status", old_value=ProductStatus.ACTIVE,
                                             new_value=ProductStatus.WITHDRAWN, source=SOURCE,
                                             reason="目录文件中已无此产品"))
    db.session.add_all(changes)
    db.session.flush()
    log.info("catalog load: %s", report)
    return report
