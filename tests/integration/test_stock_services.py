"""The stock ledger through its services: every movement kind, FEFO, idempotency, invariants, refusals."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from pharmacy import clock
from pharmacy.errors import Conflict, InsufficientStock, InvalidInput, NotFound
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import MovementKind, StockMovement
from tests.factories import make_product
from tests.stock_support import assert_ledger_matches_balances, counts, days_from_now


@pytest.fixture
def setup(county):
    village, user = county.villages[0], county.users["village"]
    product = make_product(pack_size=10)
    stock.receive(village, product, lot_number="LATE", expiry_date=days_from_now(400), qty_base=50, user=user,
                  key="seed-late")
    stock.receive(village, product, lot_number="SOON", expiry_date=days_from_now(40), qty_base=30, user=user,
                  key="seed-soon")
    return county, village, user, product


def lot_of(product, number):
    from pharmacy.inventory.models import Lot

    return db.session.scalar(select(Lot).where(Lot.product_id == product.id, Lot.lot_number == number))


def test_receipt_creates_lot_once_and_rejects_a_conflicting_expiry(setup):
    _county, village, user, product = setup
    stock.receive(village, product, lot_number="SOON", expiry_date=days_from_now(40), qty_base=5, user=user, key="r3")
    assert stock.on_hand(village.id, product.id) == 85
    with pytest.raises(Conflict):
        stock.receive(village, product, lot_number="SOON", expiry_date=days_from_now(41), qty_base=5, user=user,
                      key="r4")
    assert_ledger_matches_balances()


def test_dispense_is_fefo_and_a_named_lot_is_respected(setup):
    _county, village, user, product = setup
    op = stock.dispense(village, product, qty_base=35, user=user, key="d1")
    assert {m.lot.lot_number: m.qty_base for m in op.movements} == {"SOON": -30, "LATE": -5}
    op = stock.dispense(village, product, qty_base=5, user=user, key="d2", lot=lot_of(product, "LATE"))
    assert [(m.lot.lot_number, m.qty_base, m.balance_after) for m in op.movements] == [("LATE", -5, 40)]
    assert all(m.kind == MovementKind.DISPENSE and m.user_id == user.id for m in op.movements)
    assert_ledger_matches_balances()


def test_the_same_key_twice_records_one_movement(setup):
    _county, village, user, product = setup
    first = stock.dispense(village, product, qty_base=3, user=user, key="same")
    before = counts()
    second = stock.dispense(village, product, qty_base=3, user=user, key="same")
    assert second.id == first.id and counts() == before
    assert stock.on_hand(village.id, product.id) == 77
    with pytest.raises(Conflict):
        stock.receive(village, product, lot_number="X", expiry_date=days_from_now(99), qty_base=1, user=user,
                      key="same")


@pytest.mark.parametrize("qty", [0, -5, 2.5, True, 10**9])
def test_bad_quantities_are_refused_and_nothing_is_written(setup, qty):
    _county, village, user, product = setup
    before = counts()
    with pytest.raises(InvalidInput):
        stock.dispense(village, product, qty_base=qty, user=user, key="bad")
    with pytest.raises(InvalidInput):
        stock.receive(village, product, lot_number="N", expiry_date=days_from_now(300), qty_base=qty, user=user,
                      key="bad2")
    assert counts() == before


def test_more_than_in_stock_is_refused_with_the_available_quantity(setup):
    _county, village, user, product = setup
    before = counts()
    with pytest.raises(InsufficientStock) as refused:
        stock.dispense(village, product, qty_base=81, user=user, key="big")
    assert refused.value.details == {"product_id": product.id, "available": 80, "requested": 81}
    assert "库存不足" in refused.value.message
    assert counts() == before


def test_expired_lot_cannot_be_dispensed_or_received(setup):
    _county, village, user, product = setup
    from pharmacy.inventory.models import Lot

    expired = Lot(product_id=product.id, lot_number="OLD", expiry_date=days_from_now(-1))
    db.session.add(expired)
    db.session.flush()
    before = counts()
    with pytest.raises(InvalidInput) as refused:
        stock.dispense(village, product, qty_base=1, user=user, key="exp", lot=expired)
    assert refused.value.code == "expired_lot"
    with pytest.raises(InvalidInput):
        stock.receive(village, product, lot_number="OLD2", expiry_date=days_from_now(0), qty_base=1, user=user,
                      key="exp2")
    assert counts() == before


def test_a_lot_expiring_on_the_county_date_is_expired_while_utc_is_still_on_the_day_before(setup, monkeypatch):
    _county, village, user, product = setup
    # 16:30 UTC on 1 March is 00:30 on 2 March in Shanghai: a lot that expires on the 2nd has expired.
    monkeypatch.setattr(clock, "now_utc", lambda: datetime(2031, 3, 1, 16, 30, tzinfo=UTC))
    with pytest.raises(InvalidInput) as refused:
        stock.receive(village, product, lot_number="MAR2", expiry_date=date(2031, 3, 2), qty_base=1, user=user,
                      key="mar2")
    assert refused.value.code == "expired_lot"
    stock.receive(village, product, lot_number="MAR3", expiry_date=date(2031, 3, 3), qty_base=1, user=user,
                  key="mar3")


def test_unknown_lot_and_lot_of_another_product_are_refused(setup):
    _county, village, user, product = setup
    other = make_product()
    with pytest.raises(NotFound):
        stock.get_lot(999999)
    with pytest.raises(NotFound):
        stock.get_lot(lot_of(product, "SOON").id, other)
    with pytest.raises(InvalidInput):
        stock.dispense(village, other, qty_base=1, user=user, key="wrong", lot=lot_of(product, "SOON"))


def test_a_village_cannot_receive_a_county_tier_product(county):
    village, user = county.villages[0], county.users["village"]
    product = make_product(lowest_tier="county")
    with pytest.raises(InvalidInput) as refused:
        stock.receive(village, product, lot_number="L", expiry_date=days_from_now(100), qty_base=1, user=user, key="t")
    assert refused.value.code == "tier_not_allowed"


def test_adjustment_reasons_and_signs(setup):
    _county, village, user, product = setup
    lot = lot_of(product, "LATE")
    op = stock.adjust(village, lot, qty_delta=-2, reason="damaged", note="压碎", user=user, key="a1")
    assert [(m.kind, m.reason, m.qty_base) for m in op.movements] == [("adjustment", "damaged", -2)]
    stock.adjust(village, lot, qty_delta=4, reason="found", user=user, key="a2")
    stock.adjust(village, lot, qty_delta=-1, reason="correction", user=user, key="a3")
    for reason, delta in (("lost", 1), ("expired", 1), ("damaged", 1), ("found", -1), ("nonsense", -1), ("lost", 0)):
        with pytest.raises(InvalidInput):
            stock.adjust(village, lot, qty_delta=delta, reason=reason, user=user, key=f"bad-{reason}-{delta}")
    with pytest.raises(InsufficientStock):
        stock.adjust(village, lot, qty_delta=-1000, reason="lost", user=user, key="a4")
    assert stock.on_hand(village.id, product.id) == 81
    assert_ledger_matches_balances()


def test_stocktake_posts_one_movement_per_lot_that_differs(setup):
    _county, village, user, product = setup
    late, soon = lot_of(product, "LATE"), lot_of(product, "SOON")
    op = stock.stocktake(village, {late.id: 48, soon.id: 30}, user=user, key="st1", note="月末盘点")
    assert [(m.lot_id, m.qty_base, m.balance_after, m.kind) for m in op.movements] == [
        (late.id, -2, 48, "stocktake")]
    with pytest.raises(InvalidInput):
        stock.stocktake(village, {late.id: -1}, user=user, key="st2")
    with pytest.raises(InvalidInput):
        stock.stocktake(village, {}, user=user, key="st3")
    assert_ledger_matches_balances()


def test_expiry_write_off_empties_expired_lots_only(setup):
    _county, village, user, product = setup
    op = stock.write_off_expired(village, user=user, key="w1", as_of=days_from_now(41))
    assert [(m.lot.lot_number, m.qty_base, m.kind, m.reason) for m in op.movements] == [
        ("SOON", -30, "expiry_write_off", "expired")]
    assert stock.on_hand(village.id, product.id) == 50
    assert stock.write_off_expired(village, user=user, key="w1", as_of=days_from_now(41)).id == op.id
    assert_ledger_matches_balances()


def test_return_is_a_receipt_of_its_own_kind(setup):
    _county, village, user, product = setup
    op = stock.receive(village, product, lot_number="LATE", expiry_date=days_from_now(400), qty_base=2, user=user,
                       key="ret", kind=MovementKind.RETURN, note="患者退回")
    assert op.movements[0].kind == "return"


def test_transfer_at_once_moves_stock_in_one_transaction(setup):
    county, village, user, product = setup
    township = county.townships[0]
    transfer = stock.send_transfer(village, township, [stock.LineRequest(product, 35)], user=user, key="back",
                                   in_transit=False)
    assert transfer.status == "received"
    assert stock.on_hand(village.id, product.id) == 45
    assert stock.on_hand(township.id, product.id) == 35
    kinds = [m.kind for m in db.session.scalars(select(StockMovement).where(StockMovement.ref_id == transfer.id,
                                                                             StockMovement.ref_type == "transfer"))]
    assert sorted(kinds) == ["transfer_in", "transfer_in", "transfer_out", "transfer_out"]
    assert stock.send_transfer(village, township, [stock.LineRequest(product, 35)], user=user, key="back",
                               in_transit=False).id == transfer.id
    assert_ledger_matches_balances()


def test_transfer_in_transit_then_received_and_not_twice(setup):
    county, village, user, product = setup
    township = county.townships[0]
    transfer = stock.send_transfer(village, township, [stock.LineRequest(product, 10)], user=user, key="tt")
    assert stock.in_transit_qty(township.id, product.id) == 10
    assert stock.on_hand(township.id, product.id) == 0
    stock.receive_transfer(transfer, {}, user=county.users["township"], key="tt-in")
    assert stock.on_hand(township.id, product.id) == 10
    assert stock.receive_transfer(transfer, {}, user=county.users["township"], key="tt-in") is transfer
    with pytest.raises(Conflict):
        stock.receive_transfer(transfer, {}, user=county.users["township"], key="tt-in-again")
    assert_ledger_matches_balances()


def test_transfer_refusals_write_nothing(setup):
    county, village, user, product = setup
    before = counts()
    with pytest.raises(InvalidInput):
        stock.send_transfer(village, village, [stock.LineRequest(product, 1)], user=user, key="x1")
    with pytest.raises(InvalidInput):
        stock.send_transfer(village, county.townships[0], [], user=user, key="x2")
    with pytest.raises(InsufficientStock):
        stock.send_transfer(village, county.townships[0], [stock.LineRequest(product, 81)], user=user, key="x3")
    assert counts() == before


def test_corrections_are_new_movements_and_old_ones_stay(setup):
    _county, village, user, product = setup
    op = stock.dispense(village, product, qty_base=4, user=user, key="oops")
    original = [(m.id, m.qty_base, m.balance_after) for m in op.movements]
    stock.adjust(village, op.movements[0].lot, qty_delta=4, reason="correction", note="多记了", user=user, key="fix")
    db.session.expire_all()
    again = [(m.id, m.qty_base, m.balance_after) for m in
             db.session.scalars(select(StockMovement).where(StockMovement.operation_id == op.id))]
    assert again == original
    assert stock.on_hand(village.id, product.id) == 80


def test_policy_validation(setup):
    _county, village, user, product = setup
    policy = stock.set_policy(village, product, min_months=1.5, max_months=3, user=user)
    assert float(policy.min_months) == 1.5
    with pytest.raises(InvalidInput):
        stock.set_policy(village, product, min_months=3, max_months=1, user=user)
    with pytest.raises(InvalidInput):
        stock.set_policy(village, product, min_months=-1, max_months=1, user=user)
    stock.clear_policy(village, product, user=user)
