"""Match one local name to formulary products: candidates, scores and a decision. Pure: index and text in.

Scores run from 0 to 100. The drug is found first — by its words (generic name, a brand or common name, a name
confirmed at this facility), by pinyin initials, or by rapidfuzz over those words and their pinyin — and a name's
text that no drug word explains costs points. The drug's products are then scored by dosage form and strength:
a strength the formulary does not have, or another form, costs enough that such a name is never auto-matched.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from ..catalog.pinyin import full_pinyin, pinyin_initials
from .index import KIND_GENERIC, KIND_LOCAL, KeyEntry, MatchIndex, ProductEntry, salt_words
from .normalize import (FORM_PENALTY_FAMILY, FORM_PENALTY_OTHER, SALT_PREFIXES, SALT_SUFFIXES, ParsedName, form_penalty,
                        has_cjk, parse_name, strengths_compatible)

AUTO_MATCHED = "auto_matched"
NEEDS_REVIEW = "needs_review"
NO_MATCH = "no_match"

# Calibrated on tests/data/matching_dev_set.csv with scripts/bench_matching.py (see README, 名称匹配).
AUTO_THRESHOLD = 90.0
# The best candidate must lead the next product by this much to be taken without a person.
AMBIGUITY_MARGIN = 4.0
# Below this nothing in the formulary resembles the name.
NO_MATCH_BELOW = 50.0
# A fuzzy resemblance is never as good as a known spelling: it stays below the auto threshold.
FUZZY_CAP = 88.0
# Typos are looked for only when no known spelling explains the name this well.
FUZZY_WHEN_BELOW = 90.0
TOP_N = 5

PENALTY_CJK_IN_WORD = 12  # an unexplained character next to the drug word (复方, 艾司, 克拉维酸钾) may be another drug
PENALTY_LATIN_IN_WORD = 4
PENALTY_OTHER_WORD_CHAR = 3  # a separate unexplained word: usually a maker or a brand we do not know
PENALTY_OTHER_WORDS_MAX = 10
PENALTY_SUBSUMED = 25  # the drug's word lies inside another drug's longer word
PENALTY_CONFLICT = 15  # another segment names another drug (a compound or a different product)
PENALTY_STRENGTH = 30
PENALTY_BARE_NUMBER = 12
PENALTY_SALT = 6
PENALTY_VARIANT = 20
PENALTY_NOT_HINTED = 12
PENALTY_PACK_UNIT = 5
# A word left in the name that one product's strength states (α2b, 含甘油) counts against the others.
PENALTY_OTHER_VARIANT = 6

# Vehicle words an infusion's name ends with (左氧氟沙星氯化钠注射液): part of the form, not another drug.
_VEHICLES = ("葡萄糖氯化钠", "氯化钠", "葡萄糖")
# Words in front of a drug word that do not change the drug (重组人胰岛素, 注射用).
_NEUTRAL_PREFIXES = ("重组", "注射用", "生物合成", "精制", "冻干", "口服", "外用", "消旋")
_INJECTION_FORMS = {"注射液", "注射用粉"}


@dataclass
class Evidence:
    """Why a drug is a candidate for a name."""

    drug_id: int
    score: float
    source: str
    entries: list[KeyEntry] = field(default_factory=list)
    salts: set[str] = field(default_factory=set)
    # words no drug word explains, with what each cost the score
    leftovers: list[tuple[str, float]] = field(default_factory=list)
    product_ids: set[int] = field(default_factory=set)
    form_hint: str = ""


@dataclass
class Candidate:
    product_id: int
    drug_id: int
    score: float
    source: str
    strength_ok: bool | None = None
    form_penalty: int = 0
    drug_score: float = 0.0

    def as_dict(self) -> dict:
        return {"product_id": self.product_id, "score": round(self.score, 1), "source": self.source}


@dataclass
class MatchResult:
    status: str
    score: float
    parsed: ParsedName
    candidates: list[Candidate] = field(default_factory=list)
    source: str = ""
    reason: str = ""

    @property
    def top(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    @property
    def product_id(self) -> int | None:
        """The product taken without review (auto_matched only)."""
        return self.top.product_id if self.status == AUTO_MATCHED and self.top else None


def _is_cjk(char: str) -> bool:
    return "\u3400" <= char <= "\u9fff" or "\uf900" <= char <= "\ufaff"


def _widen(segment: str, start: int, end: int) -> tuple[int, int, list[str]]:
    """Widen a drug word's span over salt words and neutral prefixes written around it."""
    salts = []
    moved = True
    while moved:
        moved = False
        for prefix in (*SALT_PREFIXES, *_NEUTRAL_PREFIXES):
            if segment[:start].endswith(prefix):
                start -= len(prefix)
                if prefix in SALT_PREFIXES:
                    salts.append(prefix)
                moved = True
                break
    for suffix in SALT_SUFFIXES:
        if segment[end:].startswith(suffix):
            salts.append(suffix)
            end += len(suffix)
            break
    return start, end, salts


