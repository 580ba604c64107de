"""Review, dispatch and receipt of a run: stock movements, shortage statuses, differences, refusals."""

import pytest
from sqlalchemy import func, select

from pharmacy.deliveries import services
from pharmacy.deliveries.models import RunStatus, StopStatus
from pharmacy.deliveries.services import ReceivedLine
from pharmacy.errors import Conflict, InsufficientStock, InvalidInput
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import StockMovement, Transfer, TransferStatus
from pharmacy.shortages.models import ShortageStatus
from tests.factories import key, make_product, make_route, make_shortage, next_weekday, stock_up


@pytest.fixture
def planned(county):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    pharmacist = county.users["township"]
    tablets = make_product("硝苯地平缓释片", strength="20mg", pack_size=30)
    syrup = make_product("小儿止咳糖浆", dosage_form="糖浆剂", strength="100ml", base_unit="瓶", pack_size=1)
    stock_up(township, tablets, 300, user=pharmacist, lot="NF2501")
    stock_up(township, syrup, 20, user=pharmacist, lot="SY88")
    first = make_shortage(v1, tablets, 2, user=county.users["village"], urgency="urgent")
    second = make_shortage(v1, syrup, 4, user=county.users["village"])
    third = make_shortage(v2, tablets, 1, user=pharmacist)
    route = make_route(township, [v1, v2])
    run = services.plan_run(route, next_weekday(2), user=pharmacist)
    return locals() | {"county": county}


def test_review_edits_then_confirm(planned):
    p = planned
    run = p["run"]
    line = next(x for x in run.lines if x.product_id == p["tablets"].id and x.stop.village_id == p["v1"].id)
    with pytest.raises(InsufficientStock):
        services.update_line(line, qty_base=301)
    services.update_line(line, qty_base=90, note="多送一盒")
    assert line.is_edited and line.planned_qty_base == 60
    added = services.add_line(run.stops[1], p["syrup"], qty_base=2, note="村医电话要")
    assert added[0].lot.lot_number == "SY88" and added[0].source == "manual"
    with pytest.raises(InsufficientStock):
        services.add_line(run.stops[1], p["syrup"], qty_base=15)  # 20 - 4 - 2 left
    services.confirm_run(run, user=p["pharmacist"])
    assert run.status == RunStatus.CONFIRMED
    with pytest.raises(Conflict):
        services.update_line(line, qty_base=30)
    services.reopen_run(run, user=p["pharmacist"])
    services.remove_line(added[0])
    assert run.status == RunStatus.PLANNED and len(run.stops[1].lines) == 1


def test_dispatch_moves_goods_into_transit_and_marks_shortages_dispatched(planned):
    p = planned
    run = p["run"]
    with pytest.raises(Conflict):
        services.dispatch_run(run, user=p["pharmacist"])  # not confirmed yet
    services.confirm_run(run, user=p["pharmacist"])
    services.dispatch_run(run, user=p["pharmacist"])
    assert run.status == RunStatus.DISPATCHED
    assert all(stop.status == StopStatus.DISPATCHED and stop.transfer.status == TransferStatus.IN_TRANSIT
               for stop in run.stops)
    assert stock.on_hand(p["township"].id, p["tablets"].id) == 300 - 60 - 30
    assert stock.in_transit_qty(p["v1"].id, p["tablets"].id) == 60
    assert stock.on_hand(p["v1"].id, p["tablets"].id) == 0
    assert {s.status for s in (p["first"], p["second"], p["third"])} == {ShortageStatus.DISPATCHED}
    assert all(line.consignment_line.transfer_line_id and line.consignment_line.qty_base == line.qty_base
               and line.consignment_line.lot_id == line.lot_id for line in run.lines)
    with pytest.raises(Conflict):
        services.dispatch_run(run, user=p["pharmacist"])


