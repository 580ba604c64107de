"""Free text becomes a product: proposals for a typed name, the township's queue, resolving a registration to a
product (event, alias, audit, scope), and the order builder and delivery planner taking it up by product."""

import pytest
from sqlalchemy import select

from pharmacy.catalog import editions
from pharmacy.audit.models import AuditEvent
from pharmacy.catalog.loader import load_catalog
from pharmacy.catalog.models import Alias, Drug, Product, ProductStatus
from pharmacy.catalog.services import set_product_status
from pharmacy.config import ROOT
from pharmacy.errors import Conflict, InvalidInput
from pharmacy.extensions import db
from pharmacy.matching.services import load_brand_aliases, propose_products
from pharmacy.orders.services import propose_lines
from pharmacy.shortages import queries, services
from pharmacy.shortages.models import Shortage
from tests.factories import make_product

TYPO = "阿莫西休胶囊"  # 阿莫西林胶囊 mistyped: the engine is unsure, so a person decides


@pytest.fixture
def formulary(db_session):
    """Products of the formulary the session loaded (the small test catalog when catalog_data/ has none)."""
    if db_session.scalar(select(Drug.id).where(Drug.generic_name == "阿莫西林")) is None:
        load_catalog(ROOT / "tests" / "data" / "catalog_small")
        load_brand_aliases(ROOT / "catalog_data")
        db_session.flush()

    def product(generic_name: str, dosage_form: str, strength: str) -> Product:
        return db_session.scalars(select(Product).join(Drug).where(
            Drug.generic_name == generic_name, Product.dosage_form == dosage_form, Product.strength == strength,
            Product.status == ProductStatus.ACTIVE).order_by(
            (Product.edition == editions.edition_in_force()).desc(), Product.edition.desc())).first()

    return product


def free_text(county, text: str, *, village: int = 0, qty: int = 2, urgency: str = "routine",
              user: str = "village") -> Shortage:
    return services.register_shortage(facility=county.villages[village], user=county.users[user],
                                      client_id=f"ft-{village}-{text}-{qty}-{urgency}", free_text=text, qty_packs=qty,
                                      urgency=urgency)[0]


# ---------------------------------------------------------------------------------------------------------------
# The operation


def test_resolving_names_the_product_records_an_event_and_learns_the_name_for_the_township(formulary, county):
    amoxicillin = formulary("阿莫西林", "胶囊", "0.25g")
    shortage = free_text(county, TYPO)
    village_next_door, other_township_village = county.villages[1], county.villages[2]
    assert propose_products(TYPO, facility=village_next_door).status != "auto_matched"
    pharmacist = county.users["township"]

    services.resolve_product(shortage, amoxicillin, user=pharmacist, note="应为阿莫西林")

    assert (shortage.product_id, shortage.free_text, shortage.status) == (amoxicillin.id, TYPO, "registered")
    assert shortage.label == amoxicillin.display_name and shortage.qty_base == 2 * amoxicillin.pack_size
    event = queries.events_of(shortage)[-1]
    assert (event.ref_type, event.ref_id, event.user_id, event.note, event.from_status, event.to_status) == (
        "product_resolved", amoxicillin.id, pharmacist.id, "应为阿莫西林", "registered", "registered")
    alias = db.session.scalars(select(Alias).where(Alias.source_ref == f"shortage:{shortage.id}")).one()
    assert (alias.text, alias.product_id, alias.facility_id, alias.source, alias.created_by_id) == (
        TYPO, amoxicillin.id, county.townships[0].id, "local_confirmed", pharmacist.id)
    # Next time any village of the township types it, the engine proposes that product for sure; elsewhere not.
    again = propose_products(TYPO, facility=village_next_door)
    assert (again.status, again.products[0]["product_id"], again.products[0]["source"]) == (
        "auto_matched", amoxicillin.id, "local_confirmed")
    elsewhere = propose_products(TYPO, facility=other_township_village)
    assert elsewhere.status != "auto_matched"


def test_without_learning_the_name_no_alias_is_written(formulary, county):
    shortage = free_text(county, TYPO)
    before = db.session.scalar(select(db.func.count(Alias.id)))
    services.resolve_product(shortage, formulary("阿莫西林", "胶囊", "0.25g"), user=county.users["township"],
                             learn_alias=False)
    assert shortage.product_id is not None and db.session.scalar(select(db.func.count(Alias.id))) == before