def _segment_evidence(segment: str, spans: list[tuple[int, int]], parsed: ParsedName) -> tuple[float, set, list]:
    covered = [False] * len(segment)
    salts: set[str] = set()
    for start, end in spans:
        start, end, found = _widen(segment, start, end)
        salts.update(found)
        for k in range(start, end):
            covered[k] = True
    if parsed.form in _INJECTION_FORMS or not parsed.form:
        for vehicle in _VEHICLES:
            if segment.endswith(vehicle) and not any(covered[len(segment) - len(vehicle):]):
                for k in range(len(segment) - len(vehicle), len(segment)):
                    covered[k] = True
                break
    leftovers: list[tuple[str, float]] = []
    run, cost = "", 0.0
    for char, is_covered in zip([*segment, ""], [*covered, True], strict=True):
        if is_covered:
            if run:
                leftovers.append((run, cost))
            run, cost = "", 0.0
            continue
        run += char
        cost += PENALTY_CJK_IN_WORD if _is_cjk(char) else PENALTY_LATIN_IN_WORD
    return 100.0 - sum(c for _, c in leftovers), salts, leftovers


def _splits_word(segment: str, start: int, end: int) -> bool:
    """Whether a span cuts a Latin word or a number in two (维生素b1 inside 维生素b12)."""
    def joined(a: int, b: int) -> bool:
        return 0 <= a and b < len(segment) and segment[a].isascii() and segment[a].isalnum() and \
            segment[b].isascii() and segment[b].isalnum()
    return joined(start - 1, start) or joined(end - 1, end)


def _word_hits(index: MatchIndex, segments: tuple[str, ...], facility_ids: tuple[int, ...]):
    """Every known drug word inside each segment: {drug id: [(segment, start, end, entry)]}."""
    hits: dict[int, list] = defaultdict(list)
    for si, segment in enumerate(segments):
        if not has_cjk(segment):
            for entry in index.latin_keys.get(segment, ()):
                if entry.visible_to(facility_ids):
                    hits[entry.drug_id].append((si, 0, len(segment), entry))
            continue
        n = len(segment)
        longest = min(n, index.max_key_length)
        for i in range(n - 1):
            for j in range(i + 2, min(n, i + longest) + 1):
                entries = index.keys.get(segment[i:j])
                if entries and not _splits_word(segment, i, j):
                    for entry in entries:
                        if entry.visible_to(facility_ids):
                            hits[entry.drug_id].append((si, i, j, entry))
    return hits


