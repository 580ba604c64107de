"""Each role sees and changes only what it may; the server decides, not the menu."""

from datetime import timedelta

import pytest

from pharmacy import clock


def test_village_doctor_sees_own_village_only(county, login):
    client = login(county.users["village"])
    own, other = county.villages[0], county.villages[-1]
    assert client.get(f"/api/v1/facilities/{own.id}").status_code == 200
    assert client.get(f"/api/v1/facilities/{other.id}").status_code == 403
    assert client.get(f"/api/v1/facilities/{county.townships[0].id}").status_code == 403
    ids = {f["id"] for f in client.get("/api/v1/facilities").json}
    assert ids == {own.id}


def test_township_pharmacist_sees_its_villages_not_the_neighbours(county, login):
    client = login(county.users["township"])
    ids = {f["id"] for f in client.get("/api/v1/facilities").json}
    town = county.townships[0]
    assert ids == {town.id} | {v.id for v in county.villages if v.parent_id == town.id}
    neighbour_village = next(v for v in county.villages if v.parent_id != town.id)
    assert client.get(f"/api/v1/facilities/{neighbour_village.id}").status_code == 403


def test_county_pharmacist_sees_the_whole_county_but_not_another_county(county, login, db_session):
    from tests.factories import make_county

    other = make_county(townships=1, villages=1)
    client = login(county.users["county"])
    ids = {f["id"] for f in client.get("/api/v1/facilities").json}
    assert {county.county.id, county.central.id, *(t.id for t in county.townships)} <= ids
    assert other.county.id not in ids
    assert client.get(f"/api/v1/facilities/{other.villages[0].id}").status_code == 403


def test_unknown_facility_is_404(county, login):
    assert login(county.users["county"]).get("/api/v1/facilities/999999").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "village", "township", "formulary"])
def test_only_county_staff_manage_facilities_and_users(county, login, role):
    client = login(county.users[role])
    assert client.get("/admin/facilities").status_code == 403
    assert client.get("/admin/users").status_code == 403
    response = client.post("/api/v1/facilities", json={"code": "X1", "name": "新村", "kind": "village_point",
                                                       "parent_id": county.townships[0].id})
    assert response.status_code == 403
    assert response.json["error"]["code"] == "forbidden"


def test_county_pharmacist_adds_a_facility_and_a_user_then_deactivates_the_user(county, login):
    client = login(county.users["county"])
    response = client.post("/api/v1/facilities", json={"code": "NEW-V", "name": "新建村卫生室", "kind": "village_point",
                                                       "parent_id": county.townships[0].id, "population": 700})
    assert response.status_code == 201
    village_id = response.json["id"]
    page = client.post("/admin/users/new", data={"username": "newdoc", "display_name": "新医生", "password": "longenough1",
                                                "role": "village_doctor", "facility_id": village_id})
    assert page.status_code == 302
    from sqlalchemy import select

    from pharmacy.auth.models import User
    from pharmacy.extensions import db

    user = db.session.scalar(select(User).where(User.username == "newdoc"))
    assert user.facility_id == village_id and user.password_hash != "longenough1"
    client.post(f"/admin/users/{user.id}/active", data={"is_active": "0"})
    assert user.is_active is False


def test_a_village_doctor_cannot_be_homed_at_the_county(county, login):
    client = login(county.users["county"])
    page = client.post("/admin/users/new", data={"username": "wrong", "display_name": "x", "password": "longenough1",
                                                "role": "village_doctor", "facility_id": county.central.id})
    assert page.status_code == 422
    assert "该角色不能归属于此级别的机构" in page.get_data(as_text=True)


@pytest.mark.parametrize("role", ["viewer", "village", "township", "county"])
def test_only_formulary_admins_change_the_catalog(county, login, role, db_session):
    from tests.factories import make_product

    product = make_product()
    client = login(county.users[role])
    response = client.patch(f"/api/v1/catalog/products/{product.id}", json={"unified_price": "1.00", "reason": "试"})
    assert response.status_code == 403
    assert str(product.unified_price) == "12.50"


