"""Order builder, state transitions, authorization, XLSX import and fair allocation across townships."""

import io
import re

from openpyxl import Workbook
from sqlalchemy import func, select

from pharmacy.auth.models import Role
from pharmacy.auth.policy import load_in_scope
from pharmacy.orders import fulfilment, services
from pharmacy.orders.models import Allocation, Order
from tests.factories import consume, make_county, make_product, make_shortage, make_user, stock_up
from tests.integration.orders_helpers import csrf_header


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def _submitted_order(county, lines, user=None, township=None):
    """A submitted order of the first township with {product: packs or (packs, urgency)}."""
    township = township or county.townships[0]
    user = user or county.users["township"]
    order = services.create_order(township, user)
    for product, packs in lines.items():
        packs, urgency = packs if isinstance(packs, tuple) else (packs, "routine")
        services.add_line(order, product, qty_packs=packs, user=user, urgency=urgency)
    return services.submit_order(order, user)


def _xlsx(rows, header=("药品编码", "药品名称", "规格", "数量（盒）", "备注")) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["城关镇卫生院 2024年6月药品申领表"])  # a title row above the heading, as pharmacists do
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- builder


def test_draft_respects_tiers_and_keeps_edits_on_refresh(county):
    town, village, user = county.townships[0], county.villages[0], county.users["township"]
    village_tier = make_product(pack_size=10)
    township_tier = make_product(pack_size=10, lowest_tier="township")
    county_tier = make_product(pack_size=10, lowest_tier="county")
    consume(town, village_tier, 30)
    consume(town, township_tier, 30)
    consume(county.central, county_tier, 30)
    make_shortage(village, village_tier, 2, county.users["village"])
    order = services.build_draft_order(town, user)
    by_product = {line.product_id: line for line in order.lines}
    assert set(by_product) == {village_tier.id, township_tier.id}
    assert by_product[village_tier.id].is_for_villages is True
    assert by_product[township_tier.id].is_for_villages is False
    assert by_product[township_tier.id].qty_packs == 3  # AMC 10/month × 3 months
    services.update_line(order, by_product[township_tier.id], qty_packs=7)
    late = make_shortage(county.villages[1], village_tier, 4, county.users["village"], "emergency")
    again = services.build_draft_order(town, user)
    assert again.id == order.id
    assert by_product[township_tier.id].qty_packs == 7  # the pharmacist's figure stays
    assert by_product[village_tier.id].shortage_packs == 6 and by_product[village_tier.id].urgency == "emergency"
    assert late in by_product[village_tier.id].shortages


def test_tier_rules_on_lines(county, login):
    county_tier = make_product(lowest_tier="county")
    township_tier = make_product(lowest_tier="township")
    client = login(county.users["township"])
    order = _ok(client.post("/api/v1/orders/draft", json={}), 201)
    refused = client.post(f"/api/v1/orders/{order['id']}/lines", json={"product_id": county_tier.id, "qty_packs": 1})
    assert refused.status_code == 422 and refused.get_json()["error"]["code"] == "tier_not_allowed"
    refused = client.post(f"/api/v1/orders/{order['id']}/lines",
                          json={"product_id": township_tier.id, "qty_packs": 1, "is_for_villages": True})
    assert refused.status_code == 422
    line = _ok(client.post(f"/api/v1/orders/{order['id']}/lines",
                           json={"product_id": township_tier.id, "qty_packs": 2}), 201)
    assert line["qty_packs"] == 2
    duplicate = client.post(f"/api/v1/orders/{order['id']}/lines", json={"product_id": township_tier.id,
                                                                          "qty_packs": 1})
    assert duplicate.status_code == 409


def test_submit_drops_zero_lines_and_refuses_an_empty_order(county, db_session):
    user = county.users["township"]
    a, b = make_product(), make_product()
    order = services.create_order(county.townships[0], user)
    services.add_line(order, a, qty_packs=0, user=user)
    services.add_line(order, b, qty_packs=3, user=user)
    services.submit_order(order, user)
    assert [line.product_id for line in order.lines] == [b.id]
    empty = services.create_order(county.townships[1], user)
    services.add_line(empty, a, qty_packs=0, user=user)
    client_error = None
    try:
        services.submit_order(empty, user)
    except Exception as exc:  # noqa: BLE001  (the domain error is the point)
        client_error = exc
    assert getattr(client_error, "code", "") == "empty_order"


# ---------------------------------------------------------------------------------------------- transitions


