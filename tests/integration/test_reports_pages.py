"""Dashboard and report pages: who sees what, filters, downloads, and the tracer list."""

import csv
import io
import itertools
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from openpyxl import load_workbook
from sqlalchemy import select, update

from pharmacy import clock
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import StockMovement
from pharmacy.reports.models import TracerProduct
from pharmacy.shortages.progress import Stage
from pharmacy.shortages.services import record_stage, register_shortage, transition
from tests.factories import make_county, make_product

NOW = clock.now_utc().replace(microsecond=0)
LOCAL_TODAY = datetime.now(ZoneInfo("Asia/Shanghai")).date()
_keys = itertools.count(1)


def _at(operation, when):
    db.session.execute(update(StockMovement).where(StockMovement.operation_id == operation.id).values(created_at=when))


def receive(facility, product, qty, user, *, when=None, expiry_days=400, lot_number=None):
    operation = stock.receive(facility, product, lot_number=lot_number or f"P{next(_keys)}", qty_base=qty,
                              expiry_date=NOW.date() + timedelta(days=expiry_days), user=user, key=f"p{next(_keys)}")
    _at(operation, when or NOW - timedelta(days=60))
    return operation


def dispense(facility, product, qty, user, when):
    _at(stock.dispense(facility, product, qty_base=qty, user=user, key=f"p{next(_keys)}"), when)


# County pharmacists start on their to-do page (tests/integration/test_start_pages.py), which links the dashboard.
@pytest.mark.parametrize("role, start", [("viewer", "/dashboard"), ("county", None), ("township", None),
                                         ("village", None)])
def test_viewers_start_on_the_dashboard(client, login, county, role, start):
    login(county.users[role])
    response = client.get("/")
    if start:
        assert response.status_code == 302 and response.headers["Location"].endswith(start)
    else:  # their own start page, not the dashboard
        assert not response.headers.get("Location", "").endswith("/dashboard")


def test_dashboard_for_county_township_and_not_for_village_doctors(client, login, county):
    login(county.users["county"])
    page = client.get("/dashboard")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "药品供应驾驶舱" in text and county.county.name in text and 'class="spark' in text
    assert not re.search(r"<script(?![^>]*\bsrc=)", text) and "style=" not in text  # the CSP forbids inline
    assert "趋势历史周：尚未计算" in text  # the nightly job that keeps the past weeks has not run here
    login(county.users["township"])
    text = client.get("/dashboard").get_data(as_text=True)
    assert county.townships[0].name in text and '<th scope="row">1村</th>' in text  # 测试1镇1村卫生室, short
    login(county.users["village"])
    assert client.get("/dashboard").status_code == 403
    assert client.get("/reports/stock").status_code == 403


def test_dashboard_narrows_to_a_township_inside_the_scope_only(client, login, county):
    t1, t2 = county.townships
    login(county.users["county"])
    assert t2.name in client.get(f"/dashboard?unit={t2.id}").get_data(as_text=True)
    assert client.get(f"/dashboard?unit={county.villages[0].id}").status_code == 422
    assert client.get("/dashboard?unit=abc").status_code == 422
    assert client.get("/dashboard?unit=").status_code == 200  # "whole county" in the form
    login(county.users["township"])
    assert client.get(f"/dashboard?unit={t2.id}").status_code == 403
    assert client.get(f"/dashboard?unit={t1.id}").status_code == 200
    other = make_county(townships=1, villages=1)
    login(county.users["county"])
    assert client.get(f"/dashboard?unit={other.townships[0].id}").status_code == 403


def test_dashboard_in_english(client, login, county):
    login(county.users["viewer"])
    client.get("/lang/en")
    text = client.get("/dashboard").get_data(as_text=True)
    assert "Medicine supply dashboard" in text and "Tracer availability" in text and "药品供应驾驶舱" not in text
    assert 'title="Of every pair of an active village point' in text  # the definition on hover, in English


