"""Route calendar arithmetic: plain functions, no database."""

from datetime import date, datetime, time, timedelta

MAX_EVERY_N_RUNS = 4


def parse_weekdays(text: str) -> list[int]:
    """Read "2,5" (ISO weekdays, Monday = 1) into a sorted list; raise ValueError on anything else."""
    days = set()
    for part in (text or "").replace("，", ",").split(","):
        part = part.strip()
        if not part:
            continue
        day = int(part)
        if not 1 <= day <= 7:
            raise ValueError(f"weekday out of range: {day}")
        days.add(day)
    if not days:
        raise ValueError("no weekday")
    return sorted(days)


def departures_after(weekdays: list[int], departure_time: time, after: datetime, count: int = 1) -> list[datetime]:
    """The next `count` departures strictly after `after` (a local, naive or aware, datetime)."""
    found = []
    day = after.date()
    while len(found) < count:
        if day.isoweekday() in weekdays:
            candidate = datetime.combine(day, departure_time, tzinfo=after.tzinfo)
            if candidate > after:
                found.append(candidate)
        day += timedelta(days=1)
    return found


def next_departure_on_or_after(weekdays: list[int], day: date) -> date:
    """The first departure day on or after `day`."""
    while day.isoweekday() not in weekdays:
        day += timedelta(days=1)
    return day


def is_stop_due(every_n_runs: int, phase: int, sequence: int) -> bool:
    """Whether a stop served every `every_n_runs` runs (starting at run `phase` + 1) is due on run `sequence`."""
    every_n_runs = max(1, every_n_runs)
    return (sequence - 1) % every_n_runs == phase % every_n_runs


def default_every_n_runs(population: int | None, small_village_below: int = 800) -> int:
    """Villages with fewer residents than `small_village_below` are served on alternate runs by default."""
    return 2 if population is not None and population < small_village_below else 1
