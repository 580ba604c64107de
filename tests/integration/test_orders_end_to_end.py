"""The whole unified-supply loop through the API: shortages → township order → county approval → FEFO allocation
with a back-order → purchase and goods receipt → shipment → township receipt with a short line → statement."""

from datetime import timedelta
from decimal import Decimal

from pharmacy import clock
from pharmacy.auth.models import Role
from pharmacy.catalog.services import update_product
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import Transfer
from pharmacy.settlement.services import current_month
from tests.factories import consume, make_product, make_shortage, make_user, stock_up


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_unified_supply_end_to_end(county, login, db_session):
    town, v1, v2 = county.townships[0], county.villages[0], county.villages[1]
    central, county_user, town_user = county.central, county.users["county"], county.users["township"]
    v2_user = make_user(v2, Role.VILLAGE_DOCTOR)
    amlodipine = make_product("氨氯地平", strength="5mg", pack_size=10, price="12.50", vbp_batch="第三批")
    granules = make_product("板蓝根", dosage_form="颗粒剂", strength="10g", base_unit="袋", pack_size=20, price="8.00",
                            lowest_tier="township")
    granules.drug.category = "中成药"
    metformin = make_product("二甲双胍", strength="0.5g", pack_size=24, price="30.00")

    # 1. Villages register shortages; the township registers one of its own and has used granules.
    sa1 = make_shortage(v1, amlodipine, 3, county.users["village"], "urgent")
    sa2 = make_shortage(v2, amlodipine, 2, v2_user)
    sc1 = make_shortage(v1, metformin, 4, county.users["village"], "emergency")
    sb_town = make_shortage(town, granules, 1, town_user)
    consume(town, granules, 60)  # 20 bags a month → max 3 months = 60 bags = 3 packs to order
    assert {s.status for s in (sa1, sa2, sc1, sb_town)} == {"registered"}

    # 2. The township builds the draft, edits one line and submits.
    client = login(town_user)
    order = _ok(client.post("/api/v1/orders/draft", json={}), 201)
    lines = {line["product_id"]: line for line in order["lines"]}
    assert set(lines) == {amlodipine.id, granules.id, metformin.id}
    assert lines[amlodipine.id]["shortage_packs"] == 5 and lines[amlodipine.id]["qty_packs"] == 5
    assert lines[amlodipine.id]["is_for_villages"] is True and lines[amlodipine.id]["urgency"] == "urgent"
    assert lines[granules.id]["township_need_packs"] == 3 and lines[granules.id]["qty_packs"] == 3
    assert lines[metformin.id]["urgency"] == "emergency" and lines[metformin.id]["qty_packs"] == 4
    order_id = order["id"]
    _ok(client.patch(f"/api/v1/orders/{order_id}/lines/{lines[granules.id]['id']}", json={"qty_packs": 4}))
    order = _ok(client.post(f"/api/v1/orders/{order_id}/submit", json={}))
    assert order["status"] == "submitted"
    assert {s.status for s in (sa1, sa2, sc1, sb_town)} == {"ordered"}

    # 3. The county approves, cutting granules back to 3 packs with a reason.
    client = login(county_user)
    queue = _ok(client.get("/api/v1/orders/approvals"))
    assert [o["id"] for o in queue] == [order_id]
    assert queue[0]["lines"][0]["urgency"] in ("emergency", "urgent", "routine")
    _ok(client.post(f"/api/v1/orders/{order_id}/lines/{lines[granules.id]['id']}/approval",
                    json={"qty_packs": 3, "reason": "按月均用量核减"}))
    order = _ok(client.post(f"/api/v1/orders/{order_id}/approve", json={}))
    assert order["status"] == "approved"
    approved = {line["product_id"]: line for line in order["lines"]}
    assert approved[granules.id]["qty_packs_approved"] == 3 and approved[granules.id]["approval_reason"]
    assert approved[amlodipine.id]["qty_packs_approved"] == 5

    # 4. Allocation from central stock: FEFO, the near-expiry lot skipped, metformin short → back-order.
    stock_up(central, amlodipine, 100, expires_in_days=30, lot="A-NEAR")
    stock_up(central, amlodipine, 200, expires_in_days=400, lot="A-LONG")
    stock_up(central, amlodipine, 200, expires_in_days=700, lot="A-LATER")
    stock_up(central, granules, 100, expires_in_days=500, lot="B-1")
    stock_up(central, metformin, 30, expires_in_days=500, lot="C-1")
    order = _ok(client.post("/api/v1/orders/allocate", json={"order_ids": [order_id]}))[0]
    allocated = {line["product_id"]: line for line in order["lines"]}
    assert order["status"] == "allocated"
    assert allocated[amlodipine.id]["qty_packs_allocated"] == 5
    assert allocated[amlodipine.id]["allocation_rule"] == "full"
    assert allocated[metformin.id]["qty_packs_allocated"] == 1
    assert allocated[metformin.id]["qty_packs_backordered"] == 3
    assert allocated[metformin.id]["allocation_rule"] == "partial"
    assert stock.on_hand(central.id, amlodipine.id) == 500  # allocation sets aside, it does not move stock
    backorders = _ok(login(town_user).get("/api/v1/orders/backorders"))
    assert [(b["product_id"], b["qty_packs_backordered"]) for b in backorders] == [(metformin.id, 3)]

    # 5. Purchasing: proposal to the cheaper supplier, confirmation, goods receipt releases the back-order.
    client = login(county_user)
    cheap = _ok(client.post("/api/v1/purchases/suppliers", json={"code": "S1", "name": "冀中医药"}), 201)
    dear = _ok(client.post("/api/v1/purchases/suppliers", json={"code": "S2", "name": "华北药业"}), 201)
    _ok(client.put(f"/api/v1/purchases/suppliers/{cheap['id']}/products/{metformin.id}", json={"unit_price": "28.00"}))
    _ok(client.put(f"/api/v1/purchases/suppliers/{dear['id']}/products/{metformin.id}", json={"unit_price": "29.50"}))
    proposal = _ok(client.post("/api/v1/purchases/proposals", json={}), 201)
    assert proposal["without_supplier"] == []
    [po] = proposal["purchase_orders"]
    assert po["supplier_id"] == cheap["id"] and po["status"] == "proposed"
    assert [(line["product_id"], line["qty_packs"]) for line in po["lines"]] == [(metformin.id, 3)]
    po = _ok(client.post(f"/api/v1/purchases/{po['id']}/confirm", json={}))
    assert po["status"] == "confirmed"
    receipt_body = {"key": "gr-e2e-1", "lines": [{"purchase_order_line_id": po["lines"][0]["id"], "lot_number": "C-2",
                                                   "expiry_date": (clock.today() + timedelta(days=600)).isoformat(),
                                                   "qty_packs": 3}]}
    _ok(client.post(f"/api/v1/purchases/{po['id']}/receipts", json=receipt_body), 201)
    assert _ok(client.get(f"/api/v1/purchases/{po['id']}"))["status"] == "received"
    assert stock.on_hand(central.id, metformin.id) == 30 + 72
    order = _ok(client.get(f"/api/v1/orders/{order_id}"))
    released = {line["product_id"]: line for line in order["lines"]}[metformin.id]
    assert (released["qty_packs_allocated"], released["qty_packs_backordered"]) == (4, 0)
    # A resent receipt books nothing twice, and says it was booked before (200, not 201).
    _ok(client.post(f"/api/v1/purchases/{po['id']}/receipts", json=receipt_body), 200)
    assert stock.on_hand(central.id, metformin.id) == 102

    # 6. Pick list and shipment as an in-transit transfer.
    pdf = client.get(f"/orders/{order_id}/pick-list.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    shipment = _ok(client.post(f"/api/v1/orders/{order_id}/ship", json={}), 201)
    assert shipment["status"] == "in_transit"
    sent = {}
    for line in shipment["lines"]:
        sent.setdefault(line["product_id"], []).append(line)
    assert {line["lot_number"] for line in sent[amlodipine.id]} == {"A-LONG"}
    assert stock.on_hand(central.id, amlodipine.id) == 450
    assert stock.on_hand(central.id, granules.id) == 40
    assert stock.on_hand(central.id, metformin.id) == 102 - 96
    assert stock.in_transit_qty(town.id, amlodipine.id) == 50
    assert stock.in_transit_qty(town.id, metformin.id) == 96
    # On the way to the township: dispatched for the township's own registration; the villages' stay ordered
    # (their goods are not yet on their way to them), with the expected arrival at the township.
    assert sb_town.status == "dispatched"
    assert {(s.status, s.stage) for s in (sa1, sa2, sc1)} == {("ordered", "upstream_transit")}
    assert sa1.expected_arrival_date is not None
    assert _ok(client.get(f"/api/v1/orders/{order_id}"))["status"] == "shipped"

    # 7. The township receives; amlodipine arrives 5 tablets short (damaged).
    client = login(town_user)
    short_line = sent[amlodipine.id][0]
    body = {"lines": [{"transfer_line_id": short_line["id"], "qty_base": short_line["qty_base_sent"] - 5,
                       "reason": "damaged", "note": "外箱压破"}]}
    received = _ok(client.post(f"/api/v1/orders/{order_id}/shipments/{shipment['id']}/receive", json=body))
    assert received["status"] == "received"
    line_after = next(line for line in received["lines"] if line["id"] == short_line["id"])
    assert line_after["qty_base_received"] == 45 and line_after["discrepancy_reason"] == "damaged"
    assert stock.on_hand(town.id, amlodipine.id) == 45
    assert stock.on_hand(town.id, granules.id) == 60
    assert stock.on_hand(town.id, metformin.id) == 96
    assert stock.in_transit_qty(town.id, amlodipine.id) == 0
    assert db_session.get(Transfer, shipment["transfer_id"]).status == "received"
    order = _ok(client.get(f"/api/v1/orders/{order_id}"))
    assert order["status"] == "received"
    # 4.5 packs arrived: the urgent registration (3) is covered and waits at the township for the village's
    # run; the routine one (2) is open again with the difference; the township's own one is delivered.
    assert [(s.status, s.stage) for s in (sa1, sa2, sc1, sb_town)] == [
        ("ordered", "at_upstream"), ("acknowledged", ""), ("ordered", "at_upstream"), ("delivered", "delivered")]
    assert "45" in sa2.difference_note
    again = client.post(f"/api/v1/orders/{order_id}/shipments/{shipment['id']}/receive", json=body)
    assert again.status_code == 409
    assert stock.on_hand(town.id, amlodipine.id) == 45

    # 8. The statement: receipts at the price of their date, even after the formulary changes a price.
    update_product(amlodipine, {"unified_price": "15.00"}, reason="集采续约调价", user=county.users["formulary"])
    statement = _ok(client.get(f"/api/v1/settlements/{town.id}/{current_month()}"))
    amounts = {}
    for row in statement["rows"]:  # metformin arrived from two lots: one row each
        amounts[row["product_code"]] = amounts.get(row["product_code"], Decimal(0)) + Decimal(row["amount"])
    assert amounts == {amlodipine.code: Decimal("56.25"), granules.code: Decimal("24.00"),
                       metformin.code: Decimal("120.00")}
    totals = statement["totals"]
    assert totals["total"] == "200.25"
    assert totals["vbp"] == "56.25" and totals["non_vbp"] == "144.00"
    assert totals["by_category"] == {"中成药": "24.00", "化学药品和生物制品": "176.25"}
    assert statement["is_closed"] is False
    overview = _ok(login(county_user).get(f"/api/v1/settlements?month={current_month()}&tier=township"))
    assert {row["facility_id"]: row["totals"]["total"] for row in overview} == {
        county.townships[0].id: "200.25", county.townships[1].id: "0.00"}
