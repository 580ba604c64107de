"""Write the 2026 national essential medicines list as catalog files, from the transcription in catalog_data/sources.

Run `.venv/bin/python scripts/build_eml2026.py` (or `--out DIR` to write elsewhere); the output is byte-identical on
every run. It reads `catalog_data/sources/eml2026_entries.csv` (the list, one row per printed entry) and
`catalog_data/sources/eml2026_structured_to_verify.csv` (fragments the structured version marks 待核验), carries the
county's terms over from the 2018 files where the same generic name, dosage form and strength exist, and writes:

- eml2026_chemical_drugs.csv / eml2026_chemical_products.csv, eml2026_tcm_drugs.csv / eml2026_tcm_products.csv
  (the 2018 columns, edition 2026),
- eml2026_groups.csv (the seven scope entries that name a group of drugs, not a product),
- eml2026_to_confirm.csv (every cell a pharmacist must confirm, with the printed text and the reason).

The parsing rules are documented in catalog_data/README.md; the parser never makes up a form or a strength: where
the list prints a form without a strength the product's strength says so (未列规格) and the cell is listed to confirm.
"""

import argparse
import csv
import io
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pharmacy.catalog.loader import DRUG_COLUMNS, PRODUCT_COLUMNS  # noqa: E402
from pharmacy.catalog.pinyin import pinyin_initials  # noqa: E402

DATA = ROOT / "catalog_data"
SOURCES = DATA / "sources"
EDITION = "2026"
CHEMICAL, TCM = "化学药品和生物制品", "中成药"
PREFIX = {CHEMICAL: "X26", TCM: "Z26"}
GROUP_COLUMNS = ["edition", "group_code", "eml_no", "category", "class_path", "name", "remarks"]
CONFIRM_COLUMNS = ["entry", "product_code", "field", "printed_text", "why"]
GROUP_NAMES = {"结核病用药", "艾滋病用药", "青蒿素类药物", "血友病用药", "抗蛇毒血清", "国家免疫规划用疫苗", "避孕药"}
NO_STRENGTH = "未列规格"

OPEN, CLOSE = "（(［[", "）)］]"
FORM_SUFFIXES = ("剂", "片", "胶囊", "丸", "散", "液", "膏", "栓", "贴", "粉末", "脂质体", "凝胶", "胶丸", "膜", "包装",
                 "颗粒", "酊", "露", "粉", "膏药")
# Printed spellings of a form that the 2018 files write differently.
FORM_SPELLING = {"缓释片剂": "缓释片", "缓释颗粒": "缓释颗粒剂"}
# Forms the 2018 TCM file splits by manufacture (水丸, 蜜丸 …) that the 2026 list prints as one (丸剂): for the
# carry-over comparison only.
TCM_FORM_FAMILY = {"水丸": "丸剂", "蜜丸": "丸剂", "浓缩丸": "丸剂", "水蜜丸": "丸剂", "糊丸": "丸剂", "微丸": "丸剂",
                   "浓缩水蜜丸": "丸剂", "口服液": "合剂", "注射剂": "注射液", "滴丸": "滴丸剂"}
# Entries whose printed text cannot be split by the general rules; each tuple is (form, strength) exactly as printed
# (only the split differs); every product made here is listed to confirm.
SPLIT_BY_HAND = {
    (CHEMICAL, 475): [("糖浆剂", "10ml∶1g"),
                      ("糖浆组合包装", "水合氯醛浓缩液1.342g∶1g/糖浆（稀释液）9ml"),
                      ("糖浆组合包装", "水合氯醛浓缩液0.671g∶0.5g/糖浆（稀释液）4.5ml"),
                      ("灌肠剂", "1.34g∶0.5g")],
    (TCM, 160): [("气雾剂", "每瓶含内容物5.8g，其中药液2.7ml（含挥发油0.6ml），每瓶60揿，每揿重69mg"),
                 ("气雾剂", "每瓶内容物重13.8g，内含药液4.8g（含挥发油1.5ml），每瓶185揿，每揿63mg")],
}
# Known transcription doubts named by the source's README.
KNOWN_DOUBTS = {(CHEMICAL, 60, "2ml∶4mg"): "the marketed product is 2ml:40mg (2018 file); the transcription may have "
                                           "lost a digit"}
