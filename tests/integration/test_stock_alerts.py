"""The nightly jobs' alerts: stock-outs and levels below min, near-expiry and expired lots; opened and resolved."""

from datetime import timedelta

from sqlalchemy import select

from pharmacy import clock
from pharmacy.deliveries.models import AlertKind, StockAlert
from pharmacy.deliveries.monitoring import flag_expiring_lots, recompute_stock_status
from pharmacy.deliveries.stock_source import stock_status_for_planning
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import StockPolicy
from tests.factories import consume, key, make_product, stock_up


def open_alerts():
    return {(a.facility_id, a.product_id, a.kind): a for a in db.session.scalars(
        select(StockAlert).where(StockAlert.resolved_at.is_(None)))}


def test_stock_status_adapter_reads_amc_policies_and_tier_defaults(county):
    v1, v2 = county.villages[:2]
    product = make_product(pack_size=10)
    consume(v1, product, 3 * 30, on_hand_base=20, user=county.users["village"])
    consume(v2, product, 3 * 30, on_hand_base=200, user=county.users["village"])
    db.session.add(StockPolicy(facility_id=v2.id, product_id=product.id, min_months=1, max_months=3,
                               min_qty_base=None, max_qty_base=150))
    rows = {r.facility_id: r for r in stock_status_for_planning([v1.id, v2.id])}
    assert (rows[v1.id].amc, rows[v1.id].min_qty, rows[v1.id].max_qty, rows[v1.id].status) == (30, 30, 60,
                                                                                             "below_min")
    assert rows[v1.id].months_of_stock == 20 / 30
    assert (rows[v2.id].min_qty, rows[v2.id].max_qty, rows[v2.id].status) == (30, 150, "above_max")


def test_level_alerts_open_then_resolve(county):
    v1, v2 = county.villages[:2]
    doctor = county.users["village"]
    product = make_product(pack_size=10)
    consume(v1, product, 3 * 30, on_hand_base=0, user=doctor)
    consume(v2, product, 3 * 30, on_hand_base=10, user=doctor)
    summary = recompute_stock_status()
    alerts = open_alerts()
    assert alerts[(v1.id, product.id, AlertKind.STOCKOUT)].amc_base == 30
    assert alerts[(v2.id, product.id, AlertKind.BELOW_MIN)].min_base == 30
    assert summary["opened"] == 2
    stock_up(v1, product, 100, user=doctor)
    second = recompute_stock_status()
    assert second["resolved"] == 1 and second["opened"] == 0
    assert (v1.id, product.id, AlertKind.STOCKOUT) not in open_alerts()
    resolved = db.session.scalars(select(StockAlert).where(StockAlert.resolved_at.is_not(None))).one()
    assert resolved.facility_id == v1.id  # kept, not deleted


def test_expiry_alerts(app, county):
    township = county.townships[0]
    pharmacist = county.users["township"]
    product = make_product(pack_size=10)
    stock_up(township, product, 50, user=pharmacist, lot="SOON", expires_in_days=30)
    stock_up(township, product, 50, user=pharmacist, lot="LATER", expires_in_days=400)
    # an expired lot still on the shelf: received before it expired
    lot = stock.get_or_create_lot(product, "GONE", clock.today() + timedelta(days=1))
    stock.receive(township, product, lot_number="GONE", expiry_date=lot.expiry_date, qty_base=5, user=pharmacist,
                  key=key("r"))
    lot.expiry_date = clock.today() - timedelta(days=1)
    db.session.flush()
    summary = flag_expiring_lots()
    kinds = {a.lot.lot_number: a.kind for a in db.session.scalars(select(StockAlert))}
    assert kinds == {"SOON": AlertKind.NEAR_EXPIRY, "GONE": AlertKind.EXPIRED}
    assert summary["open"] == 2
    assert flag_expiring_lots()["opened"] == 0  # a second night finds the same, opens nothing new


def test_the_central_pharmacy_is_watched_too(county):
    """Issue 12: /deliveries/alerts said "no alerts" while the central pharmacy was out of products it dispenses —
    the job watched townships and villages only. The county's own stock-outs are the ones purchasing acts on."""
    product = make_product(pack_size=10)
    consume(county.central, product, 3 * 30, on_hand_base=0, user=county.users["county"])
    recompute_stock_status()
    assert (county.central.id, product.id, AlertKind.STOCKOUT) in open_alerts()


def test_a_product_nobody_uses_is_no_stock_out(county):
    """A lot that ran out long ago, with no consumption in the window and no level set, is no shortage: the demo
    county's alert list was full of 缺货 0支 · 月均消耗 0 · 下限 0."""
    unused = make_product(pack_size=10)
    used = make_product(pack_size=10)
    receipt = stock_up(county.central, unused, 5, user=county.users["county"])
    for movement in receipt.movements:
        movement.created_at = clock.now_utc() - timedelta(days=100)
    stock.adjust(county.central, receipt.movements[0].lot, qty_delta=-5, reason="damaged",
                 user=county.users["county"], key=key("adj"))
    consume(county.central, used, 3 * 30, on_hand_base=0, user=county.users["county"])
    recompute_stock_status()
    alerts = open_alerts()
    assert (county.central.id, used.id, AlertKind.STOCKOUT) in alerts
    assert (county.central.id, unused.id, AlertKind.STOCKOUT) not in alerts


def test_the_alerts_page_pages_and_the_api_keeps_its_list(county, login, db_session):
    from pharmacy.deliveries.models import StockAlert as Alert

    products = [make_product(pack_size=10) for _ in range(130)]
    now = clock.now_utc()
    for product in products:
        db.session.add(Alert(facility_id=county.villages[0].id, product_id=product.id, kind=AlertKind.STOCKOUT,
                             first_seen_at=now, last_seen_at=now, on_hand_base=0, amc_base=3, min_base=3))
    db_session.commit()
    client = login(county.users["county"])
    first = client.get("/deliveries/alerts").get_data(as_text=True)
    assert first.count('class="alert-stockout"') == 100 and "第 1 / 2 页" in first
    second = client.get("/deliveries/alerts?page=2&kind=stockout").get_data(as_text=True)
    assert second.count('class="alert-stockout"') == 30 and 'rel="prev"' in second
    assert len(client.get("/api/v1/deliveries/alerts").get_json()) == 130
    assert len(client.get("/api/v1/deliveries/alerts?per_page=50&page=3").get_json()) == 30
