"""Invisible control characters (issue 13, item 1): refused at input, on every JSON string, form value and query
string, with a message naming the field; and text stored before the guard existed never breaks an export."""

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from pharmacy.extensions import db
from pharmacy.matching.models import DictionaryImport, LocalDrug
from tests.factories import make_product, make_shortage, stock_up
from tests.stock_support import counts, days_from_now

BAD_LOT = "LOT\x01ABC"


def _receipt(village, product, lot_number: str, **extra) -> dict:
    return {"facility_id": village.id, "product_id": product.id, "lot_number": lot_number,
            "expiry_date": str(days_from_now(300)), "qty": 1, "unit": "pack", "idempotency_key": "cc-rcv", **extra}


@pytest.fixture
def doctor(county, login):
    product = make_product(pack_size=10)
    db.session.commit()
    return login(county.users["village"]), county.villages[0], product


def test_a_receipt_with_a_control_character_in_the_lot_is_refused_by_the_api(doctor):
    client, village, product = doctor
    before = counts()
    response = client.post("/api/v1/stock/receipts", json=_receipt(village, product, BAD_LOT))
    assert response.status_code == 422
    error = response.json["error"]
    assert error["code"] == "control_character" and "lot_number" in error["fields"]
    assert "lot_number" in error["message"] and "U+0001" in error["message"] and "控制字符" in error["message"]
    assert counts() == before


def test_a_receipt_with_a_control_character_in_the_lot_is_refused_by_the_page(doctor):
    client, village, product = doctor
    before = counts()
    response = client.post(f"/stock/f/{village.id}/receive", data=_receipt(village, product, BAD_LOT))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "lot_number" in page and "U+0001" in page and "不可见的控制字符" in page
    assert counts() == before


def test_the_refusal_speaks_english_to_an_english_user(doctor):
    client, village, product = doctor
    with client.session_transaction() as session:
        session["lang"] = "en"
    response = client.post("/api/v1/stock/receipts", json=_receipt(village, product, BAD_LOT))
    assert response.status_code == 422
    assert "invisible control character" in response.json["error"]["message"]
    assert "lot_number" in response.json["error"]["message"]


@pytest.mark.parametrize("char", ["\x00", "\x08", "\x0b", "\x1b", "\x1f", "\x7f", "\x85", "\ufffe", "\u2028",
                                  "\u2029"])
def test_every_forbidden_character_is_refused_wherever_the_body_holds_it(doctor, char):
    client, village, product = doctor
    before = counts()
    body = json.dumps(_receipt(village, product, "LOT-OK", manufacturer=f"华北{char}制药"))  # \ud800 as an escape
    response = client.post("/api/v1/stock/receipts", data=body, content_type="application/json")
    assert response.status_code == 422, char
    assert list(response.json["error"]["fields"]) == ["manufacturer"]
    assert f"U+{ord(char):04X}" in response.json["error"]["message"]
    assert counts() == before


@pytest.mark.parametrize("char", ["\ud800", "\udfff"])
def test_a_lone_surrogate_is_no_json_text_and_writes_nothing(doctor, char):
    """JSON's parser refuses a lone surrogate (written as an escape) before any field is read: 400 bad_json."""
    client, village, product = doctor
    before = counts()
    body = json.dumps(_receipt(village, product, "LOT-OK", manufacturer=f"华北{char}制药"))
    response = client.post("/api/v1/stock/receipts", data=body, content_type="application/json")
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_json", char
    assert counts() == before


def test_nested_json_strings_and_keys_are_checked_and_named_by_their_path(county, login):
    client = login(county.users["township"])
    nested = client.post("/api/v1/stock/transfers/1/receive",
                         json={"lines": [{"line_id": 1, "qty_base_received": 1, "note": "破\x02损"}]})
    assert nested.status_code == 422 and list(nested.json["error"]["fields"]) == ["lines.0.note"]
    key = client.post("/api/v1/stock/receipts", json={"lot\x03": "x"})
    assert key.status_code == 422 and key.json["error"]["code"] == "control_character"


def test_query_strings_and_form_values_are_checked(county, login):
    client = login(county.users["viewer"])
    search = client.get("/api/v1/catalog/products", query_string={"q": "阿莫\x01西林"})
    assert search.status_code == 422 and list(search.json["error"]["fields"]) == ["q"]
    page = client.get("/catalog", query_string={"q": "\x1b[31m"})
    assert page.status_code == 422 and "U+001B" in page.get_data(as_text=True)
    sign_in = client.post("/login", data={"username": "admin\x00", "password": "x"})
    assert sign_in.status_code == 422 and "username" in sign_in.get_data(as_text=True)