TIER_RANK = {"village": 0, "township": 1, "county": 2}
CHRONIC_BY_CLASS = {"抗高血压药": "hypertension", "胰岛素及口服降血糖药": "diabetes", "胰岛素及降血糖药": "diabetes",
                    "降血糖药": "diabetes"}


# ---------------------------------------------------------------- text helpers

def split_top(text: str, sep: str) -> list[str]:
    """Split on `sep` outside brackets."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(depth - 1, 0)
        if ch == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts]


def split_head(segment: str) -> tuple[str, str | None]:
    """Split 'forms：strengths' at the first top-level colon; (segment, None) when there is none."""
    depth = 0
    for i, ch in enumerate(segment):
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(depth - 1, 0)
        elif ch == "：" and depth == 0:
            return segment[:i].strip(), segment[i + 1:].strip()
    return segment.strip(), None


def leading_group(text: str) -> tuple[str, str]:
    """('钾盐', rest) for '（钾盐）rest'; ('', text) otherwise."""
    if text and text[0] in OPEN:
        depth = 0
        for i, ch in enumerate(text):
            if ch in OPEN:
                depth += 1
            elif ch in CLOSE:
                depth -= 1
                if depth == 0:
                    return text[1:i], text[i + 1:].strip()
    return "", text


def trailing_group(text: str) -> tuple[str, str]:
    """('含消旋', '片剂') for '片剂（含消旋）'; ('', text) otherwise."""
    if text and text[-1] in CLOSE:
        depth = 0
        for i in range(len(text) - 1, -1, -1):
            ch = text[i]
            if ch in CLOSE:
                depth += 1
            elif ch in OPEN:
                depth -= 1
                if depth == 0:
                    return text[i + 1:-1], text[:i].strip()
    return "", text


def strip_groups(text: str) -> str:
    out, depth = [], 0
    for ch in text:
        if ch in OPEN:
            depth += 1
        elif ch in CLOSE:
            depth = max(depth - 1, 0)
        elif depth == 0:
            out.append(ch)
    return "".join(out)


def looks_like_form(item: str) -> bool:
    bare = strip_groups(item).strip()
    if not bare or bare[0].isdigit() or bare.startswith("每"):
        return False
    if bare.startswith("注射用") or bare.endswith(FORM_SUFFIXES):
        return True
    tail, _ = trailing_group(leading_group(item)[1])
    return bool(tail) and all(looks_like_form(sub) for sub in split_top(tail, "、"))


def is_form_list(head: str) -> bool:
    return all(looks_like_form(item) for item in split_top(head, "、"))


def ascii_notation(strength: str) -> str:
    """The 2018 chemical files' notation: ASCII brackets and colons."""
    table = str.maketrans({"（": "(", "）": ")", "∶": ":", "：": ":", "［": "[", "］": "]"})
    return strength.translate(table)


def norm_key(text: str) -> str:
    """Spelling-insensitive form of a name, form or strength, for comparing 2026 with 2018."""
    text = unicodedata.normalize("NFKC", text).replace("∶", ":").replace("μ", "u").replace("µ", "u")
    text = re.sub(r"\s+", "", text).lower().replace("mcg", "ug")
    text = re.sub(r"(\d+)\.0+(?!\d)", r"\1", text)
    text = re.sub(r"(\d+\.\d*?)0+(?!\d)", r"\1", text)
    return text


def base_name(name: str) -> str:
    """The generic name without bracketed alternative forms or aliases: 九味羌活丸（颗粒） → 九味羌活丸."""
    first = split_top(name, "、")[0]
    return strip_groups(first).strip()


def strip_class_number(level: str) -> str:
    level = re.sub(r"^[一二三四五六七八九十]+、", "", level)
    level = re.sub(r"^[（(][一二三四五六七八九十]+[）)]", "", level)
    return re.sub(r"^\d+[.、]", "", level).strip()


def class_path_of(printed: str) -> str:
    return "/".join(strip_class_number(level) for level in printed.split("/") if level.strip())


# ---------------------------------------------------------------- parsing one entry

class Parsed:
    """(form, strength, remark, notes) tuples of one printed row, in printed order."""

    def __init__(self):
        self.items: list[dict] = []

    def add(self, form, strength, qualifier="", note=""):
        self.items.append({"form": form, "strength": strength, "qualifier": qualifier, "note": note})


