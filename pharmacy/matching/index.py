"""The in-memory index names are matched against: every way of writing each formulary drug and product.

Built from plain records (no database here), so it can be tested and measured on its own; `catalog_index.py`
builds it from the database and caches it by catalog version.
"""

import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field

from ..catalog.pinyin import full_pinyin, pinyin_initials
from .normalize import (FORM_SYNONYMS, Quantity, canonical_form, compact, drug_words, form_penalty, has_cjk,
                        normalize_text, parse_name, parse_quantities, salt_variants, strip_form_suffix, variant_number,
                        written_numbers)

# How a key was learnt; the order is also the preference when two keys tie.
KIND_LOCAL = "local_confirmed"
KIND_GENERIC = "generic"
KIND_BRAND = "brand"
KIND_COMMON = "common"
KIND_MANUAL = "manual"
KIND_INGREDIENT = "ingredient"
KIND_RANK = {KIND_LOCAL: 0, KIND_MANUAL: 1, KIND_GENERIC: 2, KIND_BRAND: 3, KIND_COMMON: 4, KIND_INGREDIENT: 5}

_SALT_WORDS = re.compile(r"钠|钾|钙|镁|锌|盐酸|硫酸|苯磺酸|马来酸|甲磺酸|酒石酸|琥珀酸|富马酸|枸橼酸|醋酸|"
                         r"磷酸|乳酸|乳糖酸|碳酸|门冬氨酸|葡萄糖酸|丁酸|氨丁三醇|棕榈酸|酯")


def salt_words(text: str) -> list[str]:
    """The acid and salt words in a text (盐酸, 钠, 琥珀酸 …), to compare a name's salt with a product's."""
    return _SALT_WORDS.findall(text)


_CJK_RUN = re.compile(r"^([\u4e00-\u9fff]{2,14}?)(?=\d|\(|$)")


@dataclass(frozen=True)
class DrugRecord:
    id: int
    code: str
    generic_name: str
    category: str = ""
    pinyin_initials: str = ""


@dataclass(frozen=True)
class ProductRecord:
    id: int
    code: str
    drug_id: int
    dosage_form: str
    strength: str
    lowest_tier: str = "village"
    is_active: bool = True
    remarks: str = ""
    base_unit: str = ""
    pack_size: int = 1
    pack_unit: str = ""
    vbp_batch: str = ""
    edition: str = ""


@dataclass(frozen=True)
class AliasRecord:
    id: int
    text: str
    normalized_text: str
    drug_id: int
    product_id: int | None
    source: str
    facility_id: int | None = None


@dataclass
class DrugEntry:
    id: int
    code: str
    generic_name: str
    category: str
    initials: str
    pinyin: str
    # The form a name like 藿香正气水 or 连花清瘟胶囊 carries: in a local name it may be the name, not the product.
    name_form: str = ""
    product_ids: list[int] = field(default_factory=list)


@dataclass
class ProductEntry:
    id: int
    code: str
    drug_id: int
    dosage_form: str
    form: str
    strength: str
    quantities: tuple[Quantity, ...]
    numbers: frozenset[float]
    variant: int | None
    salt_words: frozenset[str]
    strength_text: str
    lowest_tier: str
    is_active: bool
    base_unit: str
    pack_size: int
    pack_unit: str
    vbp_batch: str = ""
    edition: str = ""


@dataclass(frozen=True)
class KeyEntry:
    """One way of writing a drug: the words, what they name, and where the knowledge comes from."""

    drug_id: int
    product_id: int | None
    kind: str
    facility_id: int | None = None
    text: str = ""
    form_hint: str = ""
    strength_hint: tuple[Quantity, ...] = ()
    # The form written inside the words themselves (生理盐水 → 水): in a name it is part of the name.
    name_form: str = ""

    def visible_to(self, facility_ids: tuple[int, ...]) -> bool:
        return self.facility_id is None or self.facility_id in facility_ids