def test_each_figure_explains_itself_on_hover_and_in_the_api(client, login, county):
    from pharmacy.reports.definitions import FIGURES

    login(county.users["county"])
    text = client.get("/dashboard").get_data(as_text=True)
    for figure in FIGURES.values():
        assert f'title="{figure.definition}"' in text, figure.key
    assert text.count('class="info"') >= len(FIGURES)
    body = client.get("/api/v1/reports/dashboard").get_json()
    assert set(body["definitions"]) == set(FIGURES)
    assert body["definitions"]["stockouts"]["name"] == "村级断货"
    assert body["tracer_pairs"] == body["village_count"] * body["tracer_count"]
    client.get("/lang/en")
    english = client.get("/api/v1/reports/dashboard").get_json()["definitions"]
    assert english["availability"]["name"] == "Tracer availability"
    assert english["stockouts"]["definition"].startswith("The same population as availability")


@pytest.fixture
def report_data(county):
    user = county.users["county"]
    v11, v12, v21, _ = county.villages
    amlodipine = make_product("氨氯地平", price="24.00", pack_size=12)
    other = make_product("甲硝唑", price="6.00", pack_size=10)
    receive(v11, amlodipine, 100, user, lot_number="A1", expiry_days=30)  # expires within 90 days
    receive(v12, amlodipine, 50, user, lot_number="A2")
    receive(v21, other, 20, user, lot_number="B1")
    receive(county.central, amlodipine, 1200, user, lot_number="A3", expiry_days=200)
    dispense(v11, amlodipine, 60, user, NOW - timedelta(days=2))
    dispense(v12, amlodipine, 30, user, NOW - timedelta(days=3))
    dispense(v12, amlodipine, 5, user, NOW - timedelta(days=40))  # before the 30-day range below
    dispense(v21, other, 4, user, NOW - timedelta(days=1))
    return amlodipine, other


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def test_stock_report_by_facility_and_product_with_filters(client, login, county, report_data):
    amlodipine, _other = report_data
    v11 = county.villages[0]
    login(county.users["county"])
    rows = _csv(client.get("/reports/stock.csv"))
    assert rows[0][:4] == ["乡镇", "机构", "产品编码", "通用名"]
    by_facility = {(r[1], r[2]): r for r in rows[1:]}
    # V11: 100 received, 60 dispensed → 40 on hand, all of a lot expiring in 30 days; 40/12 packs at ¥24 a pack.
    row = by_facility[(v11.name, amlodipine.code)]
    assert row[0] == county.townships[0].name
    assert (row[7], row[8], row[9], row[10]) == ("40", "3.33", "40", "40")
    assert row[11] == (NOW.date() + timedelta(days=30)).isoformat() and row[12] == "80.0"
    assert len(rows) == 1 + 4  # V11, V12, V21 and the central pharmacy
    only_t2 = _csv(client.get(f"/reports/stock.csv?township={county.townships[1].id}&village=&q=&class_path="))
    assert [r[1] for r in only_t2[1:]] == [county.villages[2].name]
    only_v11 = _csv(client.get(f"/reports/stock.csv?village={v11.id}"))
    assert [r[1] for r in only_v11[1:]] == [v11.name]
    by_name = _csv(client.get("/reports/stock.csv?q=甲硝"))
    assert {r[3] for r in by_name[1:]} == {"甲硝唑"}
    by_class = _csv(client.get("/reports/stock.csv?class_path=测试类"))
    assert len(by_class) == 5 and len(_csv(client.get("/reports/stock.csv?class_path=抗微生物药"))) == 1
    page = client.get("/reports/stock?per_page=2")
    assert page.status_code == 200 and "下一页" in page.get_data(as_text=True)
    assert "下一页" not in client.get("/reports/stock?per_page=2&page=2").get_data(as_text=True)


