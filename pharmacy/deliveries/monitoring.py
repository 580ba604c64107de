"""Nightly stock monitoring of townships and villages: stock-outs, levels below min, near-expiry and expired lots.

Each refresh compares what it finds now with the open alerts of its kinds: new conditions open an alert, lasting
ones are updated, vanished ones are resolved. Nothing is deleted, so the history of a stock-out stays readable.
"""

from datetime import datetime, timedelta

from sqlalchemy import select

from .. import clock
from ..extensions import db
from ..supply import policy as dispatch_policy
from ..facilities.models import Facility, Tier
from ..inventory.models import Lot, StockBalance
from .models import EXPIRY_ALERT_KINDS, LEVEL_ALERT_KINDS, AlertKind, StockAlert
from .stock_source import stock_status_for_planning

MONITORED_TIERS = (Tier.COUNTY, Tier.TOWNSHIP, Tier.VILLAGE)  # the central pharmacy too: its stock-outs drive purchasing


def _monitored_facility_ids() -> list[int]:
    return list(db.session.scalars(select(Facility.id).where(Facility.tier.in_(MONITORED_TIERS),
                                                             Facility.is_active.is_(True))))


def _sync(kinds, found: dict[tuple, dict], now: datetime) -> dict:
    """Open, update and resolve alerts of `kinds` so that the open ones are exactly `found`."""
    open_alerts = {(a.facility_id, a.product_id, a.lot_id, a.kind): a for a in db.session.scalars(
        select(StockAlert).where(StockAlert.kind.in_(kinds), StockAlert.resolved_at.is_(None)))}
    opened = resolved = 0
    for key, values in found.items():
        alert = open_alerts.pop(key, None)
        if alert is None:
            facility_id, product_id, lot_id, kind = key
            alert = StockAlert(facility_id=facility_id, product_id=product_id, lot_id=lot_id, kind=kind,
                               first_seen_at=now)
            db.session.add(alert)
            opened += 1
        for name, value in values.items():
            setattr(alert, name, value)
        alert.last_seen_at = now
    for alert in open_alerts.values():
        alert.resolved_at = now
        resolved += 1
    db.session.flush()
    return {"open": len(found), "opened": opened, "resolved": resolved}


def recompute_stock_status(now: datetime | None = None) -> dict:
    """Scheduler job: recompute AMC and stock status of every facility that holds stock; flag stock-outs and levels
    below min."""
    now = now or clock.now_utc()
    found = {}
    for row in stock_status_for_planning(_monitored_facility_ids()):
        if row.status == "stockout":
            if not row.amc and not row.min_qty:
                continue  # nothing on hand, but nobody uses it and no level is set: no shortage to act on
            kind = AlertKind.STOCKOUT
        elif row.status == "below_min":
            kind = AlertKind.BELOW_MIN
        else:
            continue
        found[(row.facility_id, row.product_id, None, kind)] = {
            "on_hand_base": row.on_hand, "amc_base": row.amc, "months_of_stock": row.months_of_stock,
            "min_base": row.min_qty}
    return _sync(LEVEL_ALERT_KINDS, found, now)


def flag_expiring_lots(now: datetime | None = None) -> dict:
    """Scheduler job: flag lots on hand that expire within the near-expiry window, or already have."""
    now = now or clock.now_utc()
    today = clock.to_local(now).date()
    cutoff = today + timedelta(days=dispatch_policy.near_expiry_days())
    rows = db.session.execute(
        select(StockBalance.facility_id, StockBalance.product_id, StockBalance.lot_id, StockBalance.qty_base,
               Lot.expiry_date)
        .join(Lot, Lot.id == StockBalance.lot_id)
        .join(Facility, Facility.id == StockBalance.facility_id)
        .where(StockBalance.qty_base > 0, Lot.expiry_date <= cutoff, Facility.tier.in_(MONITORED_TIERS)))
    found = {}
    for facility_id, product_id, lot_id, qty, expiry in rows:
        kind = AlertKind.EXPIRED if expiry <= today else AlertKind.NEAR_EXPIRY
        found[(facility_id, product_id, lot_id, kind)] = {"on_hand_base": qty, "expiry_date": expiry}
    return _sync(EXPIRY_ALERT_KINDS, found, now)
