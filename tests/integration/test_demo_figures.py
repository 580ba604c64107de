"""The demo county's dashboard looks like a real county's: most villages hold most tracer products, a few are out of
some, some stock is near expiry, and the two stock figures agree."""

from decimal import Decimal

from sqlalchemy import Numeric, cast, func, select

from pharmacy import clock
from pharmacy.catalog.models import Product
from pharmacy.demo.seed import seed_demo
from pharmacy.demo.stock import VILLAGE_CHRONIC
from pharmacy.extensions import db
from pharmacy.inventory.models import StockBalance
from pharmacy.reports.dashboard import build_dashboard


def test_the_demo_countys_figures_are_realistic_and_agree(db_session):
    demo = seed_demo(townships=4, villages_per_township=10, passwords={"county_pharmacist": "x"})
    board = build_dashboard(demo.county, now=clock.now_utc(), near_expiry_days=90, tz=clock.local_zone(), keep=False)
    assert board.village_count == 40
    assert board.tracer_count == len(VILLAGE_CHRONIC)  # the county's village list of chronic medicines
    assert 0.70 <= board.availability.current <= 0.95
    assert board.stockouts.current == round(board.tracer_pairs * (1 - board.availability.current))
    assert 0 < board.stockouts.current <= 0.3 * board.tracer_pairs
    # The trend is a working county's, not a county that started this week.
    assert all(0.6 <= value <= 1 for value in board.availability.values)
    shares = [share for share in board.unit_availability.values() if share is not None]
    assert len(shares) == 4 and max(shares) - min(shares) >= 0.03  # townships differ
    assert board.stockout_product_count >= 3  # several tracer products are out somewhere, not one everywhere
    assert all(p["out"] < p["villages"] for p in board.stockout_products)

    # Some stock near expiry, at villages too, but not a tenth of all stock.
    value = db.session.scalar(select(func.sum(cast(StockBalance.qty_base, Numeric(18, 4)) * Product.unified_price
                                              / Product.pack_size))
                              .select_from(StockBalance).join(Product, Product.id == StockBalance.product_id))
    near = board.near_expiry_totals["value"]
    assert Decimal(0) < near < Decimal(str(value)) * Decimal("0.1")
    villages = {v.id for vs in demo.villages.values() for v in vs}
    assert any(f["facility_id"] in villages for f in board.near_expiry_facilities)