def _word_evidence(index: MatchIndex, parsed: ParsedName, facility_ids: tuple[int, ...]) -> dict[int, Evidence]:
    segments = parsed.segments
    hits = _word_hits(index, segments, facility_ids)
    # Segments mostly covered by one drug's word, to tell a second drug from a maker's name.
    claimed: dict[int, set[int]] = defaultdict(set)
    for drug_id, drug_hits in hits.items():
        for si, start, end, _ in drug_hits:
            if (end - start) >= max(2, 0.6 * len(segments[si])):
                claimed[si].add(drug_id)
    # The longest word wins over the words inside it: 葡萄糖氯化钠 over 葡萄糖, 左氧氟沙星 over 氧氟沙星.
    longest: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for drug_id, drug_hits in hits.items():
        for si, start, end, _ in drug_hits:
            longest[si].append((start, end, drug_id))
    evidence: dict[int, Evidence] = {}
    for drug_id, drug_hits in hits.items():
        per_segment: dict[int, tuple[float, set, list]] = {}
        for si in {h[0] for h in drug_hits}:
            spans = [(start, end) for hsi, start, end, _ in drug_hits if hsi == si]
            per_segment[si] = _segment_evidence(segments[si], spans, parsed)
        best = max(per_segment, key=lambda si: per_segment[si][0])
        score, salts, leftovers = per_segment[best]
        light, conflict = 0.0, 0
        for si, segment in enumerate(segments):
            if si == best:
                continue
            if si in per_segment:
                light += (100 - per_segment[si][0]) / 4
                salts |= per_segment[si][1]
                continue
            if segment in _VEHICLES and (parsed.form in _INJECTION_FORMS or not parsed.form):
                continue  # 羟乙基淀粉130/0.4氯化钠注射液: the vehicle, not a second drug
            if claimed[si] - {drug_id}:
                conflict += PENALTY_CONFLICT
                continue
            cost = sum(PENALTY_OTHER_WORD_CHAR if _is_cjk(c) else 1 for c in segment)
            light += cost
            leftovers.append((segment, min(cost, PENALTY_OTHER_WORDS_MAX)))
        score -= min(light, PENALTY_OTHER_WORDS_MAX) + conflict
        own = [(start, end) for si, start, end, _ in drug_hits if si == best]
        if own and all(any(o_start <= start and end <= o_end and (o_end - o_start) > (end - start)
                           for o_start, o_end, other in longest[best] if other != drug_id)
                       for start, end in own):
            score -= PENALTY_SUBSUMED
        entries = [h[3] for h in drug_hits]
        kinds = sorted({e.kind for e in entries}, key=lambda k: (k != KIND_LOCAL, k != KIND_GENERIC, k))
        evidence[drug_id] = Evidence(drug_id=drug_id, score=score, source=kinds[0], entries=entries, salts=salts,
                                     leftovers=leftovers,
                                     # A confirmed local name points at its product only through its whole
                                     # key (MatchIndex.exact): its words alone may be written for another one.
                                     product_ids={e.product_id for e in entries
                                                  if e.product_id is not None and e.kind != KIND_LOCAL})
    return evidence


def _latin_evidence(index: MatchIndex, parsed: ParsedName, facility_ids: tuple[int, ...],
                    evidence: dict[int, Evidence]) -> None:
    """Pinyin typed on a tablet: initials (AMXL, AMXLJN with the form) or whole pinyin (amoxilin)."""
    segments = list(parsed.segments)
    if len(segments) > 1 and not any(has_cjk(s) for s in segments):
        segments.append("".join(segments))  # BLF HSJN
    for segment in segments:
        cjk = has_cjk(segment)
        letters = "".join(c for c in segment if c.isascii() and c.isalpha())
        if cjk and len(letters) < 2:
            continue
        if cjk:
            # A mix (阿莫xl): the Chinese characters stand for their initials.
            typed = "".join(pinyin_initials(c) if has_cjk(c) else c for c in segment).upper()
            base = 84.0
        else:
            typed, base = segment.upper(), 92.0
        if len(typed) < 2:
            continue
        found: dict[int, tuple[float, set[int], list[KeyEntry]]] = {}
        product_ids = index.product_initials.get(typed, ())
        for product_id in product_ids:
            drug_id = index.products[product_id].drug_id
            score, products, entries = found.get(drug_id, (0.0, set(), []))
            found[drug_id] = (max(score, base + 2), products | {product_id}, entries)
        entries = [e for e in index.initials.get(typed, ()) if e.visible_to(facility_ids)]
        drugs = {e.drug_id for e in entries}
        for entry in entries:
            score, products, kept = found.get(entry.drug_id, (0.0, set(), []))
            found[entry.drug_id] = (max(score, base - 3 * (len(drugs) - 1)), products, kept + [entry])
        if not cjk:
            for entry in index.pinyin.get(segment, ()):
                score, products, kept = found.get(entry.drug_id, (0.0, set(), []))
                found[entry.drug_id] = (max(score, 96.0), products, kept + [entry])
        for drug_id, (score, products, entries) in found.items():
            current = evidence.get(drug_id)
            if current is None or current.score < score:
                forms = {index.products[p].form for p in products}
                evidence[drug_id] = Evidence(drug_id=drug_id, score=score, source="pinyin", entries=entries,
                                             product_ids=products, form_hint=forms.pop() if len(forms) == 1 else "")


