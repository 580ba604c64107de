"""The stock API: every write, replay by idempotency key, scope, bad input as JSON errors with nothing written."""

import pytest

from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from tests.factories import make_product
from tests.stock_support import assert_ledger_matches_balances, counts, days_from_now


@pytest.fixture
def api(county, login):
    product = make_product(pack_size=10)
    village = county.villages[0]
    stock.receive(village, product, lot_number="L1", expiry_date=days_from_now(200), qty_base=100,
                  user=county.users["village"], key="seed")
    db.session.commit()  # as a real request would find it; error responses roll back to here
    return login(county.users["village"]), county, village, product


def test_dispense_in_packs_and_replay(api):
    client, _county, village, product = api
    body = {"facility_id": village.id, "product_id": product.id, "qty": 2, "unit": "pack", "idempotency_key": "k1"}
    first = client.post("/api/v1/stock/dispenses", json=body)
    assert first.status_code == 201
    assert first.json["movements"][0]["qty_base"] == -20
    before = counts()
    again = client.post("/api/v1/stock/dispenses", json=body)
    assert again.status_code == 200 and again.json["id"] == first.json["id"] and counts() == before
    assert stock.on_hand(village.id, product.id) == 80


@pytest.mark.parametrize("change,status,field", [
    ({"qty": 0}, 422, "qty"),
    ({"qty": -3}, 422, "qty"),
    ({"qty": "x"}, 422, "qty"),
    ({"unit": "box"}, 422, "unit"),
    ({"idempotency_key": ""}, 422, "idempotency_key"),
    ({"lot_id": 987654}, 404, "lot_id"),
    ({"product_id": 987654}, 404, None),
    ({"qty": 11}, 409, None),
])
def test_bad_dispense_input_is_a_json_error_and_writes_nothing(api, change, status, field):
    client, _county, village, product = api
    before = counts()
    body = {"facility_id": village.id, "product_id": product.id, "qty": 1, "unit": "pack", "idempotency_key": "b",
            **change}
    response = client.post("/api/v1/stock/dispenses", json=body)
    assert response.status_code == status
    error = response.json["error"]
    assert error["message"]
    if field:
        assert field in error["fields"]
    if status == 409:
        assert error["code"] == "insufficient_stock"
    assert counts() == before


def test_expired_lot_on_dispense_is_refused(api):
    client, _county, village, product = api
    from pharmacy.inventory.models import Lot

    lot = Lot(product_id=product.id, lot_number="OLD", expiry_date=days_from_now(-3))
    db.session.add(lot)
    db.session.commit()
    response = client.post("/api/v1/stock/dispenses", json={
        "facility_id": village.id, "product_id": product.id, "lot_id": lot.id, "qty": 1, "unit": "base",
        "idempotency_key": "e"})
    assert response.status_code == 422 and response.json["error"]["code"] == "expired_lot"


def test_non_json_write_is_refused(api):
    client, _county, village, _product = api
    response = client.post("/api/v1/stock/dispenses", data={"facility_id": village.id})
    assert response.status_code == 400
    assert response.json["error"]["code"] == "unsupported_media_type"


def test_village_doctor_cannot_touch_another_village(api):
    client, county, village, product = api
    other = county.villages[-1]
    stock.receive(other, product, lot_number="L1", expiry_date=days_from_now(200), qty_base=50,
                  user=county.users["other_village"], key="other")
    db.session.commit()
    before = counts()
    response = client.post("/api/v1/stock/dispenses", json={
        "facility_id": other.id, "product_id": product.id, "qty": 1, "idempotency_key": "steal"})
    assert response.status_code == 403
    assert counts() == before
    assert client.get(f"/api/v1/stock/status?facility_id={other.id}").status_code == 403
    assert client.get(f"/api/v1/stock/facilities/{other.id}/lots").status_code == 403
    assert client.get(f"/api/v1/stock/facilities/{other.id}/products/{product.id}/card").status_code == 403
    own = client.get("/api/v1/stock/status").json
    assert {r["facility_id"] for r in own} == {village.id}
    assert client.get("/api/v1/stock/status?subtree=true").json == own


def test_viewer_cannot_write(api, county, login):
    client = login(county.users["viewer"])
    client, _c, village, product = client, *api[1:]
    response = client.post("/api/v1/stock/receipts", json={
        "facility_id": village.id, "product_id": product.id, "lot_number": "V", "expiry_date": "2099-01-01",
        "qty": 1, "idempotency_key": "v"})
    assert response.status_code == 403


