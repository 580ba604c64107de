"""医保药品代码 and 批准文号 formats, and reading the NHSA code table (no database)."""

import csv
import io

import pytest

from pharmacy.config import ROOT
from pharmacy.insurance.codes import (approval_problem, category_problem, clean_code, generic_code_of,
                                      generic_code_problem, nhsa_code_problem)
from pharmacy.insurance.table_file import TableFileError, read_table

SAMPLE = ROOT / "tests" / "data" / "nhsa_codes_sample.csv"
HEADER = ["药品代码", "注册名称", "注册剂型", "注册规格", "最小包装数量", "药品企业", "批准文号", "甲乙类"]
OTHER = "XJ01CAA040A001020100003"
GOOD = ["XJ01CAA040A001010100001", "阿莫西林胶囊", "胶囊剂", "0.25g", "24", "测试制药有限公司", "国药准字H00000001", "甲"]


def csv_bytes(rows, encoding="utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def test_a_23_character_code_of_capitals_and_digits_starting_with_x_or_z_is_accepted():
    assert nhsa_code_problem("XR05CBA198A001010100863") is None
    assert nhsa_code_problem("ZA12BAS010A001010100001") is None


@pytest.mark.parametrize("code", ["XR05CBA198A00101010086", "XR05CBA198A0010101008633", "xr05cba198a001010100863",
                                  "XR05CBA198A00101010086-", "AR05CBA198A001010100863", "XR05CBA198A00101010086３"])
def test_a_code_of_another_length_case_character_or_category_is_refused(code):
    assert nhsa_code_problem(code) is not None


def test_a_typed_code_is_folded_to_capitals_and_half_width():
    assert clean_code(" xr05cba198a00101 0100863 ") == "XR05CBA198A001010100863"
    assert clean_code("ＸＲ05CBA198A001010100863") == "XR05CBA198A001010100863"


def test_the_generic_level_code_is_the_first_12_characters():
    assert generic_code_of("XR05CBA198A001010100863") == "XR05CBA198A0"
    assert generic_code_problem("XR05CBA198A0") is None
    assert generic_code_problem("XR05CBA198A") is not None


@pytest.mark.parametrize("number", ["国药准字H20000001", "国药准字Z20000001", "国药准字S20000001", "国药准字HJ20170001",
                                    "国药准字J20150001", "H20150001", "HC20150001"])
def test_approval_numbers_as_published_are_accepted(number):
    assert approval_problem(number) is None


@pytest.mark.parametrize("number", ["国药准字H2000001", "国药准字X20000001", "国药准字H200000011", "H2000000",
                                    "国药准字 ", "准字H20000001"])
def test_malformed_approval_numbers_are_refused(number):
    assert approval_problem(number) is not None


def test_the_code_category_must_fit_the_drug_category():
    assert category_problem("XR05CBA198A001010100863", "化学药品和生物制品") is None
    assert category_problem("ZA12BAS010A001010100001", "中成药") is None
    assert category_problem("ZA12BAS010A001010100001", "化学药品和生物制品") is not None
    assert category_problem("XR05CBA198A001010100863", "中药饮片") is not None


def test_the_sample_file_reads_with_its_title_line_and_published_column_names():
    table = read_table("sample.csv", SAMPLE.read_bytes())
    assert [r.code for r in table.rows][:2] == ["XJ01CAA040A001010100001", "XC08CAA111A001010200002"]
    first = table.rows[0]
    assert (first.row_no, first.registered_name, first.dosage_form, first.spec, first.pack_qty, first.min_unit,
            first.pack_unit, first.manufacturer, first.approval_no, first.insurance_class) == (
        3, "阿莫西林胶囊", "胶囊剂", "0.25g", 24, "粒", "盒", "测试制药有限公司", "国药准字H00000001", "甲")


def test_gbk_csv_and_variant_column_names_are_read():
    rows = [["医保药品代码", "通用名", "剂型", "规格", "包装数量", "生产企业", "批准文号", "医保类别"],
            [GOOD[0].lower(), *GOOD[1:7], "甲类"]]
    table = read_table("codes.csv", csv_bytes(rows, "gbk"))
    assert table.encoding == "gbk"
    assert table.rows[0].code == GOOD[0] and table.rows[0].insurance_class == "甲"


@pytest.mark.parametrize("bad, words", [
    (["XJ01CAA040A0010101", *GOOD[1:]], "23 位"),
    ([OTHER, *GOOD[1:6], "国药准字H123", GOOD[7]], "批准文号"),
    ([OTHER, *GOOD[1:4], "二十四", *GOOD[5:]], "最小包装数量"),
    ([OTHER, "", *GOOD[2:]], "注册名称"),
    ([OTHER, *GOOD[1:7], "丙"], "甲乙类"),
])
def test_one_malformed_row_refuses_the_whole_file_naming_its_row(bad, words):
    with pytest.raises(TableFileError) as refused:
        read_table("codes.csv", csv_bytes([HEADER, GOOD, bad]))
    (row_no, message, _params), = refused.value.problems
    assert row_no == 3 and words in message


def test_a_code_twice_refuses_the_file():
    with pytest.raises(TableFileError) as refused:
        read_table("codes.csv", csv_bytes([HEADER, GOOD, GOOD]))
    assert "重复" in refused.value.problems[0][1]


def test_a_file_without_the_code_column_is_refused():
    with pytest.raises(TableFileError):
        read_table("codes.csv", csv_bytes([["编码", "名称"], ["1", "阿莫西林"]]))
