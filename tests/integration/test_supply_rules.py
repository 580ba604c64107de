"""The one dispatch policy and the one proof-of-delivery rule, whoever plans the goods (order, run, by hand)."""

import pytest

from pharmacy.auth.models import Role
from pharmacy.errors import Conflict, Forbidden, InvalidInput
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import Lot
from pharmacy.supply import services as supply
from pharmacy.supply.models import ConsignmentKind
from tests.factories import key, make_product, make_user, stock_up


def _lot(number: str) -> Lot:
    return db.session.query(Lot).filter_by(lot_number=number).one()


def test_a_lot_must_last_the_window_after_it_reaches_the_facility_it_is_meant_for(county):
    central, town, village = county.central, county.townships[0], county.villages[0]
    product = make_product("阿托伐他汀钙片", strength="20mg", pack_size=10)
    stock_up(central, product, 100, user=county.users["county"], lot="AT-95", expires_in_days=95)
    lot = _lot("AT-95")
    for_township = [supply.PlannedLine(product, lot, 10)]
    # 95 days: enough for the township (1 day in transit + 90)...
    supply.send(ConsignmentKind.SHIPMENT, central, town, for_township, user=county.users["county"], key=key("s"))
    # ...not for a village served through it (+ up to 7 days waiting for the village's run).
    for_village = [supply.PlannedLine(product, lot, 10, final_facility=village)]
    with pytest.raises(Conflict) as refused:
        supply.send(ConsignmentKind.SHIPMENT, central, town, for_village, user=county.users["county"], key=key("s"))
    assert refused.value.code == "near_expiry" and "AT-95" in refused.value.message
    assert stock.on_hand(central.id, product.id) == 90


def test_manual_transfers_keep_the_window_too(county, login):
    town, village = county.townships[0], county.villages[0]
    pharmacist = county.users["township"]
    product = make_product("硝苯地平片", strength="10mg", pack_size=10)
    stock_up(town, product, 50, user=pharmacist, lot="NF-60", expires_in_days=60)
    client = login(pharmacist)
    body = {"from_facility_id": town.id, "to_facility_id": village.id, "idempotency_key": "tr-window-1",
            "lines": [{"product_id": product.id, "qty": 1, "unit": "pack"}]}
    response = client.post("/api/v1/stock/transfers", json=body)
    assert response.status_code == 409  # FEFO finds no lot that may travel
    named = client.post("/api/v1/stock/transfers", json=body | {"idempotency_key": "tr-window-2", "lines": [
        {"product_id": product.id, "qty": 1, "unit": "pack", "lot_id": _lot("NF-60").id}]})
    assert named.status_code == 409
    stock_up(town, product, 50, user=pharmacist, lot="NF-400")
    sent = client.post("/api/v1/stock/transfers", json=body | {"idempotency_key": "tr-window-3"})
    assert sent.status_code == 201 and sent.get_json()["lines"][0]["lot_number"] == "NF-400"


def _to_village(county):
    town, village = county.townships[0], county.villages[0]
    product = make_product("二甲双胍片", strength="0.5g", pack_size=10)
    stock_up(town, product, 40, user=county.users["township"], lot="MF-1")
    consignment, _created = supply.send(ConsignmentKind.TRANSFER, town, village,
                                        [supply.PlannedLine(product, _lot("MF-1"), 20)],
                                        user=county.users["township"], key=key("v"))
    return consignment