def parse_forms(head: str) -> list[tuple[str, str, str]]:
    """(dosage form, qualifier, note) for each form printed in a head such as '（钠盐）片剂、肠溶（片剂、胶囊）'."""
    out = []
    items = split_top(head, "、")
    shared_lead, _ = leading_group(items[0])
    for index, item in enumerate(items):
        lead, rest = leading_group(item)
        if not lead and index > 0 and shared_lead and not leading_group(items[index])[0]:
            lead = shared_lead
        tail, core = trailing_group(rest)
        if tail and not looks_like_form(core):
            # 肠溶（片剂、胶囊）: a prefix distributed over the bracketed forms
            for sub in split_top(tail, "、"):
                sub = sub[:-1] if sub.endswith("片剂") else sub
                form = core + sub
                out.append((FORM_SPELLING.get(form, form), lead, ""))
            continue
        note = ""
        form = core
        if not _known_form(form):
            suffix = _known_suffix(form)
            if form.startswith("注射用") and suffix is None:
                note = f"printed form {form}"
                tail = " ".join(t for t in (form, tail) if t)
                form = "注射用无菌粉末"
            elif suffix and suffix != form:
                tail = " ".join(t for t in (form[:-len(suffix)], tail) if t)
                note = f"printed form {core}"
                form = suffix
        if re.fullmatch(r"[ⅠⅡⅢⅣⅤ]+", tail):
            tail = f"{core}({tail})"     # 片剂(Ⅰ), 片剂(Ⅱ): two products of one form
        qualifier = " ".join(q for q in (lead, tail) if q)
        out.append((FORM_SPELLING.get(form, form), qualifier, note))
    return out


_KNOWN_FORMS: set[str] = set()


def _known_form(form: str) -> bool:
    return form in _KNOWN_FORMS or form in FORM_SPELLING


def _known_suffix(form: str) -> str | None:
    for known in sorted(_KNOWN_FORMS, key=len, reverse=True):
        if form.endswith(known):
            return known
    return None


_AMOUNT = re.compile(r"^(.*?)(\d+(?:\.\d+)?)((?:mg|g|ml|μg|μl|kg|IU|万IU|万单位|单位|国际单位|%|cm|丸|粒)?)$")


def amount_prefix(item: str) -> str:
    """'每10丸重' for '每10丸重1.5g（…）': the text before the final amount, for the strengths that follow."""
    _, core = trailing_group(item)
    match = _AMOUNT.match(core)
    return match.group(1) if match else ""


def split_strengths(text: str, category: str) -> list[tuple[str, str]]:
    """(strength, note) pairs of one form's printed strengths, prefixes restored where the list shortens them."""
    groups = split_top(text, "，") if category == TCM else [text]
    merged: list[str] = []
    for group in groups:
        if merged and group and not (group[0].isdigit() or group.startswith("每") or "每" in group[:6]):
            merged[-1] += "，" + group          # 含樟脑25mg…, 其中药液… qualify the previous strength
        else:
            merged.append(group)
    out: list[tuple[str, str]] = []
    prefix = ""
    for index, group in enumerate(merged):
        if index and category == TCM and re.match(r"^每1(ml|g)", group):
            out.append((group, "a content per 1ml/1g printed after a pack size: it may describe the strength "
                               "before it rather than a product of its own"))
            continue
        items = split_top(group, "、")
        joined: list[str] = []
        for item in items:
            if joined and item and not (item[0].isdigit() or item.startswith("每")):
                joined[-1] += "、" + item   # a list of components (每片含缬沙坦80mg、氨氯地平5mg)
            else:
                joined.append(item)
        for i, item in enumerate(joined):
            note = ""
            if i == 0 and not item[:1].isdigit():
                prefix = amount_prefix(item) if category == TCM else (item[:item.index("=") + 1] if "=" in item else "")
            elif item[:1].isdigit() and prefix and (i > 0 or category == TCM):
                note = f"printed as {item}; prefix {prefix} restored from the strength before it"
                item = prefix + item
            elif i == 0:
                prefix = ""
            out.append((item, note))
    return out


_PERCENT_SIZES = re.compile(r"^(\d+(?:\.\d+)?%)（((?:\d+ml、)+\d+ml)）$")


