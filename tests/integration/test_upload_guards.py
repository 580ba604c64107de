"""The two spreadsheet imports (a township's order, a local drug dictionary) refuse a zip bomb and a file that is
not a spreadsheet, and write nothing."""

import io
import time
import tracemalloc
import zipfile

import pytest
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.matching.models import DictionaryImport
from pharmacy.orders.models import Order
from pharmacy.uploads import MAX_UNCOMPRESSED_BYTES
from tests import hostile_files
from tests.factories import make_product
from tests.integration.orders_helpers import csrf_header, use_language


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as member:
            chunk = b"0" * (1024 * 1024)
            for _ in range(MAX_UNCOMPRESSED_BYTES // len(chunk) + 2):
                member.write(chunk)
    return out.getvalue()


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_order_import_refuses_a_zip_bomb_and_a_fake_xlsx(county, login):
    client = login(county.users["township"])
    before = _count(Order)
    for payload, status, code in ((_zip_bomb(), 422, "zip_bomb"), (b"%PDF-1.4 not a workbook", 422, "bad_file")):
        response = client.post("/api/v1/orders/import", data={"file": (io.BytesIO(payload), "申领表.xlsx")},
                               headers=csrf_header(client), content_type="multipart/form-data")
        assert response.status_code == status, response.get_json()
        assert response.get_json()["error"]["code"] == code and response.get_json()["error"]["message"]
    assert _count(Order) == before


def test_dictionary_import_refuses_a_zip_bomb(county, login):
    client = login(county.users["township"])
    before = _count(DictionaryImport)
    response = client.post("/matching/imports", data={"facility_id": str(county.townships[0].id),
                                                      "file": (io.BytesIO(_zip_bomb()), "字典.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422
    assert "解压后过大" in response.get_data(as_text=True)
    assert _count(DictionaryImport) == before


# ------------------------------------------------------------------ sheets that inflate in the reader, DTDs, encodings

def _measured(send):
    """The response, the seconds it took and the peak of memory allocated meanwhile (bytes)."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        response = send()
        return response, time.perf_counter() - started, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


SECONDS = 5
PEAK_BYTES = 64 * 1024 * 1024
ORDER_HEADINGS = ["药品编码", "数量"]
DICTIONARY_HEADINGS = ["本地编码", "药品名称"]


def _order_import(client, data: bytes):
    return client.post("/api/v1/orders/import", data={"file": (io.BytesIO(data), "申领表.xlsx")},
                       headers=csrf_header(client), content_type="multipart/form-data")


def _dictionary_import(client, county, data: bytes, name="字典.xlsx"):
    return client.post("/matching/imports", data={"facility_id": str(county.townships[0].id),
                                                  "file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_order_import_refuses_a_sheet_whose_last_row_is_the_millionth_fast_and_in_bounded_memory(county, login):
    product = make_product()
    client = login(county.users["township"])
    before = _count(Order)
    bomb = hostile_files.far_row(ORDER_HEADINGS, [[product.code, "2"]])
    assert len(bomb) < 8 * 1024
    response, seconds, peak = _measured(lambda: _order_import(client, bomb))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "sheet_too_large" and "2500 行" in error["message"]
    assert seconds < SECONDS and peak < PEAK_BYTES
    assert _count(Order) == before


@pytest.mark.parametrize("build", [hostile_files.huge_dimension, hostile_files.cell_in_last_column])
def test_order_import_reads_the_cells_a_sheet_holds_not_the_size_it_declares(county, login, build):
    product = make_product()
    client = login(county.users["township"])
    response, seconds, peak = _measured(lambda: _order_import(client, build(ORDER_HEADINGS, [[product.code, "2"]])))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["imported_rows"] == 1
    assert seconds < SECONDS and peak < PEAK_BYTES


def test_dictionary_import_refuses_a_sheet_whose_last_row_is_the_millionth_fast_and_in_bounded_memory(county, login):
    client = login(county.users["township"])
    before = _count(DictionaryImport)
    bomb = hostile_files.far_row(DICTIONARY_HEADINGS, [["1", "阿莫西林胶囊"]])
    response, seconds, peak = _measured(lambda: _dictionary_import(client, county, bomb))
    assert response.status_code == 422
    assert "表格超过 20050 行" in response.get_data(as_text=True)
    assert seconds < SECONDS and peak < PEAK_BYTES
    assert _count(DictionaryImport) == before


@pytest.mark.parametrize("build", [hostile_files.huge_dimension, hostile_files.cell_in_last_column])
def test_dictionary_import_reads_the_cells_a_sheet_holds_not_the_size_it_declares(county, login, build):
    client = login(county.users["township"])
    data = build(DICTIONARY_HEADINGS, [["1", "阿莫西林胶囊"]])
    response, seconds, peak = _measured(lambda: _dictionary_import(client, county, data))
    assert response.status_code == 302, response.get_data(as_text=True)
    record = db.session.scalars(select(DictionaryImport).order_by(DictionaryImport.id.desc())).first()
    assert record.row_count == 1
    assert seconds < SECONDS and peak < PEAK_BYTES


@pytest.mark.parametrize("build", [hostile_files.billion_laughs, hostile_files.external_entity])
def test_both_imports_refuse_xml_with_a_dtd(county, login, build):
    client = login(county.users["township"])
    orders, imports = _count(Order), _count(DictionaryImport)
    response = _order_import(client, build(ORDER_HEADINGS))
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "unsafe_xml"
    assert "DTD" in response.get_json()["error"]["message"]
    page = _dictionary_import(client, county, build(DICTIONARY_HEADINGS))
    assert page.status_code == 422 and "DTD" in page.get_data(as_text=True)
    assert (_count(Order), _count(DictionaryImport)) == (orders, imports)


def test_dictionary_import_refuses_a_shift_jis_csv(county, login):
    client = login(county.users["township"])
    before = _count(DictionaryImport)
    data = "コード,薬品名\n1001,アモキシシリンカプセル\n1002,ロキソニン錠\n".encode("shift_jis")
    page = _dictionary_import(client, county, data, name="字典.csv")
    assert page.status_code == 422
    assert "不是中文编码" in page.get_data(as_text=True) and "cp932" in page.get_data(as_text=True)
    assert _count(DictionaryImport) == before


def test_the_order_page_says_why_a_sheet_is_refused_in_the_users_language(county, login):
    client = use_language(login(county.users["township"]), "en")
    before = _count(Order)
    page = client.post("/orders/import", data={"file": (io.BytesIO(hostile_files.far_row(ORDER_HEADINGS, [])),
                                                         "order.xlsx")},
                       content_type="multipart/form-data")
    assert page.status_code == 422
    assert "The sheet has more than 2500 rows; import it in parts" in page.get_data(as_text=True)
    page = client.post("/orders/import", data={"file": (io.BytesIO(hostile_files.external_entity(ORDER_HEADINGS)),
                                                         "order.xlsx")},
                       content_type="multipart/form-data")
    assert page.status_code == 422 and "(DTD/entities)" in page.get_data(as_text=True)
    assert _count(Order) == before
