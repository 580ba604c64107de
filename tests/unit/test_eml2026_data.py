"""The 2026 list as catalog files: every entry once, every printed form × strength, nothing made up, reproducible."""

import csv
import importlib.util
import re
from collections import Counter
from pathlib import Path

import pytest

from pharmacy.catalog.loader import read_catalog
from pharmacy.catalog.pinyin import pinyin_initials
from pharmacy.config import ROOT

DATA = ROOT / "catalog_data"
SOURCE = DATA / "sources" / "eml2026_entries.csv"
CHEMICAL, TCM = "化学药品和生物制品", "中成药"
# The two printed form spellings the files write as the 2018 files do (README: "Forms").
SPELLING = {"缓释片剂": "缓释片", "缓释颗粒": "缓释颗粒剂"}
GROUPS = {"结核病用药", "艾滋病用药", "青蒿素类药物", "血友病用药", "抗蛇毒血清", "国家免疫规划用疫苗", "避孕药"}


def _rows(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _source() -> list[dict]:
    with SOURCE.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _drugs() -> list[dict]:
    return _rows("eml2026_chemical_drugs.csv") + _rows("eml2026_tcm_drugs.csv")


def _products() -> list[dict]:
    return _rows("eml2026_chemical_products.csv") + _rows("eml2026_tcm_products.csv")


def _load_generator():
    spec = importlib.util.spec_from_file_location("build_eml2026", ROOT / "scripts" / "build_eml2026.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_source_has_816_rows_of_which_22_repeat_an_entry():
    rows = _source()
    assert len(rows) == 816
    assert Counter(r["cross_listed_duplicate"] for r in rows) == {"": 794, "yes": 22}


def test_476_chemical_and_318_chinese_patent_entries_numbered_from_one():
    drugs = _drugs()
    assert len(drugs) == 794
    for category, count, prefix in ((CHEMICAL, 476, "X26"), (TCM, 318, "Z26")):
        mine = [d for d in drugs if d["category"] == category]
        assert [int(d["eml_no"]) for d in mine] == list(range(1, count + 1))
        assert [d["drug_code"] for d in mine] == [f"{prefix}-{n:03d}" for n in range(1, count + 1)]
        assert {d["edition"] for d in mine} == {"2026"}


def test_every_printed_name_is_there_with_its_number_and_section():
    by_key = {(d["category"], int(d["eml_no"])): d for d in _drugs()}
    for row in _source():
        number = int(row["number"].lstrip("*"))
        drug = by_key[(row["section"], number)]
        assert drug["generic_name"] == row["generic_name"], row


def test_cross_listed_rows_fold_into_their_entry_with_both_class_paths():
    by_key = {(d["category"], int(d["eml_no"])): d for d in _drugs()}
    for row in _source():
        if row["cross_listed_duplicate"] != "yes":
            continue
        drug = by_key[(row["section"], int(row["number"].lstrip("*")))]
        paths = drug["class_path"].split(" | ")
        assert len(paths) >= 2, drug
        second = "/".join(re.sub(r"^([一二三四五六七八九十]+、|（[一二三四五六七八九十]+）)", "", level)
                          for level in row["class_path"].split("/"))
        assert second in paths[1:], (second, paths)
    erythromycin = by_key[(CHEMICAL, 20)]
    assert erythromycin["class_path"] == ("抗微生物药/大环内酯类 | 皮肤科用药/抗感染药 | 眼科用药/抗感染药")
    ointment = [p for p in _products() if p["drug_code"] == "X26-020" and p["dosage_form"] == "软膏剂"]
    assert [(p["strength"], p["remarks"]) for p in ointment] == [("1%", "皮肤科用药*")]


def test_the_seven_scope_entries_are_groups_without_products():
    groups = _rows("eml2026_groups.csv")
    assert list(groups[0]) == ["edition", "group_code", "eml_no", "category", "class_path", "name", "remarks"]
    assert {g["name"] for g in groups} == GROUPS
    codes = {g["group_code"] for g in groups}
    drugs = {d["drug_code"]: d for d in _drugs()}
    assert all(drugs[c]["generic_name"] in GROUPS for c in codes)
    with_products = {p["drug_code"] for p in _products()}
    assert codes.isdisjoint(with_products)
    assert set(drugs) - codes == with_products


def test_no_product_repeats_and_codes_follow_the_printed_order():
    products = _products()
    variants = Counter((p["drug_code"], p["dosage_form"], p["strength"]) for p in products)
    assert [v for v, n in variants.items() if n > 1] == []
    seq = Counter()
    for p in products:
        seq[p["drug_code"]] += 1
        assert p["product_code"] == f"{p['drug_code']}-{seq[p['drug_code']]:02d}"


def _simple_pairs(row: dict):
    """(form, strength) pairs of the plainly printed segments: 'A、B：1mg、2mg' with no brackets in the forms."""
    for segment in row["dosage_forms_and_strengths"].split("；"):
        if segment.count("：") != 1:
            continue
        head, body = segment.split("：")
        if re.search(r"[（）()]", head) or "，" in body:
            continue
        forms = head.split("、")
        strengths = body.split("、")
        if row["section"] == CHEMICAL:
            if not all(re.fullmatch(r"\d[\d.]*(mg|g|μg|ml|%|单位|万单位|IU)", s) for s in strengths):
                continue
        elif not all(s.startswith("每") and "（" not in s for s in strengths):
            continue
        for form in forms:
            for strength in strengths:
                yield SPELLING.get(form, form), strength


def test_every_plainly_printed_form_and_strength_is_a_product():
    products = set()
    for p in _products():
        # a form printed with the product's name (人干扰素α1b注射液) is filed under its dosage form, the name kept
        # in the remarks
        for printed in (p["dosage_form"], p["remarks"].split(" ")[0] + p["dosage_form"], p["remarks"].split(" ")[0]):
            products.add((p["drug_code"], printed, p["strength"]))
    checked = 0
    for row in _source():
        prefix = "X26" if row["section"] == CHEMICAL else "Z26"
        code = f"{prefix}-{int(row['number'].lstrip('*')):03d}"
        for form, strength in _simple_pairs(row):
            assert (code, form, strength) in products, (row["generic_name"], form, strength)
            checked += 1
    assert checked > 1000   # 1,068 pairs of the 2,222 products are printed this plainly


def test_tcm_strengths_keep_the_printed_text_and_shortened_ones_get_their_prefix():
    by_code = {(p["drug_code"], p["dosage_form"]): [] for p in _products()}
    for p in _products():
        by_code[(p["drug_code"], p["dosage_form"])].append(p["strength"])
    assert by_code[("Z26-021", "颗粒剂")] == ["每袋装3g（相当于饮片7g）", "每袋装5g（相当于饮片7g）",
                                           "每袋装10g（相当于饮片14g）"]
    assert by_code[("Z26-001", "丸剂")] == ["每丸重9g", "每10丸重1.8g", "每袋装6g", "每袋装9g"]


def test_salt_qualifiers_stay_on_the_product():
    penicillin = [p for p in _products() if p["drug_code"] == "X26-001"]
    assert [(p["strength"], p["remarks"]) for p in penicillin[:2]] == [("0.25g(40万单位)", "钾盐"),
                                                                       ("0.5g(80万单位)", "钾盐")]
    assert {p["remarks"] for p in penicillin[2:]} == {"钠盐"}
    assert [p["strength"] for p in penicillin] == ["0.25g(40万单位)", "0.5g(80万单位)", "0.24g(40万单位)",
                                                   "0.48g(80万单位)", "0.96g(160万单位)", "2.4g(400万单位)"]


def test_a_form_printed_without_strength_says_so_and_is_listed_to_confirm():
    morphine = [(p["dosage_form"], p["strength"]) for p in _products() if p["drug_code"] == "X26-073"]
    assert morphine == [("片剂", "未列规格"), ("缓释片", "未列规格"), ("口服溶液剂", "未列规格"), ("注射液", "未列规格")]
    listed = {r["product_code"] for r in _rows("eml2026_to_confirm.csv") if r["field"] == "strength"}
    unprinted = {p["product_code"] for p in _products() if p["strength"] == "未列规格"}
    assert unprinted and unprinted <= listed


def test_columns_are_those_of_the_2018_files():
    for kind in ("chemical", "tcm"):
        for part in ("drugs", "products"):
            old = (DATA / f"eml2018_{kind}_{part}.csv").read_text(encoding="utf-8").splitlines()[0]
            new = (DATA / f"eml2026_{kind}_{part}.csv").read_text(encoding="utf-8").splitlines()[0]
            assert new == old


def test_the_loader_reads_both_editions():
    drugs, products = read_catalog(DATA)
    assert Counter(d["edition"] for d in drugs) == {"2018": 685, "2026": 794}
    assert Counter(p["edition"] for p in products)["2026"] == len(_products())


def test_pinyin_column_is_the_phrase_corrected_reading():
    for drug in _drugs():
        assert drug["pinyin_initials"] == pinyin_initials(drug["generic_name"]), drug["generic_name"]
    names = {d["generic_name"]: d["pinyin_initials"] for d in _drugs()}
    assert names["地尔硫䓬"] == "DELZ"
    assert names["参麦注射液"] == "SMZSY"


def test_products_without_a_2018_match_are_unpriced_and_listed_to_confirm():
    confirm = {r["product_code"] for r in _rows("eml2026_to_confirm.csv") if r["field"].startswith("base_unit")}
    unpriced = {p["product_code"] for p in _products() if p["unified_price"] == "0.00"}
    assert confirm <= unpriced
    assert {p["product_code"] for p in _products() if p["unified_price"] == "0.00" and p["pack_size"] == "1"
            and p["insurance_class"] == ""} == confirm
    carried = [p for p in _products() if p["product_code"] not in confirm]
    assert len(carried) > 1000 and all(p["insurance_class"] in ("甲", "乙") for p in carried)


def test_carried_over_terms_come_from_the_2018_product_of_the_same_form_and_strength():
    old = {(p["dosage_form"], p["strength"]): p for p in _rows("eml2018_chemical_products.csv")
           if p["drug_code"] == "X046"}   # 阿昔洛韦 in 2018
    for p in (p for p in _products() if p["drug_code"] == "X26-042"):
        if (p["dosage_form"], p["strength"]) in old:
            match = old[(p["dosage_form"], p["strength"])]
            assert (p["pack_size"], p["unified_price"], p["insurance_class"]) == (
                match["pack_size"], match["unified_price"], match["insurance_class"])


def test_restricted_entries_are_county_and_injectables_at_least_township():
    drugs = {d["drug_code"]: d for d in _drugs()}
    for p in _products():
        remarks = drugs[p["drug_code"]]["remarks"]
        if "△" in remarks.split("；"):
            assert p["lowest_tier"] == "county", p
        if "注射" in p["dosage_form"]:
            assert p["lowest_tier"] in ("township", "county"), p
    diazepam = {p["dosage_form"]: p["lowest_tier"] for p in _products() if p["drug_code"] == "X26-139"}
    assert diazepam["注射液"] == "county"


def test_the_doubtful_cells_named_by_the_source_are_listed():
    confirm = _rows("eml2026_to_confirm.csv")
    assert list(confirm[0]) == ["entry", "product_code", "field", "printed_text", "why"]
    lidocaine = [r for r in confirm if r["printed_text"] == "2ml∶4mg"]
    assert lidocaine and lidocaine[0]["product_code"] == "X26-060-03"
    flagged = {r["entry"].split(" ")[0] + " " + r["entry"].split(" ")[1] for r in confirm if "待核验" in r["why"]}
    with (DATA / "sources" / "eml2026_structured_to_verify.csv").open(encoding="utf-8") as fh:
        expected = {f"{v['section']} {v['number']}" for v in csv.DictReader(fh)
                    if v["issue_type"] != "SCOPE_NOT_ORDERABLE"}
    assert expected == flagged


def test_the_generator_is_deterministic(tmp_path: Path):
    generator = _load_generator()
    generator.build(tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == sorted(p.name for p in DATA.glob("eml2026_*.csv"))
    for name in names:
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name


@pytest.mark.parametrize("name", ["eml2026_chemical_drugs.csv", "eml2026_tcm_products.csv", "eml2026_groups.csv",
                                  "eml2026_to_confirm.csv"])
def test_files_are_plain_utf8_with_lf(name):
    raw = (DATA / name).read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf") and b"\r\n" not in raw
    raw.decode("utf-8")


def test_new_entries_get_the_chronic_tag_of_their_class_and_are_listed_to_confirm():
    drugs = {d["generic_name"]: d for d in _drugs()}
    assert drugs["达格列净"]["chronic_tags"] == "diabetes"
    assert drugs["赖诺普利"]["chronic_tags"] == "hypertension"
    assert drugs["二甲双胍"]["chronic_tags"] == "diabetes"          # carried over from 2018
    listed = {r["product_code"] for r in _rows("eml2026_to_confirm.csv") if r["field"] == "chronic_tags"}
    assert drugs["达格列净"]["drug_code"] in listed and drugs["二甲双胍"]["drug_code"] not in listed
