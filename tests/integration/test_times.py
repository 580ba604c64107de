"""Every moment the API writes carries its offset (UTC, `Z`), whether the database handed it back naive
(SQLite) or aware (PostgreSQL): a client that reads `2026-12-04T01:31:00` as its own local time is 8 hours off.
Pages show moments in the configured zone."""

import re
from datetime import UTC, datetime

import pytest
from flask import render_template_string

from pharmacy import clock, create_app
from pharmacy.api import build_openapi
from pharmacy.catalog.models import Product
from pharmacy.extensions import db
from pharmacy.shortages import services as shortages
from pharmacy.shortages.models import Shortage
from tests.factories import make_product

UTC_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
# 01:31 UTC on 4 December is 09:31 in Shanghai.
AT = datetime(2026, 12, 4, 1, 31, tzinfo=UTC)


def test_a_shortage_read_back_from_the_database_is_dumped_in_utc_with_z(county, login):
    shortage, _created = shortages.register_shortage(facility=county.villages[0], user=county.users["village"],
                                                     client_id="times-0001", product=make_product(), qty_packs=2)
    shortage.created_at = AT
    db.session.flush()
    db.session.expire_all()  # what the tablet gets is what the database hands back
    client = login(county.users["village"])
    [listed] = client.get("/api/v1/shortages?mine=1").json
    assert listed["created_at"] == "2026-12-04T01:31:00Z"
    assert UTC_ISO.match(listed["updated_at"])
    detail = client.get(f"/api/v1/shortages/{shortage.id}").json
    assert detail["created_at"] == "2026-12-04T01:31:00Z"
    assert all(UTC_ISO.match(event["created_at"]) for event in detail["events"])


def test_a_client_time_in_another_offset_is_stored_and_written_back_in_utc(county, login):
    # SQLite keeps a datetime's wall time and drops its zone: 09:31+08:00 stored as is would read back as 09:31 UTC.
    client = login(county.users["village"])
    product = make_product()
    body = {"client_id": "times-0002", "product_id": product.id, "qty_packs": 1,
            "client_created_at": "2026-12-04T09:31:00+08:00"}
    assert client.post("/api/v1/shortages", json=body).json["client_created_at"] == "2026-12-04T01:31:00Z"
    stored = db.session.scalar(db.select(Shortage).where(Shortage.client_id == "times-0002"))
    assert clock.as_utc(stored.client_created_at) == AT


def test_report_rows_carry_the_offset_of_their_times(county, login):
    shortage, _created = shortages.register_shortage(facility=county.villages[0], user=county.users["village"],
                                                     client_id="times-0003", product=make_product(), qty_packs=2)
    shortages.transition(shortage, "acknowledged", user=county.users["township"])
    db.session.flush()
    body = login(county.users["county"]).get("/api/v1/reports/shortages?per_page=5").json
    [row] = body["rows"]
    times = [row["registered_at"], row["acknowledged_at"]]  # a column, and an aggregate over the events
    assert all(UTC_ISO.match(t) for t in times), times


def test_audited_times_are_written_in_utc_with_z(county, login):
    product = make_product()
    product.withdrawn_at = datetime(2026, 12, 4, 1, 31)  # naive, as SQLite hands it back
    db.session.flush()
    db.session.expire(product)
    product = db.session.get(Product, product.id)
    product.withdrawn_at = None
    db.session.flush()
    events = login(county.users["county"]).get("/api/v1/audit/events?table_name=product&limit=5").json
    changes = [e["changes"]["withdrawn_at"] for e in events if "withdrawn_at" in e["changes"]]
    assert ["2026-12-04T01:31:00Z", None] in changes


def test_the_openapi_document_says_every_moment_is_utc_with_z():
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True})
    with app.app_context():
        document = build_openapi(app)
    assert "UTC" in document["info"]["description"]
    moments = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("format") == "date-time":
                moments.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document["components"]["schemas"])
    assert len(moments) > 20
    for prop in moments:
        assert UTC_ISO.match(prop["example"]) and "UTC with a Z" in prop["description"], prop


@pytest.mark.parametrize("zone,shown", [("Asia/Shanghai", "12-04 09:31"), ("Asia/Kolkata", "12-04 07:01")])
def test_page_filters_show_a_stored_moment_in_the_configured_zone(zone, shown):
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TESTING": True, "BABEL_DEFAULT_TIMEZONE": zone})
    naive = AT.replace(tzinfo=None)  # as SQLite hands it back
    with app.test_request_context("/"):
        page = render_template_string("{{ a|localtime('MM-dd HH:mm') }}|{{ n|datetimeformat('MM-dd HH:mm') }}|"
                                      "{{ time_zone }}", a=AT, n=naive)
    assert page == f"{shown}|{shown}|{zone}"
