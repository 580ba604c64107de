"""The shipped formulary: the whole 2018 list, no repeated product, and pinyin that a tablet user would type."""

import csv
from collections import Counter
from pathlib import Path

import pytest

from pharmacy.catalog.loader import read_catalog
from pharmacy.config import ROOT
from pharmacy.catalog.pinyin import full_pinyin, pinyin_initials

DATA = ROOT / "catalog_data"


def _rows(name: str) -> list[dict]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_2018_list_has_417_chemical_and_268_chinese_patent_entries():
    drugs, products = read_catalog(DATA)
    per_category = Counter(d["category"] for d in drugs if d["edition"] == "2018")
    assert per_category == {"化学药品和生物制品": 417, "中成药": 268}
    for category, count in per_category.items():
        numbers = sorted(d["eml_no"] for d in drugs if d["category"] == category and d["edition"] == "2018")
        assert numbers == list(range(1, count + 1))


def test_no_product_repeats_and_every_drug_has_one():
    drugs, products = read_catalog(DATA)
    codes = Counter((p["edition"], p["code"]) for p in products)
    assert [c for c, n in codes.items() if n > 1] == []
    variants = Counter((p["edition"], p["drug_code"], p["dosage_form"], p["strength"]) for p in products)
    assert [v for v, n in variants.items() if n > 1] == []
    # an entry that names a group of drugs (eml2026_groups.csv: 结核病用药 …) has no product of its own
    groups = {(g["edition"], g["group_code"]) for path in sorted(DATA.glob("*_groups.csv"))
              for g in _rows(path.name)}
    assert {(d["edition"], d["code"]) for d in drugs} - groups == {(p["edition"], p["drug_code"]) for p in products}


def test_chronic_disease_drugs_are_tagged():
    tagged = {d["generic_name"]: d["chronic_tags"] for d in _rows("eml2018_chemical_drugs.csv") if d["chronic_tags"]}
    assert "hypertension" in tagged["氨氯地平"]
    assert "diabetes" in tagged["二甲双胍"]
    assert "coronary" in tagged["阿司匹林"]
    assert {t for tags in tagged.values() for t in tags.split("|")} == {"hypertension", "diabetes", "stroke",
                                                                       "coronary"}


def test_volume_procured_products_carry_their_batch():
    products = _rows("eml2018_chemical_products.csv")
    batches = {p["vbp_batch"] for p in products if p["vbp_batch"]}
    assert batches and batches <= {str(n) for n in range(1, 11)}


@pytest.mark.parametrize("name", ["eml2018_chemical_drugs.csv", "eml2018_tcm_drugs.csv"])
def test_pinyin_column_matches_the_phrase_corrected_reading(name):
    for row in _rows(name):
        assert row["pinyin_initials"] == pinyin_initials(row["generic_name"]), row["generic_name"]


@pytest.mark.parametrize("word, expected", [
    ("参麦注射液", "shenmaizhusheye"),
    ("川芎茶调丸", "chuanxiongchatiaowan"),
    ("地尔硫䓬", "dierliuzhuo"),
    ("重组人胰岛素", "chongzurenyidaosu"),
    ("长春新碱", "changchunxinjian"),
    ("普乐安胶囊", "puleanjiaonang"),
    ("知柏地黄丸", "zhibaidihuangwan"),
    ("注射用血栓通", "zhusheyongxueshuantong"),
    ("阿胶", "ejiao"),
    ("参苓白术散", "shenlingbaizhusan"),
])
def test_drug_polyphones_read_as_pharmacists_say_them(word, expected):
    assert full_pinyin(word) == expected


def test_rare_characters_are_kept():
    assert pinyin_initials("地尔硫䓬") == "DELZ"
    assert pinyin_initials("维生素B1") == "WSSB1"


def test_files_are_plain_utf8_without_bom():
    for path in Path(DATA).glob("*.csv"):
        raw = path.read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf"), path.name
        raw.decode("utf-8")
