"""Reading a local dictionary file: encodings, XLSX, headers, refusals. Pure: bytes in."""

import csv
import io

import pytest
from openpyxl import Workbook

from pharmacy.matching.dictionary_file import DictionaryFileError, detect_encoding, read_dictionary, repair_mojibake

ROWS = [["本地编码", "药品名称", "规格", "厂家", "单位"],
        ["1001", "阿莫西林胶囊", "0.25g*24粒", "珠海联邦", "盒"],
        ["1002", "硝苯地平缓释片（Ⅱ）", "20mg*30片", "青岛黄海", "盒"],
        ["1003", "䓬类测试", "", "", ""]]


def csv_bytes(rows, encoding="utf-8", delimiter=","):
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding, detected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8"), ("gbk", "gbk"), ("gb18030", "gbk"), ("utf-16", "utf-16"),
])
def test_csv_encodings_are_detected(encoding, detected):
    rows = ROWS[:3]
    dictionary = read_dictionary("dict.csv", csv_bytes(rows, encoding))
    assert dictionary.file_format == "csv"
    assert dictionary.encoding == detected
    assert [r.name for r in dictionary.rows] == ["阿莫西林胶囊", "硝苯地平缓释片（Ⅱ）"]
    assert dictionary.rows[0].local_code == "1001" and dictionary.rows[0].manufacturer == "珠海联邦"


def test_characters_outside_gbk_are_read_as_gb18030():
    data = csv_bytes(ROWS, "gb18030")  # 䓬 is not in GBK
    with pytest.raises(UnicodeDecodeError):
        data.decode("gbk")
    assert detect_encoding(data) == "gb18030"
    assert read_dictionary("dict.csv", data).rows[2].name == "䓬类测试"


def test_tab_and_semicolon_separated_files():
    assert read_dictionary("d.txt", csv_bytes(ROWS, delimiter="\t")).rows[1].spec == "20mg*30片"
    assert read_dictionary("d.csv", csv_bytes(ROWS, delimiter=";")).rows[1].spec == "20mg*30片"


def test_english_headers():
    rows = [["code", "Name", "Spec", "Manufacturer", "Unit"], ["A1", "Amoxicillin 0.25g", "24s", "X", "box"]]
    row = read_dictionary("d.csv", csv_bytes(rows)).rows[0]
    assert (row.local_code, row.name, row.spec, row.manufacturer, row.unit) == ("A1", "Amoxicillin 0.25g", "24s", "X",
                                                                                "box")


def test_header_may_follow_a_title_row():
    rows = [["城关镇卫生院药品字典"], *ROWS]
    dictionary = read_dictionary("d.csv", csv_bytes(rows))
    assert dictionary.rows[0].row_no == 3 and dictionary.rows[0].name == "阿莫西林胶囊"


def test_xlsx_is_read_with_numbers_as_codes():
    rows = [ROWS[0], [1001, "阿莫西林胶囊", "0.25g*24粒", "珠海联邦", "盒"], [1002.0, "维生素C片", None, None, None]]
    dictionary = read_dictionary("dict.xlsx", xlsx_bytes(rows))
    assert dictionary.file_format == "xlsx"
    assert [(r.local_code, r.name, r.spec) for r in dictionary.rows] == [("1001", "阿莫西林胶囊", "0.25g*24粒"),
                                                                        ("1002", "维生素C片", "")]


def test_xlsx_with_gbk_text_read_as_latin1_is_repaired():
    garbled = "阿莫西林胶囊".encode("gbk").decode("latin-1")
    dictionary = read_dictionary("dict.xlsx", xlsx_bytes([ROWS[0], ["1", garbled, "0.25g", "", ""]]))
    assert dictionary.rows[0].name == "阿莫西林胶囊"
    assert repair_mojibake("Amoxicillin") == "Amoxicillin"
    assert repair_mojibake("阿莫西林") == "阿莫西林"


def test_empty_rows_are_kept_for_reporting():
    rows = [ROWS[0], ROWS[1], ["", "", "", "", ""], ROWS[2], ["", "", "", "", ""]]
    dictionary = read_dictionary("d.csv", csv_bytes(rows))
    assert [r.is_empty for r in dictionary.rows] == [False, True, False]  # trailing empty rows are dropped
    assert dictionary.rows[1].row_no == 3


