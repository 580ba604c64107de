"""Side doors into a facility's stock: the tier rule on every movement that adds stock, goods booked into another
facility only on its signature, and large adjustments only on a second person's approval (SQLite and PostgreSQL)."""

import pytest

from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import Lot, StockMovement, Transfer
from sqlalchemy import func, select
from tests.factories import make_product
from tests.stock_support import assert_ledger_matches_balances, counts, days_from_now


@pytest.fixture
def county_only(county):
    """A county-only product with a lot at the central pharmacy, and the village's doctor signed in."""
    product = make_product(lowest_tier="county", pack_size=10)
    stock.receive(county.central, product, lot_number="CTY-1", expiry_date=days_from_now(300), qty_base=100,
                  user=county.users["county"], key="cty-seed")
    db.session.commit()
    lot = db.session.scalar(select(Lot).where(Lot.product_id == product.id))
    return county, product, lot


def test_a_county_only_product_cannot_enter_village_stock_by_a_stocktake_count(county_only, login):
    county, product, lot = county_only
    village = county.villages[0]
    client = login(county.users["village"])
    before = counts()
    answer = client.post("/api/v1/stock/stocktakes", json={
        "facility_id": village.id, "counts": [{"lot_id": lot.id, "counted_base": 50}], "idempotency_key": "st-1"})
    assert answer.status_code == 422 and answer.json["error"]["code"] == "tier_not_allowed"
    assert counts() == before and stock.on_hand(village.id, product.id) == 0


def test_a_county_only_product_cannot_enter_village_stock_by_a_found_adjustment(county_only, login):
    county, product, lot = county_only
    village = county.villages[0]
    client = login(county.users["village"])
    before = counts()
    for reason in ("found", "correction"):
        answer = client.post("/api/v1/stock/adjustments", json={
            "facility_id": village.id, "lot_id": lot.id, "qty_delta_base": 5, "reason": reason,
            "idempotency_key": f"adj-{reason}"})
        assert answer.status_code == 422 and answer.json["error"]["code"] == "tier_not_allowed", reason
    assert counts() == before and stock.on_hand(village.id, product.id) == 0


def test_the_page_forms_refuse_the_same_side_doors(county_only, login):
    county, product, lot = county_only
    village = county.villages[0]
    client = login(county.users["village"])
    before = counts()
    page = client.post(f"/stock/f/{village.id}/adjust", data={
        "lot_id": lot.id, "qty_delta_base": 5, "reason": "found", "idempotency_key": "page-adj"})
    assert page.status_code == 422
    page = client.post(f"/stock/f/{village.id}/stocktake", data={f"count_{lot.id}": "5", "idempotency_key": "p-st"})
    assert page.status_code in (200, 422)  # the count sheet lists the village's own lots only
    assert counts() == before and stock.on_hand(village.id, product.id) == 0


def test_a_stocktake_may_still_count_down_what_the_tier_rule_would_not_let_in(county, login):
    """Stock that is there (from before a tier change) may be counted down: the rule guards what comes in."""
    product = make_product(lowest_tier="village", pack_size=10)
    village = county.villages[0]
    stock.receive(village, product, lot_number="OLD-1", expiry_date=days_from_now(300), qty_base=30,
                  user=county.users["village"], key="old-seed")
    product.lowest_tier = "county"
    db.session.commit()
    lot = db.session.scalar(select(Lot).where(Lot.product_id == product.id))
    client = login(county.users["village"])
    answer = client.post("/api/v1/stock/stocktakes", json={
        "facility_id": village.id, "counts": [{"lot_id": lot.id, "counted_base": 20}], "idempotency_key": "down"})
    assert answer.status_code == 201 and stock.on_hand(village.id, product.id) == 20
    assert_ledger_matches_balances()


@pytest.fixture
def village_stock(county):
    product = make_product(pack_size=10)
    village = county.villages[0]
    stock.receive(village, product, lot_number="V-1", expiry_date=days_from_now(300), qty_base=100,
                  user=county.users["village"], key="v-seed")
    db.session.commit()
    return county, village, product


