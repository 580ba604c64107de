"""Pages and API of deliveries: authorization and scope, forms, JSON errors, the OpenAPI document."""

import pytest

from pharmacy.deliveries import services
from pharmacy.deliveries.models import DeliveryRun, Route, RunStatus, StopStatus
from pharmacy.extensions import db
from pharmacy.shortages.models import ShortageStatus
from tests.factories import make_product, make_route, make_shortage, next_weekday, stock_up


@pytest.fixture
def dispatched(county):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    pharmacist = county.users["township"]
    product = make_product("二甲双胍片", strength="0.5g", pack_size=48)
    stock_up(township, product, 480, user=pharmacist, lot="MET01")
    registered = make_shortage(v1, product, 2, user=county.users["village"])
    route = make_route(township, [v1, v2], name="南线")
    run = services.plan_run(route, next_weekday(2), user=pharmacist)
    services.confirm_run(run, user=pharmacist)
    services.dispatch_run(run, user=pharmacist)
    db.session.commit()  # requests roll back to here when they fail (the fixture still rolls the test back)
    return {"run": run, "route": route, "product": product, "shortage": registered, "stop": run.stops[0],
            "county": county}


def test_township_pages_render_in_chinese(county, login, dispatched):
    client = login(county.users["township"])
    for url in ("/deliveries", f"/deliveries/runs/{dispatched['run'].id}", "/deliveries/routes",
                f"/deliveries/routes/{dispatched['route'].id}", "/deliveries/routes/new", "/deliveries/alerts",
                "/deliveries/receipts"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert "配送" in response.get_data(as_text=True) or "预警" in response.get_data(as_text=True)
    pdf = client.get(f"/deliveries/runs/{dispatched['run'].id}/manifest.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")


def test_english_pages_have_no_chinese_ui_text_left(county, login, dispatched):
    client = login(county.users["township"])
    client.get("/lang/en")
    html = client.get(f"/deliveries/runs/{dispatched['run'].id}").get_data(as_text=True)
    assert "Delivery run" in html and "审核确认" not in html and "签收有差异" not in html


def test_village_doctor_receives_from_the_tablet_page(county, login, dispatched):
    stop, doctor = dispatched["stop"], county.users["village"]
    client = login(doctor)
    home = client.get("/", follow_redirects=True).get_data(as_text=True)
    assert "/deliveries/receipts" in home  # reachable from the doctor's menu
    listing = client.get("/deliveries/receipts").get_data(as_text=True)
    assert f"/deliveries/stops/{stop.id}/receipt" in listing
    page = client.get(f"/deliveries/stops/{stop.id}/receipt")
    assert page.status_code == 200 and "确认签收" in page.get_data(as_text=True)
    line = stop.lines[0]
    refused = client.post(f"/deliveries/stops/{stop.id}/receipt", data={
        "receiver_name": "李医生", "checked": "1", f"diff_{line.id}": "1", f"qty_{line.id}_packs": "1",
        f"qty_{line.id}_units": "0"})
    assert refused.status_code == 422 and "必须选择原因" in refused.get_data(as_text=True)
    assert stop.status == StopStatus.DISPATCHED
    done = client.post(f"/deliveries/stops/{stop.id}/receipt", data={
        "receiver_name": "李医生", "checked": "1", f"diff_{line.id}": "1", f"qty_{line.id}_packs": "1",
        f"qty_{line.id}_units": "0", f"reason_{line.id}": "damaged", f"note_{line.id}": "受潮"})
    assert done.status_code == 302
    db.session.expire_all()
    assert stop.status == StopStatus.RECEIVED and line.qty_received_base == 48
    assert dispatched["shortage"].status == ShortageStatus.ACKNOWLEDGED  # 1 of 2 boxes: open again
    assert "48" in dispatched["shortage"].difference_note
    again = client.post(f"/deliveries/stops/{stop.id}/receipt", data={"receiver_name": "李医生", "checked": "1"})
    assert again.status_code == 302  # a resend finds the receipt already recorded
    township_view = login(county.users["township"]).get(f"/deliveries/runs/{dispatched['run'].id}")
    assert "签收有差异" in township_view.get_data(as_text=True) and "受潮" in township_view.get_data(as_text=True)


def test_scope_and_permissions(county, login, dispatched):
    stop, run = dispatched["stop"], dispatched["run"]
    other = login(county.users["other_village"])  # a village of the other township
    assert other.get(f"/deliveries/stops/{stop.id}/receipt").status_code == 404
    assert other.post(f"/api/v1/deliveries/stops/{stop.id}/receipt",
                      json={"receiver_name": "x"}).status_code == 404
    doctor = login(county.users["village"])
    assert doctor.get(f"/deliveries/runs/{run.id}").status_code == 404
    assert doctor.post(f"/deliveries/routes/{dispatched['route'].id}/plan").status_code == 403
    assert doctor.get("/admin/scheduler").status_code == 403
    viewer = login(county.users["viewer"])
    assert viewer.get(f"/deliveries/runs/{run.id}").status_code == 200
    assert viewer.post(f"/api/v1/deliveries/{run.id}/cancel", json={"reason": "x"}).status_code == 403


def test_api_routes_and_planning(county, login):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    client = login(county.users["township"])
    body = {"township_id": township.id, "name": "北线", "weekdays": [3, 6], "departure_time": "07:30",
            "stops": [{"village_id": v2.id}, {"village_id": v1.id, "every_n_runs": 2, "phase": 1}]}
    created = client.post("/api/v1/routes", json=body)
    assert created.status_code == 201, created.json
    route = created.json
    assert [s["village_id"] for s in route["stops"]] == [v2.id, v1.id] and route["departure_time"] == "07:30"
    assert client.post("/api/v1/routes", json=body).status_code == 409
    bad = client.post("/api/v1/routes", json=body | {"name": "西线", "weekdays": [], "stops": []})
    assert bad.status_code == 422 and "weekdays" in bad.json["error"]["fields"]
    assert db.session.query(Route).count() == 1
    foreign = client.post("/api/v1/routes", json=body | {"township_id": county.townships[1].id, "name": "外线"})
    assert foreign.status_code == 403
    changed = client.put(f"/api/v1/routes/{route['id']}", json=body | {"name": "北环线", "weekdays": [3]})
    assert changed.status_code == 200 and changed.json["weekdays"] == [3]
    planned = client.post("/api/v1/deliveries", json={"route_id": route["id"]})
    assert planned.status_code == 201 and planned.json["status"] == RunStatus.PLANNED
    run_id = planned.json["id"]
    empty = client.post(f"/api/v1/deliveries/{run_id}/confirm", json={})
    assert empty.status_code == 409 and empty.json["error"]["code"] == "empty_run"
    listed = client.get("/api/v1/deliveries", query_string={"status": "planned"})
    assert [r["id"] for r in listed.json] == [run_id]
    assert client.get("/api/v1/deliveries", query_string={"status": "nonsense"}).status_code == 422
    assert client.post(f"/api/v1/deliveries/{run_id}/cancel", json={}).status_code == 422
    assert client.post(f"/api/v1/deliveries/{run_id}/cancel", json={"reason": "暂停"}).json["status"] == "cancelled"


def test_api_edit_lines_and_receipt(county, login, dispatched):
    stop = dispatched["stop"]
    line = stop.lines[0]
    township = login(county.users["township"])
    assert township.patch(f"/api/v1/deliveries/{dispatched['run'].id}/lines/{line.id}",
                          json={"qty_base": 10}).status_code == 409  # dispatched runs are not edited
    doctor = login(county.users["village"])
    detail = doctor.get(f"/api/v1/deliveries/stops/{stop.id}")
    assert detail.status_code == 200 and detail.json["lines"][0]["qty_base"] == 96
    assert "缺药登记" in detail.json["lines"][0]["reason"]
    bad = doctor.post(f"/api/v1/deliveries/stops/{stop.id}/receipt",
                      json={"receiver_name": "李医生", "lines": [{"line_id": line.id, "qty_received_base": 90,
                                                                  "reason": "stolen"}]})
    assert bad.status_code == 422
    ok = doctor.post(f"/api/v1/deliveries/stops/{stop.id}/receipt",
                     json={"receiver_name": "李医生", "checked": True, "lines": [{"line_id": line.id, "qty_received_base": 90,
                                                                 "reason": "missing", "note": "少6片"}]})  # the old code for "short"
    assert ok.status_code == 200 and ok.json["status"] == "received" and ok.json["has_differences"]
    assert ok.json["lines"][0]["discrepancy_reason"] == "short"
    twice = doctor.post(f"/api/v1/deliveries/stops/{stop.id}/receipt", json={"receiver_name": "李医生"})
    assert twice.status_code == 200 and twice.json == ok.json  # a resend: the receipt as recorded


def test_openapi_documents_routes_and_deliveries(client, county, login):
    paths = login(county.users["viewer"]).get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/routes", "/api/v1/routes/{route_id}", "/api/v1/deliveries", "/api/v1/deliveries/{run_id}",
                 "/api/v1/deliveries/{run_id}/dispatch", "/api/v1/deliveries/stops/{stop_id}/receipt",
                 "/api/v1/deliveries/{run_id}/manifest.pdf", "/api/v1/deliveries/alerts"):
        assert path in paths, path


