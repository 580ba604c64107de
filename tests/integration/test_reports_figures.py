"""Each dashboard figure against a small county whose answer is worked out by hand in the comments."""

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import Lot, StockBalance, StockMovement, Transfer
from pharmacy.orders.models import Order, OrderLine, Shipment
from pharmacy.purchasing.models import PurchaseOrder, PurchaseOrderLine, Supplier
from pharmacy.reports import dashboard
from pharmacy.reports.models import FigureSnapshot, TracerProduct
from pharmacy.shortages.progress import Stage
from pharmacy.shortages.services import record_stage, register_shortage, transition
from pharmacy.supply.models import Consignment, ProofOfDelivery
from tests.factories import make_delivery_run, make_product

# A Wednesday noon in the county (UTC+8). Trend points are week starts, Monday 00:00 local, which lie
# 2.5, 9.5, 16.5, 23.5, 30.5 … days before NOW; the 4- and 12-week windows are the last 28 and 84 days.
NOW = datetime(2027, 3, 17, 4, 0, tzinfo=UTC)
TZ = ZoneInfo("Asia/Shanghai")
_keys = itertools.count(1)


def build_dashboard(root, **kwargs):
    kwargs.setdefault("near_expiry_days", 90)
    return dashboard.build_dashboard(root, now=NOW, tz=TZ, **kwargs)


def ago(days: float, hours: float = 0):
    return NOW - timedelta(days=days, hours=hours)


def _backdate_operation(operation, when):
    db.session.execute(update(StockMovement).where(StockMovement.operation_id == operation.id)
                       .values(created_at=when))


def receive(facility, product, qty, when, user, *, expiry_days=400, lot_number=None):
    operation = stock.receive(facility, product, lot_number=lot_number or f"L{next(_keys)}", qty_base=qty,
                              expiry_date=NOW.date() + timedelta(days=expiry_days), user=user, key=f"k{next(_keys)}")
    _backdate_operation(operation, when)
    return operation.movements[0].lot


def dispense(facility, product, qty, when, user):
    _backdate_operation(stock.dispense(facility, product, qty_base=qty, user=user, key=f"k{next(_keys)}"), when)


def expire(lot: Lot, days_ago: int):
    lot.expiry_date = NOW.date() - timedelta(days=days_ago)
    db.session.flush()


@pytest.fixture
def stock_scenario(county):
    """Tracer A (hypertension) at four villages, B on the county's own tracer list, C and D not tracers."""
    user = county.users["county"]
    v11, v12, v21, _v22 = county.villages
    a = make_product("氨氯地平", chronic_tags="hypertension")
    b = make_product("对乙酰氨基酚")
    c = make_product("维生素C")
    make_product("二甲双胍", chronic_tags="diabetes")  # chronic but no village carries it: not a tracer
    db.session.add(TracerProduct(county_id=county.county.id, product_id=b.id))
    receive(county.central, a, 1000, ago(60), user)  # central stock never counts for village availability
    receive(v11, a, 100, ago(20), user)
    dispense(v11, a, 100, ago(10), user)
    receive(v11, c, 10, ago(20), user)
    receive(v12, a, 50, ago(30), user)
    expire(receive(v21, a, 10, ago(15), user), 3)  # usable until three days ago
    db.session.flush()
    return a, b, c


def test_tracer_availability_now_and_at_each_week_start(county, stock_scenario):
    a, b, _c = stock_scenario
    board = build_dashboard(county.county, near_expiry_days=90)
    # Usable stock at each point (days before NOW: 0, 2.5, 9.5, 16.5, 23.5, 30.5 …):
    #   V11: received 20 days ago, emptied 10 days ago → only at 16.5
    #   V12: received 30 days ago → from 0 to 23.5
    #   V21: received 15 days ago, expires the day of point 2.5 → only at 9.5
    # A: 1, 1, 2, 2, 1, 0 …; B never. Two tracers × four villages = 8.
    assert board.tracer_count == 2 and board.village_count == 4
    expected = [1 / 8, 1 / 8, 2 / 8, 2 / 8, 1 / 8] + [0.0] * 8
    assert board.availability.values == pytest.approx(list(reversed(expected)))
    assert board.availability.before == 0.0  # "four weeks ago" is the first point 28 days back: 30.5
    assert [p.astimezone(TZ).strftime("%m-%d %H:%M %a") for p in board.availability.points[-3:]] == [
        "03-08 00:00 Mon", "03-15 00:00 Mon", "03-17 12:00 Wed"]

    rows = {row.product_id: row for row in board.tracer_rows}
    assert [row.product_id for row in board.tracer_rows] == [b.id, a.id]  # worst first
    t1, t2 = county.townships
    assert (rows[a.id].in_stock, rows[a.id].villages, rows[a.id].share) == (1, 4, 0.25)
    assert (rows[a.id].cells[t1.id].in_stock, rows[a.id].cells[t1.id].villages) == (1, 2)
    assert rows[a.id].cells[t1.id].status == "half" and rows[a.id].cells[t2.id].status == "few"
    assert rows[b.id].in_stock == 0
    assert board.unit_availability == {t1.id: 1 / 4, t2.id: 0.0}


