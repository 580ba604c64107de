"""Plain arithmetic behind the figures: percentiles, weekly windows, rates. No Flask, no database."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

WEEK = timedelta(days=7)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0 ≤ q ≤ 1) by linear interpolation between closest ranks, as PostgreSQL's
    `percentile_cont` computes it; None for no values."""
    if not 0 <= q <= 1:
        raise ValueError("q must lie between 0 and 1")
    ordered = sorted(values)
    if not ordered:
        return None
    position = q * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def median(values: Sequence[float]) -> float | None:
    return percentile(values, 0.5)


def ratio(part: float | None, whole: float | None) -> float | None:
    """part / whole, or None when there is nothing to divide by."""
    if not whole or part is None:
        return None
    return float(part) / float(whole)


@dataclass(frozen=True)
class Weeks:
    """Week ends counted back from `now`: point k is `now − 7k days`; bucket k holds what happened in
    (point k+1, point k]. Points 0..count, buckets 0..count-1."""

    now: datetime
    count: int = 12

    def point(self, k: int) -> datetime:
        return self.now - k * WEEK

    @property
    def points(self) -> list[datetime]:
        return [self.point(k) for k in range(self.count + 1)]

    @property
    def start(self) -> datetime:
        return self.point(self.count)

    def bucket_of(self, moment: datetime) -> int | None:
        """The bucket a moment falls in, or None outside the window."""
        if moment > self.now or moment <= self.start:
            return None
        return min(int((self.now - moment) / WEEK), self.count - 1)


def oldest_first(series: Sequence) -> list:
    """Series are computed newest first (point 0 = now); charts draw them oldest first."""
    return list(reversed(series))


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600