def test_transitions_that_are_not_allowed_return_409_and_change_nothing(county, login, db_session):
    product = make_product(pack_size=10)
    db_session.commit()
    client = login(county.users["township"])
    order = _ok(client.post("/api/v1/orders/draft", json={}), 201)
    line = _ok(client.post(f"/api/v1/orders/{order['id']}/lines", json={"product_id": product.id, "qty_packs": 4}),
               201)
    county_client = login(county.users["county"])
    for path in ("approve", "ship"):
        response = county_client.post(f"/api/v1/orders/{order['id']}/{path}", json={})
        assert response.status_code == 409, path
        assert response.get_json()["error"]["code"] == "invalid_transition"
    assert county_client.post("/api/v1/orders/allocate", json={"order_ids": [order["id"]]}).status_code == 409
    assert _ok(county_client.get(f"/api/v1/orders/{order['id']}"))["status"] == "draft"

    client = login(county.users["township"])
    _ok(client.post(f"/api/v1/orders/{order['id']}/submit", json={}))
    assert client.post(f"/api/v1/orders/{order['id']}/submit", json={}).status_code == 409
    changed = client.patch(f"/api/v1/orders/{order['id']}/lines/{line['id']}", json={"qty_packs": 9})
    assert changed.status_code == 409
    county_client = login(county.users["county"])
    assert county_client.post(f"/api/v1/orders/{order['id']}/ship", json={}).status_code == 409
    no_reason = county_client.post(f"/api/v1/orders/{order['id']}/lines/{line['id']}/approval",
                                   json={"qty_packs": 2, "reason": ""})
    assert no_reason.status_code == 422
    after = _ok(county_client.get(f"/api/v1/orders/{order['id']}"))
    assert after["status"] == "submitted"
    assert after["lines"][0]["qty_packs"] == 4 and after["lines"][0]["qty_packs_approved"] is None
    _ok(county_client.post(f"/api/v1/orders/{order['id']}/approve", json={}))
    assert county_client.post(f"/api/v1/orders/{order['id']}/approve", json={}).status_code == 409
    assert county_client.post(f"/api/v1/orders/{order['id']}/cancel", json={"reason": "x"}).status_code == 409
    # Allocated with nothing in stock: everything back-ordered, nothing to ship.
    _ok(county_client.post("/api/v1/orders/allocate", json={"order_ids": [order["id"]]}))
    assert county_client.post("/api/v1/orders/allocate", json={"order_ids": [order["id"]]}).status_code == 409
    shipped = county_client.post(f"/api/v1/orders/{order['id']}/ship", json={})
    assert shipped.status_code == 409 and shipped.get_json()["error"]["code"] == "nothing_to_ship"
    assert db_session.scalar(select(func.count(Allocation.id))) == 0


def test_rejecting_lines_and_cancelling_free_the_shortages(county, login, db_session):
    product, other = make_product(), make_product()
    s1 = make_shortage(county.villages[0], product, 2, county.users["village"])
    s2 = make_shortage(county.villages[0], other, 1, county.users["village"])
    order = services.build_draft_order(county.townships[0], county.users["township"])
    services.submit_order(order, county.users["township"])
    assert (s1.status, s2.status) == ("ordered", "ordered")
    db_session.commit()
    line = next(line for line in order.lines if line.product_id == product.id)
    client = login(county.users["county"])
    missing_reason = client.post(f"/api/v1/orders/{order.id}/lines/{line.id}/reject", json={"reason": ""})
    assert missing_reason.status_code == 422
    _ok(client.post(f"/api/v1/orders/{order.id}/lines/{line.id}/reject", json={"reason": "村室库存充足"}))
    assert s1.status == "acknowledged" and s2.status == "ordered"
    # The freed registration is proposed again in the next draft.
    draft = services.build_draft_order(county.townships[0], county.users["township"])
    assert [line.product_id for line in draft.lines] == [product.id]
    services.cancel_order(draft, county.users["township"], "重复")
    cancelled = load_in_scope(county.users["township"], Order, order.id)
    services.cancel_order(cancelled, county.users["township"], "改为下月订购")
    assert (s1.status, s2.status) == ("acknowledged", "acknowledged")


# ---------------------------------------------------------------------------------------------- authorization


