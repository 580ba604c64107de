"""Consumption, months of stock, policy and status as the set-based query computes them."""

from datetime import timedelta

import pytest
from sqlalchemy import event

from pharmacy import clock
from pharmacy.extensions import db
from pharmacy.inventory import queries
from pharmacy.inventory import services as stock
from tests.factories import make_product
from tests.stock_support import backdate, days_from_now


@pytest.fixture
def village_stock(county):
    village, user = county.villages[0], county.users["village"]
    product = make_product(pack_size=10)
    opening = stock.receive(village, product, lot_number="L1", expiry_date=days_from_now(300), qty_base=1000,
                            user=user, key="open")
    backdate(opening, 120)
    return village, user, product


def dispense_days_ago(village, product, user, qty, days, key):
    backdate(stock.dispense(village, product, qty_base=qty, user=user, key=key), days)


def test_full_history_amc_months_and_status(village_stock):
    village, user, product = village_stock
    dispense_days_ago(village, product, user, 300, 100, "old")       # before the window: not counted
    dispense_days_ago(village, product, user, 150, 60, "d1")
    dispense_days_ago(village, product, user, 150, 10, "d2")
    row = queries.stock_status_one(village.id, product.id)
    assert (row.on_hand, row.usable, row.dispensed_in_window) == (400, 400, 300)
    assert row.amc_basis == "full" and row.amc == pytest.approx(100)
    assert row.months_of_stock == pytest.approx(4)
    assert (row.min_months, row.max_months, row.min_base, row.max_base) == (1, 2, 100, 200)
    assert row.status == "above_max" and row.policy_source == "tier_default"
    stock.set_policy(village, product, min_months=5, max_months=6, user=user)
    row = queries.stock_status_one(village.id, product.id)
    assert (row.min_base, row.max_base, row.status, row.policy_source) == (500, 600, "below_min", "facility")


def test_short_history_is_scaled_and_very_short_history_has_no_amc(county):
    village, user = county.villages[0], county.users["village"]
    product = make_product()
    backdate(stock.receive(village, product, lot_number="L", expiry_date=days_from_now(300), qty_base=100, user=user,
                           key="o"), 30)
    dispense_days_ago(village, product, user, 20, 5, "d")
    row = queries.stock_status_one(village.id, product.id)
    assert row.amc_basis == "short" and row.history_days == 30 and row.amc == pytest.approx(20)
    assert row.status == "above_max"  # 80 on hand, max = 2 × 20

    fresh = make_product()
    stock.receive(village, fresh, lot_number="F", expiry_date=days_from_now(300), qty_base=10, user=user, key="f")
    row = queries.stock_status_one(village.id, fresh.id)
    assert row.amc is None and row.amc_basis == "unknown" and row.months_of_stock is None
    assert row.min_base is None and row.status == "ok"


def test_stock_out_expired_near_expiry_and_in_transit(county):
    village, township, user = county.villages[0], county.townships[0], county.users["township"]
    product = make_product()
    stock.receive(township, product, lot_number="N", expiry_date=days_from_now(30), qty_base=40, user=user, key="n")
    stock.receive(township, product, lot_number="F", expiry_date=days_from_now(300), qty_base=60, user=user, key="f")
    stock.send_transfer(township, village, [stock.LineRequest(product, 100)], user=user, key="t")
    town_row, village_row = (queries.stock_status_one(township.id, product.id),
                             queries.stock_status_one(village.id, product.id))
    assert town_row.on_hand == 0 and town_row.status == "stock_out"
    assert village_row.in_transit == 100 and village_row.status == "stock_out"

    stock.receive(village, product, lot_number="N", expiry_date=days_from_now(30), qty_base=5,
                  user=county.users["village"], key="vn")
    row = queries.stock_status_one(village.id, product.id)
    assert row.near_expiry == 5 and row.earliest_expiry == days_from_now(30)
    assert queries.stock_status([village.id], near_days=10)[0].near_expiry == 0
    stock.write_off_expired(village, user=county.users["village"], key="w", as_of=days_from_now(31))
    later = clock.now_utc() + timedelta(days=31)
    row = queries.stock_status([village.id], [product.id], as_of=later)[0]
    assert row.on_hand == 0 and row.status == "stock_out"