def _fuzzy_evidence(index: MatchIndex, parsed: ParsedName, facility_ids: tuple[int, ...],
                    evidence: dict[int, Evidence]) -> None:
    """Typos: rapidfuzz over every known drug word, by characters and by their pinyin."""
    for segment in parsed.segments:
        if not has_cjk(segment) or len(segment) < 2:
            continue
        scores: dict[int, tuple[float, list[KeyEntry]]] = {}
        for _, ratio, i in process.extract(segment, index.fuzzy_choices, scorer=fuzz.ratio, limit=8,
                                           score_cutoff=50):
            for entry in index.fuzzy_entries[i]:
                if entry.visible_to(facility_ids) and ratio > scores.get(entry.drug_id, (0,))[0]:
                    scores[entry.drug_id] = (ratio, [entry])
        for _, ratio, i in process.extract(full_pinyin(segment), index.fuzzy_pinyin, scorer=fuzz.ratio, limit=8,
                                           score_cutoff=75):
            for entry in index.fuzzy_entries[i]:
                if entry.visible_to(facility_ids) and ratio - 8 > scores.get(entry.drug_id, (0,))[0]:
                    scores[entry.drug_id] = (ratio - 8, [entry])
        others = sum(len(s) for s in parsed.segments if s != segment)
        for drug_id, (ratio, entries) in scores.items():
            score = min(FUZZY_CAP, ratio) - min(PENALTY_OTHER_WORDS_MAX, PENALTY_OTHER_WORD_CHAR * others)
            current = evidence.get(drug_id)
            if current is None or current.score < score:
                evidence[drug_id] = Evidence(drug_id=drug_id, score=score, source="fuzzy", entries=entries)


def score_product(product: ProductEntry, ev: Evidence, parsed: ParsedName, index_drug_form: str = "",
                  telling_words: tuple[tuple[str, float], ...] = ()) -> Candidate:
    """Score one product of a candidate drug: the drug's evidence less what its form and strength do not fit."""
    # A brand stands for its form and strength; a confirmed local name only for its drug (see _word_evidence).
    hints = [e for e in ev.entries if (e.form_hint or e.strength_hint) and e.kind != KIND_LOCAL]
    written_form = parsed.form
    if written_form and any(e.name_form == written_form for e in hints):
        written_form = ""  # 生理盐水: the 水 belongs to the alias, whose form is 注射液
    wanted_form = written_form or ev.form_hint or next((e.form_hint for e in hints if e.form_hint), "")
    wanted_strength = parsed.quantities or next((e.strength_hint for e in hints if e.strength_hint), ())
    score = ev.score
    f_penalty = form_penalty(wanted_form, product.form)
    if written_form and written_form == index_drug_form:
        # 藿香正气水, 连花清瘟胶囊: the form written is part of the drug's name and only hints at the product.
        f_penalty = min(f_penalty, FORM_PENALTY_FAMILY)
    score -= f_penalty
    strength_ok = strengths_compatible(wanted_strength, product.quantities)
    if strength_ok is False:
        score -= PENALTY_STRENGTH
    elif strength_ok is None and parsed.bare_numbers:
        if any(n in product.numbers for n in parsed.bare_numbers):
            strength_ok = True
        else:
            score -= PENALTY_BARE_NUMBER
    if ev.product_ids and product.id not in ev.product_ids and not parsed.quantities and not parsed.form:
        score -= PENALTY_NOT_HINTED
    if not wanted_form and parsed.pack_unit and product.base_unit and parsed.pack_unit != product.base_unit:
        # "*6片" says tablets when the name gives no form.
        score -= PENALTY_PACK_UNIT
    if ev.salts and product.salt_words:
        written = {word for salt in ev.salts for word in salt_words(salt)}
        if written and not written & product.salt_words:
            score -= PENALTY_SALT
    if parsed.variant and product.variant and parsed.variant != product.variant:
        score -= PENALTY_VARIANT
    for word, cost in telling_words:
        if word in product.strength_text:
            score += cost  # explained after all: this product's strength states it
        else:
            score -= PENALTY_OTHER_VARIANT
    return Candidate(product_id=product.id, drug_id=product.drug_id, score=max(0.0, min(100.0, score)),
                     source=ev.source, strength_ok=strength_ok, form_penalty=f_penalty, drug_score=ev.score)


def telling_words(ev: Evidence, products: list[ProductEntry]) -> tuple[tuple[str, float], ...]:
    """Words left in a name that some, not all, of the drug's products state in their strength (α2b, 含甘油),
    with what each cost."""
    words = []
    for word, cost in ev.leftovers:
        if len(word) >= 2:
            found = sum(1 for p in products if word in p.strength_text)
            if 0 < found < len(products):
                words.append((word, cost))
    return tuple(words)