def test_a_text_that_names_no_drug_is_resolved_but_not_learnt(formulary, county):
    shortage = free_text(county, "123")
    services.resolve_product(shortage, formulary("阿莫西林", "胶囊", "0.25g"), user=county.users["township"])
    assert shortage.product_id is not None
    assert db.session.scalars(select(Alias).where(Alias.source_ref == f"shortage:{shortage.id}")).first() is None


def test_resolving_is_refused_when_it_cannot_apply(formulary, county):
    pharmacist = county.users["township"]
    amoxicillin = formulary("阿莫西林", "胶囊", "0.25g")
    resolved = free_text(county, TYPO)
    services.resolve_product(resolved, amoxicillin, user=pharmacist)
    with pytest.raises(Conflict) as twice:
        services.resolve_product(resolved, formulary("阿莫西林", "片剂", "0.25g"), user=pharmacist)
    assert twice.value.code == "already_resolved" and resolved.product_id == amoxicillin.id

    cancelled = free_text(county, "某药水", qty=1)
    services.cancel(cancelled, user=pharmacist, reason="重复登记")
    with pytest.raises(Conflict) as closed:
        services.resolve_product(cancelled, amoxicillin, user=pharmacist)
    assert closed.value.code == "not_open" and "已取消" in closed.value.message

    waiting = free_text(county, "某药片", qty=3)
    with pytest.raises(InvalidInput) as tier:
        services.resolve_product(waiting, make_product(lowest_tier="township"), user=pharmacist)
    assert tier.value.code == "tier_not_allowed"
    withdrawn = make_product()
    set_product_status(withdrawn, "withdrawn", reason="停产", user=county.users["formulary"])
    with pytest.raises(InvalidInput):
        services.resolve_product(waiting, withdrawn, user=pharmacist)
    with pytest.raises(InvalidInput):
        services.resolve_product(waiting, amoxicillin, user=pharmacist, note="x" * 501)
    assert waiting.product_id is None and [e.ref_type for e in queries.events_of(waiting)] == [""]


# ---------------------------------------------------------------------------------------------------------------
# From then on it flows like any other registration


def test_a_resolved_registration_comes_into_the_order_builder_by_product(county):
    product = make_product("氨氯地平", pack_size=28)
    shortage = free_text(county, "降压的小白片", qty=4, urgency="urgent")
    township = county.townships[0]
    assert not any(shortage in line.shortages for line in propose_lines(township))

    services.resolve_product(shortage, product, user=county.users["township"])

    line = next(line for line in propose_lines(township) if line.product.id == product.id)
    assert line.shortages == [shortage] and line.shortage_packs == 4 and line.urgency == "urgent"


def test_a_resolved_registration_is_planned_by_the_next_delivery_run(county):
    from pharmacy.deliveries.services import plan_run
    from tests.factories import make_route, next_weekday, stock_up

    township, village = county.townships[0], county.villages[0]
    pharmacist = county.users["township"]
    product = make_product("硝苯地平", pack_size=10)
    stock_up(township, product, 200, user=pharmacist)
    shortage = free_text(county, "心痛定", qty=3)
    route = make_route(township, [village])
    first = plan_run(route, next_weekday(2), user=pharmacist)
    assert [(f.shortage_id, f.reason) for f in first.stops[0].shortfalls] == [(shortage.id, "no_product")]

    services.resolve_product(shortage, product, user=pharmacist)

    second = plan_run(route, next_weekday(5, next_weekday(2)), user=pharmacist)
    served = [line for line in second.lines if shortage in line.shortages]
    assert [(line.product_id, line.qty_base) for line in served] == [(product.id, 30)]
    assert not second.stops[0].shortfalls


# ---------------------------------------------------------------------------------------------------------------
# API


@pytest.fixture
def doctor(county, login):
    db.session.commit()
    return login(county.users["village"])


def test_proposals_api_answers_the_tablet(formulary, county, doctor):
    response = doctor.get("/api/v1/shortages/proposals", query_string={"text": "阿莫仙"})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["text"] == "阿莫仙" and body["status"] == "auto_matched"
    first = body["products"][0]
    assert (first["generic_name"], first["dosage_form"], first["strength"], first["source"]) == (
        "阿莫西林", "胶囊", "0.25g", "brand")
    assert {"product_id", "code", "pack_label", "pack_unit", "score", "lowest_tier"} <= set(first)
    assert 1 <= len(body["products"]) <= 4
    # Only what a village may stock: 参麦注射液 is a township product.
    for text in ("参麦注射液", "参麦"):
        products = doctor.get("/api/v1/shortages/proposals", query_string={"text": text}).json["products"]
        assert all(p["lowest_tier"] == "village" for p in products)
    nothing = doctor.get("/api/v1/shortages/proposals", query_string={"text": "风油精"}).json
    assert (nothing["status"], nothing["products"]) == ("no_match", [])