def test_consumption_report_computes_amc_over_the_chosen_days(client, login, county, report_data):
    amlodipine, other = report_data
    login(county.users["county"])
    start = LOCAL_TODAY - timedelta(days=29)
    rows = _csv(client.get(f"/reports/consumption.csv?date_from={start}&date_to={LOCAL_TODAY}"))
    by_code = {r[0]: r for r in rows[1:]}
    # 60 + 30 dispensed in 30 days (the 5 of 40 days ago fall outside) at 2 villages: AMC 90 a month, 45 a village.
    row = by_code[amlodipine.code]
    assert (row[5], row[6], row[7], row[8]) == ("2", "90", "90.0", "45.0")
    assert row[9] == "55"  # on hand now: 100 − 60 at V11, 50 − 30 − 5 at V12
    assert float(row[10]) == pytest.approx(55 / 90, abs=0.01)
    sixty = _csv(client.get(f"/reports/consumption.csv?date_from={LOCAL_TODAY - timedelta(days=59)}"
                            f"&date_to={LOCAL_TODAY}"))
    assert {r[0]: r for r in sixty[1:]}[amlodipine.code][7] == "47.5"  # 95 in 60 days
    assert by_code[other.code][6] == "4"


def test_shortage_register_lists_the_time_of_every_status(client, login, county):
    village, user = county.villages[0], county.users["county"]
    product = make_product("硝苯地平")
    shortage, _ = register_shortage(facility=village, user=user, client_id="reg-1", qty_packs=2, product=product,
                                    urgency="urgent")
    transition(shortage, "acknowledged", user=user)
    for stage in (Stage.ON_ORDER, Stage.IN_TRANSIT, Stage.DELIVERED):  # what the goods did
        record_stage(shortage, stage, user=user)
    times = [datetime(2026, 3, 2, 1, 0, tzinfo=ZoneInfo("UTC")) + timedelta(hours=5 * i) for i in range(5)]
    shortage.created_at = times[0]
    for event, moment in zip(shortage.events, times, strict=True):
        event.created_at = moment
    register_shortage(facility=county.villages[3], user=user, client_id="reg-2", qty_packs=1, free_text="某药水")
    db.session.flush()
    login(county.users["county"])
    rows = _csv(client.get("/reports/shortages.csv?date_from=2026-03-01&date_to=2026-03-05"))
    assert len(rows) == 2
    row = rows[1]
    assert row[4] == "硝苯地平 5mg" and row[6] == "紧急" and row[8] == "已送达"
    # Local time is UTC+8: 01:00 UTC is 09:00 in the county.
    assert row[9:14] == ["2026-03-02 09:00:00", "2026-03-02 14:00:00", "2026-03-02 19:00:00",
                         "2026-03-03 00:00:00", "2026-03-03 05:00:00"]
    assert row[14] == ""
    page = client.get("/reports/shortages?date_from=2026-03-01&date_to=2026-03-05").get_data(as_text=True)
    # The page leaves the code and the intermediate times out (it must fit 1280 px) and names them for the download.
    assert "<th>确认时间</th>" not in page and "2026-03-02 14:00" not in page and "2026-03-03 05:00" in page
    assert "导出文件另含：产品编码、确认时间、订购时间、发出时间、取消时间" in page
    recent = _csv(client.get("/reports/shortages.csv"))
    assert [r[4] for r in recent[1:]] == ["某药水"]  # the default range is the last 90 days
    client.get("/lang/en")
    english = _csv(client.get("/reports/shortages.csv?date_from=2026-03-01&date_to=2026-03-05"))
    assert english[0][6] == "Urgency" and english[1][6] == "Urgent" and english[1][8] == "Delivered"


def test_near_expiry_list_and_excel_download(client, login, county, report_data):
    login(county.users["county"])
    rows = _csv(client.get("/reports/near_expiry.csv"))
    assert [(r[1], r[5], r[7]) for r in rows[1:]] == [(county.villages[0].name, "A1", "40")]
    wider = _csv(client.get(f"/reports/near_expiry.csv?date_to={NOW.date() + timedelta(days=500)}"))
    assert [r[5] for r in wider[1:]] == ["A1", "A3", "A2", "B1"]  # by expiry, then facility
    later = _csv(client.get(f"/reports/near_expiry.csv?date_from={NOW.date() + timedelta(days=150)}"))
    assert [r[5] for r in later[1:]] == ["A3"]  # days 150 to 240: the default span of 90 days
    response = client.get("/reports/near_expiry.xlsx")
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(response.get_data())).active
    values = list(sheet.values)
    assert values[0][5] == "批号" and values[1][5] == "A1" and values[1][7] == 40
    assert "near_expiry" in response.headers["Content-Disposition"]


