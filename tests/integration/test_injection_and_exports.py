"""Hostile text is stored and shown as text: no SQL, template or script injection, no formulas in exports,
and oversize bodies are refused with a Chinese message."""

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from pharmacy.extensions import db
from pharmacy.facilities.models import Facility

HOSTILE = [
    "'; DROP TABLE facility; --",
    "' OR '1'='1",
    "{{ 7*7 }}{{ config }}",
    "{% for x in range(3) %}loop{% endfor %}",
    "<script>alert(1)</script>",
    "%(name)s %s {0}",
    "${7*7}#{7*7}",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_facility_names_are_stored_and_shown_literally(county, login, text, db_session):
    client = login(county.users["county"])
    response = client.post("/api/v1/facilities", json={"code": f"H{HOSTILE.index(text)}", "name": text,
                                                       "kind": "village_point", "parent_id": county.townships[0].id})
    assert response.status_code == 201 and response.json["name"] == text
    assert db.session.scalar(select(func.count(Facility.id))) > 1  # the table is still there
    page = client.get("/admin/facilities").get_data(as_text=True)
    escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&#39;")
    assert escaped in page
    assert "<script>alert(1)</script>" not in page
    assert "SECRET_KEY" not in page and "loop" * 3 not in page


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_search_text_finds_nothing_and_breaks_nothing(county, login, text):
    client = login(county.users["viewer"])
    products = client.get("/api/v1/catalog/products", query_string={"q": text})
    assert products.status_code == 200 and products.json["items"] == [] and products.json["total"] == 0
    page = client.get("/catalog", query_string={"q": text})
    assert page.status_code == 200 and "<script>alert(1)</script>" not in page.get_data(as_text=True)


def test_the_audit_search_treats_wildcards_as_text(county, login):
    client = login(county.users["county"])
    client.post(f"/admin/facilities/{county.villages[0].id}/active", data={"is_active": "0"})
    assert client.get("/api/v1/audit/events", query_string={"text": "is_active"}).json
    for wildcard in ("%", "_", "%is_active%"):
        events = client.get("/api/v1/audit/events", query_string={"text": wildcard}).json
        assert all(wildcard in (e["actor"] + e["row_id"] + str(e["changes"])) for e in events), wildcard


def test_no_template_is_rendered_from_a_string():
    from pharmacy.config import ROOT

    offenders = [str(p) for p in (ROOT / "pharmacy").rglob("*.py")
                 if re.search(r"render_template_string|\bTemplate\(|from_string\(", p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_templates_never_switch_autoescaping_off():
    from pharmacy.config import ROOT

    offenders = [str(p) for p in (ROOT / "templates").rglob("*.html")
                 if re.search(r"\|\s*safe\b|autoescape\s+false|Markup\(", p.read_text(encoding="utf-8"))]
    assert offenders == []


FORMULAS = ["=HYPERLINK(\"http://evil\",\"x\")", "+1+1", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_exported_cells_never_start_a_formula(county, login, db_session, fmt):
    from tests.factories import make_product

    for n, formula in enumerate(FORMULAS):
        make_product(generic_name=formula, strength=f"{n}mg")
    response = login(county.users["viewer"]).get(f"/catalog/export.{fmt}", query_string={"status": ""})
    assert response.status_code == 200
    if fmt == "csv":
        cells = [c for row in csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))) for c in row]
    else:
        sheet = load_workbook(io.BytesIO(response.data), read_only=True).worksheets[0]
        cells = [c for row in sheet.iter_rows(values_only=True) for c in row if isinstance(c, str)]
    exported = [c for c in cells if any(f in c for f in FORMULAS)]
    assert len(exported) >= len(FORMULAS)
    assert all(c.startswith("'") for c in exported), exported
    assert not [c for c in cells if isinstance(c, str) and c[:1] in ("=", "+", "@")]


@pytest.fixture
def small_upload_limit(app):
    previous = app.config["MAX_CONTENT_LENGTH"]
    app.config["MAX_CONTENT_LENGTH"] = 2048
    yield
    app.config["MAX_CONTENT_LENGTH"] = previous


def test_oversize_bodies_are_refused_with_413_in_chinese(county, login, small_upload_limit):
    client = login(county.users["county"])
    api = client.post("/api/v1/facilities", json={"code": "BIG", "name": "大" * 5000, "kind": "village_point"})
    assert api.status_code == 413
    assert api.json["error"]["code"] == "request_entity_too_large" and "太大" in api.json["error"]["message"]
    page = client.post("/admin/facilities/new", data={"file": (io.BytesIO(b"x" * 10000), "big.xlsx")},
                       content_type="multipart/form-data")
    assert page.status_code == 413 and "上传的文件太大" in page.get_data(as_text=True)
