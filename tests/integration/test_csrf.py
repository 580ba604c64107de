"""Every form needs its CSRF token; JSON API writes are protected by their content type instead."""

import re

import pytest


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def _token(page: str) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)


def test_login_form_without_token_is_refused(client, county, csrf_on):
    response = client.post("/login", data={"username": county.users["viewer"].username, "password": "correct horse"})
    assert response.status_code == 400
    assert "安全令牌" in response.get_data(as_text=True)


def test_login_form_with_token_is_accepted(client, county, csrf_on):
    token = _token(client.get("/login").get_data(as_text=True))
    response = client.post("/login", data={"username": county.users["viewer"].username, "password": "correct horse",
                                           "csrf_token": token})
    assert response.status_code == 302


def test_catalog_form_without_token_changes_nothing(client, county, login, csrf_on, db_session):
    from tests.factories import make_product

    product = make_product()
    login(county.users["formulary"])
    response = client.post(f"/catalog/products/{product.id}", data={"unified_price": "1.00", "reason": "x"})
    assert response.status_code == 400
    assert str(product.unified_price) == "12.50"


def test_logout_needs_a_token(client, county, login, csrf_on):
    login(county.users["viewer"])
    assert client.post("/logout").status_code == 400


def test_non_json_api_write_needs_the_header_token(client, county, login, csrf_on, db_session):
    from tests.factories import make_product

    product = make_product()
    login(county.users["formulary"])
    response = client.post(f"/api/v1/catalog/products/{product.id}/withdraw", data={"reason": "x"})
    assert response.status_code in (400, 415, 422)
    assert product.status == "active"
