"""The brand and common names shipped in catalog_data/brand_names.csv, read and resolved to drugs and products.

Pure: the file and plain catalog rows in, alias rows out. `services.load_brand_aliases` writes them.
A row names a drug by its generic name and, when the brand is one product, its form and strength as the formulary
writes them. A brand whose product is not in the formulary (拜新同 is a controlled-release tablet; the list has only
sustained-release ones) still names the drug, and keeps its form and strength in the alias key so that a name
using it is never silently taken for another product.
"""

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from .normalize import canonical_form, compact, format_quantities, parse_name, parse_quantities, strengths_compatible

BRAND_FILE = "brand_names.csv"
BRAND_COLUMNS = ["text", "generic_name", "dosage_form", "strength", "manufacturer", "kind", "source"]
KINDS = {"brand", "common"}


class BrandFileError(Exception):
    """The brand file cannot be read; nothing was written."""


@dataclass(frozen=True)
class BrandRow:
    line: int
    text: str
    generic_name: str
    dosage_form: str
    strength: str
    manufacturer: str
    kind: str
    source: str


@dataclass(frozen=True)
class ResolvedAlias:
    text: str
    normalized_text: str
    drug_key: str
    product_key: str | None
    source: str
    source_ref: str


def read_brand_file(path: Path) -> list[BrandRow]:
    """Read and check the brand file; raise BrandFileError naming the line on the first problem."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BrandFileError(f"{path.name}: 文件不是 UTF-8 编码 (not UTF-8)") from None
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [c for c in BRAND_COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise BrandFileError(f"{path.name}:1: 缺少列 (missing columns) {missing}")
    rows, seen = [], set()
    for record in reader:
        values = {k: (record.get(k) or "").strip() for k in BRAND_COLUMNS}
        if not any(values.values()):
            continue
        line = reader.line_num
        if not values["text"] or not values["generic_name"]:
            raise BrandFileError(f"{path.name}:{line}: text 和 generic_name 必填 (required)")
        if values["kind"] not in KINDS:
            raise BrandFileError(f"{path.name}:{line}: kind 应为 brand 或 common (unknown kind) {values['kind']}")
        key = (values["text"], values["generic_name"], values["dosage_form"], values["strength"])
        if key in seen:
            raise BrandFileError(f"{path.name}:{line}: 重复的行 (duplicate row) {values['text']}")
        seen.add(key)
        rows.append(BrandRow(line=line, **values))
    return rows


def alias_key(text: str, dosage_form: str = "", strength: str = "") -> str:
    """The alias key "drug words|form|strength" for a name and the form and strength it stands for."""
    parsed = parse_name(text)
    words = "".join(parsed.segments) or compact(text)
    form = canonical_form(dosage_form) if dosage_form else parsed.form
    quantities = parse_quantities(strength) if strength else parsed.quantities
    return f"{words}|{form}|{format_quantities(quantities)}"


def find_product(products: list[dict], dosage_form: str, strength: str) -> dict | None:
    """The one product of a drug with this form (and strength, when given), or None."""
    if not dosage_form:
        return None
    form = canonical_form(dosage_form)
    same_form = [p for p in products if p["dosage_form"] == dosage_form] or \
        [p for p in products if canonical_form(p["dosage_form"]) == form]
    if not strength:
        return same_form[0] if len(same_form) == 1 else None
    wanted = parse_quantities(strength)
    exact = [p for p in same_form if p["strength"] == strength]
    if exact:
        return exact[0]
    matches = [p for p in same_form if strengths_compatible(wanted, parse_quantities(p["strength"]))
               and strengths_compatible(parse_quantities(p["strength"]), wanted)]
    if len(matches) != 1:
        matches = [p for p in same_form if strengths_compatible(wanted, parse_quantities(p["strength"]))]
    return matches[0] if len(matches) == 1 else None


def resolve_brand_rows(rows: list[BrandRow], drugs: list[dict], products: list[dict]) -> tuple[
        list[ResolvedAlias], list[str]]:
    """Resolve rows to (drug, product) keys of the catalog; return the aliases and a note per row left out.

    `drugs` are dicts with "key" and "generic_name"; `products` dicts with "key", "drug_key", "dosage_form",
    "strength" (the keys are whatever the caller uses: codes or ids).
    """
    by_name: dict[str, dict] = {}
    for drug in drugs:
        by_name.setdefault(compact(drug["generic_name"]), drug)
    products_of: dict[object, list[dict]] = {}
    for product in products:
        products_of.setdefault(product["drug_key"], []).append(product)
    aliases, skipped = [], []
    for row in rows:
        drug = by_name.get(compact(row.generic_name))
        if drug is None:
            skipped.append(f"{BRAND_FILE}:{row.line}: 目录中没有 {row.generic_name}（{row.text}）")
            continue
        product = find_product(products_of.get(drug["key"], []), row.dosage_form, row.strength)
        reference = "；".join(p for p in (row.source, row.manufacturer,
                                          " ".join(x for x in (row.dosage_form, row.strength) if x)) if p)
        aliases.append(ResolvedAlias(
            text=row.text, normalized_text=alias_key(row.text, row.dosage_form, row.strength),
            drug_key=drug["key"], product_key=product["key"] if product else None, source=row.kind,
            source_ref=reference[:255]))
    return aliases, skipped