def test_receipt_adjust_stocktake_write_off_and_card(api):
    client, _county, village, product = api
    receipt = client.post("/api/v1/stock/receipts", json={
        "facility_id": village.id, "product_id": product.id, "lot_number": "L2", "expiry_date": str(days_from_now(90)),
        "manufacturer": "某药厂", "qty": 15, "unit": "base", "idempotency_key": "r"})
    assert receipt.status_code == 201
    lot_id = receipt.json["movements"][0]["lot_id"]
    bad = client.post("/api/v1/stock/receipts", json={
        "facility_id": village.id, "product_id": product.id, "lot_number": "L3", "expiry_date": "2020-01-01",
        "qty": 1, "idempotency_key": "r-old"})
    assert bad.status_code == 422 and bad.json["error"]["code"] == "expired_lot"
    adjust = client.post("/api/v1/stock/adjustments", json={
        "facility_id": village.id, "lot_id": lot_id, "qty_delta_base": -2, "reason": "damaged", "idempotency_key": "a"})
    assert adjust.status_code == 201 and adjust.json["movements"][0]["reason"] == "damaged"
    take = client.post("/api/v1/stock/stocktakes", json={
        "facility_id": village.id, "counts": [{"lot_id": lot_id, "counted_base": 10}], "idempotency_key": "s"})
    assert take.status_code == 201 and take.json["movements"][0]["qty_base"] == -3
    twice = client.post("/api/v1/stock/stocktakes", json={
        "facility_id": village.id, "counts": [{"lot_id": lot_id, "counted_base": 1}, {"lot_id": lot_id,
                                                                                     "counted_base": 2}],
        "idempotency_key": "s2"})
    assert twice.status_code == 422
    lots = client.get(f"/api/v1/stock/facilities/{village.id}/lots?product_id={product.id}").json
    assert [(lot["lot_number"], lot["qty_base"], lot["is_near_expiry"]) for lot in lots] == [
        ("L2", 10, True), ("L1", 100, False)]
    card = client.get(f"/api/v1/stock/facilities/{village.id}/products/{product.id}/card").json
    assert [line["balance"] for line in card["lines"]] == [100, 115, 113, 110]
    off = client.post("/api/v1/stock/expiry-write-offs", json={"facility_id": village.id, "idempotency_key": "w"})
    assert off.status_code == 201 and off.json["movements"] == []
    status = client.get(f"/api/v1/stock/status?product_id={product.id}").json
    assert status[0]["on_hand"] == 110 and status[0]["near_expiry"] == 10
    assert_ledger_matches_balances()


def test_transfer_round_trip_and_scope(county, login):
    product = make_product()
    db.session.commit()
    township, village = county.townships[0], county.villages[0]
    client = login(county.users["township"])
    client.post("/api/v1/stock/receipts", json={
        "facility_id": township.id, "product_id": product.id, "lot_number": "T", "expiry_date": "2099-01-01",
        "qty": 3, "idempotency_key": "tr"})
    sent = client.post("/api/v1/stock/transfers", json={
        "from_facility_id": township.id, "to_facility_id": village.id,
        "lines": [{"product_id": product.id, "qty": 30, "unit": "base"}], "idempotency_key": "t1"})
    assert sent.status_code == 201 and sent.json["status"] == "in_transit"
    assert client.get(f"/api/v1/stock/status?facility_id={village.id}").json[0]["in_transit"] == 30
    foreign = county.villages[-1]  # belongs to the second township
    response = client.post("/api/v1/stock/transfers", json={
        "from_facility_id": township.id, "to_facility_id": foreign.id,
        "lines": [{"product_id": product.id, "qty": 1, "unit": "base"}], "idempotency_key": "t2"})
    assert response.status_code == 404
    doctor = login(county.users["village"])
    line_id = sent.json["lines"][0]["id"]
    received = doctor.post(f"/api/v1/stock/transfers/{sent.json['id']}/receive", json={
        "lines": [{"line_id": line_id, "qty_base_received": 28, "reason": "damaged", "note": "破两片"}],
        "idempotency_key": "t1-in"})
    assert received.status_code == 200 and received.json["lines"][0]["qty_base_received"] == 28
    again = doctor.post(f"/api/v1/stock/transfers/{sent.json['id']}/receive", json={"idempotency_key": "t1-in2"})
    assert again.status_code == 409
    other = login(county.users["other_village"])
    assert other.get(f"/api/v1/stock/transfers/{sent.json['id']}").status_code == 404


def test_policy_api(api):
    client, _county, village, product = api
    response = client.put("/api/v1/stock/policies", json={
        "facility_id": village.id, "product_id": product.id, "min_months": 1, "max_months": 3})
    assert response.status_code == 200 and response.json["max_months"] == 3
    response = client.put("/api/v1/stock/policies", json={
        "facility_id": village.id, "product_id": product.id, "min_months": 4, "max_months": 3})
    assert response.status_code == 422


def test_openapi_documents_stock_and_shortages(client, county, login):
    doc = login(county.users["viewer"]).get("/api/v1/openapi.json").json
    for path in ("/api/v1/stock/status", "/api/v1/stock/dispenses", "/api/v1/stock/transfers/{transfer_id}/receive",
                 "/api/v1/shortages", "/api/v1/shortages/by-product", "/api/v1/shortages/{shortage_id}/cancel"):
        assert path in doc["paths"], path


@pytest.mark.parametrize("change, fields", [
    ({"lot_number": "", "expiry_date": ""}, {"lot_number": ["必填"], "expiry_date": ["必填"]}),
    ({"lot_number": "  ", "expiry_date": " "}, {"lot_number": ["必填"], "expiry_date": ["必填"]}),
    ({"lot_number": None, "expiry_date": None}, {"lot_number": ["必填"], "expiry_date": ["必填"]}),
    ({"lot_number": "L9", "expiry_date": "2026-13-45"}, {"expiry_date": ["有效期格式应为 YYYY-MM-DD"]}),
    ({"lot_number": "L9", "expiry_date": "2099/01/01"}, {"expiry_date": ["有效期格式应为 YYYY-MM-DD"]}),
])
def test_receipt_says_what_is_missing_and_what_is_malformed(api, change, fields):
    client, _county, village, product = api
    body = {"facility_id": village.id, "product_id": product.id, "lot_number": "L9", "expiry_date": "2099-01-01",
            "qty": 1, "idempotency_key": "r-bad"}
    body.update(change)
    before = counts()
    response = client.post("/api/v1/stock/receipts", json={k: v for k, v in body.items()})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == fields
    assert counts() == before


def test_receipt_without_lot_or_expiry_says_required(api):
    client, _county, village, product = api
    response = client.post("/api/v1/stock/receipts", json={
        "facility_id": village.id, "product_id": product.id, "qty": 1, "idempotency_key": "r-none"})
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {"lot_number": ["必填"], "expiry_date": ["必填"]}
