"""Concurrent dispenses, receipts and transfers on one product and lot, on PostgreSQL, through the services.

Each thread has its own app context and session and commits after every operation, as a request would. The test
does not use the rolled-back test session: it commits its own facilities, product and users and deletes them
(with everything they caused) at the end.
"""

import random
import secrets
import threading
from datetime import timedelta

import pytest
from sqlalchemy import delete, func, or_, select

from pharmacy import clock
from pharmacy.auth.models import Role, User
from pharmacy.catalog.models import Drug, Product, ProductPrice
from pharmacy.errors import InsufficientStock
from pharmacy.extensions import db
from pharmacy.facilities.models import Facility, FacilityKind
from pharmacy.facilities.services import create_facility
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import Lot, StockBalance, StockMovement, StockOperation, Transfer, TransferLine

THREADS = 8
OPS_PER_THREAD = 50
INITIAL = 1000  # below the demand the threads make, so some dispenses must be refused


def _create_world(tag: str) -> dict:
    county = create_facility(code=f"CC{tag}", name="并发测试县", kind=FacilityKind.COUNTY_HOSPITAL)
    town = create_facility(code=f"CC{tag}-T", name="并发测试镇", kind=FacilityKind.HEALTH_CENTRE, parent=county)
    village = create_facility(code=f"CC{tag}-V", name="并发测试村", kind=FacilityKind.VILLAGE_POINT, parent=town)
    drug = Drug(edition="CC", code=f"CC{tag}", category="化学药品和生物制品", generic_name="并发测试药",
                pinyin_initials="BFCSY")
    product = Product(drug=drug, edition="CC", code=f"CC{tag}-01", dosage_form="片剂", strength="5mg", base_unit="片",
                      pack_size=10, lowest_tier="village")
    user = User(username=f"cc{tag}", display_name="并发测试", role=Role.TOWNSHIP_PHARMACIST, facility=town,
                password_hash="!", session_token=secrets.token_hex(8))
    db.session.add_all([drug, product, user])
    db.session.flush()
    stock.receive(town, product, lot_number="CONC-1", expiry_date=clock.now_utc().date() + timedelta(days=365),
                  qty_base=INITIAL, user=user, key=f"cc{tag}-initial")
    db.session.commit()
    lot = db.session.scalar(select(Lot).where(Lot.product_id == product.id))
    return {"county": county.id, "town": town.id, "village": village.id, "product": product.id, "lot": lot.id,
            "user": user.id, "drug": drug.id}


def _remove_world(ids: dict) -> None:
    facilities = [ids["village"], ids["town"], ids["county"]]
    transfers = select(Transfer.id).where(Transfer.from_facility_id.in_(facilities))
    db.session.execute(delete(StockMovement).where(StockMovement.facility_id.in_(facilities)))
    db.session.execute(delete(StockBalance).where(StockBalance.facility_id.in_(facilities)))
    db.session.execute(delete(TransferLine).where(TransferLine.transfer_id.in_(transfers)))
    db.session.execute(delete(Transfer).where(Transfer.from_facility_id.in_(facilities)))
    db.session.execute(delete(StockOperation).where(StockOperation.facility_id.in_(facilities)))
    db.session.execute(delete(Lot).where(Lot.product_id == ids["product"]))
    db.session.execute(delete(ProductPrice).where(ProductPrice.product_id == ids["product"]))
    db.session.execute(delete(Product).where(Product.id == ids["product"]))
    db.session.execute(delete(Drug).where(Drug.id == ids["drug"]))
    db.session.execute(delete(User).where(User.id == ids["user"]))
    for facility_id in facilities:
        db.session.execute(delete(Facility).where(Facility.id == facility_id))
    db.session.commit()


def _worker(app, ids: dict, seed: int, tag: str, outcomes: list, lock: threading.Lock) -> None:
    rng = random.Random(seed)
    with app.app_context():
        town, village = db.session.get(Facility, ids["town"]), db.session.get(Facility, ids["village"])
        product, user = db.session.get(Product, ids["product"]), db.session.get(User, ids["user"])
        for n in range(OPS_PER_THREAD):
            key = f"cc{tag}-{seed}-{n}"
            roll = rng.random()
            lot = db.session.get(Lot, ids["lot"])
            try:
                if roll < 0.70:
                    kind, qty = "dispense", rng.randint(1, 15)
                    stock.dispense(town, product, qty_base=qty, user=user, key=key, lot=lot)
                elif roll < 0.85:
                    kind, qty = "receipt", rng.randint(5, 20)
                    stock.receive(town, product, lot_number=lot.lot_number, expiry_date=lot.expiry_date,
                                  qty_base=qty, user=user, key=key)
                else:
                    kind, qty = "transfer", rng.randint(1, 10)
                    stock.send_transfer(town, village, [stock.LineRequest(product, qty, lot)], user=user, key=key,
                                        in_transit=False)
                db.session.commit()
                outcome = (kind, qty, "ok")
            except InsufficientStock:
                db.session.rollback()
                outcome = (kind, qty, "insufficient")
            except Exception as exc:  # noqa: BLE001 - any other failure is what the test looks for
                db.session.rollback()
                outcome = (kind, qty, f"crash: {exc!r}")
            with lock:
                outcomes.append(outcome)
        db.session.remove()


@pytest.mark.postgresql
def test_concurrent_writes_lose_no_update(app):
    tag = secrets.token_hex(3).upper()
    with app.app_context():
        ids = _create_world(tag)
    outcomes: list[tuple[str, int, str]] = []
    lock = threading.Lock()
    try:
        threads = [threading.Thread(target=_worker, args=(app, ids, seed, tag, outcomes, lock))
                   for seed in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)

        with app.app_context():
            assert len(outcomes) == THREADS * OPS_PER_THREAD
            crashes = [o for o in outcomes if o[2].startswith("crash")]
            assert crashes == []
            assert any(result == "insufficient" for _k, _q, result in outcomes)
            done = lambda kind: sum(q for k, q, result in outcomes if k == kind and result == "ok")
            town_balance = db.session.scalar(select(StockBalance.qty_base).where(
                StockBalance.facility_id == ids["town"], StockBalance.lot_id == ids["lot"]))
            village_balance = db.session.scalar(select(StockBalance.qty_base).where(
                StockBalance.facility_id == ids["village"], StockBalance.lot_id == ids["lot"])) or 0
            assert town_balance == INITIAL + done("receipt") - done("dispense") - done("transfer")
            assert village_balance == done("transfer")

            for facility_id, balance in ((ids["town"], town_balance), (ids["village"], village_balance)):
                movements = db.session.execute(
                    select(StockMovement.qty_base, StockMovement.balance_after)
                    .where(StockMovement.facility_id == facility_id, StockMovement.lot_id == ids["lot"])
                    .order_by(StockMovement.id)).all()
                running = 0
                for qty, balance_after in movements:
                    running += qty
                    assert balance_after == running >= 0  # each change saw the one before it; never negative
                assert running == balance
            assert db.session.scalar(select(func.count(StockOperation.id)).where(or_(
                StockOperation.facility_id == ids["town"], StockOperation.facility_id == ids["village"]))) == \
                1 + sum(1 for o in outcomes if o[2] == "ok") + sum(1 for o in outcomes if o[0] == "transfer"
                                                                   and o[2] == "ok")
    finally:
        with app.app_context():
            _remove_world(ids)