def test_expired_stock_is_not_usable(county):
    village, user = county.villages[0], county.users["village"]
    product = make_product()
    stock.receive(village, product, lot_number="E", expiry_date=days_from_now(5), qty_base=7, user=user, key="e")
    row = queries.stock_status([village.id], [product.id], as_of=clock.now_utc() + timedelta(days=6))[0]
    assert (row.on_hand, row.usable, row.expired, row.status) == (7, 0, 7, "stock_out")


def test_include_empty_lists_never_stocked_pairs(county):
    product = make_product()
    ids = [v.id for v in county.villages]
    assert queries.stock_status(ids, [product.id]) == []
    rows = queries.stock_status(ids, [product.id], include_empty=True)
    assert [(r.facility_id, r.status) for r in rows] == [(i, "stock_out") for i in sorted(ids)]


def test_stock_status_is_set_based(county):
    """The number of statements does not grow with facilities × products."""
    user = county.users["county"]
    products = [make_product() for _ in range(6)]
    for facility in [county.central, *county.townships, *county.villages]:
        for product in products[:3]:
            stock.receive(facility, product, lot_number=f"L{product.id}", expiry_date=days_from_now(200),
                          qty_base=10, user=user, key=f"{facility.id}-{product.id}")
            stock.dispense(facility, product, qty_base=1, user=user, key=f"d{facility.id}-{product.id}")
        stock.set_policy(facility, products[4], min_months=1, max_months=2, user=user)
    statements = []
    engine = db.session.get_bind()
    listen = lambda *args: statements.append(args[2])
    event.listen(engine, "before_cursor_execute", listen)
    try:
        small = queries.stock_status([county.villages[0].id])
        n_small = len(statements)
        statements.clear()
        everything = queries.stock_status([f.id for f in [county.central, *county.townships, *county.villages]])
        n_all = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    assert len(small) == 4 and len(everything) == 28
    assert n_small == n_all <= 5


def test_lots_on_hand_flags(county):
    village, user = county.villages[0], county.users["village"]
    product = make_product()
    stock.receive(village, product, lot_number="A", expiry_date=days_from_now(20), qty_base=3, user=user, key="a")
    stock.receive(village, product, lot_number="B", expiry_date=days_from_now(200), qty_base=4, user=user, key="b")
    lots = queries.lots_on_hand([village.id], product.id)
    assert [(lot.lot_number, lot.is_near_expiry) for lot in lots] == [("A", True), ("B", False)]
    assert [lot.lot_number for lot in queries.lots_on_hand([village.id], only_near_expiry=True)] == ["A"]


def test_stock_card_running_balance(county):
    village, user = county.villages[0], county.users["village"]
    product = make_product()
    stock.receive(village, product, lot_number="A", expiry_date=days_from_now(20), qty_base=10, user=user, key="a")
    stock.receive(village, product, lot_number="B", expiry_date=days_from_now(200), qty_base=5, user=user, key="b")
    stock.dispense(village, product, qty_base=12, user=user, key="d")
    opening, lines, has_more = queries.stock_card(village.id, product.id)
    assert opening == 0 and not has_more
    assert [line.balance for line in lines] == [10, 15, 5, 3]
    opening, lines, has_more = queries.stock_card(village.id, product.id, limit=2)
    assert opening == 15 and has_more and [line.balance for line in lines] == [5, 3]


def test_a_township_consumes_what_it_issues_and_a_village_only_what_it_dispenses(county):
    township, village, user = county.townships[0], county.villages[0], county.users["township"]
    product = make_product()
    backdate(stock.receive(township, product, lot_number="T", expiry_date=days_from_now(300), qty_base=900,
                           user=user, key="r"), 100)
    stock.send_transfer(township, village, [stock.LineRequest(product, 300)], user=user, key="t", in_transit=False)
    stock.send_transfer(village, township, [stock.LineRequest(product, 30)], user=user, key="back",
                        in_transit=False)
    town = queries.stock_status_one(township.id, product.id)
    assert town.dispensed_in_window == 300 and town.amc == pytest.approx(100)
    assert queries.stock_status([township.id], consumption_kinds=("dispense",))[0].amc == 0
    assert queries.stock_status_one(village.id, product.id).dispensed_in_window == 0


