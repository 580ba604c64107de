"""Shortage registration: idempotent registration, lifecycle with events, township grouping, scope, pages."""

import pytest
from sqlalchemy import func, select

from pharmacy.errors import Conflict, InvalidInput
from pharmacy.extensions import db
from pharmacy.shortages import queries, services
from pharmacy.shortages.models import Shortage
from pharmacy.shortages.progress import Stage
from tests.factories import make_product


def n_shortages():
    return db.session.scalar(select(func.count(Shortage.id)))


def register(county, product, client_id, *, village=0, qty=2, urgency="routine", user="village"):
    return services.register_shortage(facility=county.villages[village], user=county.users[user], client_id=client_id,
                                      product=product, qty_packs=qty, urgency=urgency)[0]


def test_register_is_idempotent_on_client_id(county):
    product = make_product()
    first, created = services.register_shortage(facility=county.villages[0], user=county.users["village"],
                                                client_id="c-0001", product=product, qty_packs=3)
    again, created_again = services.register_shortage(facility=county.villages[0], user=county.users["village"],
                                                      client_id="c-0001", product=product, qty_packs=3)
    assert created and not created_again and again.id == first.id and n_shortages() == 1
    assert [e.to_status for e in first.events] == ["registered"]
    with pytest.raises(Conflict) as refused:  # the same key with another request
        services.register_shortage(facility=county.villages[0], user=county.users["village"], client_id="c-0001",
                                   product=product, qty_packs=4)
    assert refused.value.code == "idempotency_key_reused" and n_shortages() == 1


def test_a_client_id_belongs_to_its_facility_and_user(county):
    """Another village (or another user) sending the same client id gets its own registration, never the first."""
    product = make_product()
    first, _ = services.register_shortage(facility=county.villages[0], user=county.users["village"],
                                          client_id="c-shared", product=product, qty_packs=3, note="甲村")
    other, created = services.register_shortage(facility=county.villages[-1], user=county.users["other_village"],
                                                client_id="c-shared", product=product, qty_packs=5, note="乙村")
    by_township, by_township_created = services.register_shortage(
        facility=county.villages[0], user=county.users["township"], client_id="c-shared", product=product,
        qty_packs=3, note="甲村")
    assert created and by_township_created and len({first.id, other.id, by_township.id}) == 3
    assert (other.facility_id, other.qty_packs, other.note, other.registered_by_id) == \
        (county.villages[-1].id, 5, "乙村", county.users["other_village"].id)
    assert n_shortages() == 3


@pytest.mark.parametrize("kwargs", [{"qty_packs": 0}, {"qty_packs": -1}, {"qty_packs": 10001}, {"urgency": "now"},
                                    {"reason": "bored"}, {"product": None}, {"client_id": ""}, {"note": "x" * 501}])
def test_register_refuses_bad_input(county, kwargs):
    args = {"facility": county.villages[0], "user": county.users["village"], "client_id": "c-bad-1",
            "product": make_product(), "qty_packs": 1, **kwargs}
    with pytest.raises(InvalidInput):
        services.register_shortage(**args)
    assert n_shortages() == 0


def test_county_tier_product_cannot_be_registered_by_a_village(county):
    with pytest.raises(InvalidInput):
        register(county, make_product(lowest_tier="county"), "c-tier-1")


def test_lifecycle_records_every_change_and_refuses_illegal_moves(county):
    shortage = register(county, make_product(), "c-life-1")
    pharmacist = county.users["township"]
    services.acknowledge(shortage, user=pharmacist, note="已收到")
    for derived in ("ordered", "dispatched", "delivered"):  # these follow the goods, never set by hand
        with pytest.raises(Conflict):
            services.transition(shortage, derived, user=pharmacist)
    services.record_stage(shortage, Stage.ON_ORDER, user=pharmacist, ref_type="order", ref_id=7)
    services.record_stage(shortage, Stage.IN_TRANSIT, user=pharmacist)
    services.record_stage(shortage, Stage.DELIVERED, user=pharmacist)
    assert shortage.delivered_at is not None
    events = queries.events_of(shortage)
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", "registered"), ("registered", "acknowledged"), ("acknowledged", "ordered"), ("ordered", "dispatched"),
        ("dispatched", "delivered")]
    assert all(e.user_id for e in events) and all(e.created_at for e in events)
    with pytest.raises(Conflict) as refused:
        services.cancel(shortage, user=pharmacist, reason="太迟")
    assert "已送达" in refused.value.message


def test_cancel_needs_a_reason(county):
    shortage = register(county, make_product(), "c-cancel-1")
    with pytest.raises(InvalidInput):
        services.cancel(shortage, user=county.users["township"], reason=" ")
    services.cancel(shortage, user=county.users["township"], reason="重复登记")
    assert shortage.status == "cancelled" and shortage.cancel_reason == "重复登记"


def test_open_registrations_grouped_by_product_emergencies_first(county):
    common, rare = make_product("氨氯地平"), make_product("硝苯地平")
    register(county, common, "c-g-0001", village=0, qty=2)
    register(county, common, "c-g-0002", village=1, qty=3, urgency="urgent")
    register(county, rare, "c-g-0003", village=0, qty=1, urgency="emergency")
    services.register_shortage(facility=county.villages[1], user=county.users["village"], client_id="c-g-0004",
                               free_text="自制膏药", qty_packs=1)
    cancelled = register(county, common, "c-g-0005", village=0, qty=50)
    services.cancel(cancelled, user=county.users["township"], reason="误登")
    groups = queries.open_by_product([v.id for v in county.villages[:2]])
    assert [(g.label.split()[0], g.total_packs, g.urgency, g.facility_count) for g in groups] == [
        ("硝苯地平", 1, "emergency", 1), ("氨氯地平", 5, "urgent", 2), ("自制膏药", 1, "routine", 1)]