def test_overlong_cells_are_cut_and_noted():
    row = read_dictionary("d.csv", csv_bytes([ROWS[0], ["1", "阿" * 250, "", "", ""]])).rows[0]
    assert len(row.name) == 200 and row.notes


def test_first_column_is_the_name_when_allowed_without_header():
    dictionary = read_dictionary("names.csv", "阿莫西林胶囊 0.25g\n络活喜 5mg\n".encode(), require_header=False)
    assert not dictionary.has_header
    assert [r.name for r in dictionary.rows] == ["阿莫西林胶囊 0.25g", "络活喜 5mg"]


@pytest.mark.parametrize("filename, data, reason", [
    ("empty.csv", b"", "文件是空的"),
    ("blank.csv", b"\n\n  \n", "文件是空的"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
    ("broken.xlsx", b"PK\x03\x04 not really a zip", "损坏"),
    ("fake.xlsx", "药品名称\n阿莫西林".encode(), "损坏"),
    ("binary.csv", b"\x00\x01\x02\x03" * 50, "不是文本"),
    ("latin.csv", "药品名称\n阿莫西林\n".encode("utf-8") + b"\xff\xfe\xfa", "编码"),
    ("noheader.csv", "阿莫西林胶囊,0.25g\n".encode(), "药品名称"),
    ("header_only.csv", "药品名称,规格\n".encode(), "只有表头"),
])
def test_unreadable_files_are_refused_whole_with_the_reason(filename, data, reason):
    with pytest.raises(DictionaryFileError) as refused:
        read_dictionary(filename, data)
    assert reason in refused.value.message


def test_too_many_rows_are_refused():
    data = ("药品名称\n" + "阿莫西林\n" * 20001).encode()
    with pytest.raises(DictionaryFileError) as refused:
        read_dictionary("big.csv", data)
    assert "20000" in refused.value.message


@pytest.mark.parametrize("text, encoding, detected", [
    ("コード,薬品名,規格\n1001,アモキシシリンカプセル,250mg\n1002,ロキソニン錠,60mg\n", "shift_jis", "cp932"),
    ("薬品名,規格\nロキソニン錠,60mg\n", "shift_jis", "cp932"),
    ("藥品名稱,規格\n1001,阿莫西林膠囊,250mg\n", "big5", "big5"),
    ("name,spec\nCafé crème,250mg\n", "latin-1", "cp1250"),
])
def test_csv_that_is_not_chinese_text_is_refused_and_named(text, encoding, detected):
    """Shift-JIS, Big5 and Latin-1 bytes often decode as GBK without an error: nonsense names, no warning."""
    with pytest.raises(DictionaryFileError) as refused:
        read_dictionary("dict.csv", text.encode(encoding))
    assert "不是中文编码" in refused.value.message and detected in refused.value.message


@pytest.mark.parametrize("text, name", [
    ("药品名称\n布洛芬缓释胶囊\n", "布洛芬缓释胶囊"),  # these bytes are valid Shift-JIS and Korean too
    ("编码,名称\nA1,阿莫西林\n", "阿莫西林"),
    ("药品名称,规格\n硝苯地平缓释片（Ⅱ）,20mg*30片\n络活喜,5mg\n", "硝苯地平缓释片（Ⅱ）"),
])
def test_short_gbk_files_that_look_like_other_encodings_are_still_read(text, name):
    dictionary = read_dictionary("dict.csv", text.encode("gbk"))
    assert dictionary.encoding == "gbk" and dictionary.rows[0].name == name


@pytest.mark.parametrize("data, reason", [
    ("药品名称\n".encode() + b"\n" * 3_000_000, "表格超过 20050 行"),  # 3 MB of empty lines
    ("药品名称\n阿莫西林".encode() + b"," * 3_000_000, "超过 65536 个字符"),  # one line of 3 million fields
])
def test_csv_that_inflates_in_the_reader_is_refused_fast_and_in_bounded_memory(data, reason):
    import time
    import tracemalloc

    from pharmacy.errors import DomainError

    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(DomainError) as refused:
            read_dictionary("dict.csv", data)
        seconds, peak = time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.status == 422 and reason in refused.value.message
    assert seconds < 5 and peak < 64 * 1024 * 1024
