from datetime import timedelta

import pytest
from sqlalchemy import func, select

from pharmacy import clock
from pharmacy.errors import InsufficientStock, InvalidInput
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import StockBalance, StockMovement
from tests.factories import make_product


def _ledger_matches_balances():
    sums = {(f, lot): total for f, lot, total in db.session.execute(
        select(StockMovement.facility_id, StockMovement.lot_id, func.sum(StockMovement.qty_base))
        .group_by(StockMovement.facility_id, StockMovement.lot_id))}
    for balance in db.session.scalars(select(StockBalance)):
        assert sums.get((balance.facility_id, balance.lot_id), 0) == balance.qty_base


def test_receive_dispense_fefo_and_idempotency(county):
    village, user = county.villages[0], county.users["village"]
    product = make_product()
    soon, later = clock.today() + timedelta(days=60), clock.today() + timedelta(days=400)
    stock.receive(village, product, lot_number="B", expiry_date=later, qty_base=50, user=user, key="r1")
    stock.receive(village, product, lot_number="A", expiry_date=soon, qty_base=30, user=user, key="r2")
    op = stock.dispense(village, product, qty_base=40, user=user, key="d1")
    taken = {m.lot.lot_number: -m.qty_base for m in op.movements}
    assert taken == {"A": 30, "B": 10}
    again = stock.dispense(village, product, qty_base=40, user=user, key="d1")
    assert again.id == op.id
    assert stock.on_hand(village.id, product.id) == 40
    with pytest.raises(InsufficientStock):
        stock.dispense(village, product, qty_base=41, user=user, key="d2")
    with pytest.raises(InvalidInput):
        stock.dispense(village, product, qty_base=0, user=user, key="d3")
    _ledger_matches_balances()


def test_transfer_in_transit_then_received_with_difference(county):
    township, village = county.townships[0], county.villages[0]
    user = county.users["township"]
    product = make_product()
    stock.receive(township, product, lot_number="L1", expiry_date=clock.today() + timedelta(days=300), qty_base=100,
                  user=user, key="r")
    transfer = stock.send_transfer(township, village, [stock.LineRequest(product, 60)], user=user, key="t")
    assert stock.on_hand(township.id, product.id) == 40
    assert stock.in_transit_qty(village.id, product.id) == 60
    line = transfer.lines[0]
    stock.receive_transfer(transfer, {line.id: (55, "damaged", "破损")}, user=county.users["village"], key="t-in")
    assert stock.on_hand(village.id, product.id) == 55
    assert line.discrepancy_reason == "damaged"
    assert stock.in_transit_qty(village.id, product.id) == 0
    _ledger_matches_balances()