@dataclass
class MatchIndex:
    drugs: dict[int, DrugEntry] = field(default_factory=dict)
    products: dict[int, ProductEntry] = field(default_factory=dict)
    # compact drug words → entries
    keys: dict[str, list[KeyEntry]] = field(default_factory=lambda: defaultdict(list))
    # whole Latin words (vc, vb1) → entries; matched only as a whole segment
    latin_keys: dict[str, list[KeyEntry]] = field(default_factory=lambda: defaultdict(list))
    # ParsedName.key of a confirmed local name or a brand → entries with a product
    exact: dict[str, list[KeyEntry]] = field(default_factory=lambda: defaultdict(list))
    initials: dict[str, list[KeyEntry]] = field(default_factory=lambda: defaultdict(list))
    # initials of drug + form (AMXLJN) → product ids
    product_initials: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    pinyin: dict[str, list[KeyEntry]] = field(default_factory=lambda: defaultdict(list))
    fuzzy_choices: list[str] = field(default_factory=list)
    fuzzy_pinyin: list[str] = field(default_factory=list)
    fuzzy_entries: list[list[KeyEntry]] = field(default_factory=list)
    max_key_length: int = 2
    version: object = None

    def add_key(self, words: str, entry: KeyEntry) -> None:
        words = drug_words(words)
        if len(words) < 2 or re.fullmatch(r"[\d.]+", words):
            return
        target = self.keys if has_cjk(words) else self.latin_keys
        if entry not in target[words]:
            target[words].append(entry)

    def add_initials(self, initials: str, entry: KeyEntry) -> None:
        initials = initials.upper()
        if len(initials) >= 2 and entry not in self.initials[initials]:
            self.initials[initials].append(entry)

    def active_products(self, drug_id: int) -> list[ProductEntry]:
        return [self.products[p] for p in self.drugs[drug_id].product_ids if self.products[p].is_active]

    @property
    def size(self) -> dict:
        return {"drugs": len(self.drugs), "products": len(self.products), "keys": len(self.keys),
                "latin_keys": len(self.latin_keys), "exact": len(self.exact), "initials": len(self.initials)}


def generic_keys(generic_name: str) -> set[str]:
    """Every spelling of a generic name worth looking up: whole, without its form (银翘解毒丸 → 银翘解毒), its
    drug words as parsed like a local name, without a salt, and a long name given in brackets (三氧化二砷)."""
    whole = compact(generic_name)
    keys = {whole, re.sub(r"\(.*?\)", "", whole), strip_form_suffix(whole)}
    parsed = parse_name(generic_name)
    if parsed.segments:
        keys.add("".join(parsed.segments))
        keys.add(parsed.segments[0])
    for inner in re.findall(r"\(([^)]*)\)", normalize_text(generic_name)):
        if sum(1 for c in inner if "\u4e00" <= c <= "\u9fff") >= 3:
            keys.add(compact(inner))
    # A salt written after the base (左甲状腺素钠, 苯妥英钠) may be left out; an acid never (硝酸甘油 is not 甘油,
    # 葡萄糖酸钙 not 葡萄糖酸).
    for key in list(keys):
        for variant in salt_variants(key):
            if key.startswith(variant) and len(variant) >= 3 and not variant.endswith("酸"):
                keys.add(variant)
    return {k for k in keys if len(k) >= 2}


@functools.lru_cache(maxsize=1024)
def form_initials(dosage_form: str) -> frozenset[str]:
    """Initials a tablet user types for a product's form: its written form and the usual spellings of its kind."""
    canonical = canonical_form(dosage_form)
    spellings = {compact(dosage_form), canonical}
    spellings |= {s for s, c in FORM_SYNONYMS.items() if c == canonical and len(s) <= 3}
    return frozenset(pinyin_initials(s) for s in spellings if s)


def _product_quantities(strength: str) -> tuple[Quantity, ...]:
    quantities = parse_quantities(strength)
    masses = [q for q in quantities if q.dimension == "mass"]
    # A two-ingredient strength (250mg:125mg) is also written as its total (0.375g).
    if len(masses) == 2 and ":" in strength and "+" not in strength and not any(
            q.dimension == "volume" for q in quantities):
        quantities.append(Quantity("mass", round(masses[0].value + masses[1].value, 6)))
    return tuple(quantities)


def _product_entry(record: ProductRecord) -> ProductEntry:
    strength = normalize_text(record.strength)
    return ProductEntry(
        id=record.id, code=record.code, drug_id=record.drug_id, dosage_form=record.dosage_form,
        form=canonical_form(record.dosage_form), strength=record.strength,
        quantities=_product_quantities(record.strength), numbers=frozenset(written_numbers(record.strength)),
        variant=variant_number(record.strength),
        salt_words=frozenset(salt_words(normalize_text(record.remarks) + " " + strength)),
        strength_text=compact(record.strength), lowest_tier=record.lowest_tier, is_active=record.is_active,
        base_unit=record.base_unit, pack_size=record.pack_size, pack_unit=record.pack_unit,
        vbp_batch=record.vbp_batch, edition=record.edition)