def test_stockouts_count_village_tracer_pairs_without_usable_stock(county, stock_scenario):
    a, b, c = stock_scenario
    board = build_dashboard(county.county, near_expiry_days=90)
    # The population of tracer availability: four villages × two tracers = 8 pairs. In stock at each point
    # (see the test above): A 1, 1, 2, 2, 1, 0 …, B never; every other pair is a stock-out, B included although
    # no village ever had it, and C (not a tracer) is not counted although V11 holds it.
    assert board.tracer_pairs == 8
    expected = [7, 7, 6, 6, 7] + [8] * 8
    assert board.stockouts.values == list(reversed(expected))
    assert board.stockout_product_count == 2
    assert [(p["product_id"], p["out"], p["villages"]) for p in board.stockout_products] == [(b.id, 4, 4),
                                                                                             (a.id, 3, 4)]
    assert c.id not in {p["product_id"] for p in board.stockout_products}


def test_availability_and_stockouts_agree_on_one_population(county):
    """A village out of a tracer lowers availability and is one more village stock-out; a non-tracer counts in
    neither."""
    user = county.users["county"]
    v11, v12, v21, v22 = county.villages
    a = make_product("氨氯地平", chronic_tags="hypertension")
    b = make_product("对乙酰氨基酚")
    c = make_product("维生素C")
    db.session.add(TracerProduct(county_id=county.county.id, product_id=b.id))
    for village in county.villages:
        receive(village, a, 30, ago(20), user)
        receive(village, b, 30, ago(20), user)
    receive(v11, c, 10, ago(20), user)
    dispense(v11, c, 10, ago(5), user)  # a non-tracer out: neither figure moves
    db.session.flush()
    full = build_dashboard(county.county, keep=False)
    assert (full.tracer_count, full.village_count, full.tracer_pairs) == (2, 4, 8)
    assert full.availability.current == 1.0 and full.stockouts.current == 0

    dispense(v12, a, 30, ago(2), user)  # V12 runs out of tracer A
    one_out = build_dashboard(county.county, keep=False)
    assert one_out.availability.current == pytest.approx(7 / 8) and one_out.stockouts.current == 1
    [out] = one_out.stockout_products
    assert (out["product_id"], out["out"], out["villages"]) == (a.id, 1, 4)

    expire(db.session.get(Lot, _lot_of(v21, b)), 1)  # V21's only lot of B expired yesterday: out as well
    two_out = build_dashboard(county.county, keep=False)
    assert two_out.availability.current == pytest.approx(6 / 8) and two_out.stockouts.current == 2
    for board in (full, one_out, two_out):  # one population: stock-outs are the pairs availability misses
        assert board.stockouts.current == round(board.tracer_pairs * (1 - board.availability.current))
    assert two_out.stockout_product_count == 2


def test_a_lot_is_out_on_the_countys_day_it_expires_at_every_point(county):
    """"In stock" is judged on the county's day of each point: at the week start of Monday 15 March 00:00 (Sunday
    16:00 UTC) a lot expiring on 15 March no longer counts, for availability and stock-outs alike."""
    user = county.users["county"]
    a = make_product("氨氯地平", chronic_tags="hypertension")
    for village in county.villages:
        receive(village, a, 30, ago(20), user)
    lot = _lot_of(county.villages[0], a)
    board = build_dashboard(county.county, keep=False)
    board_point = board.availability.points[-2]
    monday = board_point.astimezone(TZ).date()
    assert monday.isoformat() == "2027-03-15" and board_point.date().isoformat() == "2027-03-14"
    db.session.get(Lot, lot).expiry_date = monday
    db.session.flush()
    board = build_dashboard(county.county, keep=False, use_kept=False)
    assert board.availability.values[-2] == pytest.approx(3 / 4) and board.stockouts.values[-2] == 1
    assert board.availability.values[-3] == 1.0 and board.stockouts.values[-3] == 0  # a week earlier: usable


