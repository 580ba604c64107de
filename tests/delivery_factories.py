"""Factories for delivery tests: routes, township stock, village consumption, shortages."""

import itertools
from datetime import date, time, timedelta

from pharmacy import clock
from pharmacy.deliveries.services import StopSpec, save_route
from pharmacy.inventory import services as stock
from pharmacy.shortages.services import register_shortage

_keys = itertools.count(1)


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_keys)}"


def make_route(township, villages, *, name: str | None = None, weekdays: str = "2,5", departure: str = "08:00",
               every: dict | None = None, phase: dict | None = None):
    """A route over `villages` in the given order; `every`/`phase` map a village id to its frequency."""
    every, phase = every or {}, phase or {}
    stops = [StopSpec(v.id, i, every.get(v.id, 1), phase.get(v.id, 0)) for i, v in enumerate(villages, start=1)]
    return save_route(township, name=name or f"线{next(_keys)}", weekdays=weekdays, departure_time=departure,
                      stops=stops)


def stock_up(facility, product, qty_base: int, *, user, lot: str | None = None, expires_in_days: int = 400):
    """Receive `qty_base` of a new lot at `facility`, expiring `expires_in_days` from today."""
    return stock.receive(facility, product, lot_number=lot or key("LOT"), qty_base=qty_base, user=user,
                         key=key("rcv"), expiry_date=clock.today() + timedelta(days=expires_in_days))


def consumption(village, product, *, monthly_base: int, on_hand_base: int, user):
    """Give a village an AMC of `monthly_base` (stock received over three months ago, so the history is full, and
    three months' worth dispensed within the window) and leave `on_hand_base` on the shelf."""
    from pharmacy.extensions import db

    dispensed = monthly_base * 3
    receipt = stock_up(village, product, dispensed + on_hand_base, user=user)
    for movement in receipt.movements:
        movement.created_at = clock.now_utc() - timedelta(days=100)
    db.session.flush()
    stock.dispense(village, product, qty_base=dispensed, user=user, key=key("dsp"))


def shortage(village, product, qty_packs: int, *, user, urgency: str = "routine"):
    registered, _created = register_shortage(facility=village, user=user, client_id=key("sh"), qty_packs=qty_packs,
                                             product=product, urgency=urgency)
    return registered


def next_weekday(weekday: int, after: date | None = None) -> date:
    """The first date with ISO `weekday` strictly after `after` (default today)."""
    day = (after or clock.today()) + timedelta(days=1)
    while day.isoweekday() != weekday:
        day += timedelta(days=1)
    return day


DEPARTURE = time(8, 0)