@pytest.mark.parametrize("query, field", [({}, "text"), ({"text": "  "}, "text"), ({"text": "药" * 201}, "text"),
                                          ({"text": "阿莫仙", "facility_id": "x"}, "facility_id")])
def test_proposals_api_refuses_bad_input(county, doctor, query, field):
    response = doctor.get("/api/v1/shortages/proposals", query_string=query)
    assert response.status_code == 422
    assert field in response.json["error"]["fields"]
    assert response.json["error"]["message"] == "输入有误，请检查标出的字段"


def test_proposals_api_keeps_to_the_callers_scope(county, doctor):
    response = doctor.get("/api/v1/shortages/proposals",
                          query_string={"text": "阿莫仙", "facility_id": county.villages[1].id})
    assert response.status_code == 403


def test_free_text_queue_api_lists_the_townships_villages_with_proposals(formulary, county, login):
    mine = free_text(county, "阿莫仙", urgency="urgent")
    also_mine = free_text(county, TYPO, village=1)
    foreign = free_text(county, "阿莫仙", village=len(county.villages) - 1, user="other_village")
    services.register_shortage(facility=county.villages[0], user=county.users["village"], client_id="ft-picked",
                               product=formulary("阿莫西林", "胶囊", "0.25g"), qty_packs=1)
    db.session.commit()
    client = login(county.users["township"])
    items = client.get("/api/v1/shortages/free-text").json
    assert [i["shortage"]["id"] for i in items] == [mine.id, also_mine.id]  # urgent first; not the other township's
    assert items[0]["status"] == "auto_matched" and items[0]["proposals"][0]["generic_name"] == "阿莫西林"
    assert foreign.id not in [i["shortage"]["id"] for i in login(county.users["township"]).get(
        f"/api/v1/shortages/free-text?facility_id={county.villages[1].id}").json]
    assert client.get(f"/api/v1/shortages/free-text?facility_id={county.townships[1].id}").status_code == 403


def test_resolve_api_names_the_product_once_with_audit(formulary, county, login):
    shortage = free_text(county, TYPO)
    amoxicillin = formulary("阿莫西林", "胶囊", "0.25g")
    db.session.commit()
    client = login(county.users["township"])
    response = client.post(f"/api/v1/shortages/{shortage.id}/product",
                           json={"product_id": amoxicillin.id, "note": "村医电话确认"})
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["product_id"], body["product_code"], body["free_text"], body["label"]) == (
        amoxicillin.id, amoxicillin.code, TYPO, amoxicillin.display_name)
    assert body["events"][-1]["ref_type"] == "product_resolved" and body["events"][-1]["note"] == "村医电话确认"
    audited = db.session.scalars(select(AuditEvent).where(AuditEvent.table_name == "shortage",
                                                          AuditEvent.row_id == str(shortage.id),
                                                          AuditEvent.action == "update")).all()
    assert audited and all(a.user_id == county.users["township"].id for a in audited)
    assert any("product_id" in (a.changes or "") for a in audited)
    assert db.session.scalars(select(AuditEvent).where(AuditEvent.table_name == "alias")).first() is not None
    assert client.get("/api/v1/shortages/free-text").json == []

    again = client.post(f"/api/v1/shortages/{shortage.id}/product", json={"product_id": amoxicillin.id})
    assert again.status_code == 409 and again.json["error"]["code"] == "already_resolved"
    assert again.json["error"]["message"] == f"该登记已对应药品：{amoxicillin.display_name}"
    with client.session_transaction() as session:
        session["lang"] = "en"
    english = client.post(f"/api/v1/shortages/{shortage.id}/product", json={"product_id": amoxicillin.id})
    assert english.json["error"]["message"] == f"This registration already names a product: {amoxicillin.display_name}"


@pytest.mark.parametrize("body, status, field", [
    ({}, 422, "product_id"), ({"product_id": "12"}, 422, "product_id"), ({"product_id": 0}, 422, "product_id"),
    ({"product_id": 1, "learn_alias": "maybe"}, 422, "learn_alias"), ({"product_id": 1, "note": "x" * 501}, 422, "note"),
    ({"product_id": 2 ** 31 - 1}, 404, None),
])
def test_resolve_api_refuses_bad_input(county, login, body, status, field):
    shortage = free_text(county, "某药")
    db.session.commit()
    response = login(county.users["township"]).post(f"/api/v1/shortages/{shortage.id}/product", json=body)
    assert response.status_code == status, response.json
    if field:
        assert field in response.json["error"]["fields"]
    else:
        assert response.json["error"]["message"] == "找不到该产品"
    assert db.session.get(Shortage, shortage.id).product_id is None


