"""Plain arithmetic behind the figures: percentiles, weekly windows, rates. No Flask, no database."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import cached_property


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
    """The points a trend is drawn at. Point 0 is `now`; point k ≥ 1 is the start of a week (Monday 00:00 in the
    county's time zone `tz`), point 1 starting the current week. Bucket k holds what happened in
    (point k+1, point k], so bucket 0 is the week so far. Past points never move: a figure at one stays true."""

    now: datetime
    count: int = 12
    tz: tzinfo = UTC

    def point(self, k: int) -> datetime:
        if k == 0:
            return self.now
        local = self.now.astimezone(self.tz)
        monday = local.date() - timedelta(days=local.weekday() + 7 * (k - 1))
        return datetime.combine(monday, time.min, tzinfo=self.tz).astimezone(UTC)

    @cached_property
    def points(self) -> list[datetime]:
        return [self.point(k) for k in range(self.count + 1)]

    @property
    def start(self) -> datetime:
        return self.point(self.count)

    def bucket_of(self, moment: datetime) -> int | None:
        """The bucket a moment falls in, or None outside the window."""
        points = self.points
        if not points[self.count] < moment <= points[0]:
            return None
        for k in range(self.count):
            if points[k + 1] < moment <= points[k]:
                return k
        return None

    def reference(self, days: int = 28) -> int:
        """The newest point at least `days` old, for "compared with four weeks ago"."""
        return next((k for k in range(1, self.count + 1) if self.point(k) <= self.now - timedelta(days=days)),
                    self.count)


def oldest_first(series: Sequence) -> list:
    """Series are computed newest first (point 0 = now); charts draw them oldest first."""
    return list(reversed(series))


def hours_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 3600