def test_route_form_page_saves_stops_in_driving_order(county, login):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    client = login(county.users["township"])
    response = client.post(f"/deliveries/routes/new?township_id={township.id}", data={
        "name": "环线", "weekdays": ["2", "5"], "departure_time": "08:00", "is_active": "1",
        f"pos_{v1.id}": "2", f"pos_{v2.id}": "1", f"every_{v1.id}": "2", f"phase_{v1.id}": "1"})
    assert response.status_code == 302
    route = db.session.query(Route).one()
    assert [(s.village_id, s.every_n_runs, s.phase) for s in route.stops] == [(v2.id, 1, 0), (v1.id, 2, 1)]
    refused = client.post(f"/deliveries/routes/{route.id}", data={"name": "环线", "departure_time": "08:00",
                                                                  f"pos_{v1.id}": "1"})
    assert refused.status_code == 422 and "请至少选择一个出发日" in refused.get_data(as_text=True)
    planned = client.post(f"/deliveries/routes/{route.id}/plan")
    assert planned.status_code == 302
    assert db.session.query(DeliveryRun).count() == 1
    paused = client.post(f"/deliveries/routes/{route.id}", data={
        "name": "环线", "weekdays": ["2", "5"], "departure_time": "08:00", f"pos_{v1.id}": "1"})  # not active
    assert paused.status_code == 302
    refused = client.post(f"/deliveries/routes/{route.id}/plan")
    assert refused.status_code == 409 and "该路线已停用" in refused.get_data(as_text=True)
    assert db.session.query(DeliveryRun).count() == 1