def test_a_village_cannot_hand_goods_straight_into_its_townships_stock(village_stock, login):
    county, village, product = village_stock
    township = county.townships[0]
    client = login(county.users["village"])
    before = counts()
    answer = client.post("/api/v1/stock/transfers", json={
        "from_facility_id": village.id, "to_facility_id": township.id, "in_transit": False,
        "lines": [{"product_id": product.id, "qty": 2, "unit": "pack"}], "idempotency_key": "hand-up"})
    assert answer.status_code == 422 and answer.json["error"]["code"] == "handover_not_allowed"
    assert "in_transit" in answer.json["error"]["fields"]
    assert counts() == before and stock.on_hand(township.id, product.id) == 0
    page = client.post(f"/stock/f/{village.id}/transfer", data={
        "to_facility_id": township.id, "in_transit": "0", "product_id_0": product.id, "qty_0": "2",
        "unit_0": "pack", "idempotency_key": "hand-up-page"})
    assert page.status_code == 422 and counts() == before
    # in transit it goes, and the township signs for it
    sent = client.post("/api/v1/stock/transfers", json={
        "from_facility_id": village.id, "to_facility_id": township.id,
        "lines": [{"product_id": product.id, "qty": 2, "unit": "pack"}], "idempotency_key": "send-up"})
    assert sent.status_code == 201 and sent.json["status"] == "in_transit"
    assert db.session.scalar(select(func.count(StockMovement.id)).where(
        StockMovement.facility_id == township.id)) == 0
    assert_ledger_matches_balances()


def test_a_township_may_hand_goods_over_to_its_own_village_as_a_proxy_receipt(county, login):
    product = make_product(pack_size=10)
    township, village = county.townships[0], county.villages[0]
    stock.receive(township, product, lot_number="T-1", expiry_date=days_from_now(300), qty_base=100,
                  user=county.users["township"], key="t-seed")
    db.session.commit()
    client = login(county.users["township"])
    answer = client.post("/api/v1/stock/transfers", json={
        "from_facility_id": township.id, "to_facility_id": village.id, "in_transit": False,
        "lines": [{"product_id": product.id, "qty": 1, "unit": "pack"}], "idempotency_key": "hand-down"})
    assert answer.status_code == 201 and answer.json["status"] == "received"
    consignment = client.get(f"/api/v1/consignments/{answer.json['consignment']['id']}").json
    assert consignment["proof"]["is_proxy"] is True
    assert stock.on_hand(village.id, product.id) == 10
    assert db.session.get(Transfer, answer.json["id"]).status == "received"
    assert_ledger_matches_balances()


def _adjust(client, village, lot, qty_delta, key, reason="correction"):
    return client.post("/api/v1/stock/adjustments", json={
        "facility_id": village.id, "lot_id": lot.id, "qty_delta_base": qty_delta, "reason": reason,
        "idempotency_key": key})


@pytest.fixture
def big(village_stock):
    county, village, product = village_stock
    lot = db.session.scalar(select(Lot).where(Lot.product_id == product.id))
    return county, village, product, lot


def test_a_huge_correction_is_recorded_as_pending_and_books_nothing(big, login):
    county, village, product, lot = big
    client = login(county.users["village"])
    before = counts()
    first = _adjust(client, village, lot, 10_000_000, "huge-1")
    assert first.status_code == 202 and first.json["status"] == "pending" and first.json["operation"] is None
    again = _adjust(client, village, lot, 10_000_000, "huge-1")
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert counts() == before and stock.on_hand(village.id, product.id) == 100
    listed = client.get(f"/api/v1/stock/adjustment-requests?facility_id={village.id}&status=pending").json
    assert [r["id"] for r in listed] == [first.json["id"]]
    # The key is the sender's, and it names one request: another quantity under it is refused.
    other = _adjust(client, village, lot, 9_000_000, "huge-1")
    assert other.status_code == 409 and other.json["error"]["code"] == "idempotency_key_reused"
    township = login(county.users["township"])
    own = _adjust(township, village, lot, 10_000_000, "huge-1")
    assert own.status_code == 202 and own.json["id"] != first.json["id"]