def test_report_filters_stay_inside_the_readers_scope(client, login, county, report_data):
    t1, t2 = county.townships
    login(county.users["township"])
    assert client.get(f"/reports/stock?township={t2.id}").status_code == 403
    assert client.get(f"/reports/stock.csv?village={county.villages[2].id}").status_code == 403
    rows = _csv(client.get("/reports/stock.csv"))
    assert {r[0] for r in rows[1:]} == {t1.name}
    login(county.users["county"])
    assert client.get(f"/reports/stock?township={county.villages[0].id}").status_code == 422
    assert client.get(f"/reports/stock?township={t2.id}&village={county.villages[0].id}").status_code == 422
    assert client.get("/reports/consumption?date_from=2026-05-02&date_to=2026-05-01").status_code == 422
    assert client.get("/reports/consumption?date_from=yesterday").status_code == 422
    assert client.get("/reports/nothing").status_code == 404
    assert client.get("/reports/stock.pdf").status_code == 404


def test_reports_index_lists_every_report(client, login, county):
    login(county.users["viewer"])
    text = client.get("/reports").get_data(as_text=True)
    for title in ("库存明细", "村级消耗与月均用量", "缺药登记簿", "近效期清单"):
        assert title in text


def _tracers(county):
    return list(db.session.scalars(select(TracerProduct).where(TracerProduct.county_id == county.county.id)))


def test_county_staff_keep_the_tracer_list(client, login, county):
    paracetamol = make_product("对乙酰氨基酚")
    chronic = make_product("缬沙坦", chronic_tags="hypertension")
    township_only = make_product("头孢曲松", lowest_tier="township")
    login(county.users["county"])
    response = client.post("/dashboard/tracers", data={"product_code": paracetamol.code, "note": "儿童退热"})
    assert response.status_code == 302
    [tracer] = _tracers(county)
    assert (tracer.product_id, tracer.note) == (paracetamol.id, "儿童退热")
    assert tracer.added_by_id == county.users["county"].id
    assert client.post("/dashboard/tracers", data={"product_code": paracetamol.code}).status_code == 409
    assert client.post("/dashboard/tracers", data={"product_code": chronic.code}).status_code == 409
    assert client.post("/dashboard/tracers", data={"product_code": township_only.code}).status_code == 422
    assert client.post("/dashboard/tracers", data={"product_code": "NOPE-99"}).status_code == 404
    assert client.post("/dashboard/tracers", data={"product_code": ""}).status_code == 422
    assert "儿童退热" in client.get("/dashboard/tracers").get_data(as_text=True)
    assert len(_tracers(county)) == 1

    login(county.users["township"])
    assert client.post("/dashboard/tracers", data={"product_code": chronic.code}).status_code == 403
    assert client.post(f"/dashboard/tracers/{tracer.id}/delete").status_code == 403
    page = client.get("/dashboard/tracers").get_data(as_text=True)
    assert "儿童退热" in page and 'name="product_code"' not in page

    other = make_county(townships=1, villages=1)
    login(other.users["county"])
    assert client.post(f"/dashboard/tracers/{tracer.id}/delete").status_code == 404
    login(county.users["formulary"])
    assert client.post(f"/dashboard/tracers/{tracer.id}/delete").status_code == 302
    assert _tracers(county) == []


