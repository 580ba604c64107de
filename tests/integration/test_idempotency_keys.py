"""An idempotency key belongs to the user who sent it and the facility it wrote for, and to the request it carried:
the same request again is a replay (200, the first result), another user's key is another write, and the same key
with another request is refused (409 `idempotency_key_reused`, nothing written). SQLite and PostgreSQL."""

from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import StockOperation
from pharmacy.supply.models import Consignment
from tests.factories import make_product, stock_up


def _operations(key: str) -> int:
    return db.session.scalar(select(func.count(StockOperation.id)).where(StockOperation.idempotency_key == key))


def test_a_dispense_key_replays_refuses_another_request_and_is_the_senders(county, login):
    village, doctor = county.villages[0], county.users["village"]
    product = make_product(pack_size=10)
    stock_up(village, product, 100, user=doctor)
    db.session.commit()
    body = {"idempotency_key": "same-key-1", "facility_id": village.id, "product_id": product.id, "qty": 2,
            "unit": "base"}
    client = login(doctor)
    first = client.post("/api/v1/stock/dispenses", json=body)
    assert first.status_code == 201
    again = client.post("/api/v1/stock/dispenses", json=body)
    assert again.status_code == 200 and again.json == first.json
    for other in ({"qty": 3}, {"note": "另一张处方"}):
        refused = client.post("/api/v1/stock/dispenses", json=body | other)
        assert refused.status_code == 409, refused.json
        assert refused.json["error"]["code"] == "idempotency_key_reused"
        assert refused.json["error"]["message"] == "该幂等键已用于另一项操作"
    assert stock.on_hand(village.id, product.id) == 98 and _operations("same-key-1") == 1

    township = login(county.users["township"])  # the same key from someone else is their own write
    theirs = township.post("/api/v1/stock/dispenses", json=body)
    assert theirs.status_code == 201 and theirs.json["user_id"] == county.users["township"].id
    assert stock.on_hand(village.id, product.id) == 96 and _operations("same-key-1") == 2


def test_a_transfer_key_replays_and_refuses_other_goods(county, login):
    village, doctor = county.villages[0], county.users["village"]
    product = make_product(pack_size=10)
    stock_up(village, product, 100, user=doctor)
    db.session.commit()
    body = {"idempotency_key": "tr-key-1", "from_facility_id": village.id, "to_facility_id": county.townships[0].id,
            "lines": [{"product_id": product.id, "qty": 5, "unit": "base"}]}
    client = login(doctor)
    first = client.post("/api/v1/stock/transfers", json=body)
    assert first.status_code == 201, first.json
    again = client.post("/api/v1/stock/transfers", json=body)
    assert again.status_code == 200 and again.json == first.json
    refused = client.post("/api/v1/stock/transfers", json=body | {"lines": [
        {"product_id": product.id, "qty": 6, "unit": "base"}]})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "idempotency_key_reused"
    assert stock.on_hand(village.id, product.id) == 95
    assert db.session.scalar(select(func.count(Consignment.id)).where(Consignment.source_id == village.id)) == 1


def _allocated_order(county, login, product):
    stock_up(county.central, product, 300, user=county.users["county"])
    db.session.commit()
    township = login(county.users["township"])
    order = township.post("/api/v1/orders/draft", json={}).json
    if not order.get("lines"):
        township.post(f"/api/v1/orders/{order['id']}/lines", json={"product_id": product.id, "qty_packs": 3})
    assert township.post(f"/api/v1/orders/{order['id']}/submit", json={}).status_code == 200
    county_client = login(county.users["county"])
    assert county_client.post(f"/api/v1/orders/{order['id']}/approve", json={}).status_code == 200
    assert county_client.post("/api/v1/orders/allocate", json={"order_ids": [order["id"]]}).status_code == 200
    return order["id"], county_client


def test_a_shipment_key_replays_the_shipment_it_sent(county, login):
    product = make_product(pack_size=10)
    order_id, county_client = _allocated_order(county, login, product)
    first = county_client.post(f"/api/v1/orders/{order_id}/ship", json={"key": "ship-key-1"})
    assert first.status_code == 201, first.json
    again = county_client.post(f"/api/v1/orders/{order_id}/ship", json={"key": "ship-key-1"})
    assert again.status_code == 200 and again.json == first.json
    assert stock.on_hand(county.central.id, product.id) == 270
    other = county_client.post(f"/api/v1/orders/{order_id}/ship", json={"key": "ship-key-2"})
    assert other.status_code == 409  # nothing left to ship: a new key is a new shipment, refused by the order
