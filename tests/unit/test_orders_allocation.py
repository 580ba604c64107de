from datetime import date, timedelta

from pharmacy.inventory.fefo import LotStock
from pharmacy.orders.allocation import (RULE_FULL, RULE_NONE, RULE_PRO_RATA, Demand, allocate, allocate_product,
                                        largest_remainder)

TODAY = date(2024, 6, 1)
WINDOW = TODAY + timedelta(days=90)


def lot(lot_id, qty, days):
    return LotStock(lot_id, TODAY + timedelta(days=days), qty, f"L{lot_id}")


def demand(demand_id, packs, urgency="routine", usable_after=WINDOW, seq=None):
    return Demand(demand_id, product_id=1, qty_packs=packs, urgency=urgency, usable_after=usable_after,
                  sequence=(seq if seq is not None else demand_id,))


def test_enough_stock_fills_everyone_fefo():
    result = allocate_product([demand(1, 3), demand(2, 2)], [lot(10, 100, 400), lot(11, 30, 200)], pack_size=10)
    assert (result[1].qty_packs, result[2].qty_packs) == (3, 2)
    assert result[1].rule == result[2].rule == RULE_FULL
    # The earlier-expiring lot goes first.
    assert [(p.lot_id, p.qty_base) for p in result[1].picks] == [(11, 30)]
    assert [(p.lot_id, p.qty_base) for p in result[2].picks] == [(10, 20)]


def test_emergency_first_then_pro_rata_to_need():
    # 10 packs for: an emergency of 4, routine needs of 9 and 3 (6 packs left: 9:3 → 4.5:1.5).
    demands = [demand(1, 9), demand(2, 3), demand(3, 4, "emergency")]
    result = allocate_product(demands, [lot(10, 100, 365)], pack_size=10)
    assert result[3].qty_packs == 4 and result[3].rule == RULE_FULL
    assert result[1].qty_packs + result[2].qty_packs == 6
    # 4.5 : 1.5 → floors 4 : 1, the spare pack to the earlier submission on an equal remainder.
    assert (result[1].qty_packs, result[2].qty_packs) == (5, 1)
    assert result[1].rule == result[2].rule == RULE_PRO_RATA


def test_urgent_before_routine_and_nothing_left_means_none():
    result = allocate_product([demand(1, 5), demand(2, 5, "urgent")], [lot(10, 50, 365)], pack_size=10)
    assert result[2].qty_packs == 5
    assert result[1].qty_packs == 0 and result[1].rule == RULE_NONE


def test_pro_rata_remainders_go_to_earlier_submission():
    # 3 packs for three equal needs of 2: one each, the last pack to nobody twice.
    result = allocate_product([demand(1, 2, seq=3), demand(2, 2, seq=1), demand(3, 2, seq=2)], [lot(10, 3, 365)],
                              pack_size=1)
    assert {k: v.qty_packs for k, v in result.items()} == {1: 1, 2: 1, 3: 1}
    result = allocate_product([demand(1, 2, seq=3), demand(2, 2, seq=1), demand(3, 2, seq=2)], [lot(10, 4, 365)],
                              pack_size=1)
    assert {k: v.qty_packs for k, v in result.items()} == {1: 1, 2: 2, 3: 1}


def test_largest_remainder_is_proportional_and_exact():
    shares = largest_remainder([(1, 50), (2, 30), (3, 20)], 7)
    assert sum(shares.values()) == 7
    assert shares == {1: 4, 2: 2, 3: 1}
    assert largest_remainder([(1, 5), (2, 5)], 20) == {1: 5, 2: 5}
    assert largest_remainder([(1, 5), (2, 5)], 0) == {1: 0, 2: 0}


def test_lots_expiring_within_the_window_are_skipped():
    lots = [lot(10, 50, 30), lot(11, 20, 300)]  # lot 10 expires inside the 90-day window
    result = allocate_product([demand(1, 5)], lots, pack_size=10)
    assert result[1].qty_packs == 2
    assert [p.lot_id for p in result[1].picks] == [11]
    assert result[1].near_expiry_skipped is True


def test_a_lenient_window_uses_the_early_lots_first():
    # Destination A accepts anything expiring after 20 days, B only after 90 days; FEFO gives A the early lot.
    lots = [lot(10, 30, 60), lot(11, 30, 300)]
    a = demand(1, 3, usable_after=TODAY + timedelta(days=20))
    b = demand(2, 3, usable_after=WINDOW)
    result = allocate_product([a, b], lots, pack_size=10)
    assert [p.lot_id for p in result[1].picks] == [10]
    assert [p.lot_id for p in result[2].picks] == [11]
    assert result[1].qty_packs == result[2].qty_packs == 3


def test_picks_cross_lots_in_base_units_and_whole_packs():
    result = allocate_product([demand(1, 3)], [lot(10, 15, 200), lot(11, 100, 300)], pack_size=10)
    assert [(p.lot_id, p.qty_base) for p in result[1].picks] == [(10, 15), (11, 15)]
    assert result[1].qty_base == 30


def test_allocate_groups_by_product():
    d1 = Demand(1, product_id=1, qty_packs=2, usable_after=WINDOW)
    d2 = Demand(2, product_id=2, qty_packs=2, usable_after=WINDOW)
    result = allocate([d1, d2], {1: [lot(10, 100, 365)]}, {1: 10, 2: 10})
    assert result[1].qty_packs == 2
    assert result[2].qty_packs == 0 and result[2].rule == RULE_NONE


def test_nothing_is_allocated_twice():
    lots = [lot(10, 25, 200), lot(11, 25, 400)]
    demands = [demand(i, 2, seq=i) for i in range(1, 6)]
    result = allocate_product(demands, lots, pack_size=5)
    taken = {}
    for allotment in result.values():
        for pick in allotment.picks:
            taken[pick.lot_id] = taken.get(pick.lot_id, 0) + pick.qty_base
    assert taken == {10: 25, 11: 25}
    assert sum(a.qty_packs for a in result.values()) == 10