def _alias_entry(alias: AliasRecord) -> tuple[str, KeyEntry]:
    # normalized_text is "drug words|form|strength" (see ParsedName.key); the words are re-derived from the text
    # so that a change of the parsing rules applies to aliases stored before it.
    parsed = parse_name(alias.text)
    parts = (alias.normalized_text or "").split("|")
    form_hint = parts[1] if len(parts) > 1 and parts[1] else parsed.form
    strength_hint = tuple(parse_quantities(parts[2])) if len(parts) > 2 and parts[2] else parsed.quantities
    entry = KeyEntry(drug_id=alias.drug_id, product_id=alias.product_id, kind=alias.source,
                     facility_id=alias.facility_id, text=alias.text, form_hint=form_hint,
                     strength_hint=tuple(strength_hint), name_form=parsed.form)
    return "".join(parsed.segments) or compact(alias.text), entry


def build_index(drugs: list[DrugRecord], products: list[ProductRecord], aliases: list[AliasRecord] = (),
                version=None) -> MatchIndex:
    """Build the index from plain records of the catalog and its aliases."""
    index = MatchIndex(version=version)
    for drug in drugs:
        stem = strip_form_suffix(drug.generic_name)
        initials = (drug.pinyin_initials or pinyin_initials(drug.generic_name)).upper()
        index.drugs[drug.id] = DrugEntry(id=drug.id, code=drug.code, generic_name=drug.generic_name,
                                         category=drug.category, initials=initials,
                                         pinyin=full_pinyin(compact(drug.generic_name)),
                                         name_form=parse_name(drug.generic_name).form)
        entry = KeyEntry(drug_id=drug.id, product_id=None, kind=KIND_GENERIC, text=drug.generic_name)
        for key in generic_keys(drug.generic_name):
            index.add_key(key, entry)
        for text in {compact(drug.generic_name), stem}:
            index.add_initials(pinyin_initials(text), entry)
            index.pinyin[full_pinyin(drug_words(text))].append(entry)
        index.add_initials(initials, entry)

    for record in products:
        if record.drug_id not in index.drugs:
            continue
        product = _product_entry(record)
        index.products[product.id] = product
        drug = index.drugs[product.drug_id]
        drug.product_ids.append(product.id)
        keys = {(prefix + suffix).upper()
                for prefix in {drug.initials, pinyin_initials(strip_form_suffix(drug.generic_name))}
                for suffix in form_initials(record.dosage_form)}
        if drug.name_form and form_penalty(drug.name_form, product.form) == 0:
            keys.add(drug.initials)  # LWDHW is 六味地黄丸's pill, not its granules
        for key in keys:
            if product.id not in index.product_initials[key]:
                index.product_initials[key].append(product.id)
        # Representative products named in the strength (艾滋病用药: 拉米夫定0.15g) are found by that name.
        match = _CJK_RUN.match(normalize_text(record.strength))
        if match and "+" not in record.strength and not match.group(1).startswith(("每", "含", "以", "按", "复方")):
            index.add_key(match.group(1), KeyEntry(drug_id=product.drug_id, product_id=product.id,
                                                   kind=KIND_INGREDIENT, text=match.group(1)))

    for alias in aliases:
        if alias.drug_id not in index.drugs:
            continue
        if alias.product_id is not None and alias.product_id not in index.products:
            continue
        words, entry = _alias_entry(alias)
        index.add_key(words, entry)
        if alias.product_id is not None:
            for key in {alias.normalized_text, parse_name(alias.text).key}:
                if key and entry not in index.exact[key]:
                    index.exact[key].append(entry)
        if alias.source != KIND_LOCAL and has_cjk(words):
            index.add_initials(pinyin_initials(words), entry)

    for key_map in (index.keys, index.latin_keys):
        for entries in key_map.values():
            entries.sort(key=lambda e: (KIND_RANK.get(e.kind, 9), e.drug_id))
    index.max_key_length = max((len(k) for k in index.keys), default=2)
    # Fuzzy choices: one per distinct key, with its pinyin for typos that sound right (硝笨地平).
    for key, entries in index.keys.items():
        index.fuzzy_choices.append(key)
        index.fuzzy_pinyin.append(full_pinyin(key))
        index.fuzzy_entries.append(entries)
    return index
