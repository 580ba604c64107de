"""The two spreadsheet imports (a township's order, a local drug dictionary) refuse a zip bomb and a file that is
not a spreadsheet, and write nothing."""

import io
import zipfile

from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.matching.models import DictionaryImport
from pharmacy.orders.models import Order
from pharmacy.uploads import MAX_UNCOMPRESSED_BYTES
from tests.integration.orders_helpers import csrf_header


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
