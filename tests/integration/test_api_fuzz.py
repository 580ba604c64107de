"""Schemathesis against /api/v1/openapi.json: no generated input makes the API answer 5xx.

Bounded for CI: a few examples per operation, derandomised (the same inputs every run, so a failure reproduces).
The session is a signed-in county pharmacist of a small county; every test rolls back what the API wrote.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from pharmacy import create_app
from pharmacy.api import build_openapi

MAX_EXAMPLES = 5
# No 5xx, and every answer is one the document declares: its status, its content type and its body's schema.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _document() -> dict:
    """The OpenAPI document as served; building it needs the app's routes, not a database."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    with app.app_context():
        return build_openapi(app)


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture
def county_client(county, login):
    return login(county.users["county"])


@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
def test_no_generated_input_causes_a_server_error(case, county_client):
    kwargs = case.as_transport_kwargs(base_url="http://localhost")
    path = kwargs["url"].removeprefix("http://localhost")
    request = {"method": kwargs["method"], "query_string": kwargs.get("params") or None,
               "headers": {k: v for k, v in kwargs["headers"].items() if k.lower() not in ("connection",)}}
    if "json" in kwargs:
        request["json"] = kwargs["json"]
    elif "data" in kwargs:
        request["data"] = kwargs["data"]
    response = county_client.open(path, **request)
    assert response.status_code < 500, (case.as_curl_command(), response.get_data(as_text=True)[:500])
    case.validate_response(response, checks=CHECKS)