def _lot_of(facility, product) -> int:
    return db.session.scalar(select(StockBalance.lot_id).where(StockBalance.facility_id == facility.id,
                                                               StockBalance.product_id == product.id))


def test_past_points_are_kept_and_read_back_unchanged(county, stock_scenario):
    a = stock_scenario[0]
    first = build_dashboard(county.county, near_expiry_days=90)
    kept = db.session.query(FigureSnapshot).filter_by(root_id=county.county.id).count()
    assert kept == 2 * 12  # village stock and near-expiry value at twelve week starts
    # A receipt now moves today's figure only; the kept weeks are read back as they were.
    receive(county.villages[3], a, 10, NOW - timedelta(minutes=1), county.users["county"])
    second = build_dashboard(county.county, near_expiry_days=90)
    assert second.availability.values[:-1] == first.availability.values[:-1]
    assert second.availability.current == pytest.approx(2 / 8)
    assert db.session.query(FigureSnapshot).filter_by(root_id=county.county.id).count() == kept


def test_township_dashboard_shows_its_villages(county, stock_scenario):
    a, _b, _c = stock_scenario
    t1 = county.townships[0]
    v11, v12 = county.villages[:2]
    board = build_dashboard(t1)
    assert board.unit_is_village and [u.id for u in board.units] == [v11.id, v12.id]
    assert board.availability.current == pytest.approx(1 / 4)  # A at V12 only; B nowhere; 2 tracers × 2 villages
    row = next(r for r in board.tracer_rows if r.product_id == a.id)
    assert (row.cells[v11.id].in_stock, row.cells[v12.id].in_stock) == (0, 1)


DERIVED = {"ordered": Stage.ON_ORDER, "dispatched": Stage.IN_TRANSIT, "delivered": Stage.DELIVERED}


def _shortage(facility, product, user, urgency, history):
    """A registration whose status changes happened at the given times: [(status, when), ...]."""
    shortage, _ = register_shortage(facility=facility, user=user, client_id=f"c{next(_keys)}", qty_packs=1,
                                    product=product, urgency=urgency)
    for status, _when in history[1:]:
        if status in DERIVED:  # what the goods did
            record_stage(shortage, DERIVED[status], user=user)
        else:
            transition(shortage, status, user=user, note="患者转诊" if status == "cancelled" else "")
    shortage.created_at = history[0][1]
    for event, (_status, when) in zip(shortage.events, history, strict=True):
        event.created_at = when
    if history[-1][0] == "delivered":
        shortage.delivered_at = history[-1][1]
    db.session.flush()
    return shortage


def _delivered(facility, product, user, registered_days_ago, delivered_days_ago, hours=0):
    delivered = ago(delivered_days_ago)
    return _shortage(facility, product, user, "routine", [
        ("registered", ago(registered_days_ago, hours)), ("dispatched", delivered - timedelta(hours=1)),
        ("delivered", delivered)])


@pytest.fixture
def shortage_scenario(county):
    user = county.users["county"]
    v11, v12, v21, v22 = county.villages
    p = make_product()
    _delivered(v11, p, user, 10, 9)     # 1 day
    _delivered(v11, p, user, 12, 10)    # 2 days
    _delivered(v12, p, user, 20, 16)    # 4 days
    _delivered(v12, p, user, 25, 15)    # 10 days
    _delivered(v11, p, user, 55, 50)    # 5 days, only in the 12-week window
    _delivered(v11, p, user, 110, 100)  # outside both windows
    _delivered(v21, p, user, 3, 3, hours=12)  # half a day
    _shortage(v12, p, user, "emergency", [("registered", ago(1))])
    _shortage(v21, p, user, "routine", [("registered", ago(10)), ("acknowledged", ago(9))])
    _shortage(v22, p, user, "urgent", [("registered", ago(20)), ("acknowledged", ago(19)), ("ordered", ago(18))])
    _shortage(v22, p, user, "routine", [("registered", ago(12)), ("cancelled", ago(9))])
    return p


