"""Uploaded spreadsheets: type by content, zip bombs refused unread, CSV in UTF-8 or GBK."""

import io
import zipfile

import pytest
from openpyxl import Workbook
from werkzeug.datastructures import FileStorage

from pharmacy import create_app
from pharmacy.errors import DomainError
from pharmacy.uploads import MAX_UNCOMPRESSED_BYTES, read_table


@pytest.fixture(autouse=True)
def app_ctx(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    with app.test_request_context():
        yield


def _upload(data: bytes, name: str) -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


def _xlsx(rows) -> bytes:
    book = Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_reads_an_xlsx_and_a_csv_in_gbk():
    assert read_table(_upload(_xlsx([["编码", "名称"], ["A1", "阿莫西林胶囊"]]), "字典.xlsx")) == [
        ["编码", "名称"], ["A1", "阿莫西林胶囊"]]
    assert read_table(_upload("编码,名称\nA1,阿莫西林\n".encode("gb18030"), "d.csv")) == [["编码", "名称"], ["A1", "阿莫西林"]]


def test_a_zip_bomb_is_refused_before_it_is_inflated():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"0" * (1024 * 1024)
            for _ in range(MAX_UNCOMPRESSED_BYTES // len(chunk) + 2):
                member.write(chunk)
    bomb = out.getvalue()
    assert len(bomb) < 1024 * 1024  # small on the wire
    with pytest.raises(DomainError) as refused:
        read_table(_upload(bomb, "bomb.xlsx"))
    assert refused.value.code == "zip_bomb" and "解压后过大" in refused.value.message


@pytest.mark.parametrize("data,name", [
    (b"MZ\x90\x00 an executable", "dictionary.xlsx"),
    (b"%PDF-1.7 ...", "dictionary.csv"),
    (b"\x00\x01binary", "dictionary.csv"),
    ("编码,名称\n".encode(), "dictionary.txt"),
    (_xlsx([["a"]]), "dictionary.csv"),
    (b"PK\x03\x04 not really a zip", "dictionary.xlsx"),
])
def test_wrong_types_are_refused_by_content_not_name(data, name):
    with pytest.raises(DomainError) as refused:
        read_table(_upload(data, name))
    assert refused.value.status in (415, 422) and refused.value.message


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("evil.sh", "rm -rf /")
    with pytest.raises(DomainError) as refused:
        read_table(_upload(out.getvalue(), "x.xlsx"))
    assert refused.value.status == 415


def test_a_shift_jis_csv_is_refused_not_read_as_gbk():
    data = "コード,薬品名\nA1,アモキシシリンカプセル\nA2,ロキソニン錠\n".encode("shift_jis")
    assert data.decode("gb18030")  # decodes without an error: the old reader took it for Chinese
    with pytest.raises(DomainError) as refused:
        read_table(_upload(data, "d.csv"))
    assert refused.value.status == 422 and refused.value.code == "bad_encoding"
    assert "cp932" in refused.value.message and "不是中文编码" in refused.value.message


def test_openpyxl_parses_with_defusedxml():
    """openpyxl forbids DTDs and entities only when defusedxml is installed (a dependency in pyproject.toml)."""
    import openpyxl

    assert openpyxl.DEFUSEDXML is True


def test_a_sheet_is_read_within_its_limits():
    from pharmacy.uploads import SheetLimits, read_sheet

    data = _xlsx([["名称", None, None], [], ["阿莫西林", "0.25g", None]])
    assert read_sheet(data, SheetLimits(rows=3, columns=2)) == [["名称"], [], ["阿莫西林", "0.25g"]]
    for limits, code in ((SheetLimits(rows=2), "sheet_too_large"), (SheetLimits(rows=9, cells=2), "sheet_too_large"),
                         (SheetLimits(rows=9, chars=5), "sheet_too_large"),
                         (SheetLimits(rows=9, cpu_seconds=-1), "sheet_too_slow")):
        with pytest.raises(DomainError) as refused:
            read_sheet(data, limits)
        assert refused.value.status == 422 and refused.value.code == code and refused.value.message


@pytest.mark.parametrize("build", ["wide_row", "many_elements"])
def test_a_sheet_that_would_make_openpyxl_hold_a_huge_tree_is_refused_in_bounded_memory(build):
    import tracemalloc

    from pharmacy.uploads import SheetLimits, read_sheet
    from tests import hostile_files

    data = getattr(hostile_files, build)(["药品名称", "数量"])
    assert len(data) < 512 * 1024
    tracemalloc.start()
    try:
        with pytest.raises(DomainError) as refused:
            read_sheet(data, SheetLimits(rows=100))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.status == 422 and refused.value.code == "sheet_too_large"
    assert peak < 16 * 1024 * 1024