def expand_sizes(strength: str) -> list[tuple[str, str]]:
    """0.9%（10ml、50ml） → 0.9%（10ml）, 0.9%（50ml): one product per printed size."""
    match = _PERCENT_SIZES.match(strength)
    if not match:
        return [(strength, "")]
    return [(f"{match.group(1)}（{size}）", f"printed as {strength}; one product per size")
            for size in match.group(2).split("、")]


def parse_entry(category: str, number: int, text: str) -> Parsed:
    parsed = Parsed()
    if (category, number) in SPLIT_BY_HAND:
        for form, strength in SPLIT_BY_HAND[(category, number)]:
            parsed.add(form, strength, note=f"split by hand from: {text}")
        return parsed
    if not text:
        return parsed
    current: list[tuple[str, str, str]] = []
    for segment in split_top(text, "；"):
        head, body = split_head(segment)
        if body is not None and is_form_list(head):
            current = parse_forms(head)
            pairs = split_strengths(body, category)
        elif body is None and is_form_list(head):
            for form, qualifier, note in parse_forms(head):
                parsed.add(form, NO_STRENGTH, qualifier, "the list prints this form without a strength")
            current = []
            continue
        else:
            if not current:
                raise ValueError(f"{category} {number}: strength without a form: {segment}")
            note = "printed after the previous strengths, without a form of its own"
            pairs = [(strength, "; ".join(n for n in (note, extra) if n))
                     for strength, extra in split_strengths(segment, category)]
        for form, qualifier, form_note in current:
            for strength, note in pairs:
                for one, size_note in expand_sizes(strength):
                    parsed.add(form, one, qualifier, "; ".join(n for n in (note, size_note, form_note) if n))
    return parsed


# ---------------------------------------------------------------- 2018 terms

def read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


class Terms2018:
    def __init__(self):
        self.drugs: dict[tuple[str, str], dict] = {}
        self.products: dict[tuple[str, str, str, str], list[dict]] = defaultdict(list)
        self.units: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for kind, category in (("chemical", CHEMICAL), ("tcm", TCM)):
            drugs = read_csv(DATA / f"eml2018_{kind}_drugs.csv")
            by_code = {d["drug_code"]: d for d in drugs}
            for d in drugs:
                self.drugs[(category, norm_key(base_name(d["generic_name"])))] = d
            for p in read_csv(DATA / f"eml2018_{kind}_products.csv"):
                drug = by_code[p["drug_code"]]
                form = self.form_key(category, p["dosage_form"])
                key = (category, norm_key(base_name(drug["generic_name"])), form, norm_key(p["strength"]))
                self.products[key].append(p)
                self.units[(category, p["dosage_form"])][(p["base_unit"], p["pack_unit"])] += 1
                _KNOWN_FORMS.add(p["dosage_form"])

    @staticmethod
    def form_key(category: str, form: str) -> str:
        if category == TCM:
            form = TCM_FORM_FAMILY.get(form, form)
        return norm_key(form)

    def drug(self, category: str, name: str) -> dict | None:
        return self.drugs.get((category, norm_key(base_name(name))))

    def product(self, category: str, name: str, form: str, strength: str, qualifier: str) -> dict | None:
        key = (category, norm_key(base_name(name)), self.form_key(category, form), norm_key(strength))
        found = self.products.get(key, [])
        if len(found) > 1:
            same = [p for p in found if norm_key(p["remarks"]).startswith(norm_key(qualifier))] if qualifier else []
            found = same or found[:1]
        return found[0] if found else None

    def same_volume(self, category: str, name: str, form: str, strength: str, entry: dict) -> str:
        """A 2018 strength of this drug and form at the same volume (2ml:40mg for 2ml:4mg) that 2026 does not print."""
        volume = re.match(r"^(\d+(?:\.\d+)?)ml:", strength)
        if not volume:
            return ""
        pattern = r"\d+(?:\.\d+)?ml[∶:]\d+(?:\.\d+)?(?:mg|g|μg)"
        printed = {volume_dose(text) for row, _ in entry["listings"]
                   for text in re.findall(pattern, row["dosage_forms_and_strengths"])}
        prefix = (category, norm_key(base_name(name)), self.form_key(category, form))
        for key, found in sorted(self.products.items()):
            dose = volume_dose(found[0]["strength"])
            if key[:3] == prefix and dose and dose[0] == float(volume.group(1)) and dose not in printed:
                return found[0]["strength"]
        return ""

    def units_for(self, category: str, form: str, strength: str) -> tuple[str, str]:
        """The base and pack unit the 2018 data uses for this form (majority), else by the form's last word."""
        if category == TCM and re.match(r"^每(袋|瓶|支|丸|贴|张)", strength) and (
                "丸" in form or form in ("散剂", "煎膏剂", "酊剂", "合剂", "糖浆剂", "酒剂")):
            unit = {"张": "贴"}.get(strength[1], strength[1])
            return unit, "盒"
        for cat in (category, TCM if category == CHEMICAL else CHEMICAL):
            counts = self.units.get((cat, form))
            if counts:
                base, pack = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
                if form == "注射液" and (volume := re.search(r"(\d+(?:\.\d+)?)ml", strength)) and \
                        float(volume.group(1)) >= 50:
                    return "瓶", "瓶"
                return base, pack
        for suffix, units in (("片", ("片", "盒")), ("胶囊", ("粒", "盒")), ("丸", ("丸", "盒")), ("颗粒", ("袋", "盒")),
                              ("散", ("袋", "盒")), ("贴", ("贴", "盒")), ("栓", ("枚", "盒")), ("膏剂", ("支", "盒")),
                              ("凝胶", ("支", "盒")), ("粉末", ("支", "盒")), ("膜", ("片", "盒")),
                              ("粉雾剂", ("支", "盒")), ("包装", ("盒", "盒"))):
            if form.endswith(suffix) or suffix in form:
                return units
        if "注射" in form:
            return "支", "盒"
        return "瓶", "盒"