def test_response_times_median_and_p90_per_township_over_4_and_12_weeks(county, shortage_scenario):
    board = build_dashboard(county.county, near_expiry_days=90)
    t1, t2 = county.townships
    # Four weeks: T1 [1, 2, 4, 10] → median 3, P90 at rank 2.7 = 4 + 0.7 × 6 = 8.2; T2 [0.5].
    r = board.response_by_unit[t1.id]["4w"]
    assert (r.count, r.median_days, r.p90_days) == (4, pytest.approx(3.0), pytest.approx(8.2))
    assert board.response_by_unit[t2.id]["4w"].median_days == pytest.approx(0.5)
    # Twelve weeks: T1 [1, 2, 4, 5, 10] → median 4, P90 at rank 3.6 = 5 + 0.6 × 5 = 8.
    r = board.response_by_unit[t1.id]["12w"]
    assert (r.count, r.median_days, r.p90_days) == (5, pytest.approx(4.0), pytest.approx(8.0))
    # Whole county: [0.5, 1, 2, 4, 10] → 2 and 4 + 0.6 × 6 = 7.6; [0.5, 1, 2, 4, 5, 10] → 3 and 5 + 0.5 × 5 = 7.5.
    assert (board.response["4w"].median_days, board.response["4w"].p90_days) == (pytest.approx(2.0),
                                                                                pytest.approx(7.6))
    assert (board.response["12w"].median_days, board.response["12w"].p90_days) == (pytest.approx(3.0),
                                                                                  pytest.approx(7.5))
    # Weekly medians by delivery week (weeks end 0, 2.5, 9.5, 16.5 … days ago): this week none;
    # 3 and 9 days ago [0.5, 1]; 10, 15, 16 days ago [2, 10, 4]; …; 50 days ago [5].
    expected = [None, 0.75, 4.0, None, None, None, None, 5.0, None, None, None, None]
    assert board.response_median.values == pytest.approx(list(reversed(expected)))


def test_open_shortages_by_urgency_age_and_township(county, shortage_scenario):
    board = build_dashboard(county.county, near_expiry_days=90)
    t1, t2 = county.townships
    assert board.open_by_urgency_age == {"emergency": [1, 0, 0, 0], "urgent": [0, 0, 0, 1], "routine": [0, 0, 1, 0]}
    assert board.open_by_unit == {t1.id: 1, t2.id: 2}
    # Open at each point (registered before, closed after): now the three open ones; at 2.5 days the ones of
    # 10 and 20 days; at 9.5 also the one closed 9 days ago and the one cancelled 9 days ago; at 16.5 the ones
    # closed 16 and 15 days ago and the open one of 20 days; at 23.5 the one of 25 days; at 51.5 the one that
    # ran from 55 to 50 days ago.
    assert board.open_shortages.values == list(reversed([3, 2, 4, 3, 1, 0, 0, 0, 1, 0, 0, 0, 0]))
    # Registered per week: 1 day ago; 3.5; 10, 12, 10, 12; 20, 20; 25; …; 55.
    assert board.registrations.values == list(reversed([1, 1, 4, 2, 1, 0, 0, 0, 1, 0, 0, 0]))


def test_near_expiry_value_now_by_facility_and_in_the_past(county):
    user = county.users["county"]
    v11, v12 = county.villages[:2]
    p1 = make_product(price="12.00", pack_size=24)
    p2 = make_product(price="24.00", pack_size=12)
    p3 = make_product(price="10.00", pack_size=10)
    receive(county.central, p1, 240, ago(30), user, expiry_days=30)   # 10 packs, ¥120, 30 days left
    receive(county.central, p1, 240, ago(30), user, expiry_days=200)  # not near expiry
    receive(v11, p2, 12, ago(10), user, expiry_days=60)               # 1 pack, ¥24
    expire(receive(v12, p3, 5, ago(40), user), 3)                     # ¥5, expired 3 days ago, not written off
    board = build_dashboard(county.county, near_expiry_days=90)
    by_facility = {f["facility_id"]: f for f in board.near_expiry_facilities}
    assert (by_facility[county.central.id]["lots"], by_facility[county.central.id]["packs"],
            by_facility[county.central.id]["value"]) == (1, Decimal(10), Decimal(120))
    assert by_facility[v11.id]["value"] == Decimal(24)
    assert (by_facility[v12.id]["lots"], by_facility[v12.id]["expired_value"]) == (0, Decimal(5))
    assert board.near_expiry_totals["value"] == Decimal(144) and board.near_expiry_totals["packs"] == Decimal(11)
    # Stock expiring within 90 days of each point's day (UTC): now and 2.5 days ago ¥120 + ¥24 (the ¥5 lot
    # expires on point 2.5's day); 9.5 days ago also the ¥5 lot; 16.5 and 23.5 days ago the ¥24 lot was not yet
    # received; 30.5 and 37.5 days ago only the ¥5 lot; 44.5 days ago nothing was there yet.
    expected = [144, 144, 149, 125, 125, 5, 5] + [0] * 6
    assert [float(v) for v in board.near_expiry_value.values] == pytest.approx(list(reversed(expected)))


