from pharmacy.orders.replenishment import (average_monthly_consumption, max_level_base, packs_for,
                                           replenishment_need_base, suggest_packs)


def test_amc_and_max_level():
    assert average_monthly_consumption(90) == 30
    assert average_monthly_consumption(-5) == 0
    assert max_level_base(30, 3) == 90
    assert max_level_base(10.5, 2) == 21
    assert max_level_base(10.1, 3) == 31  # rounded up
    assert max_level_base(0, 3) == 0


def test_need_is_max_minus_on_hand_minus_in_transit():
    assert replenishment_need_base(90, 20, 10) == 60
    assert replenishment_need_base(90, 100, 0) == 0


def test_packs_round_up():
    assert packs_for(25, 24) == 2
    assert packs_for(24, 24) == 1
    assert packs_for(0, 24) == 0


def test_suggestion_covers_shortages_within_the_top_up():
    assert suggest_packs(shortage_packs=2, township_need_packs=5, village_need_packs=3, on_order_packs=0) == 8
    assert suggest_packs(shortage_packs=2, township_need_packs=5, village_need_packs=3, on_order_packs=4) == 4
    assert suggest_packs(shortage_packs=6, township_need_packs=1, village_need_packs=0, on_order_packs=0) == 6
    assert suggest_packs(shortage_packs=0, township_need_packs=1, village_need_packs=0, on_order_packs=5) == 0
