"""The OpenAPI document says what the API does: money is a decimal string, a 405 names the allowed methods, and a
bodyless write declares the CSRF header it needs from a cookie session (issue 13)."""

import re

from pharmacy.api import build_openapi
from pharmacy.extensions import db
from tests.factories import make_product

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"  # pharmacy.fields.DECIMAL_PATTERN, as the document writes it


def _document(app):
    with app.test_request_context():
        return build_openapi(app)


def test_every_money_field_is_documented_as_a_decimal_string(app):
    document = _document(app)
    schemas = document["components"]["schemas"]
    documented = {(name, prop) for name, body in schemas.items()
                  for prop, spec in body.get("properties", {}).items() if spec.get("pattern") == DECIMAL_PATTERN}
    assert len(documented) >= 10
    for name, prop in documented:
        spec = schemas[name]["properties"][prop]
        assert spec["type"] == "string" and "minimum" not in spec, (name, prop, spec)
    numbers = [(name, prop) for name, body in schemas.items() for prop, spec in body.get("properties", {}).items()
               if spec.get("type") == "number" and re.search(r"price|amount|total", prop)]
    assert numbers == []


def test_a_price_in_a_response_is_the_string_the_document_says(county, login):
    product = make_product(pack_size=10)
    db.session.commit()
    response = login(county.users["county"]).get(f"/api/v1/catalog/products/{product.id}")
    assert response.status_code == 200
    price = response.json["unified_price"]
    assert isinstance(price, str) and re.match(DECIMAL_PATTERN, price)


def test_a_405_names_the_allowed_methods(client):
    response = client.post("/api/v1/openapi.json")
    assert response.status_code == 405 and response.json["error"]["code"] == "method_not_allowed"
    assert {"GET", "HEAD"} <= {m.strip() for m in response.headers["Allow"].split(",")}


def test_bodyless_writes_declare_the_csrf_header_or_a_bearer_token(app):
    document = _document(app)
    assert document["components"]["securitySchemes"]["csrfHeader"] == {
        **document["components"]["securitySchemes"]["csrfHeader"], "type": "apiKey", "in": "header",
        "name": "X-CSRFToken"}
    submit = document["paths"]["/api/v1/orders/{order_id}/submit"]["post"]
    assert submit["security"] == [{"bearerToken": []}, {"cookieSession": [], "csrfHeader": []}]
    upload = document["paths"]["/api/v1/matching/imports"]["post"]
    assert {"cookieSession": [], "csrfHeader": []} in upload["security"]
    register = document["paths"]["/api/v1/shortages"]["post"]
    assert "security" not in register  # a JSON body is the cookie session's defence: the document's default
