"""Statement arithmetic: price in force at a moment, line amounts, totals, month boundaries. Pure functions."""

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import ROUND_HALF_UP, Decimal

from ..clock import as_utc

CENT = Decimal("0.01")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def parse_month(text: str) -> tuple[int, int]:
    """'2024-06' → (2024, 6); ValueError for anything else."""
    match = _MONTH.match((text or "").strip())
    if not match or not 1900 <= int(match.group(1)) <= 9998:  # month_bounds needs the next month to exist
        raise ValueError(f"not a month: {text!r}")
    return int(match.group(1)), int(match.group(2))


def month_bounds(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's first instant, local to `tz`, in UTC."""
    year, mon = parse_month(month)
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), 1 if mon == 12 else mon + 1, 1, tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def month_of(moment: datetime, tz: tzinfo) -> str:
    return as_utc(moment).astimezone(tz).strftime("%Y-%m")


def previous_month(month: str) -> str:
    year, mon = parse_month(month)
    return f"{year - (mon == 1)}-{12 if mon == 1 else mon - 1:02d}"


def price_on(history: list[tuple[datetime, Decimal]], moment: datetime) -> Decimal | None:
    """The unified price in force at `moment`: the latest entry whose valid_from ≤ moment.

    `history` is sorted by valid_from. Before the first entry there is no price (None).
    """
    moments = [as_utc(valid_from) for valid_from, _price in history]
    index = bisect_right(moments, as_utc(moment))
    return history[index - 1][1] if index else None


def line_amount(qty_base: int, pack_size: int, unit_price: Decimal) -> Decimal:
    """Value of `qty_base` base units at a price per pack of `pack_size`, rounded half-up to the cent."""
    return (Decimal(qty_base) * Decimal(unit_price) / Decimal(max(pack_size, 1))).quantize(CENT, ROUND_HALF_UP)


@dataclass
class Totals:
    total: Decimal = Decimal("0.00")
    vbp: Decimal = Decimal("0.00")
    non_vbp: Decimal = Decimal("0.00")
    by_category: dict[str, Decimal] = field(default_factory=dict)
    lines: int = 0


def summarize(lines) -> Totals:
    """Totals of statement lines (objects with `amount`, `category`, `is_vbp`) by category and by 集采 flag."""
    totals = Totals()
    for line in lines:
        amount = Decimal(line.amount)
        totals.total += amount
        totals.lines += 1
        if line.is_vbp:
            totals.vbp += amount
        else:
            totals.non_vbp += amount
        totals.by_category[line.category] = totals.by_category.get(line.category, Decimal("0.00")) + amount
    return totals


def is_month_over(month: str, now: datetime, tz: tzinfo) -> bool:
    return as_utc(now) >= month_bounds(month, tz)[1]
