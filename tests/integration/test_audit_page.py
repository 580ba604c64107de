"""The audit page speaks of tables, columns and values by their names, and pages in SQL."""

import json
import re

from pharmacy.audit.models import AuditEvent
from pharmacy.extensions import db


def _visible(html: str) -> str:
    """The page's text as a reader sees it (tags and their attributes removed)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _event(county, table: str, action: str, changes: dict, row_id: str = "1") -> AuditEvent:
    event = AuditEvent(username="auditor", facility_id=county.central.id, source="web", actor="POST /x",
                       action=action, table_name=table, row_id=row_id, changes=json.dumps(changes))
    db.session.add(event)
    return event


def test_tables_columns_and_values_show_by_their_names(county, login, db_session):
    _event(county, "settlement_statement_line", "insert",
           {"is_vbp": [None, False], "product_name": [None, "阿莫西林胶囊"], "lot_number": [None, None]})
    _event(county, "shortage", "update", {"status": ["registered", "acknowledged"]})
    db.session.commit()
    client = login(county.users["county"])
    html = client.get("/admin/audit?username=auditor").get_data(as_text=True)
    text = _visible(html)
    assert "结算单明细" in text and "集采：否" in text.replace(" ", "") and "药品名称" in text
    assert "已登记" in text and "已确认" in text and "缺药登记记录" in text
    for raw in ("settlement_statement_line", "is_vbp", "product_name", "registered", "acknowledged"):
        assert raw not in text, raw
    assert "批号" not in _visible(html.split("<tbody>")[1])  # an empty column of a new row is not listed

    client.get("/lang/en")
    english = _visible(client.get("/admin/audit?username=auditor").get_data(as_text=True))
    assert "Statement line" in english and "VBP" in english and "No" in english
    assert "Acknowledged" in english and "settlement_statement_line" not in english


def test_no_known_table_shows_its_raw_name(county, login, db_session):
    tables = sorted(t.name for t in db.metadata.sorted_tables if t.name != "audit_event")
    for n, table in enumerate(tables):
        _event(county, table, "delete", {"id": [n, None]}, row_id=str(n))
    db.session.commit()
    html = login(county.users["county"]).get(f"/admin/audit?username=auditor&per_page={len(tables)}")
    text = _visible(html.get_data(as_text=True))
    shown = [t for t in tables if re.search(rf"(?<![\w]){t}(?![\w])", text)]
    assert shown == []


def test_the_page_pages_in_sql_and_the_api_shares_the_list(county, login, db_session):
    for n in range(120):
        _event(county, "facility", "update", {"phone": [f"old{n}", f"new{n}"]}, row_id=str(n))
    db.session.commit()
    client = login(county.users["county"])
    first = _visible(client.get("/admin/audit?username=auditor").get_data(as_text=True))
    assert "new119" in first and "new70" in first and "new69" not in first  # 50 a page, newest first
    assert "第 1 / 3 页" in first and "共 120 条" in first
    html = client.get("/admin/audit?username=auditor&page=2").get_data(as_text=True)
    second = _visible(html)
    assert "new69" in second and "new20" in second and "new70" not in second and "new19" not in second
    assert "第 2 / 3 页" in second and 'rel="prev"' in html and 'rel="next"' in html
    assert "new0" in _visible(client.get("/admin/audit?username=auditor&page=3").get_data(as_text=True))
    assert "没有符合条件的记录" in client.get("/admin/audit?username=auditor&page=9").get_data(as_text=True)

    api = client.get("/api/v1/audit/events?username=auditor&page=2&per_page=50").json
    assert [e["row_id"] for e in api] == [str(n) for n in range(69, 19, -1)]
    older = client.get("/api/v1/audit/events?username=auditor&limit=2").json  # the older arguments still work
    assert [e["row_id"] for e in older] == ["119", "118"]
    assert client.get("/api/v1/audit/events?per_page=0").status_code == 422


def test_a_bad_filter_is_ignored_and_said(county, login, db_session):
    _event(county, "facility", "update", {"phone": ["1", "2"]})
    db.session.commit()
    response = login(county.users["county"]).get("/admin/audit?username=auditor&date_from=not-a-date&page=x")
    text = _visible(response.get_data(as_text=True))
    assert response.status_code == 200 and "部分查询条件有误" in text and "机构" in text


def test_pointers_to_people_and_facilities_show_their_names_within_the_scope(county, login, db_session):
    from tests.factories import make_county

    other = make_county(townships=1, villages=1)
    village, doctor = county.villages[0], county.users["village"]
    _event(county, "shortage", "insert", {"facility_id": [None, village.id], "registered_by_id": [None, doctor.id]})
    _event(county, "stock_transfer", "update", {"to_facility_id": [village.id, other.villages[0].id]})
    db.session.commit()
    text = _visible(login(county.users["county"]).get("/admin/audit?username=auditor").get_data(as_text=True))
    assert f"{village.code} {village.name}（{village.id}）" in text
    assert f"{doctor.username}（{doctor.id}）" in text
    assert other.villages[0].code not in text and f"→ {other.villages[0].id} " in text  # not ours: its id only