def test_delivery_run_report_and_differences(client, login, county):
    from tests.factories import make_delivery_run

    t1, t2 = county.townships
    v11, v12, v21, _ = county.villages
    p, q = make_product("硝苯地平"), make_product("甲硝唑")
    user = county.users["township"]
    departed = NOW - timedelta(days=3)
    run = make_delivery_run(t1, user, departed=departed, stops=[
        (v11, departed + timedelta(hours=3), [(p, 100, 100, 90, "damaged"), (q, 50, 40, 40, "")]),
        (v12, departed + timedelta(hours=4), [(p, 30, 30, 30, "")])])
    make_delivery_run(t2, user, departed=departed, stops=[(v21, None, [(p, 20, 20, None, "")])], status="dispatched")
    login(county.users["county"])
    rows = _csv(client.get("/reports/deliveries.csv"))
    assert rows[0][0] == "配送单号"
    mine = next(r for r in rows[1:] if r[1] == t1.name)
    assert mine[0] == f"PS{departed:%Y%m%d}-{run.id:04d}" and mine[4] == "已签收"
    assert mine[5:12] == ["2", "3", "180", "170", "160", "1", "10"]  # stops, lines, planned, sent, received …
    other = next(r for r in rows[1:] if r[1] == t2.name)
    assert other[4] == "已发车" and other[9:12] == ["0", "0", "0"]
    only_q = _csv(client.get("/reports/deliveries.csv?q=甲硝"))
    assert [r[5:9] for r in only_q[1:]] == [["1", "1", "50", "40"]]
    at_v12 = _csv(client.get(f"/reports/deliveries.csv?village={v12.id}"))
    assert [r[5:10] for r in at_v12[1:]] == [["1", "1", "30", "30", "30"]]

    differences = _csv(client.get("/reports/delivery_differences.csv"))
    assert len(differences) == 2
    line = differences[1]
    assert (line[3], line[4], line[8:12], line[13]) == (v11.name, p.code, ["100", "100", "90", "10"], "破损")
    login(county.users["township"])
    assert len(_csv(client.get("/reports/deliveries.csv"))) == 2  # its own township's run only
    assert client.get(f"/reports/delivery_differences?township={t2.id}").status_code == 403
    page = client.get("/reports/deliveries")
    assert page.status_code == 200 and "PS" in page.get_data(as_text=True)


def test_dashboard_api_gives_the_figures_of_the_readers_scope(client, login, county, report_data):
    login(county.users["township"])
    body = client.get("/api/v1/reports/dashboard").get_json()
    assert body["scope"]["id"] == county.townships[0].id and body["village_count"] == 2
    assert len(body["availability"]["values"]) == 13 and len(body["availability"]["points"]) == 13
    assert set(body["response"]) == {"4w", "12w"} and "open_by_urgency_age" in body
    assert client.get(f"/api/v1/reports/dashboard?unit={county.townships[1].id}").status_code == 403
    login(county.users["village"])
    denied = client.get("/api/v1/reports/dashboard")
    assert denied.status_code == 403 and denied.get_json()["error"]["code"] == "forbidden"


def test_report_api_pages_rows_with_labels_in_the_readers_language(client, login, county, report_data):
    amlodipine, _other = report_data
    login(county.users["county"])
    body = client.get(f"/api/v1/reports/stock?village={county.villages[0].id}&per_page=1").get_json()
    assert body["report"] == "stock" and body["columns"][2] == {"key": "code", "label": "产品编码", "kind": "text"}
    assert body["rows"] == [{**body["rows"][0], "code": amlodipine.code, "qty": 40, "usable": 40}]
    assert body["has_next"] is False and body["scope"]["id"] == county.villages[0].id
    first, second = (client.get(f"/api/v1/reports/stock?per_page=2&page={n}").get_json() for n in (1, 2))
    assert (len(first["rows"]), first["has_next"], first["page"], first["per_page"]) == (2, True, 1, 2)
    assert (len(second["rows"]), second["has_next"], second["page"]) == (2, False, 2)  # four rows in all
    assert client.get("/api/v1/reports/stock?per_page=501").status_code == 422
    bad = client.get("/api/v1/reports/consumption?date_from=2026-05-02&date_to=2026-05-01")
    assert bad.status_code == 422 and bad.get_json()["error"]["fields"]["date_from"]
    assert client.get("/api/v1/reports/nothing").status_code == 404


def test_openapi_documents_the_reports_api(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "get" in paths["/api/v1/reports/dashboard"] and "get" in paths["/api/v1/reports/{key}"]
