"""Deliveries' operations: the receipt's rules hold for the page and the API alike, and the run page says what each
action did and comes back to the stop or line that was edited."""

import pytest

from pharmacy.deliveries import services
from pharmacy.deliveries.models import DeliveryLine, DeliveryStop, StopStatus
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from tests.factories import make_product, make_route, make_shortage, next_weekday, stock_up


def _planned(county, *, dispatch: bool):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    pharmacist = county.users["township"]
    product = make_product("二甲双胍片", strength="0.5g", pack_size=48)
    stock_up(township, product, 480, user=pharmacist, lot="MET01")
    make_shortage(v1, product, 2, user=county.users["village"])
    run = services.plan_run(make_route(township, [v1, v2], name="南线"), next_weekday(2), user=pharmacist)
    if dispatch:
        services.confirm_run(run, user=pharmacist)
        services.dispatch_run(run, user=pharmacist)
    db.session.commit()  # requests roll back to here when they fail (the fixture still rolls the test back)
    return run, product


@pytest.fixture
def dispatched(county):
    run, product = _planned(county, dispatch=True)
    return {"run": run, "stop": run.stops[0], "product": product, "village": county.villages[0]}


@pytest.fixture
def planned(county):
    run, product = _planned(county, dispatch=False)
    return {"run": run, "stop": run.stops[0], "product": product}


def _nothing_received(d):
    db.session.expire_all()
    stop = db.session.get(DeliveryStop, d["stop"].id)
    assert stop.status == StopStatus.DISPATCHED and stop.consignment.proof is None
    assert all(line.qty_received_base is None for line in stop.lines)
    assert stock.on_hand(d["village"].id, d["product"].id) == 0


# ---------------------------------------------------------------- receipt: the API has the page's rules

@pytest.mark.parametrize("checked", [None, False])
def test_api_refuses_a_receipt_not_checked_line_by_line(county, login, dispatched, checked):
    body = {"receiver_name": "李医生"} | ({} if checked is None else {"checked": checked})
    refused = login(county.users["village"]).post(f"/api/v1/deliveries/stops/{dispatched['stop'].id}/receipt",
                                                  json=body)
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["code"] == "not_checked" and "逐行核对" in refused.json["error"]["message"]
    assert "checked" in refused.json["error"]["fields"]
    _nothing_received(dispatched)


@pytest.mark.parametrize("qty", [96, 90])  # as sent (the reason was ignored before) and short
def test_api_refuses_an_unknown_difference_reason(county, login, dispatched, qty):
    line = dispatched["stop"].lines[0]
    refused = login(county.users["village"]).post(
        f"/api/v1/deliveries/stops/{dispatched['stop'].id}/receipt",
        json={"receiver_name": "李医生", "checked": True,
              "lines": [{"line_id": line.id, "qty_received_base": qty, "reason": "stolen"}]})
    assert refused.status_code == 422, refused.json
    assert refused.json["error"]["code"] == "unknown_reason"
    assert "stolen" in refused.json["error"]["fields"][str(line.id)][0]
    _nothing_received(dispatched)


def test_api_answers_a_second_receipt_as_recorded(county, login, dispatched):
    stop, line = dispatched["stop"], dispatched["stop"].lines[0]
    doctor = login(county.users["village"])
    url = f"/api/v1/deliveries/stops/{stop.id}/receipt"
    first = doctor.post(url, json={"receiver_name": "李医生", "checked": True, "lines": [
        {"line_id": line.id, "qty_received_base": 90, "reason": "short", "note": "少6片"}]})
    assert first.status_code == 200 and first.json["status"] == "received"
    again = doctor.post(url, json={"receiver_name": "王医生", "checked": True})  # a resend, or another tap
    assert again.status_code == 200, again.json
    assert again.json == first.json  # the receipt as recorded, not the resend's "all as sent"
    db.session.expire_all()
    assert db.session.get(DeliveryLine, line.id).qty_received_base == 90
    assert stock.on_hand(dispatched["village"].id, dispatched["product"].id) == 90


def test_openapi_says_how_a_client_states_it_checked(county, login):
    document = login(county.users["viewer"]).get("/api/v1/openapi.json").json
    operation = document["paths"]["/api/v1/deliveries/stops/{stop_id}/receipt"]["post"]
    assert "checked" in operation["description"] and "as recorded" in operation["description"]
    schemas = document["components"]["schemas"]
    assert "must be true" in schemas["DeliveriesReceiptInput"]["properties"]["checked"]["description"]
    assert "damaged" in schemas["DeliveriesReceiptLineInput"]["properties"]["reason"]["enum"]