def test_resolve_api_is_for_the_township_of_the_registration(county, login):
    product = make_product()
    mine = free_text(county, "某药")
    foreign = free_text(county, "某药", village=len(county.villages) - 1, user="other_village")
    db.session.commit()
    doctor = login(county.users["village"])
    assert doctor.post(f"/api/v1/shortages/{mine.id}/product", json={"product_id": product.id}).status_code == 403
    township = login(county.users["township"])
    refused = township.post(f"/api/v1/shortages/{foreign.id}/product", json={"product_id": product.id})
    assert refused.status_code == 404 and refused.json["error"]["message"] == "找不到该缺药登记"
    assert db.session.get(Shortage, foreign.id).product_id is None
    county_pharmacist = login(county.users["county"])
    assert county_pharmacist.post(f"/api/v1/shortages/{foreign.id}/product",
                                  json={"product_id": product.id}).status_code == 200


def test_openapi_documents_the_free_text_endpoints(client, county, login):
    paths = login(county.users["viewer"]).get("/api/v1/openapi.json").json["paths"]
    assert "get" in paths["/api/v1/shortages/proposals"] and "get" in paths["/api/v1/shortages/free-text"]
    operation = paths["/api/v1/shortages/{shortage_id}/product"]["post"]
    assert "requestBody" in operation and {"200", "403", "404", "409", "422"} <= set(operation["responses"])


# ---------------------------------------------------------------------------------------------------------------
# Pages


def test_the_township_queue_page_resolves_with_one_click(formulary, county, login):
    shortage = free_text(county, "阿莫仙", urgency="emergency")
    amoxicillin = formulary("阿莫西林", "胶囊", "0.25g")
    db.session.commit()
    client = login(county.users["township"])
    page = client.get("/shortages/free-text").get_data(as_text=True)
    assert "阿莫仙" in page and county.villages[0].name in page and "最可能" in page
    assert f'name="product_id" value="{amoxicillin.id}"' in page and 'name="learn_alias" value="1" checked' in page
    assert "<script>" not in page and "style=" not in page
    assert 'href="/shortages/free-text"' in client.get("/shortages/open").get_data(as_text=True)

    response = client.post(f"/shortages/{shortage.id}/product", data={"product_id": amoxicillin.id,
                                                                      "learn_alias": "1"})
    assert response.status_code == 302 and "/shortages/free-text" in response.headers["Location"]
    assert db.session.get(Shortage, shortage.id).product_id == amoxicillin.id
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已对应药品" in after and "没有待对应药品的登记" in after
    detail = client.get(f"/shortages/{shortage.id}").get_data(as_text=True)
    assert "对应药品：" + amoxicillin.display_name in detail and "阿莫仙" in detail


def test_the_queue_page_takes_a_searched_product_and_explains_refusals(county, login):
    shortage = free_text(county, "某药")
    product, township_only = make_product(), make_product(lowest_tier="township")
    db.session.commit()
    client = login(county.users["township"])
    missing = client.post(f"/shortages/{shortage.id}/product", data={"searched_product_id": ""})
    assert missing.status_code == 422 and "请先选择药品" in missing.get_data(as_text=True)
    refused = client.post(f"/shortages/{shortage.id}/product", data={"searched_product_id": township_only.id})
    assert refused.status_code == 422 and "该药品不在本机构可配备的范围内" in refused.get_data(as_text=True)
    done = client.post(f"/shortages/{shortage.id}/product", data={"searched_product_id": product.id})
    assert done.status_code == 302
    resolved = db.session.get(Shortage, shortage.id)
    assert resolved.product_id == product.id
    assert db.session.scalars(select(Alias).where(Alias.source_ref == f"shortage:{shortage.id}")).first() is None
    again = client.post(f"/shortages/{shortage.id}/product", data={"product_id": product.id})
    assert again.status_code == 409 and "该登记已对应药品" in again.get_data(as_text=True)


def test_the_queue_page_is_for_pharmacists_within_their_scope(county, login):
    foreign = free_text(county, "某药", village=len(county.villages) - 1, user="other_village")
    product = make_product()
    db.session.commit()
    assert login(county.users["village"]).get("/shortages/free-text").status_code == 403
    client = login(county.users["township"])
    assert "某药" not in client.get("/shortages/free-text").get_data(as_text=True)
    assert client.post(f"/shortages/{foreign.id}/product", data={"product_id": product.id}).status_code == 404
    assert db.session.get(Shortage, foreign.id).product_id is None