def decide(candidates: list[Candidate], parsed: ParsedName, threshold: float = AUTO_THRESHOLD) -> tuple[str, str]:
    """The status of a name and why (a message id): auto-matched only when sure, reviewed when unsure."""
    # A drug named exactly is worth a look even when none of its products fits (维生素B12片: only injections).
    named = bool(candidates) and candidates[0].source != "fuzzy" and candidates[0].drug_score >= threshold
    if not candidates or (candidates[0].score < NO_MATCH_BELOW and not named):
        return NO_MATCH, "目录中没有相近的药品"
    top = candidates[0]
    if top.strength_ok is False or (parsed.quantities and top.strength_ok is not True):
        return NEEDS_REVIEW, "目录中没有该规格"
    if top.form_penalty >= FORM_PENALTY_OTHER:
        return NEEDS_REVIEW, "目录中没有该剂型"
    if len(candidates) > 1 and candidates[1].score > top.score - AMBIGUITY_MARGIN:
        return NEEDS_REVIEW, "多个候选得分接近"
    if top.score < threshold:
        return NEEDS_REVIEW, "得分低于自动匹配阈值"
    return AUTO_MATCHED, ""


def match_parsed(index: MatchIndex, parsed: ParsedName, facility_ids: tuple[int, ...] = (),
                 allowed_tiers: set[str] | None = None) -> MatchResult:
    """Match a parsed name; `facility_ids` (own facility first, then its parents) select local aliases."""
    # A name confirmed before, at this facility or county-wide, is that product.
    exact = [e for e in index.exact.get(parsed.key, ()) if e.visible_to(facility_ids) and e.product_id in
             index.products and index.products[e.product_id].is_active]
    if exact:
        exact.sort(key=lambda e: (e.facility_id is None, facility_ids.index(e.facility_id)
                                  if e.facility_id in facility_ids else 0, e.kind != KIND_LOCAL))
        entry = exact[0]
        top = Candidate(product_id=entry.product_id, drug_id=entry.drug_id, score=100.0, source=entry.kind,
                        strength_ok=True)
        result = match_parsed_by_words(index, parsed, facility_ids, allowed_tiers)
        others = [c for c in result.candidates if c.product_id != entry.product_id][: TOP_N - 1]
        return MatchResult(status=AUTO_MATCHED, score=100.0, parsed=parsed, candidates=[top, *others],
                           source=entry.kind, reason="已确认的本地名称" if entry.kind == KIND_LOCAL else "")
    return match_parsed_by_words(index, parsed, facility_ids, allowed_tiers)


def match_parsed_by_words(index: MatchIndex, parsed: ParsedName, facility_ids: tuple[int, ...] = (),
                          allowed_tiers: set[str] | None = None) -> MatchResult:
    evidence = _word_evidence(index, parsed, facility_ids)
    _latin_evidence(index, parsed, facility_ids, evidence)
    if not evidence or max(e.score for e in evidence.values()) < FUZZY_WHEN_BELOW:
        _fuzzy_evidence(index, parsed, facility_ids, evidence)
    ranked = sorted(evidence.values(), key=lambda e: -e.score)[:8]
    candidates: list[Candidate] = []
    for ev in ranked:
        products = index.active_products(ev.drug_id)
        telling = telling_words(ev, products)
        for product in products:
            if allowed_tiers is not None and product.lowest_tier not in allowed_tiers:
                continue
            candidates.append(score_product(product, ev, parsed, index.drugs[ev.drug_id].name_form, telling))
    candidates.sort(key=lambda c: (-c.score, index.products[c.product_id].code))
    status, reason = decide(candidates, parsed)
    top = candidates[0] if candidates else None
    return MatchResult(status=status, score=round(top.score, 1) if top else 0.0, parsed=parsed,
                       candidates=candidates[:TOP_N], source=top.source if top else "", reason=reason)


def match_name(index: MatchIndex, name: str, *, spec: str = "", manufacturer: str = "",
               facility_ids: tuple[int, ...] = (), allowed_tiers: set[str] | None = None) -> MatchResult:
    """Parse and match one local name."""
    return match_parsed(index, parse_name(name, spec=spec, manufacturer=manufacturer), facility_ids, allowed_tiers)


# Proposing products for a name typed at registration (see `shortlist`).
PROPOSAL_LIMIT = 4
# Candidates this far below the best are not worth a tap.
PROPOSAL_SPREAD = 20.0


def shortlist(result: MatchResult, *, limit: int = PROPOSAL_LIMIT, spread: float = PROPOSAL_SPREAD) -> list[Candidate]:
    """The candidates worth proposing for a typed name, best first: none when nothing in the formulary resembles
    it (`decide`), else those scoring close to the best one."""
    if result.status == NO_MATCH or not result.candidates:
        return []
    best = result.candidates[0].score
    return [c for c in result.candidates if c.score >= best - spread][:limit]