def test_up_to_the_limit_an_adjustment_is_booked_at_once(big, login, app, monkeypatch):
    county, village, product, lot = big
    client = login(county.users["village"])
    limit = 20 * product.pack_size  # the default PHARMACY_ADJUSTMENT_APPROVAL_PACKS
    assert _adjust(client, village, lot, limit, "at-limit").status_code == 201
    assert _adjust(client, village, lot, limit + 1, "over-limit").status_code == 202
    assert _adjust(client, village, lot, -(limit + 1), "over-limit-down").status_code == 202
    monkeypatch.setitem(app.config, "ADJUSTMENT_APPROVAL_PACKS", 0)
    assert _adjust(client, village, lot, 1, "every-one").status_code == 202
    assert stock.on_hand(village.id, product.id) == 100 + limit


def test_only_another_person_approves_and_the_approval_books_once(big, login, client):
    county, village, product, lot = big
    doctor = login(county.users["village"])
    pending = _adjust(doctor, village, lot, 500, "approve-me").json
    path = f"/api/v1/stock/adjustment-requests/{pending['id']}"
    before = counts()
    same = doctor.post(path + "/approve", json={})
    assert same.status_code == 403 and same.json["error"]["code"] == "same_person" and counts() == before
    outsider = login(county.users["other_village"])  # another village: not in its scope
    assert outsider.post(path + "/approve", json={}).status_code == 404 and counts() == before
    township = login(county.users["township"])
    approved = township.post(path + "/approve", json={"note": "已核实"})
    assert approved.status_code == 200 and approved.json["status"] == "approved"
    assert approved.json["decided_by_id"] == county.users["township"].id
    assert approved.json["operation"]["movements"][0]["qty_base"] == 500
    assert stock.on_hand(village.id, product.id) == 600
    twice = township.post(path + "/approve", json={})
    assert twice.status_code == 409 and twice.json["error"]["code"] == "already_decided"
    assert stock.on_hand(village.id, product.id) == 600
    from pharmacy.audit.models import AuditEvent

    trail = db.session.scalars(select(AuditEvent).where(AuditEvent.table_name == "stock_adjustment_request")).all()
    assert {event.action for event in trail} >= {"insert", "update"}
    assert_ledger_matches_balances()


def test_a_rejection_needs_a_reason_and_books_nothing(big, login):
    county, village, product, lot = big
    doctor = login(county.users["village"])
    pending = _adjust(doctor, village, lot, -300, "reject-me", reason="lost")  # more than there is: judged at approval
    assert pending.status_code == 202
    path = f"/api/v1/stock/adjustment-requests/{pending.json['id']}"
    township = login(county.users["township"])
    before = counts()
    bare = township.post(path + "/reject", json={})
    assert bare.status_code == 422 and "note" in bare.json["error"]["fields"]
    rejected = township.post(path + "/reject", json={"note": "数量不对，请重新盘点"})
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert counts() == before and stock.on_hand(village.id, product.id) == 100
    assert township.post(path + "/approve", json={}).status_code == 409


def test_the_pages_hold_a_large_adjustment_and_another_person_approves_it(big, login):
    county, village, product, lot = big
    doctor = login(county.users["village"])
    sent = doctor.post(f"/stock/f/{village.id}/adjust", data={
        "lot_id": lot.id, "qty_delta_base": 900, "reason": "found", "idempotency_key": "page-big"})
    assert sent.status_code == 302 and "/adjustments" in sent.headers["Location"]
    page = doctor.get(sent.headers["Location"]).get_data(as_text=True)
    assert "待审批" in page and "须由另一人审批" in page and "V-1" in page
    assert stock.on_hand(village.id, product.id) == 100
    [pending] = stock.adjustment_requests(village.id, "pending")
    township = login(county.users["township"])
    assert "批准并入账" in township.get(f"/stock/f/{village.id}/adjustments").get_data(as_text=True)
    done = township.post(f"/stock/adjustment-requests/{pending.id}/approve", data={})
    assert done.status_code == 302
    assert stock.on_hand(village.id, product.id) == 1000
    refused = township.post(f"/stock/adjustment-requests/{pending.id}/reject", data={"note": "晚了"})
    assert refused.status_code == 409 and "该调整申请已处理" in refused.get_data(as_text=True)


