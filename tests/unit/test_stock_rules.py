from datetime import UTC, date, datetime, timedelta

import pytest

from pharmacy.inventory import consumption as rules
from pharmacy.inventory.consumption import AmcBasis, Policy, StockLevel, StockStatus
from pharmacy.inventory.fefo import LotStock, choose_lots_fefo

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=UTC)


def test_amc_with_three_months_of_history_is_window_total_over_three():
    amc = rules.average_monthly_consumption(900, NOW - timedelta(days=200), NOW)
    assert amc.basis == AmcBasis.FULL
    assert amc.value == pytest.approx(300)


def test_amc_with_short_history_is_scaled_to_thirty_days():
    amc = rules.average_monthly_consumption(200, NOW - timedelta(days=20), NOW)
    assert amc.basis == AmcBasis.SHORT
    assert amc.history_days == 20
    assert amc.value == pytest.approx(300)


@pytest.mark.parametrize("first", [None, NOW - timedelta(days=13), NOW])
def test_amc_is_unknown_under_fourteen_days(first):
    amc = rules.average_monthly_consumption(50, first, NOW)
    assert amc.basis == AmcBasis.UNKNOWN
    assert amc.value is None


def test_amc_with_history_but_no_dispensing_is_zero():
    assert rules.average_monthly_consumption(0, NOW - timedelta(days=120), NOW).value == 0


def test_need_is_max_minus_on_hand_minus_in_transit():
    assert rules.replenishment_need_base(90, 20, 10) == 60
    assert rules.replenishment_need_base(90, 100, 0) == 0


def test_a_stock_level_needs_what_brings_it_to_max():
    level = StockLevel(7, on_hand_base=20, in_transit_base=10, amc_base=30.0, min_base=30, max_base=90)
    assert level.need_base == 60
    assert StockLevel(7, on_hand_base=100, max_base=90).need_base == 0


def test_months_of_stock():
    assert rules.months_of_stock(300, 150.0) == 2
    assert rules.months_of_stock(300, None) is None
    assert rules.months_of_stock(300, 0) is None


@pytest.mark.parametrize("tier,expected", [("village", (1, 2)), ("township", (2, 3)), ("county", (3, 4))])
def test_tier_defaults(tier, expected):
    policy = rules.default_policy(tier)
    assert (policy.min_months, policy.max_months) == expected


def test_min_max_from_months_and_absolute_overrides():
    assert rules.min_max_base(Policy(1, 2), 100.4) == (101, 201)
    assert rules.min_max_base(Policy(1, 2), None) == (None, None)
    assert rules.min_max_base(Policy(1, 2, min_qty_base=50, max_qty_base=500), None) == (50, 500)
    assert rules.min_max_base(Policy(1, 2, max_qty_base=500), 100) == (100, 500)


@pytest.mark.parametrize("usable,low,high,status", [
    (0, 10, 20, StockStatus.STOCK_OUT),
    (0, None, None, StockStatus.STOCK_OUT),
    (5, 10, 20, StockStatus.BELOW_MIN),
    (10, 10, 20, StockStatus.OK),
    (20, 10, 20, StockStatus.OK),
    (21, 10, 20, StockStatus.ABOVE_MAX),
    (5, None, None, StockStatus.OK),
    (5, 0, 0, StockStatus.ABOVE_MAX),
])
def test_status(usable, low, high, status):
    assert rules.stock_status(usable, low, high) == status


def test_near_expiry_and_expired():
    today = date(2026, 6, 30)
    assert rules.is_near_expiry(today + timedelta(days=90), today, 90)
    assert not rules.is_near_expiry(today + timedelta(days=91), today, 90)
    assert not rules.is_near_expiry(today, today, 90)
    assert rules.is_expired(today, today)
    assert not rules.is_expired(today + timedelta(days=1), today)


def test_pack_conversion():
    assert rules.to_base_units(3, "pack", 24) == 72
    assert rules.to_base_units(3, "base", 24) == 3
    with pytest.raises(ValueError):
        rules.to_base_units(3, "box", 24)
    assert rules.packs_and_units(77, 24) == (3, 5)
    assert rules.packs_and_units(-77, 24) == (-3, -5)
    assert rules.packs_and_units(7, 1) == (7, 0)


def test_fefo_takes_earliest_expiry_first_and_skips_expired():
    today = date(2026, 6, 30)
    lots = [LotStock(1, today + timedelta(days=300), 50), LotStock(2, today + timedelta(days=30), 20),
            LotStock(3, today, 100), LotStock(4, today + timedelta(days=30), 5)]
    picks, short = choose_lots_fefo(lots, 40, usable_after=today)
    assert [(p.lot_id, p.qty_base) for p in picks] == [(4, 5), (2, 20), (1, 15)]
    assert short == 0
    picks, short = choose_lots_fefo(lots, 100, usable_after=today)
    assert short == 25