def test_a_township_cannot_see_build_for_or_approve_another_township(county, login, db_session):
    other_town = county.townships[1]
    other_user = make_user(other_town, Role.TOWNSHIP_PHARMACIST)
    order = _submitted_order(county, {make_product(): 3}, user=other_user, township=other_town)
    stranger = make_county(townships=1, villages=1)
    db_session.commit()  # the test's data outlives the refused requests (each rolls back its own work)
    client = login(county.users["township"])
    assert client.get(f"/api/v1/orders/{order.id}").status_code == 404
    assert client.get(f"/orders/{order.id}").status_code == 404
    assert client.post(f"/api/v1/orders/{order.id}/approve", json={}).status_code == 403
    assert client.post(f"/api/v1/orders/{order.id}/cancel", json={"reason": "x"}).status_code == 404
    assert client.post("/api/v1/orders/draft", json={"facility_id": other_town.id}).status_code == 403
    assert [o["id"] for o in _ok(client.get("/api/v1/orders"))] == []
    assert client.get("/orders/approvals").status_code == 403
    village = login(county.users["village"])
    assert village.get("/api/v1/orders").status_code == 403
    outsider = login(stranger.users["county"])
    assert outsider.get(f"/api/v1/orders/{order.id}").status_code == 404
    assert outsider.post(f"/api/v1/orders/{order.id}/approve", json={}).status_code == 404
    assert outsider.get("/api/v1/orders/approvals").get_json() == []
    assert db_session.get(Order, order.id).status == "submitted"


# ---------------------------------------------------------------------------------------------- import


def test_xlsx_import_matches_by_code_then_by_the_matching_service(county, login):
    from pharmacy.catalog.models import Product
    from pharmacy.extensions import db

    by_code = make_product(pack_size=10)
    # A local spelling of the formulary's 硝苯地平缓释片 10mg, matched by the matching service.
    by_name = db.session.scalar(select(Product).where(Product.edition == "2018", Product.code == "X147-03"))
    data = _xlsx([(by_code.code, "", "", 5, "常用"), ("", "硝苯地平缓释片(Ⅰ)", "10 mg*24片", "3", ""),
                  (None, None, None, None, None)])
    client = login(county.users["township"])
    result = _ok(client.post("/api/v1/orders/import", data={"file": (io.BytesIO(data), "申领表.xlsx")},
                             headers=csrf_header(client), content_type="multipart/form-data"), 201)
    assert result["imported_rows"] == 2
    lines = {line["product_id"]: line for line in result["order"]["lines"]}
    assert (lines[by_code.id]["qty_packs"], lines[by_code.id]["source"]) == (5, "import")
    assert lines[by_name.id]["qty_packs"] == 3
    # A second import into the same draft sets the quantities it names.
    data = _xlsx([(by_code.code, "", "", 8, "")])
    result = _ok(client.post("/api/v1/orders/import", data={"file": (io.BytesIO(data), "b.xlsx")},
                             headers=csrf_header(client), content_type="multipart/form-data"), 201)
    assert {line["product_id"]: line["qty_packs"] for line in result["order"]["lines"]} == {by_code.id: 8,
                                                                                           by_name.id: 3}


def test_xlsx_import_reports_every_bad_row_and_writes_nothing(county, login, db_session):
    good = make_product()
    county_tier = make_product(lowest_tier="county")
    db_session.commit()
    data = _xlsx([(good.code, "", "", 2, ""), ("NOPE-1", "", "", 1, ""), (good.code, "", "", 1, ""),
                  (county_tier.code, "", "", 1, ""), ("", "不存在的药", "1g", 1, ""), (good.code, "", "", "两盒", "")])
    client = login(county.users["township"])
    headers = csrf_header(client)
    response = client.post("/api/v1/orders/import", data={"file": (io.BytesIO(data), "bad.xlsx")},
                           headers=headers, content_type="multipart/form-data")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "import_rows"
    assert [(p["row"], p["column"]) for p in error["details"]] == [(4, "name"), (5, "name"), (6, "name"),
                                                                  (7, "name"), (8, "qty")]
    assert "不存在的药" in error["details"][3]["message"]
    assert db_session.scalar(select(func.count(Order.id)).where(Order.facility_id == county.townships[0].id)) == 0
    not_excel = client.post("/api/v1/orders/import", data={"file": (io.BytesIO(b"a,b\n1,2"), "x.csv")},
                            headers=headers, content_type="multipart/form-data")
    assert not_excel.status_code == 422 and not_excel.get_json()["error"]["code"] == "bad_file"
    no_header = client.post("/api/v1/orders/import",
                            data={"file": (io.BytesIO(_xlsx([("x", 1)], header=("甲", "乙"))), "h.xlsx")},
                            headers=headers, content_type="multipart/form-data")
    assert no_header.status_code == 422
    page = client.post("/orders/import", data={"file": (io.BytesIO(data), "bad.xlsx")},
                       content_type="multipart/form-data")
    assert page.status_code == 422 and "NOPE-1" in page.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------- allocation


