"""API tokens: made on the account page (shown once, stored hashed), sent as a bearer header, scoped, expiring,
revocable, dead with their user; every use is the token's user in the audit trail; no CSRF for token requests."""

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from pharmacy import clock
from pharmacy.audit.models import AuditEvent
from pharmacy.auth import tokens
from pharmacy.auth.models import ApiToken
from pharmacy.auth.services import set_user_active
from pharmacy.extensions import db


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def bearer(plain: str) -> dict:
    return {"Authorization": f"Bearer {plain}"}


def make_token(user, scopes=("read", "write"), days=30) -> str:
    return tokens.create_token(user, name="测试接口", scopes=list(scopes), days=days, by=user).plain


def test_the_account_page_shows_a_new_token_once_and_keeps_only_its_hash(client, county, login):
    doctor = county.users["village"]
    login(doctor)
    response = client.post("/account/tokens", data={"name": "村卫生室平板", "scopes": ["read", "write"], "days": 30})
    assert response.status_code == 201 and response.headers["Cache-Control"] == "no-store"
    plain = re.search(r'data-testid="new-token">([^<]+)<', response.get_data(as_text=True)).group(1)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == doctor.id))
    assert token.token_hash == tokens.hash_token(plain) and plain not in (token.token_hash, token.token_prefix)
    assert token.scope_list == ["read", "write"] and plain.startswith(token.token_prefix)
    page = client.get("/account").get_data(as_text=True)
    assert plain not in page and token.token_prefix in page and "村卫生室平板" in page

    client.post(f"/account/tokens/{token.id}/revoke")
    assert client.get("/api/v1/auth/me", headers=bearer(plain)).status_code == 401


def test_a_bearer_token_is_its_user_without_a_cookie_or_csrf(client, county, csrf_on):
    doctor = county.users["village"]
    plain = make_token(doctor)
    me = client.get("/api/v1/auth/me", headers=bearer(plain))
    assert me.status_code == 200 and me.get_json()["username"] == doctor.username
    assert "Set-Cookie" not in me.headers
    # A write with a JSON body and a bodyless write: neither needs a CSRF token with a bearer token.
    created = client.post("/api/v1/auth/tokens", headers=bearer(plain), json={"name": "x", "scopes": ["read"]})
    assert created.status_code == 403 and created.get_json()["error"]["code"] == "token_not_allowed"
    [own] = client.get("/api/v1/auth/tokens", headers=bearer(plain)).get_json()
    revoked = client.post(f"/api/v1/auth/tokens/{own['id']}/revoke", headers=bearer(plain))
    assert revoked.status_code == 200 and revoked.get_json()["status"] == "revoked"


def test_a_cookie_session_needs_x_csrftoken_for_a_bodyless_write(client, county, login, csrf_on):
    doctor = county.users["village"]
    token_id = tokens.create_token(doctor, name="x", scopes=["read"], days=1, by=doctor).token.id
    login(doctor)
    refused = client.post(f"/api/v1/auth/tokens/{token_id}/revoke")
    assert refused.status_code == 400 and refused.get_json()["error"]["code"] == "csrf"
    csrf = client.get("/api/v1/auth/csrf").get_json()["csrf_token"]
    accepted = client.post(f"/api/v1/auth/tokens/{token_id}/revoke", headers={"X-CSRFToken": csrf})
    assert accepted.status_code == 200 and accepted.get_json()["status"] == "revoked"


def test_bad_expired_revoked_and_deactivated_tokens_are_refused(client, county, login):
    doctor = county.users["village"]
    assert client.get("/api/v1/auth/me", headers=bearer("ph_nonsense")).get_json()["error"]["code"] == "invalid_token"
    expired = tokens.create_token(doctor, name="old", scopes=["read"], days=1, by=doctor)
    expired.token.expires_at = clock.now_utc() - timedelta(minutes=1)
    db.session.flush()
    assert client.get("/api/v1/auth/me", headers=bearer(expired.plain)).status_code == 401
    plain = make_token(doctor)
    # A cookie session of someone else does not rescue nor override a bearer request.
    login(county.users["county"])
    assert client.get("/api/v1/auth/me", headers=bearer(plain)).get_json()["username"] == doctor.username
    set_user_active(doctor, False)
    refused = client.get("/api/v1/auth/me", headers=bearer(plain))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_token"


def test_scopes_narrow_the_role(client, county):
    doctor = county.users["village"]
    read_only = make_token(doctor, scopes=("read",))
    assert client.get("/api/v1/shortages", headers=bearer(read_only)).status_code == 200
    refused = client.post("/api/v1/shortages", headers=bearer(read_only), json={})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "token_scope"
    # A write scope never grants what the role does not.
    writer = make_token(doctor)
    assert client.post("/api/v1/orders/draft", headers=bearer(writer)).status_code == 403


