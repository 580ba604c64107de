"""The order, purchasing and settlement pages render for the roles that use them, and forms do their job."""

import re
from datetime import timedelta

import pytest

from pharmacy import clock
from pharmacy.auth.policy import load_in_scope
from pharmacy.orders import fulfilment, services
from pharmacy.orders.models import Order
from pharmacy.purchasing import services as purchasing
from pharmacy.settlement.services import current_month
from tests.factories import make_product, make_shortage, stock_up
from tests.integration.orders_helpers import use_language

CJK = re.compile(r"[\u4e00-\u9fff]")


def _page(client, path, status=200):
    response = client.get(path)
    assert response.status_code == status, path
    return response.get_data(as_text=True)


@pytest.fixture
def flow(county, db_session):
    """A submitted order, an allocated-and-shipped order with a back-order, and a purchase proposal."""
    town, user, county_user = county.townships[0], county.users["township"], county.users["county"]
    product, scarce = make_product("阿莫西林", pack_size=10), make_product("甲硝唑", pack_size=10)
    make_shortage(county.villages[0], product, 2, county.users["village"], "emergency")
    stock_up(county.central, product, 100, lot="P-1")
    stock_up(county.central, scarce, 10, lot="S-1")
    shipped = services.build_draft_order(town, user)
    services.add_line(shipped, scarce, qty_packs=3, user=user)
    services.submit_order(shipped, user)
    services.approve_order(shipped, county_user)
    fulfilment.allocate_orders([shipped], county_user)
    pick = fulfilment.pick_list_rows(shipped)
    shipment = fulfilment.ship_order(shipped, county_user)
    submitted = services.create_order(town, user)
    services.add_line(submitted, product, qty_packs=4, user=user, urgency="urgent")
    services.submit_order(submitted, user)
    supplier = purchasing.create_supplier(code="GY", name="国药控股")
    purchasing.set_supplier_product(supplier, scarce, "9.90")
    [po], _ = purchasing.propose_purchase_orders(county.central, county_user)
    draft = services.build_draft_order(county.townships[1], county_user)
    db_session.commit()
    return {"shipped": shipped, "submitted": submitted, "shipment": shipment, "po": po, "pick": pick,
            "product": product, "scarce": scarce, "draft": draft}


def test_township_pages(county, login, flow):
    client = login(county.users["township"])
    html = _page(client, "/orders")
    assert flow["shipped"].number in html and flow["submitted"].number in html
    html = _page(client, f"/orders/{flow['shipped'].id}")
    assert "欠货" in html and "签收" in html
    html = _page(client, f"/orders/{flow['shipment'].order_id}/shipments/{flow['shipment'].id}")
    assert "确认签收" in html
    _page(client, "/settlement")
    _page(client, "/orders/approvals", 403)
    _page(client, "/purchasing", 403)
    _page(client, f"/orders/{flow['draft'].id}", 404)  # another township's draft


def test_county_pages_in_both_languages(county, login, flow):
    client = login(county.users["county"])
    for path in ("/orders", "/orders/approvals", "/orders/fulfilment", f"/orders/{flow['shipped'].id}",
                 f"/orders/{flow['draft'].id}", "/purchasing", f"/purchasing/orders/{flow['po'].id}",
                 "/purchasing/suppliers", "/settlement", f"/settlement/{county.townships[0].id}/{current_month()}"):
        assert "订单" in _page(client, path) or "采购" in _page(client, path) or "结算" in _page(client, path)
    use_language(client, "en")
    for path in ("/orders", "/orders/approvals", "/orders/fulfilment", f"/orders/{flow['shipped'].id}",
                 f"/orders/{flow['draft'].id}", "/purchasing", f"/purchasing/orders/{flow['po'].id}",
                 "/purchasing/suppliers", "/settlement"):
        html = _page(client, path)
        main = html.split("<main", 1)[1]
        # Chinese left on an English page can only be data: names of drugs, places and people.
        data = {flow["product"].drug.generic_name, flow["scarce"].drug.generic_name, "国药控股"}
        for facility in [county.county, county.central, *county.townships, *county.villages]:
            data.add(facility.name)
        for town in county.townships:  # village names as the order pages shorten them
            data.update(v.name.replace(town.name[:-3], "").replace("卫生室", "") for v in county.villages)
        text = re.sub(r"<[^>]+>", " ", main)
        for name in sorted(data, key=len, reverse=True):
            text = text.replace(name, "")
        leftovers = set(CJK.findall(text)) - set("片剂粒盒袋支瓶化学药品和生物制品中成药测试类亚")
        assert not leftovers, (path, "".join(sorted(leftovers))[:80])