def test_scarce_stock_is_shared_fairly_across_townships(county, login, db_session):
    central, county_user = county.central, county.users["county"]
    t2 = county.townships[1]
    u2 = make_user(t2, Role.TOWNSHIP_PHARMACIST)
    third = make_county(townships=1, villages=1)  # another county's order is never mixed in
    product = make_product(pack_size=10)
    stock_up(central, product, 60, expires_in_days=30, lot="NEAR")  # inside the 90-day window: never sent
    stock_up(central, product, 100, expires_in_days=300, lot="OLD")
    stock_up(central, product, 60, expires_in_days=600, lot="NEW")
    routine_1 = _submitted_order(county, {product: 9})
    routine_2 = _submitted_order(county, {product: 3}, user=u2, township=t2)
    emergency = _submitted_order(county, {product: (6, "emergency")}, user=u2, township=t2)
    for order in (routine_1, routine_2, emergency):
        services.approve_order(order, county_user)
    fulfilment.allocate_orders([routine_1, routine_2, emergency], county_user)
    # 16 usable packs: the emergency takes 6, the 10 left go 9:3 → 7.5:2.5 → 8 and 2 (tie to the earlier order).
    got = {o.id: next(line for line in o.lines if line.product_id == product.id) for o in (routine_1, routine_2,
                                                                                          emergency)}
    assert got[emergency.id].qty_packs_allocated == 6 and got[emergency.id].allocation_rule == "full"
    assert (got[routine_1.id].qty_packs_allocated, got[routine_1.id].qty_packs_backordered) == (8, 1)
    assert (got[routine_2.id].qty_packs_allocated, got[routine_2.id].qty_packs_backordered) == (2, 1)
    assert got[routine_1.id].allocation_rule == "pro_rata"
    lots = {a.lot.lot_number for line in got.values() for a in line.allocations}
    assert lots == {"OLD", "NEW"}
    emergency_lots = [a.lot.lot_number for a in got[emergency.id].allocations]
    assert emergency_lots == ["OLD"]  # served first, from the earliest usable lot
    # Both sides see the back-orders.
    mine = [line["order_id"] for line in _ok(login(county.users["township"]).get("/api/v1/orders/backorders"))]
    assert mine == [routine_1.id]
    everyone = _ok(login(county_user).get("/api/v1/orders/backorders"))
    assert sorted(line["order_id"] for line in everyone) == sorted([routine_1.id, routine_2.id])
    # Allocated stock is set aside: a later order only gets what is left.
    late = _submitted_order(county, {product: 5})
    services.approve_order(late, county_user)
    fulfilment.allocate_orders([late], county_user)
    assert late.lines[0].qty_packs_allocated == 0 and late.lines[0].allocation_rule == "near_expiry"
    assert third.central.id != central.id


def test_partial_pack_lots_and_release_after_new_stock(county):
    county_user, product = county.users["county"], make_product(pack_size=24)
    stock_up(county.central, product, 30, expires_in_days=400, lot="P1")
    order = _submitted_order(county, {product: 3})
    services.approve_order(order, county_user)
    fulfilment.allocate_orders([order], county_user)
    line = order.lines[0]
    assert (line.qty_packs_allocated, line.qty_packs_backordered) == (1, 2)
    fulfilment.ship_order(order, county_user)
    assert order.status == "shipped"
    stock_up(county.central, product, 48, expires_in_days=500, lot="P2")
    released = fulfilment.release_backorders(county.central, [product.id], county_user)
    assert released == [line] and order.status == "allocated"
    assert (line.qty_packs_allocated, line.qty_packs_backordered) == (3, 0)
    assert [(a.lot.lot_number, a.qty_base) for a in fulfilment.unshipped_allocations(order)] == [("P1", 6),
                                                                                               ("P2", 42)]
    second = fulfilment.ship_order(order, county_user)
    assert len(order.shipments) == 2 and second.transfer.lines
    for shipment in list(order.shipments):
        fulfilment.receive_shipment(order, shipment, {}, county.users["township"])
    assert order.status == "received" and line.qty_base_received == 72