def _purchase(county, when, lines, status="confirmed"):
    supplier = Supplier(code=f"S{next(_keys)}", name="测试医药公司")
    po = PurchaseOrder(supplier=supplier, facility_id=county.central.id, status=status, confirmed_at=when)
    for product, packs, price, is_vbp in lines:
        po.lines.append(PurchaseOrderLine(product_id=product.id, qty_packs=packs, unit_price=Decimal(price),
                                          is_vbp=is_vbp))
    db.session.add(po)
    db.session.flush()


def test_vbp_share_of_purchase_value(county):
    vbp, other = make_product(vbp_batch="5"), make_product()
    _purchase(county, ago(10), [(vbp, 10, "10.00", True), (other, 10, "30.00", False)])  # ¥100 of ¥400
    _purchase(county, ago(40), [(vbp, 5, "20.00", True)])                                # ¥100
    _purchase(county, ago(5), [(other, 100, "30.00", False)], status="proposed")         # not bought yet
    _purchase(county, ago(3), [(other, 100, "30.00", False)], status="cancelled")
    _purchase(county, ago(100), [(other, 1, "30.00", False)])                            # outside 12 weeks
    board = build_dashboard(county.county, near_expiry_days=90)
    assert board.vbp["4w"]["share"] == pytest.approx(100 / 400)
    assert board.vbp["12w"]["share"] == pytest.approx(200 / 500)
    assert board.vbp["12w"]["vbp_value"] == Decimal(200)
    expected = [None, None, 0.25, None, None, None, 1.0] + [None] * 5  # confirmed 10 and 40 days ago
    assert board.vbp_share.values == list(reversed(expected))


def test_vbp_share_of_what_a_township_receives(county):
    user = county.users["county"]
    vbp, other = make_product(price="10.00", pack_size=10, vbp_batch="5"), make_product(price="30.00", pack_size=10)
    receive(county.central, vbp, 100, ago(10), user)
    receive(county.central, other, 100, ago(10), user)
    transfer = stock.send_transfer(county.central, county.townships[0],
                                   [stock.LineRequest(vbp, 50), stock.LineRequest(other, 10)], user=user,
                                   key="vbp-t", in_transit=False)
    db.session.execute(update(StockMovement).where(StockMovement.ref_type == "transfer",
                                                   StockMovement.ref_id == transfer.id).values(created_at=ago(5)))
    # Into the township from the central pharmacy: ¥50 of 集采 and ¥30 of other goods.
    township = build_dashboard(county.townships[0], near_expiry_days=90)
    assert (township.vbp["4w"]["value"], township.vbp["4w"]["share"]) == (Decimal(80), pytest.approx(50 / 80))


def _order(county, township, status, closed_days_ago, lines):
    """lines: (packs asked, packs approved or None, line status, packs received); pack size 10."""
    order = Order(facility_id=township.id, status=status)
    for asked, approved, line_status, received in lines:
        order.lines.append(OrderLine(product_id=make_product(pack_size=10).id, qty_packs=asked,
                                     qty_packs_approved=approved, status=line_status,
                                     qty_base_received=received * 10))
    db.session.add(order)
    db.session.flush()
    if closed_days_ago is not None:
        transfer = Transfer(from_facility_id=county.central.id, to_facility_id=township.id, status="received")
        db.session.add(transfer)
        db.session.flush()
        consignment = Consignment(kind="shipment", source_id=county.central.id, destination_id=township.id,
                                  status="received", transfer_id=transfer.id)
        consignment.proof = ProofOfDelivery(signer_name="乡镇药师", signed_at=ago(closed_days_ago))
        db.session.add(consignment)
        db.session.flush()
        db.session.add(Shipment(order_id=order.id, consignment_id=consignment.id))
        db.session.flush()


