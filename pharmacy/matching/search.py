"""Search-as-you-type over the match index: Chinese text, pinyin initials or a mix, a few characters at a time.

Pure: index and query in, ranked product ids out. Unlike matching a whole name, a query is usually the start of
a word (阿莫, amx), so prefixes count as much as whole words; the form and strength typed after the drug narrow
its products the way matching does.
"""

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from ..catalog.pinyin import pinyin_initials
from .index import KIND_RANK, MatchIndex
from .matcher import Evidence, match_parsed_by_words, score_product
from .normalize import FORM_SYNONYMS, drug_words, has_cjk, normalize_text, parse_name


@dataclass
class SearchHit:
    product_id: int
    score: float
    matched: str  # the spelling that matched (a brand, an alias, initials)


def _prefix_score(typed: str, key: str, full: float, start: float) -> float:
    """Score for `key` starting with `typed`: `full` for the whole key, less the more is left to type."""
    if key == typed:
        return full
    return max(start - 2 * (len(key) - len(typed)), start - 20)


def _typed_initials(words: str) -> str:
    return "".join(pinyin_initials(c) if has_cjk(c) else c for c in words).upper()


def _split_typed_form(index: MatchIndex, words: str) -> tuple[str, set[str]]:
    """Split a form being typed off the drug words: 二甲双胍缓释 → 二甲双胍 and the forms 缓释… may become."""
    for cut in range(1, min(4, len(words) - 1) + 1):
        head, tail = words[:-cut], words[-cut:]
        if head in index.keys:
            forms = {canonical for spelling, canonical in FORM_SYNONYMS.items() if spelling.startswith(tail)}
            if forms:
                return head, forms
    return words, set()


def search_products(index: MatchIndex, query: str, *, facility_ids: tuple[int, ...] = (),
                    allowed_tiers: set[str] | None = None, hidden_editions: frozenset[str] = frozenset(),
                    also_product_ids: frozenset[int] = frozenset(), limit: int = 10) -> list[SearchHit]:
    """Products for a query typed in a search box, best first.

    Products of `hidden_editions` are left out (list editions not in force), except those of `also_product_ids`
    (another edition's products the facility still holds)."""
    def offered(product) -> bool:
        if allowed_tiers is not None and product.lowest_tier not in allowed_tiers:
            return False
        return product.edition not in hidden_editions or product.id in also_product_ids

    text = normalize_text(query)[:60]
    if not text:
        return []
    parsed = parse_name(text)
    words = drug_words("".join(parsed.segments))
    found: dict[int, tuple[float, str]] = {}
    product_hits: dict[int, float] = {}
    typing_forms: set[str] = set()
    if words and has_cjk(words) and not parsed.form:
        words, typing_forms = _split_typed_form(index, words)

    def note(drug_id: int, score: float, matched: str) -> None:
        if score > found.get(drug_id, (0.0, ""))[0]:
            found[drug_id] = (score, matched)

    if words:
        if has_cjk(words):
            for key, entries in index.keys.items():
                if key.startswith(words):
                    score = _prefix_score(words, key, 100.0, 92.0)
                elif words in key:
                    score = 80.0 - min(15, len(key) - len(words))
                else:
                    continue
                for entry in entries:
                    if entry.visible_to(facility_ids):
                        bonus = 2.0 if KIND_RANK.get(entry.kind, 9) <= KIND_RANK["generic"] else 0.0
                        note(entry.drug_id, score + bonus - 2, entry.text or key)
        typed = _typed_initials(words) if has_cjk(words) else words.upper()
        letters_only = typed.isascii() and typed.isalnum() and len(typed) >= 2
        if letters_only and (not has_cjk(words) or any(c.isascii() for c in words)):
            for initials, entries in index.initials.items():
                if initials.startswith(typed):
                    score = _prefix_score(typed, initials, 96.0, 90.0)
                    for entry in entries:
                        if entry.visible_to(facility_ids):
                            note(entry.drug_id, score, initials)
            for initials, product_ids in index.product_initials.items():
                if initials.startswith(typed) and len(typed) > 2:
                    for product_id in product_ids:
                        score = _prefix_score(typed, initials, 98.0, 92.0)
                        product_hits[product_id] = max(product_hits.get(product_id, 0.0), score)
                        note(index.products[product_id].drug_id, score - 4, initials)
            if not has_cjk(words):
                lowered = words.lower()
                for drug in index.drugs.values():
                    if drug.pinyin.startswith(lowered) and len(lowered) >= 3:
                        note(drug.id, _prefix_score(lowered, drug.pinyin, 97.0, 88.0), drug.pinyin)
                for key, entries in index.latin_keys.items():
                    if key.startswith(lowered):
                        for entry in entries:
                            if entry.visible_to(facility_ids):
                                note(entry.drug_id, _prefix_score(lowered, key, 99.0, 90.0), entry.text or key)
        # A whole name typed (苯磺酸氨氯地平片 5mg): the matcher's word evidence, when no drug word starts it.
        if has_cjk(words) and not found:
            result = match_parsed_by_words(index, parsed, facility_ids)
            for candidate in result.candidates:
                note(candidate.drug_id, candidate.score, "")
        if has_cjk(words) and len(words) >= 2 and max((f[0] for f in found.values()), default=0) < 80:
            for _, ratio, i in process.extract(words, index.fuzzy_choices, scorer=fuzz.partial_ratio, limit=limit,
                                               score_cutoff=70):
                for entry in index.fuzzy_entries[i]:
                    if entry.visible_to(facility_ids):
                        note(entry.drug_id, ratio * 0.8, entry.text or index.fuzzy_choices[i])

    hits: list[SearchHit] = []
    if hidden_editions:
        # Drugs of another edition would take the places of those offered: leave them out before the cut.
        found = {d: f for d, f in found.items() if any(offered(p) for p in index.active_products(d))}
    for drug_id, (drug_score, matched) in sorted(found.items(), key=lambda item: -item[1][0])[: limit * 3]:
        evidence = Evidence(drug_id=drug_id, score=drug_score, source="search")
        for product in index.active_products(drug_id):
            if not offered(product):
                continue
            candidate = score_product(product, evidence, parsed, index.drugs[drug_id].name_form)
            score = max(candidate.score, product_hits.get(product.id, 0.0))
            if typing_forms and product.form not in typing_forms:
                score -= 10
            hits.append(SearchHit(product_id=product.id, score=round(score, 1), matched=matched))
    hits.sort(key=lambda h: (-h.score, len(index.drugs[index.products[h.product_id].drug_id].generic_name),
                             index.products[h.product_id].code))
    return hits[:limit]
