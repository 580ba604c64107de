from pharmacy.orders.replenishment import suggest_packs


def test_suggestion_covers_shortages_within_the_top_up():
    assert suggest_packs(shortage_packs=2, township_need_packs=5, village_need_packs=3, on_order_packs=0) == 8
    assert suggest_packs(shortage_packs=2, township_need_packs=5, village_need_packs=3, on_order_packs=4) == 4
    assert suggest_packs(shortage_packs=6, township_need_packs=1, village_need_packs=0, on_order_packs=0) == 6
    assert suggest_packs(shortage_packs=0, township_need_packs=1, village_need_packs=0, on_order_packs=5) == 0