def test_a_stocktake_cannot_walk_round_the_approval_limit(big, login):
    county, village, product, lot = big
    client = login(county.users["village"])
    before = counts()
    huge = client.post("/api/v1/stock/stocktakes", json={
        "facility_id": village.id, "counts": [{"lot_id": lot.id, "counted_base": 10_000_000}],
        "idempotency_key": "count-huge"})
    assert huge.status_code == 409 and huge.json["error"]["code"] == "approval_required"
    assert str(lot.id) in huge.json["error"]["fields"]
    assert counts() == before and stock.on_hand(village.id, product.id) == 100
    page = client.post(f"/stock/f/{village.id}/stocktake", data={f"count_{lot.id}": "5000",
                                                                 "idempotency_key": "count-huge-page"})
    assert page.status_code == 409 and "审批" in page.get_data(as_text=True) and counts() == before
    limit = 20 * product.pack_size  # up to the limit a count books as before
    assert client.post("/api/v1/stock/stocktakes", json={
        "facility_id": village.id, "counts": [{"lot_id": lot.id, "counted_base": 100 + limit}],
        "idempotency_key": "count-ok"}).status_code == 201
    assert stock.on_hand(village.id, product.id) == 100 + limit


def test_a_township_finds_its_villages_pending_adjustments_on_its_own_page_and_in_the_api(big, login):
    county, village, product, lot = big
    doctor = login(county.users["village"])
    pending = _adjust(doctor, village, lot, 700, "for-the-township").json
    township = county.townships[0]
    pharmacist = login(county.users["township"])
    page = pharmacist.get(f"/stock/f/{township.id}/adjustments").get_data(as_text=True)
    assert f'id="request-{pending["id"]}"' in page and village.name in page and "批准并入账" in page
    own_only = pharmacist.get(f"/api/v1/stock/adjustment-requests?facility_id={township.id}").json
    with_villages = pharmacist.get(f"/api/v1/stock/adjustment-requests?facility_id={township.id}&subtree=true").json
    assert own_only == [] and [r["id"] for r in with_villages] == [pending["id"]]
    other_township = county.townships[1]
    elsewhere = login(county.users["township"]).get(
        f"/api/v1/stock/adjustment-requests?facility_id={other_township.id}&subtree=true")
    assert elsewhere.status_code in (403, 404)


def test_an_approval_the_stock_cannot_bear_is_refused_and_the_request_stays_pending(big, login):
    county, village, product, lot = big
    doctor = login(county.users["village"])
    pending = _adjust(doctor, village, lot, -300, "more-than-there-is", reason="lost").json
    township = login(county.users["township"])
    before = counts()
    answer = township.post(f"/api/v1/stock/adjustment-requests/{pending['id']}/approve", json={})
    assert answer.status_code == 409 and answer.json["error"]["code"] == "insufficient_stock"
    assert counts() == before
    assert doctor.get(f"/api/v1/stock/adjustment-requests/{pending['id']}").json["status"] == "pending"


def test_another_operations_key_is_no_receipt_of_a_received_transfer(village_stock, login):
    """A receipt of a transfer already received answers 200 only to the key that booked it; any other key — even
    one of another stock operation — is 409 already_received."""
    county, village, product = village_stock
    township = county.townships[0]
    stock.receive(township, product, lot_number="T-9", expiry_date=days_from_now(300), qty_base=50,
                  user=county.users["township"], key="t9-seed")
    db.session.commit()
    sender = login(county.users["township"])
    sent = sender.post("/api/v1/stock/transfers", json={
        "from_facility_id": township.id, "to_facility_id": village.id,
        "lines": [{"product_id": product.id, "qty": 1, "unit": "pack"}], "idempotency_key": "t9-send"}).json
    doctor = login(county.users["village"])
    path = f"/api/v1/stock/transfers/{sent['id']}/receive"
    assert doctor.post(path, json={"idempotency_key": "t9-in"}).status_code == 200
    assert doctor.post(path, json={"idempotency_key": "t9-in"}).status_code == 200  # its own key: as recorded
    doctor.post("/api/v1/stock/dispenses", json={"facility_id": village.id, "product_id": product.id, "qty": 1,
                                                 "unit": "base", "idempotency_key": "t9-dispense"})
    borrowed = doctor.post(path, json={"idempotency_key": "t9-dispense"})
    assert borrowed.status_code == 409 and borrowed.json["error"]["code"] == "already_received"
    assert stock.on_hand(village.id, product.id) == 100 + 10 - 1
    assert_ledger_matches_balances()