def test_token_errors_speak_the_users_language(client, county):
    doctor = county.users["village"]
    doctor.locale = "en"
    db.session.flush()
    read_only = make_token(doctor, scopes=("read",))
    message = client.post("/api/v1/shortages", headers=bearer(read_only), json={}).get_json()["error"]["message"]
    assert message == "This token lacks the “Write” scope"


def test_every_token_write_is_its_user_in_the_audit_trail(client, county):
    doctor = county.users["village"]
    made = tokens.create_token(doctor, name="平板", scopes=["read", "write"], days=5, by=doctor)
    other = tokens.create_token(doctor, name="旧平板", scopes=["read"], days=5, by=doctor).token
    response = client.post(f"/api/v1/auth/tokens/{other.id}/revoke", headers=bearer(made.plain))
    assert response.status_code == 200
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.table_name == "api_token",
                                                        AuditEvent.row_id == str(other.id),
                                                        AuditEvent.action == "update")).one()
    assert (event.user_id, event.username, event.source) == (doctor.id, doctor.username, "api")
    assert event.actor.endswith(f"[token {made.token.id}]")
    assert "token_hash" not in event.changes or made.plain not in event.changes


def test_admins_see_and_revoke_tokens_in_their_scope_and_no_one_else_does(client, county, login):
    doctor, admin = county.users["village"], county.users["county"]
    doctors = make_token(doctor)
    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == doctor.id))
    other = make_token(county.users["other_village"])
    assert client.post(f"/api/v1/auth/tokens/{token_id}/revoke", headers=bearer(other)).status_code == 404
    admin_token = make_token(admin)
    listed = client.get("/api/v1/auth/tokens?everyone=true", headers=bearer(admin_token)).get_json()
    assert token_id in [t["id"] for t in listed]
    assert client.get("/api/v1/auth/tokens?everyone=true", headers=bearer(doctors)).get_json()[0]["user"]["id"] \
        == doctor.id
    login(admin)
    assert token_id and "测试接口" in client.get("/account").get_data(as_text=True)
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/auth/me", headers=bearer(doctors)).status_code == 401


def test_admins_make_a_token_for_a_systems_account_in_their_scope(client, county, login):
    login(county.users["county"])
    made = client.post("/api/v1/auth/tokens", json={"name": "HIS", "scopes": ["read"], "days": 365,
                                                     "user_id": county.users["viewer"].id})
    assert made.status_code == 201
    body = made.get_json()
    assert body["token"].startswith("ph_") and body["user"]["id"] == county.users["viewer"].id
    assert client.get("/api/v1/auth/me", headers=bearer(body["token"])).get_json()["role"] == "viewer"
    login(county.users["township"])
    refused = client.post("/api/v1/auth/tokens", json={"name": "x", "scopes": ["read"],
                                                       "user_id": county.users["village"].id})
    assert refused.status_code == 403
    bad = client.post("/api/v1/auth/tokens", json={"name": "x", "scopes": ["admin"], "days": 999})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"scopes", "days"}


def test_users_are_listed_within_the_callers_subtree(client, county):
    admin = make_token(county.users["county"])
    listed = client.get("/api/v1/users", headers=bearer(admin)).get_json()
    assert {county.users["village"].id, county.users["township"].id} <= {u["id"] for u in listed}
    assert "password_hash" not in listed[0] and "password" not in listed[0]
    village = county.villages[0]
    only_village = client.get(f"/api/v1/users?facility_id={village.id}", headers=bearer(admin)).get_json()
    assert [u["id"] for u in only_village] == [county.users["village"].id]
    assert client.get("/api/v1/users", headers=bearer(make_token(county.users["township"]))).status_code == 403
    created = client.post("/api/v1/users", headers=bearer(admin), json={
        "username": "his-system", "display_name": "HIS 接口", "password": "long enough pw", "role": "viewer",
        "facility_id": county.county.id})
    assert created.status_code == 201 and created.get_json()["role"] == "viewer"
    off = client.post(f"/api/v1/users/{created.get_json()['id']}/active", headers=bearer(admin),
                      json={"is_active": False})
    assert off.status_code == 200 and off.get_json()["is_active"] is False


def test_the_openapi_document_declares_bearer_and_cookie_security(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert set(document["components"]["securitySchemes"]) == {"bearerToken", "cookieSession", "csrfHeader"}
    assert document["components"]["securitySchemes"]["bearerToken"]["scheme"] == "bearer"
    assert document["security"] == [{"bearerToken": []}, {"cookieSession": []}]
    submit = document["paths"]["/api/v1/orders/{order_id}/submit"]["post"]
    assert "X-CSRFToken" in [p.get("name") for p in submit["parameters"]]
    assert submit.get("requestBody", {}).get("required", False) is False
