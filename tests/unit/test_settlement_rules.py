from datetime import UTC, datetime
from decimal import Decimal
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from pharmacy.settlement.rules import (is_month_over, line_amount, month_bounds, month_of, parse_month,
                                       previous_month, price_on, summarize)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_price_in_force_is_the_latest_valid_from_not_after_the_moment():
    history = [(datetime(2024, 1, 1, tzinfo=UTC), Decimal("10.00")),
               (datetime(2024, 3, 1, 2, 0, tzinfo=UTC), Decimal("12.00")),
               (datetime(2024, 5, 1), Decimal("9.00"))]  # naive from SQLite means UTC
    assert price_on(history, datetime(2023, 12, 31, tzinfo=UTC)) is None
    assert price_on(history, datetime(2024, 2, 10, tzinfo=UTC)) == Decimal("10.00")
    assert price_on(history, datetime(2024, 3, 1, 2, 0, tzinfo=UTC)) == Decimal("12.00")  # from that instant
    assert price_on(history, datetime(2024, 3, 1, 1, 59)) == Decimal("10.00")
    assert price_on(history, datetime(2024, 6, 1, tzinfo=UTC)) == Decimal("9.00")


def test_line_amount_prices_base_units_per_pack_and_rounds_half_up():
    assert line_amount(45, 10, Decimal("12.50")) == Decimal("56.25")
    assert line_amount(1, 3, Decimal("1.00")) == Decimal("0.33")
    assert line_amount(1, 8, Decimal("1.00")) == Decimal("0.13")  # 0.125 → 0.13


def test_summary_by_category_and_vbp():
    lines = [SimpleNamespace(amount=Decimal("10.00"), category="中成药", is_vbp=False),
             SimpleNamespace(amount=Decimal("5.50"), category="化学药品和生物制品", is_vbp=True),
             SimpleNamespace(amount=Decimal("4.50"), category="化学药品和生物制品", is_vbp=False)]
    totals = summarize(lines)
    assert totals.total == Decimal("20.00") and totals.lines == 3
    assert (totals.vbp, totals.non_vbp) == (Decimal("5.50"), Decimal("14.50"))
    assert totals.by_category == {"中成药": Decimal("10.00"), "化学药品和生物制品": Decimal("10.00")}


def test_months_are_local():
    start, end = month_bounds("2024-06", SHANGHAI)
    assert start == datetime(2024, 5, 31, 16, 0, tzinfo=UTC)
    assert end == datetime(2024, 6, 30, 16, 0, tzinfo=UTC)
    assert month_bounds("2024-12", SHANGHAI)[1] == datetime(2024, 12, 31, 16, 0, tzinfo=UTC)
    assert month_of(datetime(2024, 6, 30, 17, 0, tzinfo=UTC), SHANGHAI) == "2024-07"
    assert previous_month("2024-01") == "2023-12"
    assert is_month_over("2024-06", datetime(2024, 6, 30, 16, 0, tzinfo=UTC), SHANGHAI)
    assert not is_month_over("2024-06", datetime(2024, 6, 30, 15, 59, tzinfo=UTC), SHANGHAI)
    for bad in ("2024-13", "2024-6", "junk", ""):
        with pytest.raises(ValueError):
            parse_month(bad)
