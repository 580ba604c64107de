"""Helpers for the stock and shortage tests: ledger invariants and dated history."""

from datetime import date, timedelta

from sqlalchemy import func, select, update

from pharmacy import clock
from pharmacy.extensions import db
from pharmacy.inventory.invariants import ledger_problems as _problems
from pharmacy.inventory.models import StockBalance, StockMovement, StockOperation


def ledger_problems() -> dict[str, int]:
    """The ledger invariants (`pharmacy.inventory.invariants`) that fail in the test's session: {} when whole."""
    db.session.flush()
    return _problems(db.session)


def assert_ledger_matches_balances():
    """Every balance equals the sum of its movements, none is negative, and every transfer booked in and out
    what its lines say was received and sent (the other invariants of `pharmacy.inventory.invariants` too)."""
    assert ledger_problems() == {}
    sums = {(f, lot): int(total) for f, lot, total in db.session.execute(
        select(StockMovement.facility_id, StockMovement.lot_id, func.sum(StockMovement.qty_base))
        .group_by(StockMovement.facility_id, StockMovement.lot_id))}
    balances = {(b.facility_id, b.lot_id): b.qty_base for b in db.session.scalars(select(StockBalance))}
    for key, qty in balances.items():
        assert qty >= 0, key
        assert sums.get(key, 0) == qty, key
    for key, total in sums.items():
        assert balances.get(key) == total, key


def counts():
    """How many operations and movements exist: a refused write must leave both unchanged."""
    return (db.session.scalar(select(func.count(StockOperation.id))),
            db.session.scalar(select(func.count(StockMovement.id))))


def days_from_now(days: int) -> date:
    return clock.today() + timedelta(days=days)


def backdate(operation, days: int):
    """Move an operation's movements into the past (test set-up for consumption history)."""
    for movement in operation.movements:
        db.session.execute(update(StockMovement).where(StockMovement.id == movement.id)
                           .values(created_at=movement.created_at - timedelta(days=days)))
    db.session.expire_all()

