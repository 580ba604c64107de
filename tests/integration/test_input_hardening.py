"""Hostile numbers and JSON: Unicode digits, fractions, deep nesting and lone surrogates get a clear 4xx in the
user's language and change nothing (issue 13)."""

import pytest

from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from tests.factories import make_product, make_shortage
from tests.stock_support import counts, days_from_now

UNICODE_DIGITS = ["²", "①", "٣", "５"]


@pytest.fixture
def stocked(county):
    product = make_product("阿莫西林", pack_size=24)
    village, township = county.villages[0], county.townships[0]
    stock.receive(village, product, lot_number="V1", expiry_date=days_from_now(300), qty_base=48,
                  user=county.users["village"], key="v")
    stock.receive(township, product, lot_number="T1", expiry_date=days_from_now(300), qty_base=240,
                  user=county.users["township"], key="t")
    db.session.commit()
    return county, product


def _in_transit(county, product, login) -> tuple[int, int]:
    township, village = county.townships[0], county.villages[0]
    sent = login(county.users["township"]).post("/api/v1/stock/transfers", json={
        "from_facility_id": township.id, "to_facility_id": village.id,
        "lines": [{"product_id": product.id, "qty": 30, "unit": "base"}], "idempotency_key": "t1"})
    assert sent.status_code == 201, sent.json
    return sent.json["id"], sent.json["lines"][0]["id"]


def _refused(response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data(as_text=True)[:300])


def _catalog_search(county, product, login, digit):
    return [login(county.users["township"]).get(f"/api/v1/catalog/search?q=阿莫&facility={digit}")]


def _match(county, product, login, digit):
    return [login(county.users["township"]).post("/api/v1/matching/match",
                                                 json={"names": ["阿莫西林"], "facility": digit})]


def _acknowledge(county, product, login, digit):
    shortage = make_shortage(county.villages[0], product, 1, county.users["village"])
    db.session.commit()
    # The shortage's own id in the digits of the script under test (٣ → Arabic-Indic): never taken as that id.
    zero = {"²": None, "①": None, "٣": 0x660, "５": 0xFF10}[digit]
    its_id = "".join(chr(zero + int(c)) for c in str(shortage.id)) if zero else digit
    client = login(county.users["township"])
    responses = [client.post("/shortages/acknowledge", data={"shortage_id": its_id}),
                 client.post("/api/v1/shortages/acknowledge", json={"shortage_ids": [its_id]})]
    assert db.session.get(type(shortage), shortage.id).status == "registered"
    return responses


def _stocktake(county, product, login, digit):
    township = county.townships[0]
    lot_id = stock.lot_stock(township.id, product.id)[0].lot_id
    client = login(county.users["township"])
    return [client.post(f"/stock/f/{township.id}/stocktake", data={f"count_{lot_id}": value, "idempotency_key": key})
            for key, value in (("st", digit), ("st2", f"1{digit}"))]


def _transfer_receipt(county, product, login, digit):
    transfer_id, line_id = _in_transit(county, product, login)
    doctor = login(county.users["village"])
    return [doctor.post(f"/stock/transfers/{transfer_id}/receive", data={
        f"received_{line_id}": value, f"reason_{line_id}": "damaged", "idempotency_key": key})
        for key, value in (("rx", digit), ("rx2", f"2{digit}"))]


@pytest.mark.parametrize("place", [_catalog_search, _match, _acknowledge, _stocktake, _transfer_receipt],
                         ids=lambda place: place.__name__.strip("_"))
@pytest.mark.parametrize("digit", UNICODE_DIGITS)
def test_unicode_digits_in_integer_inputs_are_refused_without_a_server_error(stocked, login, place, digit):
    county, product = stocked
    before = None if place is _transfer_receipt else counts()
    responses = place(county, product, login, digit)
    for response in responses:
        _refused(response)
    if before is not None:
        assert counts() == before
    assert stock.on_hand(county.villages[0].id, product.id) == 48
    assert stock.on_hand(county.townships[0].id, product.id) == 240 - (30 if place is _transfer_receipt else 0)