def volume_dose(strength: str) -> tuple[float, float] | None:
    """(ml, mg) of '2ml:40mg', '2ml∶0.04g', '1ml:15μg'; None for anything else."""
    match = re.match(r"^(\d+(?:\.\d+)?)ml[∶:](\d+(?:\.\d+)?)(mg|g|μg)", strength)
    if not match:
        return None
    factor = {"g": 1000.0, "mg": 1.0, "μg": 0.001}[match.group(3)]
    return float(match.group(1)), round(float(match.group(2)) * factor, 6)


def tier_by_rule(form: str, restricted: bool) -> str:
    if restricted:
        return "county"
    return "township" if "注射" in form else "village"


def restricted_forms(remarks: list[str]) -> tuple[bool, set[str]]:
    """(△ applies to every form, the forms it applies to) from remarks such as '△' or '注射液、注射用无菌粉末△'."""
    everywhere, forms = False, set()
    for remark in remarks:
        for part in re.findall(r"([^△；]*)△", remark):
            named = [f for f in split_top(part, "、") if f and not f.startswith("注释")]
            if named:
                forms.update(named)
            else:
                everywhere = True
    return everywhere, forms


# ---------------------------------------------------------------- building

def second_class_mark(primary: str, second: str) -> str:
    """The 2018 file's mark on a product printed under a second class: its top class (皮肤科用药*), or, within the
    primary's top class, the subclass (抗高血压药*)."""
    top, levels = primary.split("/")[0], second.split("/")
    return (levels[-1] if levels[0] == top else levels[0]) + "*"