@pytest.fixture
def doctor(county, login):
    product = make_product("氨氯地平", pack_size=28)
    db.session.commit()
    return login(county.users["village"]), county, product


def test_api_register_then_resend_counts_once(doctor):
    client, county, product = doctor
    body = {"client_id": "5b8f2c1e-0000-4000-8000-000000000001", "product_id": product.id, "qty_packs": 2,
            "urgency": "urgent", "reason": "chronic_long_rx", "note": "王大爷", "client_created_at":
            "2026-01-05T08:00:00Z"}
    first = client.post("/api/v1/shortages", json=body)
    assert first.status_code == 201 and first.json["status"] == "registered"
    assert first.json["facility_id"] == county.villages[0].id and first.json["label"].startswith("氨氯地平")
    again = client.post("/api/v1/shortages", json=body)
    assert again.status_code == 200 and again.json["id"] == first.json["id"]
    assert n_shortages() == 1
    mine = client.get("/api/v1/shortages?mine=1").json
    assert [s["client_id"] for s in mine] == [body["client_id"]]


@pytest.mark.parametrize("change,field", [({"qty_packs": 0}, "qty_packs"), ({"qty_packs": "两盒"}, "qty_packs"),
                                          ({"urgency": "asap"}, "urgency"), ({"client_id": "x"}, "client_id"),
                                          ({"product_id": None}, "product_id")])
def test_api_bad_registration(doctor, change, field):
    client, _county, product = doctor
    body = {"client_id": "5b8f2c1e-0000-4000-8000-000000000002", "product_id": product.id, "qty_packs": 1, **change}
    response = client.post("/api/v1/shortages", json=body)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert response.json["error"]["message"] == "输入有误，请检查标出的字段"
    assert n_shortages() == 0


def test_village_doctor_cannot_register_for_or_read_another_village(doctor):
    client, county, product = doctor
    other = county.villages[-1]
    response = client.post("/api/v1/shortages", json={"client_id": "5b8f2c1e-0000-4000-8000-000000000003",
                                                      "facility_id": other.id, "product_id": product.id,
                                                      "qty_packs": 1})
    assert response.status_code == 403 and n_shortages() == 0
    theirs = register(county, product, "c-theirs-1", village=len(county.villages) - 1, user="other_village")
    db.session.commit()
    assert client.get(f"/api/v1/shortages/{theirs.id}").status_code == 404
    assert client.get("/api/v1/shortages").json == []
    assert client.post(f"/api/v1/shortages/{theirs.id}/acknowledge", json={}).status_code == 403


def test_township_acknowledges_and_cancels_through_the_api(county, login):
    product = make_product()
    mine = register(county, product, "c-t-0001", village=0)
    foreign = register(county, product, "c-t-0002", village=len(county.villages) - 1, user="other_village")
    db.session.commit()
    client = login(county.users["township"])
    ack = client.post(f"/api/v1/shortages/{mine.id}/acknowledge", json={"note": "本周补"})
    assert ack.status_code == 200 and ack.json["status"] == "acknowledged"
    assert [e["to_status"] for e in ack.json["events"]] == ["registered", "acknowledged"]
    assert client.post(f"/api/v1/shortages/{mine.id}/acknowledge", json={}).status_code == 409
    no_reason = client.post(f"/api/v1/shortages/{mine.id}/cancel", json={})
    assert no_reason.status_code == 422  # the page and the API say the same words (CancelSchema)
    assert no_reason.json["error"]["fields"] == {"reason": ["取消登记必须填写原因"]}
    assert client.post(f"/api/v1/shortages/{foreign.id}/cancel", json={"reason": "x"}).status_code == 404
    cancelled = client.post(f"/api/v1/shortages/{mine.id}/cancel", json={"reason": "已从邻村调剂"})
    assert cancelled.json["status"] == "cancelled"
    assert client.post(f"/api/v1/shortages/{mine.id}/transition", json={"status": "ordered"}).status_code == 409
    groups = client.get("/api/v1/shortages/by-product").json
    assert groups == []


def test_registrable_products_follow_the_tier(doctor):
    client, _county, product = doctor
    hidden = make_product(lowest_tier="township")
    db.session.commit()
    ids = {p["id"] for p in client.get("/api/v1/shortages/products").json}
    assert product.id in ids and hidden.id not in ids


def test_village_doctor_lands_on_the_tablet_page(doctor):
    client, _county, _product = doctor
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/shortages/tablet")
    page = client.get("/shortages/tablet").get_data(as_text=True)
    assert "缺药登记" in page and 'data-search-url="/api/v1/catalog/search"' in page
    assert "<script>" not in page and "style=" not in page


def test_township_page_groups_and_acts(county, login):
    product = make_product("硝苯地平")
    first = register(county, product, "c-p-0001", village=0, urgency="emergency")
    second = register(county, product, "c-p-0002", village=1, qty=4)
    db.session.commit()
    client = login(county.users["township"])
    page = client.get("/shortages/open").get_data(as_text=True)
    assert "硝苯地平" in page and "group-emergency" in page and "合计" in page
    response = client.post("/shortages/acknowledge", data={"shortage_id": [first.id, second.id]})
    assert response.status_code == 302
    assert {first.status, second.status} == {"acknowledged"}
    response = client.post(f"/shortages/{first.id}/cancel", data={"reason": ""})
    assert response.status_code == 422 and "取消登记必须填写原因" in response.get_data(as_text=True)
    assert client.post(f"/shortages/{first.id}/cancel", data={"reason": "重复"}).status_code == 302
    assert client.get(f"/shortages/{first.id}").status_code == 200
    doctor = login(county.users["village"])
    assert doctor.get("/shortages/open").status_code == 403