# ---------------------------------------------------------------- receipt: the page is unchanged

def test_page_refuses_an_unticked_receipt_and_an_unknown_reason(county, login, dispatched):
    stop, line = dispatched["stop"], dispatched["stop"].lines[0]
    client = login(county.users["village"])
    url = f"/deliveries/stops/{stop.id}/receipt"
    unticked = client.post(url, data={"receiver_name": "李医生"})
    assert unticked.status_code == 422 and "请先逐行核对" in unticked.get_data(as_text=True)
    unknown = client.post(url, data={"receiver_name": "李医生", "checked": "1", f"diff_{line.id}": "1",
                                     f"qty_{line.id}_packs": "2", f"qty_{line.id}_units": "0",
                                     f"reason_{line.id}": "stolen"})
    assert unknown.status_code == 422 and "未知的差异原因" in unknown.get_data(as_text=True)
    _nothing_received(dispatched)
    done = client.post(url, data={"receiver_name": "李医生", "checked": "1"})
    assert done.status_code == 302 and done.location.endswith(f"{url}?done=1")
    again = client.post(url, data={"receiver_name": "李医生"})  # the receipt stands: no tick needed to see it
    assert again.status_code == 302 and again.location.endswith(f"{url}?done=1")


# ---------------------------------------------------------------- run page: a message per action, back to the edit

def _run_url(d):
    return f"/deliveries/runs/{d['run'].id}"


NOTICES = {"saved": "已保存", "confirmed": "配送单已确认", "reopened": "已退回修改", "dispatched": "已发车",
           "cancelled": "配送单已取消"}