def test_dispatch_refused_whole_when_township_stock_went_meanwhile(planned, client, login):
    p = planned
    services.confirm_run(p["run"], user=p["pharmacist"])
    stock.dispense(p["township"], p["syrup"], qty_base=18, user=p["pharmacist"], key=key("dsp"))
    db.session.commit()  # the test's set-up stands (the fixture still rolls the whole test back at the end)
    movements = db.session.scalar(select(func.count(StockMovement.id)))
    response = login(p["pharmacist"]).post(f"/api/v1/deliveries/{p['run'].id}/dispatch", json={})
    assert response.status_code == 409 and response.json["error"]["code"] == "insufficient_stock"
    db.session.expire_all()
    assert db.session.scalar(select(func.count(StockMovement.id))) == movements
    assert db.session.scalar(select(func.count(Transfer.id))) == 0
    assert p["run"].status == RunStatus.CONFIRMED
    assert p["first"].status == ShortageStatus.REGISTERED


def test_receipt_posts_stock_records_differences_and_closes_shortages(planned):
    p = planned
    run, doctor = p["run"], p["county"].users["village"]
    services.confirm_run(run, user=p["pharmacist"])
    services.dispatch_run(run, user=p["pharmacist"])
    stop = run.stops[0]
    tablets = next(x for x in stop.lines if x.product_id == p["tablets"].id)
    syrup = next(x for x in stop.lines if x.product_id == p["syrup"].id)
    with pytest.raises(InvalidInput):
        services.receive_stop(stop, {tablets.id: ReceivedLine(50)}, receiver_name="李医生", user=doctor)
    with pytest.raises(InvalidInput):
        services.receive_stop(stop, {tablets.id: ReceivedLine(61, "damaged")}, receiver_name="李医生", user=doctor)
    with pytest.raises(InvalidInput):
        services.receive_stop(stop, {}, receiver_name=" ", user=doctor)
    assert stop.status == StopStatus.DISPATCHED and stock.on_hand(p["v1"].id, p["tablets"].id) == 0
    services.receive_stop(stop, {tablets.id: ReceivedLine(50, "damaged", "一盒压坏"),
                                 syrup.id: ReceivedLine(0, "missing")}, receiver_name="李医生", user=doctor)
    assert stop.status == StopStatus.RECEIVED and stop.has_differences
    assert stock.on_hand(p["v1"].id, p["tablets"].id) == 50
    assert stock.on_hand(p["v1"].id, p["syrup"].id) == 0
    assert (tablets.qty_received_base, tablets.difference_reason) == (50, "damaged")
    # 50 of the 60 tablets registered arrived, and no syrup: both open again for the next run, the difference
    # written on the registration.
    assert p["first"].status == ShortageStatus.ACKNOWLEDGED and "50" in p["first"].difference_note
    assert p["second"].status == ShortageStatus.ACKNOWLEDGED and p["second"].stage == ""
    assert "0" in p["second"].difference_note
    assert run.status == RunStatus.DISPATCHED  # the second village has not signed yet
    with pytest.raises(Conflict):
        services.receive_stop(stop, {}, receiver_name="李医生", user=doctor)
    township_user = p["county"].users["township"]
    with pytest.raises(InvalidInput):  # a township signs for its village only as a proxy, with a reason
        services.receive_stop(run.stops[1], {}, receiver_name="王医生", user=township_user)
    services.receive_stop(run.stops[1], {}, receiver_name="王医生", user=township_user, proxy_reason="村医出诊，乡镇代收")
    assert run.stops[1].proof.is_proxy and run.stops[1].proof.signed_by_id == township_user.id
    assert run.status == RunStatus.DELIVERED and p["third"].status == ShortageStatus.DELIVERED
    assert stock.in_transit_qty(p["v1"].id, p["tablets"].id) == 0


def test_cancel_needs_a_reason_and_frees_the_shortages(planned):
    p = planned
    with pytest.raises(InvalidInput):
        services.cancel_run(p["run"], reason=" ", user=p["pharmacist"])
    services.cancel_run(p["run"], reason="车辆故障", user=p["pharmacist"])
    again = services.plan_run(p["route"], next_weekday(5, next_weekday(2)), user=p["pharmacist"])
    assert {s.id for line in again.lines for s in line.shortages} == {p["first"].id, p["second"].id, p["third"].id}
    with pytest.raises(Conflict):
        services.confirm_run(p["run"], user=p["pharmacist"])