@pytest.mark.parametrize("qty", [2.9, 1.5, "٣", "５", "2.9", True, "1e1", " ٣ "])
def test_stock_writes_take_whole_ascii_numbers_only(stocked, login, qty):
    county, product = stocked
    village = county.villages[0]
    doctor = login(county.users["village"])
    before = counts()
    dispensed = doctor.post("/api/v1/stock/dispenses", json={
        "facility_id": village.id, "product_id": product.id, "qty": qty, "unit": "pack", "idempotency_key": "d"})
    assert dispensed.status_code == 422, dispensed.json
    assert "qty" in dispensed.json["error"]["fields"]
    received = doctor.post("/api/v1/stock/receipts", json={
        "facility_id": village.id, "product_id": product.id, "lot_number": "X", "expiry_date": "2099-01-01",
        "qty": qty, "idempotency_key": "r"})
    assert received.status_code == 422, received.json
    page = doctor.post(f"/stock/f/{village.id}/dispense", data={
        "product_id": product.id, "qty": str(qty), "unit": "pack", "idempotency_key": "dp"})
    assert page.status_code == 422
    assert counts() == before
    assert stock.on_hand(village.id, product.id) == 48


def test_ascii_whole_numbers_still_work(stocked, login):
    county, product = stocked
    village = county.villages[0]
    doctor = login(county.users["village"])
    dispensed = doctor.post("/api/v1/stock/dispenses", json={
        "facility_id": village.id, "product_id": product.id, "qty": 1, "unit": "pack", "idempotency_key": "d"})
    assert dispensed.status_code == 201
    page = doctor.post(f"/stock/f/{village.id}/dispense", data={
        "product_id": product.id, "qty": "+1", "unit": "base", "idempotency_key": "dp"})
    assert page.status_code == 302
    assert stock.on_hand(village.id, product.id) == 48 - 24 - 1


@pytest.mark.parametrize("body", [
    "[" * 50_000 + "]" * 50_000,
    '{"a":' * 50_000 + "1" + "}" * 50_000,
    '{"names": ["\\ud800"]}',
    '{"names": ["阿莫西林"], "facility": "\\udfff"}',
    '{"\\ud800": 1}',
])
def test_hostile_json_is_a_clear_client_error(county, login, body):
    client = login(county.users["township"])
    for path in ("/api/v1/matching/match", "/api/v1/shortages/acknowledge"):
        response = client.post(path, data=body, content_type="application/json",
                               headers={"Accept-Language": "en"})
        assert response.status_code in (400, 422), (path, response.status_code)
        error = response.json["error"]
        assert error["code"] in ("bad_json", "invalid") and error["message"]


def test_hostile_json_message_is_in_the_users_language(county, login):
    client = login(county.users["township"])
    deep = client.post("/api/v1/matching/match", data="[" * 50_000 + "]" * 50_000, content_type="application/json")
    assert deep.status_code == 400 and "嵌套" in deep.json["error"]["message"]
    lone = client.post("/api/v1/matching/match", data='{"names": ["\\ud800"]}', content_type="application/json")
    assert lone.status_code == 400 and "字符" in lone.json["error"]["message"]


@pytest.mark.parametrize("path", ["/api/v1/shortages/{digits}", "/shortages/{digits}"])
def test_ids_in_urls_are_ascii_digits(county, login, path):
    product = make_product()
    shortage = make_shortage(county.villages[0], product, 1, county.users["village"])
    db.session.commit()
    arabic = "".join(chr(0x660 + int(c)) for c in str(shortage.id))
    client = login(county.users["township"])
    assert client.get(path.format(digits=shortage.id)).status_code == 200
    assert client.get(path.format(digits=arabic)).status_code == 404


def test_an_id_beyond_integer_is_not_found_for_every_method(county, login):
    client = login(county.users["county"])
    huge = 676857275920537616384
    assert client.get(f"/api/v1/routes/{huge}").status_code == 404
    assert client.put(f"/api/v1/routes/{huge}", json={"name": "x"}).status_code == 422  # the body is checked first
    assert client.post(f"/api/v1/routes/{huge}/plan").status_code in (400, 404)  # not 405: the path exists
