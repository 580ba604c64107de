"""The API twins of page actions that had none: facility (de)activation, acknowledging several registrations,
releasing back-orders, the county's tracer list."""

from pharmacy.extensions import db
from pharmacy.shortages.models import Shortage
from tests.factories import make_product


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_facility_is_deactivated_and_activated_again(client, county, login):
    api = login(county.users["county"])
    village = county.villages[1]
    assert _ok(api.post(f"/api/v1/facilities/{village.id}/active", json={"is_active": False}))["is_active"] is False
    assert _ok(api.post(f"/api/v1/facilities/{village.id}/active", json={"is_active": True}))["is_active"] is True
    assert login(county.users["township"]).post(f"/api/v1/facilities/{village.id}/active",
                                                json={"is_active": False}).status_code == 403


def test_several_registrations_are_acknowledged_at_once(client, county, login):
    product = make_product()
    doctor = login(county.users["village"])
    ids = [_ok(doctor.post("/api/v1/shortages", json={"client_id": f"ack-many-{n}", "product_id": product.id,
                                                       "qty_packs": 1}), 201)["id"] for n in range(2)]
    township = login(county.users["township"])
    assert _ok(township.post("/api/v1/shortages/acknowledge", json={"shortage_ids": ids}))["acknowledged"] == 2
    assert {db.session.get(Shortage, i).status for i in ids} == {"acknowledged"}
    refused = township.post("/api/v1/shortages/acknowledge", json={"shortage_ids": []})
    assert refused.status_code == 422 and "shortage_ids" in refused.get_json()["error"]["fields"]


def test_back_orders_are_released_without_a_body(client, county, login):
    api = login(county.users["county"])
    assert _ok(api.post("/api/v1/orders/backorders/release", headers={"Content-Type": "application/json"})) == []


def test_the_tracer_list_is_read_and_edited(client, county, login):
    product = make_product()
    api = login(county.users["formulary"])
    added = _ok(api.post("/api/v1/reports/tracers", json={"product_code": product.code, "note": "基药监测"}), 201)
    assert added["product_code"] == product.code
    assert [t["id"] for t in _ok(api.get("/api/v1/reports/tracers"))] == [added["id"]]
    assert login(county.users["village"]).post("/api/v1/reports/tracers",
                                               json={"product_code": product.code}).status_code == 403
    api = login(county.users["formulary"])
    assert api.delete(f"/api/v1/reports/tracers/{added['id']}").status_code == 400  # a session needs X-CSRFToken
    csrf = _ok(api.get("/api/v1/auth/csrf"))["csrf_token"]
    assert api.delete(f"/api/v1/reports/tracers/{added['id']}", headers={"X-CSRFToken": csrf}).status_code == 204
    assert _ok(api.get("/api/v1/reports/tracers")) == []