def test_deactivated_user_loses_the_session(county, login):
    from pharmacy.auth.services import set_user_active

    user = county.users["township"]
    client = login(user)
    assert client.get("/api/v1/auth/me").status_code == 200
    set_user_active(user, False)
    assert client.get("/api/v1/auth/me").status_code == 401


def test_login_locks_after_repeated_failures(client, county, db_session):
    user = county.users["viewer"]
    for _ in range(5):
        response = client.post("/login", data={"username": user.username, "password": "wrong"})
        assert response.status_code == 401
    response = client.post("/login", data={"username": user.username, "password": "correct horse"})
    assert response.status_code == 401
    assert "锁定" in response.get_data(as_text=True)
    user.locked_until = clock.now_utc() - timedelta(seconds=1)
    db_session.flush()
    assert client.post("/login", data={"username": user.username, "password": "correct horse"}).status_code == 302


def test_login_starts_a_new_session(client, county):
    with client.session_transaction() as session:
        session["planted"] = "attacker"
    client.post("/login", data={"username": county.users["viewer"].username, "password": "correct horse"})
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("_user_id")


def test_no_one_deactivates_their_own_account_from_the_page_or_the_api(county, login):
    admin = county.users["county"]
    client = login(admin)
    page = client.post(f"/admin/users/{admin.id}/active", data={"is_active": "0"})
    assert page.status_code == 403 and "不能停用自己的账户" in page.get_data(as_text=True)
    api = client.post(f"/api/v1/users/{admin.id}/active", json={"is_active": False})
    assert api.status_code == 403
    assert admin.is_active is True and client.get("/api/v1/auth/me").status_code == 200


def test_the_facility_page_and_the_api_add_and_deactivate_with_the_same_rules(county, login):
    client = login(county.users["county"])
    township = county.townships[0]
    form = {"code": "pg-v1", "name": "页面新村", "kind": "village_point", "parent_id": str(township.id),
            "population": ""}
    assert client.post("/admin/facilities/new", data=form).status_code == 302
    wrong_parent = client.post("/admin/facilities/new", data=form | {"code": "PG-V2", "parent_id": "0"})
    api = client.post("/api/v1/facilities", json={"code": "PG-V3", "name": "接口新村", "kind": "village_point",
                                                  "parent_id": None})
    assert wrong_parent.status_code == api.status_code == 422
    assert "上级机构的级别不符" in wrong_parent.get_data(as_text=True)
    made = next(f for f in client.get("/api/v1/facilities").json if f["code"] == "PG-V1")
    assert made["parent_id"] == township.id and made["population"] is None
    assert client.post(f"/admin/facilities/{made['id']}/active", data={"is_active": "0"}).status_code == 302
    inactive = client.get("/api/v1/facilities", query_string={"active": "false", "tier": "village"}).json
    assert [f["code"] for f in inactive] == ["PG-V1"]
    assert all(f["is_active"] for f in client.get("/api/v1/facilities?active=true").json)


def test_the_account_page_makes_a_token_with_the_apis_rules(county, login):
    client = login(county.users["township"])
    bad = client.post("/account/tokens", data={"name": "HIS", "scopes": ["read"], "days": "999"})
    assert bad.status_code == 422 and "account/tokens" in bad.get_data(as_text=True)
    made = client.post("/account/tokens", data={"name": "HIS", "scopes": ["read", "write"]})
    assert made.status_code == 201
    listed = client.get("/api/v1/auth/tokens").json
    assert [(t["name"], t["scopes"]) for t in listed] == [("HIS", ["read", "write"])]


def test_no_one_is_homed_at_a_deactivated_facility_by_the_page_or_the_api(county, login):
    client = login(county.users["county"])
    village = county.villages[0]
    assert client.post(f"/admin/facilities/{village.id}/active", data={"is_active": "0"}).status_code == 302
    person = {"username": "late-doc", "display_name": "迟到医生", "password": "longenough1", "role": "village_doctor",
              "facility_id": village.id}
    page = client.post("/admin/users/new", data=person)
    api = client.post("/api/v1/users", json=person)
    assert page.status_code == api.status_code == 422
    assert "该机构已停用" in page.get_data(as_text=True) and "facility_id" in api.json["error"]["fields"]
    assert all(u["username"] != "late-doc" for u in client.get("/api/v1/users").json)
