"""The pure planning function: priority, min/max, tier, FEFO, near-expiry window, limited township stock."""

from datetime import date, datetime, time, timedelta

from pharmacy.deliveries.planning import ProductInfo, ShortageNeed, ShortfallReason, StopNeeds, plan_delivery
from pharmacy.deliveries.schedule import (default_every_n_runs, departures_after, is_stop_due,
                                          next_departure_on_or_after, parse_weekdays)
from pharmacy.inventory.consumption import StockLevel
from pharmacy.inventory.fefo import LotStock

DEPARTURE = date(2026, 3, 3)
USABLE_AFTER = DEPARTURE + timedelta(days=90)
T0 = datetime(2026, 3, 1, 9, 0)

PRODUCTS = {
    1: ProductInfo(1, "village", pack_size=10),
    2: ProductInfo(2, "village", pack_size=24),
    3: ProductInfo(3, "township", pack_size=10),
    4: ProductInfo(4, "village", pack_size=10, is_active=False),
}


def lot(lot_id, qty, days_after_departure=365):
    return LotStock(lot_id, DEPARTURE + timedelta(days=days_after_departure), qty, f"L{lot_id}")


def shortage(sid, product_id, qty, urgency="routine", minutes=0):
    return ShortageNeed(sid, product_id, qty, urgency, T0 + timedelta(minutes=minutes))


def level(product_id, on_hand, amc, min_base, max_base, in_transit=0):
    return StockLevel(product_id, on_hand, in_transit, amc, min_base, max_base)


def by_village(plan, village_id):
    return {(line.product_id, line.lot_id): line.qty_base for line in plan.lines_for(village_id)}


def test_shortages_are_served_by_urgency_across_the_run_when_stock_is_short():
    stops = [
        StopNeeds(10, 1, shortages=[shortage(101, 1, 30, "routine", minutes=0)]),
        StopNeeds(20, 2, shortages=[shortage(102, 1, 30, "emergency", minutes=50)]),
        StopNeeds(30, 3, shortages=[shortage(103, 1, 30, "urgent", minutes=10)]),
    ]
    plan = plan_delivery(stops, PRODUCTS, {1: [lot(1, 50)]}, usable_after=USABLE_AFTER)
    assert by_village(plan, 20) == {(1, 1): 30}          # emergency first, although registered last
    assert by_village(plan, 30) == {(1, 1): 20}          # urgent gets what is left
    assert by_village(plan, 10) == {}                    # routine waits
    short = {(s.shortage_id, s.qty_base, s.reason) for s in plan.shortfalls}
    assert short == {(103, 10, ShortfallReason.NO_STOCK), (101, 30, ShortfallReason.NO_STOCK)}
    line = plan.lines_for(20)[0]
    assert line.shortage_ids == [102] and line.qty_for_shortages_base == 30


def test_older_registration_wins_within_one_urgency():
    stops = [StopNeeds(10, 1, shortages=[shortage(2, 1, 10, minutes=30), shortage(1, 1, 10, minutes=5)])]
    plan = plan_delivery(stops, PRODUCTS, {1: [lot(1, 10)]}, usable_after=USABLE_AFTER)
    assert plan.lines[0].shortage_ids == [1]
    assert [s.shortage_id for s in plan.shortfalls] == [2]


def test_replenishment_below_min_fills_to_max_in_whole_packs():
    stops = [StopNeeds(10, 1, levels=[level(1, on_hand=5, amc=20, min_base=20, max_base=40),
                                      level(2, on_hand=30, amc=20, min_base=20, max_base=40)])]
    plan = plan_delivery(stops, PRODUCTS, {1: [lot(1, 500)], 2: [lot(2, 500)]}, usable_after=USABLE_AFTER)
    # product 1: 40 - 5 = 35 rounded up to packs of 10 -> 40; product 2 is above min: nothing
    assert by_village(plan, 10) == {(1, 1): 40}
    line = plan.lines[0]
    assert line.qty_for_replenish_base == 40 and line.level.min_base == 20 and line.shortage_ids == []