def test_builder_forms_save_add_remove_and_submit(county, login, db_session):
    product, extra = make_product(pack_size=10), make_product(pack_size=10)
    make_shortage(county.villages[0], product, 2, county.users["village"])
    db_session.commit()
    client = login(county.users["township"])
    response = client.post("/orders/draft", data={})
    assert response.status_code == 302
    order_id = int(response.headers["Location"].rsplit("/", 1)[1])
    order = load_in_scope(county.users["township"], Order, order_id)
    line = order.lines[0]
    assert client.post(f"/orders/{order_id}/lines", data={"product_id": extra.id, "qty_packs": "5"}).status_code == 302
    bad = client.post(f"/orders/{order_id}/save", data={f"qty_{line.id}": "abc"})
    assert bad.status_code == 422 and "数量必须是整数" in bad.get_data(as_text=True)
    assert client.post(f"/orders/{order_id}/save", data={f"qty_{line.id}": "6", f"urgency_{line.id}": "urgent"}
                       ).status_code == 302
    lines = load_in_scope(county.users["township"], Order, order_id).lines
    extra_line = next(x for x in lines if x.product_id == extra.id)
    assert client.post(f"/orders/{order_id}/lines/{extra_line.id}/delete").status_code == 302
    assert client.post(f"/orders/{order_id}/submit", data={f"qty_{line.id}": "7"}).status_code == 302
    order = load_in_scope(county.users["township"], Order, order_id)
    assert order.status == "submitted" and [(x.qty_packs, x.urgency) for x in order.lines] == [(7, "urgent")]
    county_client = login(county.users["county"])
    refused = county_client.post(f"/orders/{order_id}/review", data={f"qty_{line.id}": "3", f"reason_{line.id}": ""})
    assert refused.status_code == 422 and "原因" in refused.get_data(as_text=True)
    assert load_in_scope(county.users["county"], Order, order_id).status == "submitted"
    ok = county_client.post(f"/orders/{order_id}/review", data={f"qty_{line.id}": "3", f"reason_{line.id}": "库存紧张"})
    assert ok.status_code == 302
    order = load_in_scope(county.users["county"], Order, order_id)
    assert order.status == "approved" and order.lines[0].qty_packs_approved == 3


def test_county_forms_allocate_ship_receive_and_buy(county, login, flow, db_session):
    client = login(county.users["county"])
    submitted = flow["submitted"]
    assert client.post(f"/orders/{submitted.id}/review", data={}).status_code == 302
    assert client.post("/orders/allocate", data={"order_id": [str(submitted.id)]}).status_code == 302
    pdf = client.get(f"/orders/{submitted.id}/pick-list.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert client.post(f"/orders/{submitted.id}/ship", data={}).status_code == 302
    po = flow["po"]
    line = po.lines[0]
    assert client.post(f"/purchasing/orders/{po.id}/save", data={f"qty_{line.id}": "3", f"price_{line.id}": "9.50"}
                       ).status_code == 302
    assert client.post(f"/purchasing/orders/{po.id}/confirm").status_code == 302
    expiry = (clock.today() + timedelta(days=400)).isoformat()
    bad = client.post(f"/purchasing/orders/{po.id}/receipts", data={"key": "k1", f"lot_{line.id}": "N-1",
                                                                     f"expiry_{line.id}": "2024/13/01",
                                                                     f"qty_{line.id}": "3"})
    assert bad.status_code == 422
    ok = client.post(f"/purchasing/orders/{po.id}/receipts", data={"key": "k2", f"lot_{line.id}": "N-1",
                                                                    f"expiry_{line.id}": expiry, f"qty_{line.id}": "3"})
    assert ok.status_code == 302
    assert client.post("/purchasing/suppliers", data={"code": "X1", "name": "新供应商"}).status_code == 302
    assert client.post("/purchasing/suppliers", data={"code": "X1", "name": "重复"}).status_code == 409
    # The township signs for the first shipment with one line short.
    township = login(county.users["township"])
    shipment = flow["shipment"]
    first = shipment.transfer.lines[0]
    missing_reason = township.post(f"/orders/{shipment.order_id}/shipments/{shipment.id}",
                                   data={f"qty_{first.id}": str(first.qty_base_sent - 1)})
    assert missing_reason.status_code == 422
    done = township.post(f"/orders/{shipment.order_id}/shipments/{shipment.id}",
                         data={f"qty_{first.id}": str(first.qty_base_sent - 1), f"reason_{first.id}": "short"})
    assert done.status_code == 302
    again = township.post(f"/orders/{shipment.order_id}/shipments/{shipment.id}", data={})
    assert again.status_code == 409
    assert flow["pick"]


def test_openapi_documents_the_three_apis(client, county, login):
    spec = login(county.users["viewer"]).get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    for path in ("/api/v1/orders", "/api/v1/orders/draft", "/api/v1/orders/{order_id}/approve",
                 "/api/v1/orders/allocate", "/api/v1/orders/{order_id}/shipments/{shipment_id}/receive",
                 "/api/v1/purchases/proposals", "/api/v1/purchases/{po_id}/receipts",
                 "/api/v1/settlements", "/api/v1/settlements/{facility_id}/{month}"):
        assert path in paths, path


def test_refused_review_keeps_what_was_typed_and_marks_the_line_once(county, login, flow):
    """Issue 12: a changed quantity without a reason is refused on the line, with the typed quantity kept."""
    submitted = flow["submitted"]
    line = submitted.lines[0]
    client = login(county.users["county"])
    refused = client.post(f"/orders/{submitted.id}/review", data={f"qty_{line.id}": "2", f"reason_{line.id}": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert html.count("修改审批数量必须填写原因") == 1
    row = re.search(rf'<tr[^>]*id="line-{line.id}"[^>]*>(.*?)</tr>', html, re.S)
    assert row and "has-error" in row.group(0)
    assert f'name="qty_{line.id}" value="2"' in row.group(1)
    assert 'class="field-error">必填' in row.group(1)
    assert load_in_scope(county.users["county"], Order, submitted.id).lines[0].qty_packs_approved is None
