"""Every write is attributable: who, when, from which facility, what changed; county staff can search it."""

import json
from datetime import timedelta

from sqlalchemy import select

from pharmacy import clock
from pharmacy.audit.models import AuditEvent
from pharmacy.audit.trail import acting_as, summarised
from pharmacy.config import ROOT
from pharmacy.extensions import db


def _events(**where) -> list[AuditEvent]:
    stmt = select(AuditEvent).order_by(AuditEvent.id)
    for key, value in where.items():
        stmt = stmt.where(getattr(AuditEvent, key) == value)
    return list(db.session.scalars(stmt))


def test_a_page_write_records_user_facility_and_old_to_new(county, login):
    user = county.users["county"]
    village = county.villages[0]
    response = login(user).post(f"/admin/facilities/{village.id}/active", data={"is_active": "0"})
    assert response.status_code == 302
    [event] = _events(table_name="facility", row_id=str(village.id), action="update", user_id=user.id)
    assert (event.user_id, event.username, event.facility_id) == (user.id, user.username, user.facility_id)
    assert event.source == "web" and event.actor == f"POST /admin/facilities/{village.id}/active"
    assert event.remote_addr == "127.0.0.1" and event.request_id
    changes = json.loads(event.changes)
    assert changes["is_active"] == [True, False]
    assert abs(event.occurred_at.replace(tzinfo=None) - clock.now_utc().replace(tzinfo=None)) < timedelta(minutes=1)


def test_an_api_insert_records_every_column(county, login):
    user = county.users["county"]
    response = login(user).post("/api/v1/facilities", json={
        "code": "AUD-V", "name": "审计村卫生室", "kind": "village_point", "parent_id": county.townships[0].id})
    assert response.status_code == 201
    [event] = _events(table_name="facility", action="insert", row_id=str(response.json["id"]), user_id=user.id)
    assert event.source == "api" and event.username == user.username
    changes = json.loads(event.changes)
    assert changes["code"] == [None, "AUD-V"] and changes["name"] == [None, "审计村卫生室"]


def test_a_refused_request_leaves_no_trail(county, login):
    before = len(_events())
    response = login(county.users["county"]).post("/api/v1/facilities", json={
        "code": "BAD", "name": "x", "kind": "village_point", "parent_id": county.county.id})
    assert response.status_code == 422
    assert len(_events()) == before


def test_secrets_are_never_written_to_the_trail(county):
    from pharmacy.auth.models import Role
    from pharmacy.auth.services import create_user

    with acting_as("test: create user"):
        user = create_user(username="audited", display_name="审计", password="long enough pw",
                           role=Role.VIEWER, facility=county.county)
    [event] = _events(table_name="app_user", row_id=str(user.id))
    changes = json.loads(event.changes)
    assert changes["password_hash"] == [None, "***"] and changes["session_token"] == [None, "***"]
    assert "long enough pw" not in event.changes and user.password_hash not in event.changes
    assert event.source == "job" and event.actor == "test: create user"


def test_failed_logins_are_recorded_without_a_user(client, county):
    user = county.users["viewer"]
    client.post("/login", data={"username": user.username, "password": "wrong"})
    [event] = _events(table_name="app_user", row_id=str(user.id), action="update")
    assert event.user_id is None and event.source == "web"
    assert json.loads(event.changes)["failed_logins"] == [0, 1]


def test_deletes_keep_the_old_values(county, db_session):
    from tests.factories import make_product

    from pharmacy.inventory.models import StockPolicy

    product = make_product()
    policy = StockPolicy(facility_id=county.villages[0].id, product_id=product.id, min_months=1, max_months=3)
    db_session.add(policy)
    db_session.flush()
    db_session.delete(policy)
    db_session.flush()
    [event] = _events(table_name="stock_policy", action="delete")
    assert json.loads(event.changes)["max_months"][0] in (3, "3", "3.00")


def test_bulk_loads_are_summarised_in_one_row(app_ctx, db_session):
    from pharmacy.catalog.loader import load_catalog
    from pharmacy.catalog.models import Drug

    before = len(_events())
    report = load_catalog(ROOT / "tests" / "data" / "catalog_small")
    events = _events()[before:]
    if report.changed_anything:
        [summary] = events
        assert summary.action == "bulk" and summary.row_id == "catalog load"
        drug_ids = json.loads(summary.changes)["drug"]["insert"]  # the summary names every row it touched
        assert len(drug_ids) == report.drugs_created
        named = [int(i) for i in drug_ids]
        assert sorted(db.session.scalars(select(Drug.id).where(Drug.id.in_(named)))) == sorted(named)
    else:
        assert events == []


def test_summarised_counts_nested_calls_once(app_ctx, db_session, county):
    @summarised("outer")
    def outer():
        inner()

    @summarised("inner")
    def inner():
        county.villages[0].phone = "123"
        db.session.flush()

    outer()
    assert _events(action="bulk", row_id="inner") == []
    [event] = _events(action="bulk", row_id="outer")
    assert json.loads(event.changes) == {"facility": {"update": [str(county.villages[0].id)]}}


def test_county_staff_search_the_trail_page(county, login, db_session):
    from tests.factories import make_county

    other = make_county(townships=1, villages=1)
    login(other.users["county"]).post(f"/admin/facilities/{other.villages[0].id}/active", data={"is_active": "0"})
    client = login(county.users["county"])
    client.post(f"/admin/facilities/{county.villages[0].id}/active", data={"is_active": "0"})
    page = client.get("/admin/audit?table_name=facility&action=update").get_data(as_text=True)
    assert county.villages[0].code not in page or "is_active" in page
    assert county.users["county"].username in page
    assert other.users["county"].username not in page  # another county's people are not shown
    assert "审计日志" in page
    empty = client.get(f"/admin/audit?username={county.users['county'].username}&text=no-such-text-xyz")
    assert "没有符合条件的记录" in empty.get_data(as_text=True)
    today = clock.today()
    dated = client.get(f"/admin/audit?date_from={today - timedelta(days=1)}&date_to={today + timedelta(days=1)}")
    assert county.users["county"].username in dated.get_data(as_text=True)
    old = client.get(f"/admin/audit?date_to={today - timedelta(days=2)}&username={county.users['county'].username}")
    assert "没有符合条件的记录" in old.get_data(as_text=True)
    assert client.get("/admin/audit?date_from=not-a-date").status_code == 200


def test_the_trail_api_filters_and_pages(county, login):
    client = login(county.users["county"])
    for village in county.villages:
        client.post(f"/admin/facilities/{village.id}/active", data={"is_active": "0"})
    who = county.users["county"].username
    first = client.get(f"/api/v1/audit/events?table_name=facility&limit=2&username={who}").json
    assert len(first) == 2 and first[0]["id"] > first[1]["id"]
    assert first[0]["facility_code"] == county.central.code and first[0]["changes"]["is_active"] == [True, False]
    rest = client.get(f"/api/v1/audit/events?table_name=facility&username={who}&before_id={first[1]['id']}").json
    assert all(e["id"] < first[1]["id"] for e in rest) and len(rest) == len(county.villages) - 2
    assert client.get("/api/v1/audit/events?text=is_active").json


def test_only_auditors_read_the_trail(county, login):
    for role in ("village", "township", "viewer"):
        client = login(county.users[role])
        assert client.get("/admin/audit").status_code == 403
        assert client.get("/api/v1/audit/events").status_code == 403
    assert login(county.users["formulary"]).get("/admin/audit").status_code == 200