def test_in_transit_and_shortage_lines_count_towards_the_level():
    stops = [StopNeeds(10, 1, shortages=[shortage(7, 1, 20)],
                       levels=[level(1, on_hand=0, amc=20, min_base=30, max_base=40, in_transit=10)])]
    plan = plan_delivery(stops, PRODUCTS, {1: [lot(1, 500)]}, usable_after=USABLE_AFTER)
    # shortage 20, then position 0 + 10 in transit + 20 = 30 >= min 30: no replenishment. Leaving out the goods
    # in transit (20 < 30) or the shortage line (10 < 30) would top the village up.
    assert by_village(plan, 10) == {(1, 1): 20}
    assert plan.lines[0].qty_for_replenish_base == 0


def test_goods_in_transit_to_the_village_are_not_sent_again():
    stops = [StopNeeds(10, 1, levels=[level(1, on_hand=0, amc=20, min_base=20, max_base=40, in_transit=25)])]
    assert plan_delivery(stops, PRODUCTS, {1: [lot(1, 500)]}, usable_after=USABLE_AFTER).lines == []
    stops = [StopNeeds(10, 1, levels=[level(1, on_hand=0, amc=20, min_base=20, max_base=40, in_transit=10)])]
    assert by_village(plan_delivery(stops, PRODUCTS, {1: [lot(1, 500)]}, usable_after=USABLE_AFTER), 10) == \
        {(1, 1): 30}  # up to max 40 less the 10 on their way


def test_products_the_village_tier_may_not_stock_are_never_planned():
    stops = [StopNeeds(10, 1, shortages=[shortage(5, 3, 10)], levels=[level(3, 0, 10, 10, 20)])]
    plan = plan_delivery(stops, PRODUCTS, {3: [lot(3, 100)]}, usable_after=USABLE_AFTER)
    assert plan.lines == []
    assert [(s.shortage_id, s.reason) for s in plan.shortfalls] == [(5, ShortfallReason.TIER_NOT_ALLOWED)]
    township_stop = [StopNeeds(99, 1, tier="township", shortages=[shortage(6, 3, 10)])]
    assert by_village(plan_delivery(township_stop, PRODUCTS, {3: [lot(3, 100)]}, usable_after=USABLE_AFTER),
                      99) == {(3, 3): 10}


def test_inactive_products_and_free_text_shortages_become_shortfalls():
    stops = [StopNeeds(10, 1, shortages=[shortage(1, 4, 10), shortage(2, None, 10)])]
    plan = plan_delivery(stops, PRODUCTS, {4: [lot(4, 100)]}, usable_after=USABLE_AFTER)
    assert plan.lines == []
    assert {(s.shortage_id, s.reason) for s in plan.shortfalls} == {(1, ShortfallReason.INACTIVE),
                                                                    (2, ShortfallReason.NO_PRODUCT)}


def test_fefo_takes_the_earliest_usable_lot_first_and_spans_lots():
    lots = [lot(1, 15, days_after_departure=400), lot(2, 10, days_after_departure=200), lot(3, 50, 300)]
    stops = [StopNeeds(10, 1, shortages=[shortage(1, 1, 30)])]
    plan = plan_delivery(stops, PRODUCTS, {1: lots}, usable_after=USABLE_AFTER)
    assert by_village(plan, 10) == {(1, 2): 10, (1, 3): 20}


def test_lots_expiring_within_the_near_expiry_window_are_not_sent():
    lots = [lot(1, 100, days_after_departure=30), lot(2, 100, days_after_departure=90), lot(3, 5, 91)]
    stops = [StopNeeds(10, 1, shortages=[shortage(1, 1, 20)])]
    plan = plan_delivery(stops, PRODUCTS, {1: lots}, usable_after=USABLE_AFTER)
    assert by_village(plan, 10) == {(1, 3): 5}           # expiring on the cut-off day is too soon
    assert plan.shortfalls[0].qty_base == 15


