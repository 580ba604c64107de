"""Planning runs from the database: shortages, replenishment, frequency, reservations, the scheduler job."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from pharmacy.auth.policy import load_in_scope
from pharmacy.deliveries import services
from pharmacy.deliveries.models import DeliveryRun, LineSource, Route, RunStatus
from pharmacy.errors import Conflict, InvalidInput
from pharmacy.extensions import db
from pharmacy.facilities.models import FacilityKind
from pharmacy.facilities.services import create_facility
from tests.factories import consume, make_product, make_route, make_shortage, next_weekday, stock_up


@pytest.fixture
def setup(county):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    pharmacist, doctor = county.users["township"], county.users["village"]
    tablets = make_product("阿司匹林肠溶片", pack_size=10)
    capsules = make_product("阿莫西林胶囊", dosage_form="胶囊剂", strength="0.25g", base_unit="粒", pack_size=24)
    stock_up(township, tablets, 100, user=pharmacist, lot="NEAR", expires_in_days=60)
    stock_up(township, tablets, 30, user=pharmacist, lot="OLD", expires_in_days=200)
    stock_up(township, tablets, 500, user=pharmacist, lot="NEW", expires_in_days=500)
    stock_up(township, capsules, 100, user=pharmacist, lot="CAP", expires_in_days=300)
    consume(v1, tablets, 3 * 20, on_hand_base=5, user=doctor)
    urgent = make_shortage(v1, capsules, 2, user=doctor, urgency="urgent")
    routine = make_shortage(v2, tablets, 3, user=county.users["township"])
    route = make_route(township, [v1, v2])
    return locals() | {"county": county}


def lines_of(run):
    return {(stop.village_id, line.product_id, line.lot.lot_number): line for stop in run.stops for line in stop.lines}


def test_plan_serves_shortages_first_then_replenishes_to_max_fefo_outside_the_near_expiry_window(setup):
    s = setup
    run = services.plan_run(s["route"], next_weekday(2), user=s["pharmacist"])
    assert run.status == RunStatus.PLANNED and run.sequence == 1 and [st.position for st in run.stops] == [1, 2]
    lines = lines_of(run)
    v1, v2, tablets, capsules = s["v1"], s["v2"], s["tablets"], s["capsules"]
    assert {k: line.qty_base for k, line in lines.items()} == {
        (v1.id, capsules.id, "CAP"): 48,        # urgent shortage, 2 packs of 24
        (v2.id, tablets.id, "OLD"): 30,         # routine shortage, first usable lot; NEAR expires too soon
        (v1.id, tablets.id, "NEW"): 40,         # 5 on hand < min 20: up to max 40, in whole packs of 10
    }
    served = lines[(v1.id, capsules.id, "CAP")]
    assert served.source == LineSource.SHORTAGE and [x.id for x in served.shortages] == [s["urgent"].id]
    replenished = lines[(v1.id, tablets.id, "NEW")]
    assert replenished.source == LineSource.REPLENISH
    assert (replenished.on_hand_base, replenished.min_base, replenished.max_base) == (5, 20, 40)
    assert replenished.amc_base == pytest.approx(20)
    assert run.usable_after == run.departure_date + timedelta(days=90)


def test_limited_township_stock_becomes_a_shortfall_and_pending_runs_reserve_their_lots(setup, county):
    s = setup
    other = create_facility(code=f"{county.townships[0].code}V9", name="测试九村卫生室",
                            kind=FacilityKind.VILLAGE_POINT, parent=s["township"], population=1200)
    big = make_shortage(other, s["tablets"], 60, user=s["pharmacist"])  # 600 tablets; 530 usable in the township
    second_route = make_route(s["township"], [other], weekdays="1,4")
    first = services.plan_run(s["route"], next_weekday(2), user=s["pharmacist"])
    reserved = sum(line.qty_base for line in first.lines if line.product_id == s["tablets"].id)
    assert reserved == 70
    run = services.plan_run(second_route, next_weekday(1), user=s["pharmacist"])
    planned = sum(line.qty_base for line in run.lines)
    assert planned == 530 - reserved
    shortfall = run.stops[0].shortfalls[0]
    assert (shortfall.shortage_id, shortfall.qty_base, shortfall.reason) == (big.id, 600 - planned, "no_stock")
    # the shortages already on the first (pending) run are not planned again
    third = services.plan_run(s["route"], next_weekday(5, next_weekday(2)), user=s["pharmacist"])
    assert not any(line.shortages for line in third.lines)


def test_alternate_run_villages_are_skipped_unless_an_urgent_shortage_waits(setup):
    s = setup
    route = load_in_scope(s["county"].users["county"], Route, s["route"].id)
    route.stops[1].every_n_runs, route.stops[1].phase = 2, 1  # v2: runs 2, 4, ...
    db.session.flush()
    first = services.plan_run(route, next_weekday(2), user=s["pharmacist"])
    assert [stop.village_id for stop in first.stops] == [s["v1"].id]
    services.cancel_run(first, reason="测试", user=s["pharmacist"])
    make_shortage(s["v2"], s["capsules"], 1, user=s["pharmacist"], urgency="emergency")
    again = services.plan_run(route, next_weekday(5, next_weekday(2)), user=s["pharmacist"])
    assert again.sequence == 1  # the cancelled run does not count
    off_turn = [stop for stop in again.stops if stop.village_id == s["v2"].id]
    assert off_turn and off_turn[0].is_off_turn


def test_one_run_per_route_and_departure_and_only_on_departure_days(setup):
    s = setup
    day = next_weekday(2)
    services.plan_next_run(s["route"], user=s["pharmacist"], departure_date=day)
    with pytest.raises(Conflict):
        services.plan_next_run(s["route"], user=s["pharmacist"], departure_date=day)
    with pytest.raises(InvalidInput):
        services.plan_next_run(s["route"], user=s["pharmacist"], departure_date=next_weekday(3))
    following = services.plan_next_run(s["route"], user=s["pharmacist"])
    assert following.departure_date != day and following.departure_date.isoweekday() in (2, 5)


def test_plan_due_runs_plans_within_the_lead_time_once(app, setup):
    zone = ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"])
    departure = datetime.combine(next_weekday(2), time(8, 0), tzinfo=zone)
    early = services.plan_due_runs(departure - timedelta(hours=30))
    assert early["planned_runs"] == 0
    due = services.plan_due_runs(departure - timedelta(hours=20))
    assert due["planned_runs"] == 1
    run = db.session.get(DeliveryRun, due["run_ids"][0])
    assert run.departure_date == departure.date() and run.planned_by_id is None
    assert services.plan_due_runs(departure - timedelta(hours=19))["planned_runs"] == 0
    assert db.session.scalar(select(func.count(DeliveryRun.id))) == 1


def test_route_rules(county):
    township, (v1, v2) = county.townships[0], county.villages[:2]
    foreign = county.villages[2]
    with pytest.raises(InvalidInput):
        make_route(township, [v1, foreign])
    with pytest.raises(InvalidInput):
        make_route(township, [v1], weekdays="")
    with pytest.raises(InvalidInput):
        make_route(township, [v1], departure="8点")
    make_route(township, [v1], name="东线")
    with pytest.raises(Conflict):
        make_route(township, [v1, v2], name="西线")  # v1 is already on an active route
    with pytest.raises(Conflict):
        make_route(township, [v2], name="东线")
    with pytest.raises(InvalidInput):
        make_route(township, [v2], name="北线", every={v2.id: 2}, phase={v2.id: 2})
    route = make_route(township, [v2], name="北线", every={v2.id: 2}, phase={v2.id: 1})
    assert (route.stops[0].every_n_runs, route.stops[0].phase) == (2, 1)