def test_the_tablet_page_knows_where_to_ask_for_proposals(county, doctor):
    page = doctor.get("/shortages/tablet").get_data(as_text=True)
    assert 'data-proposals-url="/api/v1/shortages/proposals"' in page and 'id="proposal"' in page


# ---------------------------------------------------------------------------------------------------------------
# Two pharmacists at once (own committed data, not the rolled-back test session)


def test_two_pharmacists_resolving_one_registration_at_once_record_one_product(app):
    """The first holds the registration until it commits; the second then sees it resolved and is refused."""
    import secrets
    import threading

    from sqlalchemy import delete

    from pharmacy.auth.models import Role, User
    from pharmacy.facilities.models import Facility, FacilityKind
    from pharmacy.facilities.services import create_facility
    from pharmacy.shortages.models import ShortageEvent

    tag = secrets.token_hex(3).upper()
    with app.app_context():
        county = create_facility(code=f"FT{tag}", name="并发对应县", kind=FacilityKind.COUNTY_HOSPITAL)
        town = create_facility(code=f"FT{tag}-T", name="并发对应镇", kind=FacilityKind.HEALTH_CENTRE, parent=county)
        village = create_facility(code=f"FT{tag}-V", name="并发对应村", kind=FacilityKind.VILLAGE_POINT, parent=town)
        drug = Drug(edition="FT", code=f"FT{tag}", category="化学药品和生物制品", generic_name="并发对应药")
        products = [Product(drug=drug, edition="FT", code=f"FT{tag}-0{n}", dosage_form="片剂", strength=f"{n}mg",
                            base_unit="片", pack_size=10, lowest_tier="village") for n in (1, 2)]
        users = [User(username=f"ft{tag.lower()}{n}", display_name="并发", role=Role.TOWNSHIP_PHARMACIST,
                      facility=town, password_hash="!", session_token=secrets.token_hex(8)) for n in (1, 2)]
        db.session.add_all([drug, *products, *users])
        db.session.flush()
        shortage = services.register_shortage(facility=village, user=users[0], client_id=f"ft-race-{tag}",
                                              free_text="并发药名", qty_packs=1)[0]
        db.session.commit()
        ids = {"shortage": shortage.id, "products": [p.id for p in products], "users": [u.id for u in users],
               "drug": drug.id, "facilities": [village.id, town.id, county.id]}

    holding, release, outcomes = threading.Event(), threading.Event(), {}

    def resolve(n: int) -> None:
        with app.app_context():
            try:
                services.resolve_product(db.session.get(Shortage, ids["shortage"]),
                                         db.session.get(Product, ids["products"][n]),
                                         user=db.session.get(User, ids["users"][n]), learn_alias=False)
                if n == 0:
                    holding.set()
                    release.wait(10)
                db.session.commit()
                outcomes[n] = "resolved"
            except Conflict as exc:
                db.session.rollback()
                outcomes[n] = exc.code
            finally:
                db.session.remove()

    try:
        first = threading.Thread(target=resolve, args=(0,))
        first.start()
        assert holding.wait(10)
        second = threading.Thread(target=resolve, args=(1,))
        second.start()
        second.join(0.5)
        assert second.is_alive()  # waiting for the first to finish
        release.set()
        first.join(10)
        second.join(10)
        assert outcomes == {0: "resolved", 1: "already_resolved"}
        with app.app_context():
            assert db.session.get(Shortage, ids["shortage"]).product_id == ids["products"][0]
            assert db.session.scalars(select(ShortageEvent.ref_id).where(
                ShortageEvent.shortage_id == ids["shortage"],
                ShortageEvent.ref_type == "product_resolved")).all() == [ids["products"][0]]
    finally:
        release.set()
        with app.app_context():
            db.session.execute(delete(ShortageEvent).where(ShortageEvent.shortage_id == ids["shortage"]))
            db.session.execute(delete(Shortage).where(Shortage.id == ids["shortage"]))
            db.session.execute(delete(Product).where(Product.id.in_(ids["products"])))
            db.session.execute(delete(Drug).where(Drug.id == ids["drug"]))
            db.session.execute(delete(User).where(User.id.in_(ids["users"])))
            for facility_id in ids["facilities"]:
                db.session.execute(delete(Facility).where(Facility.id == facility_id))
            db.session.commit()