def test_limited_township_stock_lifts_every_village_to_min_before_anyone_to_max():
    stops = [
        StopNeeds(10, 1, levels=[level(1, on_hand=0, amc=20, min_base=20, max_base=40)]),
        StopNeeds(20, 2, levels=[level(1, on_hand=10, amc=20, min_base=20, max_base=40)]),
    ]
    plan = plan_delivery(stops, PRODUCTS, {1: [lot(1, 40)]}, usable_after=USABLE_AFTER)
    # to min: village 10 (0 months) +20, village 20 (0.5 months) +10; then to max: village 10 +10 (stock gone)
    assert by_village(plan, 10) == {(1, 1): 30}
    assert by_village(plan, 20) == {(1, 1): 10}
    assert {(s.village_id, s.qty_base) for s in plan.shortfalls} == {(10, 10), (20, 20)}


def test_the_most_depleted_village_comes_first_when_stock_cannot_reach_every_min():
    stops = [
        StopNeeds(10, 1, levels=[level(1, on_hand=15, amc=20, min_base=20, max_base=40)]),
        StopNeeds(20, 2, levels=[level(1, on_hand=0, amc=20, min_base=20, max_base=40)]),
    ]
    plan = plan_delivery(stops, PRODUCTS, {1: [lot(1, 20)]}, usable_after=USABLE_AFTER)
    assert by_village(plan, 20) == {(1, 1): 20}
    assert by_village(plan, 10) == {}


def test_a_village_without_consumption_comes_after_those_whose_stock_runs_out():
    stops = [
        StopNeeds(10, 1, levels=[level(1, on_hand=0, amc=0, min_base=20, max_base=20)]),  # absolute min, no AMC
        StopNeeds(20, 2, levels=[level(1, on_hand=15, amc=20, min_base=20, max_base=20)]),
    ]
    plan = plan_delivery(stops, PRODUCTS, {1: [lot(1, 10)]}, usable_after=USABLE_AFTER)
    assert by_village(plan, 20) == {(1, 1): 10}
    assert by_village(plan, 10) == {}


def test_no_consumption_means_no_replenishment_and_lines_follow_stop_order():
    stops = [StopNeeds(20, 2, shortages=[shortage(1, 2, 24)]), StopNeeds(10, 1, levels=[level(1, 0, 0, 0, 0)]),
             StopNeeds(30, 3, shortages=[shortage(2, 2, 24)])]
    plan = plan_delivery(stops, PRODUCTS, {2: [lot(2, 100)]}, usable_after=USABLE_AFTER)
    assert [line.village_id for line in plan.lines] == [20, 30]
    assert plan.shortfalls == []


def test_schedule_arithmetic():
    assert parse_weekdays("5, 2,2") == [2, 5]
    for bad in ("", "0", "8", "x"):
        try:
            parse_weekdays(bad)
        except ValueError:
            continue
        raise AssertionError(bad)
    tuesday_0900 = datetime(2026, 3, 3, 9, 0)
    assert departures_after([2, 5], time(8, 0), tuesday_0900, 2) == [datetime(2026, 3, 6, 8, 0),
                                                                     datetime(2026, 3, 10, 8, 0)]
    assert departures_after([2, 5], time(8, 0), datetime(2026, 3, 3, 7, 59)) == [datetime(2026, 3, 3, 8, 0)]
    assert next_departure_on_or_after([5], date(2026, 3, 3)) == date(2026, 3, 6)
    assert [is_stop_due(2, 0, n) for n in (1, 2, 3, 4)] == [True, False, True, False]
    assert [is_stop_due(2, 1, n) for n in (1, 2, 3, 4)] == [False, True, False, True]
    assert all(is_stop_due(1, 0, n) for n in range(1, 5))
    assert default_every_n_runs(650) == 2 and default_every_n_runs(800) == 1 and default_every_n_runs(None) == 1