def build(out_dir: Path) -> dict:
    terms = Terms2018()
    _KNOWN_FORMS.update({"葡萄糖注射液", "注射用脂质体", "注射用浓溶液", "口溶膜", "眼用凝胶", "眼用注射液", "溶液剂",
                         "酒剂", "气雾剂", "凝胶剂", "膏药", "糖浆组合包装", "缓释颗粒剂", "肠溶干混悬剂", "丸剂",
                         "滴丸剂", "吸入溶液剂", "粉剂", "肠溶缓释片"})
    rows = read_csv(SOURCES / "eml2026_entries.csv")
    to_verify = defaultdict(list)
    for v in read_csv(SOURCES / "eml2026_structured_to_verify.csv"):
        to_verify[(v["section"], int(v["number"]))].append(v)

    entries: dict[tuple[str, int], dict] = {}
    order: list[tuple[str, int]] = []
    for row in rows:
        category = row["section"]
        cross = row["cross_listed_duplicate"] == "yes"
        number = int(row["number"].lstrip("*"))
        key = (category, number)
        if not cross:
            if key in entries:
                raise ValueError(f"number printed twice: {key}")
            entries[key] = {"row": row, "name": row["generic_name"], "paths": [class_path_of(row["class_path"])],
                            "remarks": [row["remarks"]] if row["remarks"] else [], "listings": [(row, "")]}
            order.append(key)
    for row in rows:
        if row["cross_listed_duplicate"] != "yes":
            continue
        key = (row["section"], int(row["number"].lstrip("*")))
        entry = entries[key]
        if entry["name"] != row["generic_name"]:
            raise ValueError(f"cross-listed row {key} names {row['generic_name']}, the entry {entry['name']}")
        path = class_path_of(row["class_path"])
        if path not in entry["paths"]:
            entry["paths"].append(path)
        if row["remarks"] and row["remarks"] not in entry["remarks"]:
            entry["remarks"].append(row["remarks"])
        entry["listings"].append((row, second_class_mark(entry["paths"][0], path)))

    drugs = {CHEMICAL: [], TCM: []}
    products = {CHEMICAL: [], TCM: []}
    groups, confirm = [], []
    stats = Counter()
    for category in (CHEMICAL, TCM):
        numbers = sorted(n for c, n in order if c == category)
        if numbers != list(range(1, len(numbers) + 1)):
            raise ValueError(f"{category}: numbers are not 1..{len(numbers)}")
    for key in sorted(order, key=lambda k: (k[0] != CHEMICAL, k[1])):
        category, number = key
        entry = entries[key]
        name = entry["name"]
        code = f"{PREFIX[category]}-{number:03d}"
        label = f"{category} {number} {name}"
        old = terms.drug(category, name)
        remarks = "；".join(entry["remarks"])
        chronic = old["chronic_tags"] if old else ""
        if not old:
            tags = sorted({tag for path in entry["paths"] for level in path.split("/")
                           for cls, tag in CHRONIC_BY_CLASS.items() if level == cls})
            chronic = "|".join(tags)
            if chronic:
                confirm.append([label, code, "chronic_tags", "", f"no 2018 entry of this name; {chronic} set from "
                                                                 f"the therapeutic class"])
            stats["drugs_new"] += 1
        else:
            stats["drugs_carried"] += 1
        drugs[category].append({"edition": EDITION, "drug_code": code, "eml_no": str(number), "category": category,
                                "class_path": " | ".join(entry["paths"]), "generic_name": name,
                                "name_en": old["name_en"] if old else "", "pinyin_initials": pinyin_initials(name),
                                "chronic_tags": chronic, "remarks": remarks})
        issues = [i for i in to_verify.get(key, []) if i["issue_type"] != "SCOPE_NOT_ORDERABLE"]
        if name in GROUP_NAMES:
            printed = entry["row"]["dosage_forms_and_strengths"]
            groups.append({"edition": EDITION, "group_code": code, "eml_no": str(number), "category": category,
                           "class_path": " | ".join(entry["paths"]), "name": name,
                           "remarks": "；".join(r for r in (remarks, f"剂型：{printed}" if printed else "") if r)})
            continue
        everywhere, restricted = restricted_forms(entry["remarks"])
        seen: set[tuple[str, str]] = set()
        seq = 0
        for row, listing_mark in entry["listings"]:
            parsed = parse_entry(category, number, row["dosage_forms_and_strengths"])
            if not parsed.items:
                raise ValueError(f"{label}: no form printed")
            for item in parsed.items:
                form = item["form"]
                printed_strength = item["strength"]
                strength = ascii_notation(printed_strength) if category == CHEMICAL else printed_strength
                qualifier = ascii_notation(item["qualifier"]) if category == CHEMICAL else item["qualifier"]
                if (form, strength) in seen:
                    continue
                seen.add((form, strength))
                seq += 1
                pcode = f"{code}-{seq:02d}"
                is_restricted = everywhere or form in restricted
                product_remarks = " ".join(r for r in (qualifier, listing_mark) if r)
                match = terms.product(category, name, form, strength, qualifier) if strength != NO_STRENGTH else None
                if match:
                    stats["products_carried"] += 1
                    tier = match["lowest_tier"]
                    if is_restricted and TIER_RANK[tier] < TIER_RANK["county"]:
                        confirm.append([label, pcode, "lowest_tier", remarks,
                                        f"2018 product {match['product_code']} was {tier}; raised to county because "
                                        f"the 2026 list marks △"])
                        tier = "county"
                    product = {"base_unit": match["base_unit"], "pack_size": match["pack_size"],
                               "pack_unit": match["pack_unit"], "lowest_tier": tier, "vbp_batch": match["vbp_batch"],
                               "insurance_class": match["insurance_class"], "unified_price": match["unified_price"]}
                else:
                    stats["products_defaulted"] += 1
                    base, pack = terms.units_for(category, form, printed_strength)
                    product = {"base_unit": base, "pack_size": "1", "pack_unit": pack,
                               "lowest_tier": tier_by_rule(form, is_restricted), "vbp_batch": "",
                               "insurance_class": "", "unified_price": "0.00"}
                    confirm.append([label, pcode,
                                    "base_unit, pack_size, pack_unit, unified_price, insurance_class, lowest_tier",
                                    f"{form}：{printed_strength}",
                                    "no 2018 product with this name, form and strength: units derived from the form, "
                                    "pack 1 and price 0.00 (not yet priced), insurance class empty, tier by rule"])
                products[category].append({"edition": EDITION, "product_code": pcode, "drug_code": code,
                                           "dosage_form": form, "strength": strength, **product,
                                           "remarks": product_remarks})
                if item["note"]:
                    confirm.append([label, pcode, "strength" if "form" not in item["note"][:14] else "dosage_form",
                                    f"{form}：{printed_strength}", item["note"]])
                doubt = KNOWN_DOUBTS.get((category, number, printed_strength))
                if doubt:
                    confirm.append([label, pcode, "strength", printed_strength, doubt])
                elif not match:
                    other = terms.same_volume(category, name, form, strength, entry)
                    if other:
                        confirm.append([label, pcode, "strength", printed_strength,
                                        f"2018 lists {form} {other} for the same volume and the 2026 list does not: "
                                        f"check the amount against the PDF"])

        mine = [p for p in products[category] if p["drug_code"] == code]
        for issue in issues:
            codes = fragment_products(issue["fragment"], mine)
            confirm.append([label, " ".join(codes), "strength", issue["fragment"],
                            f"the structured version marks this fragment 待核验 ({issue['issue_type']})"])

    write_csv(out_dir / "eml2026_chemical_drugs.csv", DRUG_COLUMNS, drugs[CHEMICAL])
    write_csv(out_dir / "eml2026_tcm_drugs.csv", DRUG_COLUMNS, drugs[TCM])
    write_csv(out_dir / "eml2026_chemical_products.csv", PRODUCT_COLUMNS, products[CHEMICAL])
    write_csv(out_dir / "eml2026_tcm_products.csv", PRODUCT_COLUMNS, products[TCM])
    write_csv(out_dir / "eml2026_groups.csv", GROUP_COLUMNS, groups)
    write_csv(out_dir / "eml2026_to_confirm.csv", CONFIRM_COLUMNS, [dict(zip(CONFIRM_COLUMNS, c)) for c in confirm])
    stats.update({"drugs": sum(len(v) for v in drugs.values()), "products": sum(len(v) for v in products.values()),
                  "groups": len(groups), "to_confirm": len(confirm)})
    return dict(stats)


def fragment_products(fragment: str, products: list[dict]) -> list[str]:
    """Codes of the products whose strength (or, without one, form) the fragment prints."""
    text = norm_key(fragment).replace("i", "ⅰ")
    def key(value):
        return norm_key(value).replace("i", "ⅰ")
    found = [p["product_code"] for p in products if p["strength"] != NO_STRENGTH and key(p["strength"]) in text]
    if not found and re.search(r"\d", text):
        found = [p["product_code"] for p in products if text in key(p["strength"])]
    if not found and re.search(r"\d", text) and "%" in text:
        found = [p["product_code"] for p in products if key(p["strength"]).split("(")[0] in text]
    if not found:
        found = [p["product_code"] for p in products if key(p["dosage_form"]) in text]
    return found


def write_csv(path: Path, columns: list[str], rows: list[dict]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_bytes(out.getvalue().encode("utf-8"))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DATA, help="directory to write to (default: catalog_data)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for k, v in sorted(build(args.out).items()):
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