def test_tab_newline_and_carriage_return_are_ordinary_text(doctor):
    client, village, product = doctor
    response = client.post("/api/v1/stock/receipts", json=_receipt(village, product, "LOT-7",
                                                                     note="第一行\r\n第二行\t备注"))
    assert response.status_code == 201, response.json


# --- text stored before the guard: every export that shows it still downloads ----------------------------------


@pytest.fixture
def stored_bad_text(county):
    """A lot, a product name and a local dictionary row holding U+0001 (and a lone surrogate in the dictionary), as
    written before input was guarded: straight into the tables, past every request."""
    village = county.villages[0]
    product = make_product(generic_name="坏\x01字药")
    stock_up(village, product, 100, user=county.users["village"], lot=BAD_LOT, expires_in_days=30)
    make_shortage(village, product, 2, county.users["village"])
    record = DictionaryImport(facility_id=county.townships[0].id, filename="d.csv", file_format="csv", row_count=1)
    db.session.add(record)
    db.session.flush()
    db.session.add(LocalDrug(import_id=record.id, facility_id=record.facility_id, row_no=1, local_code="L\x01",
                             local_name="阿莫\x01西林", spec="0.25g\x1f", manufacturer="厂\x0b家", status="no_match"))
    db.session.commit()
    return county, record


def _cells(response, fmt: str) -> list:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    if fmt == "csv":
        text = response.get_data(as_text=True).lstrip("\ufeff")
        return [c for row in csv.reader(io.StringIO(text)) for c in row]
    sheet = load_workbook(io.BytesIO(response.data)).worksheets[0]  # a full (not read-only) parse of the XML
    return [c for row in sheet.iter_rows(values_only=True) for c in row]


EXPORTS = [
    ("village", "/stock/f/{village}/export.{fmt}"),
    ("township", "/stock/subtree/export.{fmt}"),
    ("county", "/stock/subtree/export.{fmt}"),
    ("county", "/reports/near_expiry.{fmt}"),
    ("county", "/reports/stock.{fmt}"),
    ("county", "/reports/shortages.{fmt}"),
    ("viewer", "/catalog/export.{fmt}?q=坏"),
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize("role,url", EXPORTS)
def test_stored_control_characters_never_break_an_export(stored_bad_text, login, role, url, fmt):
    county, _record = stored_bad_text
    response = login(county.users[role]).get(url.format(village=county.villages[0].id, fmt=fmt))
    cells = [c for c in _cells(response, fmt) if isinstance(c, str)]
    assert any("坏\ufffd字药" in c for c in cells)
    if url.startswith("/stock") or "near_expiry" in url:
        assert "LOT\ufffdABC" in cells
    assert not any("\x01" in c for c in cells)


def test_stored_control_characters_never_break_the_dictionary_export(stored_bad_text, login):
    county, record = stored_bad_text
    response = login(county.users["township"]).get(f"/matching/imports/{record.id}/export.xlsx")
    cells = _cells(response, "xlsx")
    assert {"L\ufffd", "阿莫\ufffd西林", "0.25g\ufffd", "厂\ufffd家"} <= set(cells)


def test_stored_control_characters_never_break_the_settlement_statement(county, login):
    from pharmacy.inventory import services as stock
    from pharmacy.settlement import services as settlement

    product = make_product(generic_name="结\x01算药")
    stock_up(county.central, product, 50, lot="SET\x02LOT")
    transfer = stock.send_transfer(county.central, county.townships[0], [stock.LineRequest(product, 50)],
                                   user=county.users["county"], key="cc-settle-out")
    stock.receive_transfer(transfer, {}, user=county.users["township"], key="cc-settle-in")
    db.session.commit()
    response = login(county.users["township"]).get(
        f"/settlement/{county.townships[0].id}/{settlement.current_month()}.xlsx")
    assert response.status_code == 200
    detail = load_workbook(io.BytesIO(response.data)).worksheets[1]
    cells = [c for row in detail.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "SET\ufffdLOT" in cells and any("结\ufffd算药" in c for c in cells)