@pytest.mark.parametrize("before, action, data, done", [
    ([], "details", {"vehicle": "川A-1", "driver": "老王", "note": ""}, "saved"),
    ([], "confirm", {}, "confirmed"),
    (["confirm"], "reopen", {}, "reopened"),
    (["confirm"], "dispatch", {}, "dispatched"),
    ([], "cancel", {"reason": "道路中断"}, "cancelled"),
], ids=lambda value: value if isinstance(value, str) else None)
def test_each_run_action_says_what_it_did(county, login, planned, before, action, data, done):
    client = login(county.users["township"])
    url = _run_url(planned)
    for step in before:
        assert client.post(f"{url}/{step}").status_code == 302
    response = client.post(f"{url}/{action}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert f"done={done}" in response.location, response.location
    page = client.get(response.location).get_data(as_text=True)
    notice = page[page.index('class="alert alert-ok run-notice"'):]
    notice = notice[:notice.index("</div>")]
    assert NOTICES[done] in notice
    assert not any(other in notice for key, other in NOTICES.items() if key != done and other not in NOTICES[done])


def test_saving_a_line_comes_back_to_it(county, login, planned):
    client = login(county.users["township"])
    line = planned["stop"].lines[0]
    saved = client.post(f"{_run_url(planned)}/lines/{line.id}", data={"qty_packs": "1", "qty_units": "0"})
    assert saved.status_code == 302 and saved.location.endswith(f"done=line_saved#line-{line.id}")
    page = client.get(saved.location.split("#")[0]).get_data(as_text=True)
    assert f'id="line-{line.id}"' in page and "已保存数量" in page
    db.session.expire_all()
    assert db.session.get(DeliveryLine, line.id).qty_base == 48


def test_removing_a_line_comes_back_to_its_stop(county, login, planned):
    line, stop = planned["stop"].lines[0], planned["stop"]
    removed = login(county.users["township"]).post(f"{_run_url(planned)}/lines/{line.id}/delete")
    assert removed.status_code == 302 and removed.location.endswith(f"done=line_removed#stop-{stop.id}")


def test_saving_vehicle_and_driver_comes_back_to_them(county, login, planned):
    saved = login(county.users["township"]).post(f"{_run_url(planned)}/details",
                                                 data={"vehicle": "川A-1", "driver": "", "note": ""})
    assert saved.status_code == 302 and saved.location.endswith("done=saved#run-details")


def test_a_product_is_added_by_typing_its_name_without_javascript(county, login, planned):
    township = county.townships[0]
    capsules = make_product("阿莫西林胶囊", dosage_form="胶囊剂", strength="0.25g", base_unit="粒", pack_size=24)
    stock_up(township, capsules, 240, user=county.users["township"], lot="AMX01")
    db.session.commit()
    client = login(county.users["township"])
    stop = planned["stop"]
    page = client.get(_run_url(planned)).get_data(as_text=True)
    assert 'name="product_query"' in page and "data-product-search" in page and "<select" not in page
    added = client.post(f"{_run_url(planned)}/stops/{stop.id}/lines",
                        data={"stop_id": str(stop.id), "product_id": "", "product_query": "阿莫西林",
                              "qty_packs": "2", "qty_units": ""})
    assert added.status_code == 302, added.get_data(as_text=True)[:800]
    db.session.expire_all()
    [line] = [x for x in db.session.get(DeliveryStop, stop.id).lines if x.product_id == capsules.id]
    assert line.qty_base == 48 and added.location.endswith(f"done=line_added#line-{line.id}")


def test_a_typed_name_that_fits_several_products_or_none_is_refused(county, login, planned):
    township = county.townships[0]
    for strength in ("0.25g", "0.5g"):
        product = make_product("头孢氨苄胶囊", dosage_form="胶囊剂", strength=strength, base_unit="粒", pack_size=24)
        stock_up(township, product, 240, user=county.users["township"])
    db.session.commit()
    client = login(county.users["township"])
    stop = planned["stop"]
    before = len(stop.lines)
    url = f"{_run_url(planned)}/stops/{stop.id}/lines"
    several = client.post(url, data={"stop_id": str(stop.id), "product_query": "头孢氨苄", "qty_packs": "1"})
    text = several.get_data(as_text=True)
    assert several.status_code == 422 and "多个药品" in text and "0.25g" in text and "0.5g" in text
    assert 'value="头孢氨苄"' in text  # the typed text stays in its box
    none = client.post(url, data={"product_query": "并无此药", "qty_packs": "1"})
    assert none.status_code == 422 and "没有与" in none.get_data(as_text=True)
    db.session.expire_all()
    assert len(db.session.get(DeliveryStop, stop.id).lines) == before


def test_api_adds_a_line_named_by_text_and_by_packs(county, login, planned):
    township = county.townships[0]
    capsules = make_product("阿莫西林胶囊", dosage_form="胶囊剂", strength="0.25g", base_unit="粒", pack_size=24)
    stock_up(township, capsules, 240, user=county.users["township"])
    db.session.commit()
    client = login(county.users["township"])
    url = f"/api/v1/deliveries/{planned['run'].id}/stops/{planned['stop'].id}/lines"
    added = client.post(url, json={"product_query": capsules.code, "qty_packs": 1, "qty_units": 4})
    assert added.status_code == 201, added.json
    assert added.json[0]["product_id"] == capsules.id and added.json[0]["qty_base"] == 28
    missing = client.post(url, json={"product_id": capsules.id})
    assert missing.status_code == 422 and "qty_base" in missing.json["error"]["fields"]


# ---------------------------------------------------------------- a refused row is marked where the page shows it

def test_receipt_page_marks_a_bad_quantity_on_its_line(county, login, dispatched):
    stop, line = dispatched["stop"], dispatched["stop"].lines[0]
    refused = login(county.users["village"]).post(f"/deliveries/stops/{stop.id}/receipt", data={
        "receiver_name": "李医生", "checked": "1", f"diff_{line.id}": "1", f"qty_{line.id}_packs": "两",
        f"reason_{line.id}": "short"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and '<span class="field-error">应为整数</span>' in html
    _nothing_received(dispatched)


def test_route_form_names_the_village_whose_order_is_wrong(county, login):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    refused = login(county.users["township"]).post(f"/deliveries/routes/new?township_id={township.id}", data={
        "name": "环线", "weekdays": ["2"], "departure_time": "08:00", "is_active": "1",
        f"pos_{v1.id}": "1", f"pos_{v2.id}": "第二"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and f"{v2.name}：应为整数" in html


def test_a_refused_line_edit_is_marked_beside_its_line(county, login, planned):
    line = planned["stop"].lines[0]
    refused = login(county.users["township"]).post(f"{_run_url(planned)}/lines/{line.id}",
                                                   data={"line_id": str(line.id), "qty_packs": "-1"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    row = html[html.index(f'id="line-{line.id}"'):]
    assert '<span class="field-error">应在 0 到 1000000 之间</span>' in row[:row.index("</tr>")]
