"""Goods receipts: purchasing announces them and orders release their back-orders (purchasing never imports
orders); the receipt form marks an empty lot number and an empty expiry as required."""

import ast
from datetime import timedelta
from pathlib import Path

from pharmacy import clock
from pharmacy.inventory import services as stock
from pharmacy.purchasing import services as purchasing
from tests.factories import make_product
from tests.integration.test_purchasing_and_settlement import _backordered

PURCHASING = Path(__file__).resolve().parents[2] / "pharmacy" / "purchasing"


def _confirmed_po(county, product, packs):
    order = _backordered(county, {product: packs})
    supplier = purchasing.create_supplier(code=f"S{product.id}", name="丁公司")
    purchasing.set_supplier_product(supplier, product, "3.00")
    [po], _ = purchasing.propose_purchase_orders(county.central, county.users["county"])
    purchasing.confirm_purchase_order(po, county.users["county"])
    return order, po


def test_purchasing_imports_nothing_of_orders():
    for path in PURCHASING.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                assert "orders" not in (node.module or "").split("."), (path.name, node.module)
            elif isinstance(node, ast.Import):
                assert not any("orders" in a.name.split(".") for a in node.names), path.name


def test_a_receipt_on_the_page_releases_back_orders(county, login, db_session):
    product = make_product(pack_size=10)
    order, po = _confirmed_po(county, product, 4)
    db_session.commit()
    line = po.lines[0]
    client = login(county.users["county"])
    expiry = (clock.today() + timedelta(days=400)).isoformat()
    response = client.post(f"/purchasing/orders/{po.id}/receipts", data={
        "key": "gr-page-1", f"qty_{line.id}": "3", f"lot_{line.id}": "LOT-P", f"expiry_{line.id}": expiry})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    order_line = order.lines[0]
    db_session.refresh(order_line)
    assert (order_line.qty_packs_allocated, order_line.qty_packs_backordered) == (3, 1)
    assert stock.on_hand(county.central.id, product.id) == 30


def test_an_empty_expiry_is_required_and_an_empty_lot_is_flagged(county, login, db_session):
    product = make_product(pack_size=10)
    _order, po = _confirmed_po(county, product, 2)
    db_session.commit()
    line = po.lines[0]
    client = login(county.users["county"])
    refused = client.post(f"/purchasing/orders/{po.id}/receipts", data={
        "key": "gr-page-2", f"qty_{line.id}": "2", f"lot_{line.id}": "", f"expiry_{line.id}": ""})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "有效期格式应为" not in html
    assert html.count("必填") >= 2  # the lot number and the expiry, each marked at its field
    assert 'name="lot_%s"' % line.id in html and 'aria-invalid="true"' in html
    assert stock.on_hand(county.central.id, product.id) == 0
    api = client.post(f"/api/v1/purchases/{po.id}/receipts", json={"key": "gr-api-2", "lines": [
        {"purchase_order_line_id": line.id, "lot_number": "", "expiry_date": "", "qty_packs": 2}]})
    assert api.status_code == 422
    fields = api.get_json()["error"]["fields"]["lines"]["0"]
    assert fields["expiry_date"] == ["必填"] and fields["lot_number"] == ["必填"]


def test_a_receipt_key_replays_once_and_refuses_other_lines(county, login, db_session):
    """The same key and lines again: 200 with the first receipt, nothing booked twice; other lines: 409."""
    product = make_product(pack_size=10)
    _order, po = _confirmed_po(county, product, 4)
    db_session.commit()
    line = po.lines[0]
    client = login(county.users["county"])
    expiry = (clock.today() + timedelta(days=400)).isoformat()
    body = {"key": "gr-replay-1", "lines": [
        {"purchase_order_line_id": line.id, "lot_number": "LOT-R", "expiry_date": expiry, "qty_packs": 2}]}
    first = client.post(f"/api/v1/purchases/{po.id}/receipts", json=body)
    assert first.status_code == 201, first.get_json()
    again = client.post(f"/api/v1/purchases/{po.id}/receipts", json=body)
    assert again.status_code == 200 and again.get_json() == first.get_json()
    other = client.post(f"/api/v1/purchases/{po.id}/receipts", json=body | {"lines": [
        {"purchase_order_line_id": line.id, "lot_number": "LOT-R", "expiry_date": expiry, "qty_packs": 1}]})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert stock.on_hand(county.central.id, product.id) == 20