def test_order_fill_rate_is_received_over_approved_for_closed_orders(county):
    t1, t2 = county.townships
    _order(county, t1, "received", 5, [(12, 10, "approved", 8), (5, None, "rejected", 0), (4, None, "approved", 4)])
    _order(county, t2, "received", 40, [(10, None, "approved", 10)])
    _order(county, t1, "shipped", None, [(10, None, "approved", 0)])   # on its way: not counted yet
    _order(county, t1, "received", 100, [(10, None, "approved", 1)])  # before the 12 weeks
    board = build_dashboard(county.county, near_expiry_days=90)
    orders = board.fill_rates["orders"]
    # 4 weeks: (8 + 4) of (10 + 4) approved packs; 12 weeks: 22 of 24.
    assert orders.share_4w == pytest.approx(12 / 14) and orders.share_12w == pytest.approx(22 / 24)
    assert orders.by_unit[t1.id].share == pytest.approx(12 / 14) and orders.by_unit[t2.id].share == 1.0
    expected = [None, 12 / 14, None, None, None, None, 1.0] + [None] * 5
    assert orders.trend.values == pytest.approx(list(reversed(expected)))


def test_village_delivery_fill_rate_is_received_over_planned(county):
    t1, t2 = county.townships
    v11, v12, v21, _ = county.villages
    p, q = make_product(), make_product()
    user = county.users["township"]
    make_delivery_run(t1, user, departed=ago(6), stops=[
        (v11, ago(5), [(p, 100, 100, 90, "damaged"), (q, 50, 40, 40, "")]),  # 130 of 150 planned
        (v12, ago(5), [(p, 30, 30, 30, "")])])
    make_delivery_run(t2, user, departed=ago(45), stops=[(v21, ago(44), [(p, 20, 20, 20, "")])])
    make_delivery_run(t1, user, departed=ago(1), status="dispatched", stops=[(v11, None, [(p, 10, 10, None, "")])])
    deliveries = build_dashboard(county.county, near_expiry_days=90).fill_rates["deliveries"]
    assert deliveries.share_4w == pytest.approx(160 / 180) and deliveries.share_12w == pytest.approx(180 / 200)
    assert deliveries.by_unit[t1.id].share == pytest.approx(160 / 180) and deliveries.by_unit[t2.id].share == 1.0
    expected = [None, 160 / 180, None, None, None, None, 1.0] + [None] * 5  # received 5 and 44 days ago
    assert deliveries.trend.values == pytest.approx(list(reversed(expected)))
    township = build_dashboard(t1).fill_rates["deliveries"]
    assert township.by_unit[v11.id].share == pytest.approx(130 / 150) and township.by_unit[v12.id].share == 1.0


def test_an_empty_county_shows_no_figures_rather_than_failing(county):
    board = build_dashboard(county.county, near_expiry_days=90)
    assert board.availability.current is None and board.stockouts.current == 0 and board.tracer_pairs == 0
    assert board.response["4w"].median_days is None and board.vbp["4w"]["share"] is None
    assert board.near_expiry_value.current == 0 and board.open_shortages.current == 0


def test_another_countys_stock_and_shortages_stay_out(county, stock_scenario, shortage_scenario):
    from tests.factories import make_county

    other = make_county(townships=1, villages=1)
    user = other.users["county"]
    a = stock_scenario[0]
    receive(other.villages[0], a, 30, ago(5), user)
    _delivered(other.villages[0], a, user, 4, 2)
    board = build_dashboard(county.county, near_expiry_days=90)
    assert board.village_count == 4 and board.availability.current == pytest.approx(1 / 8)
    assert board.response["4w"].count == 5


def test_the_nightly_job_keeps_past_weeks_for_the_county_and_each_township(app, county, stock_scenario):
    from pharmacy.reports.services import keep_past_weeks

    summary = keep_past_weeks(now=NOW)
    assert summary["scopes"] >= 3  # this county, its two townships (and any other county in the database)
    kinds = {(row.root_id, row.kind) for row in db.session.query(FigureSnapshot)}
    for root in (county.county, *county.townships):
        assert (root.id, "village_stock") in kinds and (root.id, "near_expiry_90") in kinds
    kept = build_dashboard(county.county, keep=False)
    fresh = build_dashboard(county.county, keep=False, use_kept=False)
    assert kept.availability.values == fresh.availability.values
    assert kept.near_expiry_value.values == fresh.near_expiry_value.values


def test_keep_weeks_command(app, db_session):
    result = app.test_cli_runner().invoke(args=["reports", "keep-weeks"])
    assert result.exit_code == 0 and "kept weekly figures for" in result.output