@pytest.fixture
def varied_stock(county):
    """Every kind of row: full and short histories of many lengths, no history, policies (months and absolute),
    zero consumption, expired and near-expiry lots, goods in transit, a township that issues."""
    user = county.users["county"]
    village, other, township = county.villages[0], county.villages[1], county.townships[0]
    products = [make_product(f"品种{n}", pack_size=10) for n in range(14)]
    for n, (product, days) in enumerate(zip(products, (120, 90, 89, 61, 45, 30, 29, 15, 14, 13, 3, 95, 100, 60))):
        for facility, qty in ((village, 100 + 17 * n), (township, 1000 + 31 * n)):
            backdate(stock.receive(facility, product, lot_number=f"L{n}", expiry_date=days_from_now(20 + 40 * n),
                                   qty_base=qty, user=user, key=f"r{facility.id}-{n}"), days)
            for k, ago in enumerate((1, days // 2, days - 1)):
                if 0 < ago < days and n % 4 != 3:
                    backdate(stock.dispense(facility, product, qty_base=3 + n + k, user=user,
                                            key=f"d{facility.id}-{n}-{k}"), ago)
    stock.set_policy(village, products[0], min_months=5, max_months=6, user=user)
    stock.set_policy(village, products[5], min_months=0.5, max_months=1.5, user=user)
    stock.set_policy(village, products[9], min_months=1, max_months=2, min_qty_base=500, max_qty_base=900, user=user)
    stock.set_policy(other, products[2], min_months=1, max_months=2, user=user)
    stock.receive(village, products[1], lot_number="OLD", expiry_date=days_from_now(2), qty_base=4, user=user,
                  key="old")
    stock.send_transfer(township, other, [stock.LineRequest(products[3], 30)], user=user, key="t")
    backdate(stock.dispense(township, products[7], qty_base=products[7].id % 5 + 1, user=user, key="x"), 200)
    db.session.flush()
    return county, products


@pytest.mark.parametrize("later_days", [0, 3, 25])
def test_the_stock_list_filters_orders_and_judges_status_as_stock_status_does(varied_stock, later_days):
    county, products = varied_stock
    ids = [f.id for f in [county.central, *county.townships, *county.villages]]
    as_of = clock.now_utc() + timedelta(days=later_days)
    rows = queries.stock_status(ids, as_of=as_of)
    listed = db.session.execute(queries.stock_list(ids, as_of=as_of)).all()
    assert [(f, p, s) for f, p, s in listed] == [(r.facility_id, r.product_id, r.status) for r in rows]
    assert later_days or len({r.status for r in rows}) == 4  # the data reaches every status
    for status in ("stock_out", "below_min", "above_max", "ok"):
        got = db.session.execute(queries.stock_list(ids, statuses=[status], as_of=as_of)).all()
        assert [(f, p) for f, p, _s in got] == [(r.facility_id, r.product_id) for r in rows if r.status == status]
    near = db.session.execute(queries.stock_list(ids, near_expiry_only=True, as_of=as_of)).all()
    assert [(f, p) for f, p, _s in near] == [(r.facility_id, r.product_id) for r in rows if r.near_expiry > 0]
    named = db.session.execute(queries.stock_list(ids, q="品种1", as_of=as_of)).all()
    assert {p for _f, p, _s in named} == {p.id for p in products if p.drug.generic_name.startswith("品种1")}
    assert queries.stock_rows(listed, as_of=as_of) == rows


def test_the_stock_list_rounds_levels_up_and_counts_history_in_whole_days(county):
    """Rows on the edge of a level: a list that rounded min/max differently, or counted history one day off,
    would judge them otherwise than stock_status."""
    village, user = county.villages[0], county.users["village"]
    full, short = make_product(pack_size=1), make_product(pack_size=1)
    backdate(stock.receive(village, full, lot_number="F", expiry_date=days_from_now(300), qty_base=12, user=user,
                           key="f"), 120)
    dispense_days_ago(village, full, user, 7, 10, "f1")      # AMC 7/3 = 2.33: max = ceil(4.67) = 5 = on hand
    backdate(stock.receive(village, short, lot_number="S", expiry_date=days_from_now(300), qty_base=60, user=user,
                           key="s"), 30)
    dispense_days_ago(village, short, user, 20, 5, "s1")     # 30 days: AMC 20, max 40 = on hand
    rows = queries.stock_status([village.id])
    assert [(r.product_id, r.usable, r.max_base, r.status) for r in rows] == [(full.id, 5, 5, "ok"),
                                                                              (short.id, 40, 40, "ok")]
    listed = db.session.execute(queries.stock_list([village.id])).all()
    assert [tuple(row) for row in listed] == [(village.id, full.id, "ok"), (village.id, short.id, "ok")]