def test_pick_list_follows_shelf_locations_then_products(county, login, db_session):
    from pharmacy.inventory.models import StockPolicy

    county_user = county.users["county"]
    shelved, plain_b, plain_a = make_product("乙药"), make_product("丙药"), make_product("甲药")
    for product in (shelved, plain_b, plain_a):
        stock_up(county.central, product, 240, lot=f"L-{product.id}")
    db_session.add(StockPolicy(facility_id=county.central.id, product_id=shelved.id, min_months=3, max_months=4,
                               shelf_location="A-01-3"))
    order = _submitted_order(county, {plain_b: 1, shelved: 1, plain_a: 1})
    services.approve_order(order, county_user)
    fulfilment.allocate_orders([order], county_user)
    rows = fulfilment.pick_list_rows(order)
    assert [(r["shelf"], r["product"].id) for r in rows] == [("A-01-3", shelved.id), ("", plain_b.id),
                                                             ("", plain_a.id)]
    db_session.commit()
    client = login(county_user)
    pdf = client.get(f"/orders/{order.id}/pick-list.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    shipment = fulfilment.ship_order(order, county_user)
    db_session.commit()
    # The county ships; only the township signs for what arrives.
    refused = client.post(f"/api/v1/orders/{order.id}/shipments/{shipment.id}/receive", json={})
    assert refused.status_code == 403
    assert shipment.status == "in_transit"


# ---------------------------------------------------------------------------------------------- draft page (issue 12)


def _draft_with_line(county):
    user = county.users["township"]
    order = services.create_order(county.townships[0], user)
    line = services.add_line(order, make_product(pack_size=10), qty_packs=2, user=user)
    return order, line


def test_adding_a_line_keeps_the_quantities_typed_in_the_table(county, login, db_session):
    order, line = _draft_with_line(county)
    extra = make_product(pack_size=10)
    db_session.commit()
    client = login(county.users["township"])
    response = client.post(f"/orders/{order.id}/lines", data={f"qty_{line.id}": "9", f"urgency_{line.id}": "urgent",
                                                             "product_id": extra.id, "qty_packs": "4"})
    assert response.status_code == 302
    lines = {x.product_id: (x.qty_packs, x.urgency)
             for x in load_in_scope(county.users["township"], Order, order.id).lines}
    assert lines == {line.product_id: (9, "urgent"), extra.id: (4, "routine")}


def test_importing_into_a_draft_keeps_typed_quantities_and_a_refusal_stays_on_the_draft(county, login, db_session):
    order, line = _draft_with_line(county)
    imported = make_product(pack_size=10)
    db_session.commit()
    client = login(county.users["township"])
    bad = _xlsx([("NOPE-1", "", "", 1, "")])
    refused = client.post(f"/orders/{order.id}/import", content_type="multipart/form-data",
                          data={f"qty_{line.id}": "7", "file": (io.BytesIO(bad), "bad.xlsx")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert f"订单 {order.number}" in html or order.number in html
    assert 'id="lines"' in html and "NOPE-1" in html and f'name="qty_{line.id}" value="7"' in html
    assert load_in_scope(county.users["township"], Order, order.id).lines[0].qty_packs == 2
    ok = client.post(f"/orders/{order.id}/import", content_type="multipart/form-data",
                     data={f"qty_{line.id}": "7", "file": (io.BytesIO(_xlsx([(imported.code, "", "", 3, "")])),
                                                           "ok.xlsx")})
    assert ok.status_code == 302 and f"/orders/{order.id}" in ok.headers["Location"]
    lines = {x.product_id: x.qty_packs for x in load_in_scope(county.users["township"], Order, order.id).lines}
    assert lines == {line.product_id: 7, imported.id: 3}


def test_draft_page_submits_add_and_import_with_the_lines_form(county, login, db_session):
    order, line = _draft_with_line(county)
    db_session.commit()
    html = login(county.users["township"]).get(f"/orders/{order.id}").get_data(as_text=True)
    assert 'name="qty_packs"' in html and 'name="file"' in html
    for name in ("product_id", "qty_packs", "file"):
        tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)
        assert 'form="lines"' in tag, tag
    assert html.count('form="lines"') >= 5


def test_import_uses_the_form_column_and_lets_the_pharmacist_pick_when_still_ambiguous(county, login, db_session):
    """Issue 12: 布洛芬 0.2g is a tablet, granules and a capsule; the 剂型 column tells them apart."""
    from pharmacy.catalog.models import Product
    from pharmacy.extensions import db

    ibuprofen = {p.dosage_form: p for p in db.session.scalars(
        select(Product).where(Product.edition == "2018", Product.code.like("X079-%"), Product.strength == "0.2g"))}
    order, line = _draft_with_line(county)
    db_session.commit()
    client = login(county.users["township"])
    header = ("药品名称", "剂型", "规格", "数量")
    with_form = _xlsx([("布洛芬", "胶囊", "0.2g", 2)], header=header)
    ok = client.post(f"/orders/{order.id}/import", content_type="multipart/form-data",
                     data={"file": (io.BytesIO(with_form), "a.xlsx")})
    assert ok.status_code == 302
    assert ibuprofen["胶囊"].id in {x.product_id for x in load_in_scope(county.users["township"], Order, order.id).lines}

    no_form = _xlsx([("布洛芬", "", "0.2g", 4)], header=header)
    refused = client.post(f"/orders/{order.id}/import", content_type="multipart/form-data",
                          data={f"qty_{line.id}": "6", "file": (io.BytesIO(no_form), "b.xlsx")})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "找不到药品" not in html
    assert "对应多个药品" in html and ibuprofen["片剂"].code in html and ibuprofen["颗粒剂"].code in html
    assert f'name="pick_3"' in html and f'value="{ibuprofen["片剂"].id}"' in html
    carried = re.search(r'name="carried_file" value="([^"]+)"', html).group(1)
    picked = client.post(f"/orders/{order.id}/import", data={f"qty_{line.id}": "6", "carried_file": carried,
                                                            "pick_3": str(ibuprofen["片剂"].id)})
    assert picked.status_code == 302
    lines = {x.product_id: x.qty_packs for x in load_in_scope(county.users["township"], Order, order.id).lines}
    assert lines[ibuprofen["片剂"].id] == 4 and lines[line.product_id] == 6

    api = client.post("/api/v1/orders/import", data={"file": (io.BytesIO(no_form), "c.xlsx")},
                      headers=csrf_header(client), content_type="multipart/form-data")
    [problem] = api.get_json()["error"]["details"]
    assert {c["code"] for c in problem["candidates"]} >= {ibuprofen["片剂"].code, ibuprofen["胶囊"].code}


def test_the_draft_import_has_its_api_twin_with_picks(county, login, db_session):
    """The page's import into a draft, as an API client does it: ambiguous rows come back with candidates and are
    settled by sending the file again with pick_<row>; a pick that is not a number is a 422, not a 500."""
    from pharmacy.catalog.models import Product
    from pharmacy.extensions import db

    tablet = db.session.scalar(select(Product).where(Product.edition == "2018", Product.code.like("X079-%"),
                                                     Product.strength == "0.2g", Product.dosage_form == "片剂"))
    order, line = _draft_with_line(county)
    db_session.commit()
    client = login(county.users["township"])
    no_form = _xlsx([("布洛芬", "", "0.2g", 4)], header=("药品名称", "剂型", "规格", "数量"))
    url = f"/api/v1/orders/{order.id}/import"

    def send(**fields):
        return client.post(url, data={"file": (io.BytesIO(no_form), "c.xlsx"), **fields},
                           headers=csrf_header(client), content_type="multipart/form-data")

    refused = send()
    assert refused.status_code == 422
    [problem] = refused.get_json()["error"]["details"]
    assert problem["row"] == 3 and tablet.code in {c["code"] for c in problem["candidates"]}
    assert send(pick_3="片剂").status_code == 422
    assert len(load_in_scope(county.users["township"], Order, order.id).lines) == 1
    result = _ok(send(pick_3=str(tablet.id)), 201)
    assert result["order"]["id"] == order.id and result["imported_rows"] == 1
    assert {x["product_id"]: x["qty_packs"] for x in result["order"]["lines"]} == {line.product_id: line.qty_packs,
                                                                                  tablet.id: 4}
    assert client.post(url, data={}, headers=csrf_header(client),
                       content_type="multipart/form-data").get_json()["error"]["fields"] == {"file": ["必填"]}


def test_adding_without_a_product_says_so_once_and_keeps_the_typed_quantities(county, login, db_session):
    order, line = _draft_with_line(county)
    db_session.commit()
    client = login(county.users["township"])
    response = client.post(f"/orders/{order.id}/lines", data={f"qty_{line.id}": "9", "qty_packs": "4"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.count("请先搜索并选择药品") == 1 and ">必填<" not in html
    assert f'name="qty_{line.id}" value="9"' in html
