"""The brand and common name list: read, checked and resolved to catalog rows."""

from pathlib import Path

import pytest

from pharmacy.config import ROOT
from pharmacy.matching.brands import BrandFileError, alias_key, find_product, read_brand_file, resolve_brand_rows

HEADER = "text,generic_name,dosage_form,strength,manufacturer,kind,source\n"
DRUGS = [{"key": 1, "generic_name": "氨氯地平"}, {"key": 2, "generic_name": "硝苯地平"}]
PRODUCTS = [{"key": 10, "drug_key": 1, "dosage_form": "片剂", "strength": "5mg"},
            {"key": 20, "drug_key": 2, "dosage_form": "片剂", "strength": "10mg"},
            {"key": 21, "drug_key": 2, "dosage_form": "缓释片", "strength": "20mg"},
            {"key": 22, "drug_key": 2, "dosage_form": "缓释片", "strength": "30mg"}]


def write(tmp_path: Path, body: str, encoding="utf-8") -> Path:
    path = tmp_path / "brand_names.csv"
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def test_the_shipped_list_reads_cleanly_and_cites_a_source():
    rows = read_brand_file(ROOT / "catalog_data" / "brand_names.csv")
    assert len(rows) > 200
    assert all(row.source for row in rows)
    assert {row.kind for row in rows} == {"brand", "common"}


def test_rows_resolve_to_a_product_or_keep_their_form_and_strength(tmp_path):
    rows = read_brand_file(write(tmp_path, "络活喜,氨氯地平,片剂,5mg,辉瑞,brand,说明书\n"
                                           "拜新同,硝苯地平,控释片,30mg,拜耳,brand,说明书\n"
                                           "伲福达,硝苯地平,缓释片,20mg,,brand,说明书\n"
                                           "心痛定,硝苯地平,,,,common,习用名\n"
                                           "某品牌,不在目录的药,,,,brand,说明书\n"))
    aliases, skipped = resolve_brand_rows(rows, DRUGS, PRODUCTS)
    by_text = {a.text: a for a in aliases}
    assert by_text["络活喜"].product_key == 10 and by_text["络活喜"].normalized_text == "络活喜|片|5mg"
    assert by_text["伲福达"].product_key == 21
    assert by_text["拜新同"].product_key is None and by_text["拜新同"].normalized_text == "拜新同|控释片|30mg"
    assert by_text["心痛定"].product_key is None and by_text["心痛定"].drug_key == 2
    assert len(skipped) == 1 and "不在目录的药" in skipped[0]


def test_find_product_by_form_and_converted_strength():
    assert find_product(PRODUCTS[1:], "缓释片", "0.02g")["key"] == 21
    assert find_product(PRODUCTS[1:], "缓释片", "") is None  # two sustained-release strengths
    assert find_product(PRODUCTS[1:], "片剂", "")["key"] == 20
    assert find_product(PRODUCTS[1:], "", "") is None


def test_alias_key_is_the_parsed_key():
    assert alias_key("格华止", "片剂", "0.5g") == "格华止|片|500mg"
    assert alias_key("VC") == "vc||"


@pytest.mark.parametrize("body, reason", [
    (",氨氯地平,片剂,5mg,,brand,x\n", "必填"),
    ("络活喜,氨氯地平,片剂,5mg,,trade,x\n", "kind"),
    ("络活喜,氨氯地平,片剂,5mg,,brand,x\n络活喜,氨氯地平,片剂,5mg,,brand,x\n", "重复"),
])
def test_a_bad_row_refuses_the_file(tmp_path, body, reason):
    with pytest.raises(BrandFileError) as refused:
        read_brand_file(write(tmp_path, body))
    assert reason in str(refused.value)


def test_a_file_that_is_not_utf8_is_refused(tmp_path):
    with pytest.raises(BrandFileError):
        read_brand_file(write(tmp_path, "络活喜,氨氯地平,片剂,5mg,,brand,x\n", encoding="gbk"))