def test_only_the_village_signs_for_its_goods_and_a_township_proxy_is_recorded(county):
    consignment = _to_village(county)
    village, town = county.villages[0], county.townships[0]
    other_town_user = make_user(county.townships[1], Role.TOWNSHIP_PHARMACIST)
    with pytest.raises(Forbidden):
        supply.receive(consignment, {}, user=other_town_user, proxy_reason="顺路")
    with pytest.raises(Forbidden):  # the county cannot sign for a village either
        supply.receive(consignment, {}, user=county.users["county"], proxy_reason="代收")
    with pytest.raises(InvalidInput) as no_reason:
        supply.receive(consignment, {}, user=county.users["township"])
    assert no_reason.value.code == "proxy_reason_required"
    assert stock.on_hand(village.id, consignment.lines[0].product_id) == 0
    supply.receive(consignment, {}, user=county.users["township"], proxy_reason="村医外出培训，乡镇代收")
    proof = consignment.proof
    assert proof.is_proxy and proof.signed_by_id == county.users["township"].id
    assert proof.proxy_reason == "村医外出培训，乡镇代收"
    assert stock.on_hand(village.id, consignment.lines[0].product_id) == 20
    assert town.id != village.id


def test_the_county_cannot_sign_for_a_township(county):
    central, town = county.central, county.townships[0]
    product = make_product("氨氯地平片", strength="5mg", pack_size=10)
    stock_up(central, product, 40, user=county.users["county"], lot="AM-1")
    consignment, _ = supply.send(ConsignmentKind.SHIPMENT, central, town, [supply.PlannedLine(product, _lot("AM-1"), 10)],
                                 user=county.users["county"], key=key("c"))
    assert supply.may_sign(county.users["county"], consignment) == ""
    with pytest.raises(Forbidden):
        supply.receive(consignment, {}, user=county.users["county"], proxy_reason="代收")
    assert supply.may_sign(county.users["township"], consignment) == "own"


def test_one_reason_list_for_every_receipt_and_the_old_code_still_read(county):
    consignment = _to_village(county)
    line = consignment.lines[0]
    doctor = county.users["village"]
    with pytest.raises(InvalidInput):
        supply.receive(consignment, {line.id: supply.ReceivedLine(15, "stolen")}, user=doctor)
    with pytest.raises(InvalidInput):
        supply.receive(consignment, {line.id: supply.ReceivedLine(15)}, user=doctor)
    supply.receive(consignment, {line.id: supply.ReceivedLine(15, "missing", "少半盒")}, user=doctor, key="rx-1")
    assert (line.qty_base_received, line.difference_reason) == (15, "short")
    assert supply.receive(consignment, {}, user=doctor, key="rx-1") is consignment  # a resend books nothing
    with pytest.raises(Conflict):
        supply.receive(consignment, {}, user=doctor)
    assert stock.on_hand(county.villages[0].id, line.product_id) == 15


def test_consignments_api_lists_and_signs_with_the_same_rule(county, login):
    consignment = _to_village(county)
    line = consignment.lines[0]
    db.session.commit()
    client = login(county.users["township"])
    listed = client.get(f"/api/v1/consignments?facility_id={county.villages[0].id}").get_json()
    assert [c["id"] for c in listed] == [consignment.id] and listed[0]["status"] == "dispatched"
    url = f"/api/v1/consignments/{consignment.id}/receive"
    refused = client.post(url, json={"lines": []})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "proxy_reason_required"
    bad = client.post(url, json={"proxy_reason": "代收", "lines": [
        {"line_id": line.id, "qty_base_received": 10, "reason": "stolen"}]})
    assert bad.status_code == 422
    signed = client.post(url, json={"proxy_reason": "村医出诊，乡镇代收", "idempotency_key": "api-rx-1", "lines": [
        {"line_id": line.id, "qty_base_received": 10, "reason": "damaged", "note": "压坏"}]})
    assert signed.status_code == 200, signed.get_json()
    body = signed.get_json()
    assert body["status"] == "received" and body["proof"]["is_proxy"] is True
    assert body["lines"][0]["difference_reason"] == "damaged" and body["proof"]["signed_at"].endswith("Z")
    again = client.post(url, json={"proxy_reason": "村医出诊，乡镇代收", "idempotency_key": "api-rx-1"})
    assert again.status_code == 200 and stock.on_hand(county.villages[0].id, line.product_id) == 10
    outsider = login(county.users["other_village"]).get(f"/api/v1/consignments/{consignment.id}")
    assert outsider.status_code == 404
