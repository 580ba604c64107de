"""Consumption rules as plain functions: average monthly consumption, months of stock, min/max and the status.

The rule for AMC (average monthly consumption), in base units per month of 30 days:

* Consumption is what a village dispenses to patients; a township health centre or the county, which also
  supply others, consume what they dispense plus what they issue (transfer out). See
  `queries.CONSUMPTION_KINDS_BY_TIER`; callers may name other movement kinds.
* The window is the 90 days before `as_of` (three months of 30 days).
* History starts at the first stock movement of the product at the facility (a receipt, usually).
* With 90 days or more of history, AMC = units consumed in the window ÷ 3.
* With 14 to 89 days of history ("short history"), the consumed units are scaled to a month:
  AMC = consumed ÷ days of history × 30.
* With under 14 days of history, or none, AMC is unknown (None): too little to extrapolate from. Min and max in
  base units are then unknown too, unless the facility set absolute ones, and the status says only whether the
  product is out of stock.

Months of stock = usable stock ÷ AMC (None when AMC is unknown or zero). Min and max come from the stock policy
(months × AMC, or the absolute quantities when set), with tier defaults: village 1–2, township 2–3, county 3–4
months. The status compares usable (unexpired) stock with them: nothing usable is a stock-out, under min is below
min, over max is above max. With AMC zero and enough history, min = max = 0, so any stock is above max.
"""

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from ..vocabulary import StockStatus  # noqa: F401

WINDOW_DAYS = 90
DAYS_PER_MONTH = 30
MIN_HISTORY_DAYS = 14

# (min months, max months) of stock by facility tier.
TIER_DEFAULT_MONTHS = {"village": (1.0, 2.0), "township": (2.0, 3.0), "county": (3.0, 4.0)}

# Worst first: lists sort by this so what needs action comes to the top.
STATUS_RANK = {StockStatus.STOCK_OUT: 0, StockStatus.BELOW_MIN: 1, StockStatus.ABOVE_MAX: 2, StockStatus.OK: 3}


class AmcBasis(StrEnum):
    FULL = "full"          # three full months of history
    SHORT = "short"        # 14–89 days of history, scaled to a month
    UNKNOWN = "unknown"    # under 14 days: no AMC


@dataclass(frozen=True)
class Amc:
    value: float | None
    basis: AmcBasis
    history_days: int


@dataclass(frozen=True)
class Policy:
    min_months: float
    max_months: float
    min_qty_base: int | None = None
    max_qty_base: int | None = None


def window_start(as_of: datetime) -> datetime:
    return as_of - timedelta(days=WINDOW_DAYS)


def average_monthly_consumption(dispensed_base: int, first_movement_at: datetime | None, as_of: datetime) -> Amc:
    """Return the AMC of `dispensed_base` units dispensed in the window, following the short-history rule."""
    if first_movement_at is None:
        return Amc(None, AmcBasis.UNKNOWN, 0)
    history_days = max(0, (as_of - first_movement_at).days)
    if history_days >= WINDOW_DAYS:
        return Amc(dispensed_base * DAYS_PER_MONTH / WINDOW_DAYS, AmcBasis.FULL, history_days)
    if history_days >= MIN_HISTORY_DAYS:
        return Amc(dispensed_base * DAYS_PER_MONTH / history_days, AmcBasis.SHORT, history_days)
    return Amc(None, AmcBasis.UNKNOWN, history_days)


def months_of_stock(qty_base: int, amc: float | None) -> float | None:
    """Months the stock lasts at the current rate; None when the rate is unknown or zero."""
    if amc is None or amc <= 0:
        return None
    return qty_base / amc


def replenishment_need_base(max_level: int, on_hand: int, in_transit: int) -> int:
    """What to order to reach the max level: max level − on hand − in transit, never negative."""
    return max(0, max_level - on_hand - in_transit)


@dataclass(frozen=True)
class StockLevel:
    """A facility's position in one product, in base units (AMC per month)."""

    product_id: int
    on_hand_base: int = 0
    in_transit_base: int = 0
    amc_base: float = 0.0
    min_base: int = 0
    max_base: int = 0

    @property
    def need_base(self) -> int:
        return replenishment_need_base(self.max_base, self.on_hand_base, self.in_transit_base)


def default_policy(tier: str) -> Policy:
    low, high = TIER_DEFAULT_MONTHS[tier]
    return Policy(low, high)


def min_max_base(policy: Policy, amc: float | None) -> tuple[int | None, int | None]:
    """Min and max in base units: absolute quantities where set, else months × AMC rounded up."""
    def level(months: float, absolute: int | None) -> int | None:
        if absolute is not None:
            return absolute
        if amc is None:
            return None
        return math.ceil(months * amc - 1e-9)

    return level(policy.min_months, policy.min_qty_base), level(policy.max_months, policy.max_qty_base)


def stock_status(usable_base: int, min_base: int | None, max_base: int | None) -> StockStatus:
    """Classify usable stock against min and max (either may be unknown)."""
    if usable_base <= 0:
        return StockStatus.STOCK_OUT
    if min_base is not None and usable_base < min_base:
        return StockStatus.BELOW_MIN
    if max_base is not None and usable_base > max_base:
        return StockStatus.ABOVE_MAX
    return StockStatus.OK


def is_near_expiry(expiry_date: date, today: date, days: int) -> bool:
    """Unexpired, and expiring within `days`."""
    return today < expiry_date <= today + timedelta(days=days)


def is_expired(expiry_date: date, today: date) -> bool:
    return expiry_date <= today


class QtyUnit(StrEnum):
    PACK = "pack"
    BASE = "base"


def to_base_units(qty: int, unit: str, pack_size: int) -> int:
    """Convert a quantity entered in packs or base units to base units."""
    if unit == QtyUnit.PACK:
        return qty * pack_size
    if unit == QtyUnit.BASE:
        return qty
    raise ValueError(f"unknown unit {unit!r}")


def packs_and_units(qty_base: int, pack_size: int) -> tuple[int, int]:
    """Split base units into whole packs and loose units (for display: 3盒+5片)."""
    if pack_size <= 1:
        return qty_base, 0
    sign = -1 if qty_base < 0 else 1
    packs, loose = divmod(abs(qty_base), pack_size)
    return sign * packs, sign * loose
