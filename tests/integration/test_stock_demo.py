"""The demo seed steps for stock and shortages: realistic, consistent, and the consumption is meaningful."""

from sqlalchemy import func, select

from pharmacy.catalog.loader import load_catalog
from pharmacy.config import ROOT
from pharmacy.demo.seed import seed_demo
from pharmacy.extensions import db
from pharmacy.inventory import queries
from pharmacy.inventory.models import StockBalance, StockMovement
from pharmacy.shortages.models import Shortage
from tests.stock_support import assert_ledger_matches_balances


def test_demo_county_gets_stock_history_and_open_shortages(db_session):
    load_catalog(ROOT / "tests" / "data" / "catalog_small")
    demo = seed_demo(townships=2, villages_per_township=7, passwords={"county_pharmacist": "x"})
    assert_ledger_matches_balances()
    held = dict(db.session.execute(select(StockBalance.facility_id, func.count(StockBalance.id))
                                   .group_by(StockBalance.facility_id)).all())
    assert held[demo.central_pharmacy.id] >= 2 * 5  # most village-tier products, 2–3 lots each
    assert all(v.id in held for vs in demo.villages.values() for v in vs)
    dispensing = set(db.session.scalars(select(StockMovement.facility_id).where(StockMovement.kind == "dispense")))
    assert dispensing == {v.id for vs in demo.villages.values() for v in vs}  # every village dispenses
    daily = set(db.session.scalars(select(StockMovement.facility_id).where(StockMovement.kind == "dispense")
                                   .group_by(StockMovement.facility_id).having(func.count() > 400)))
    assert 1 <= len(daily) <= 6  # day by day at a few villages, in fortnightly totals elsewhere
    rows = queries.stock_status(list(dispensing))
    assert rows and all(r.amc > 0 for r in rows) and sum(r.amc_basis == "full" for r in rows) > len(rows) / 2
    supplied = queries.stock_status([demo.townships[0].id, demo.central_pharmacy.id])
    assert any(r.amc for r in supplied)  # issues to the facilities they supply count as their consumption
    kinds = set(db.session.scalars(select(StockMovement.kind)))
    assert kinds == {"receipt", "transfer_out", "transfer_in", "dispense"}
    shortages = list(db.session.scalars(select(Shortage)))
    assert len(shortages) == 6 and {s.urgency for s in shortages} == {"routine", "urgent", "emergency"}
    assert {s.status for s in shortages} == {"registered", "acknowledged"}
