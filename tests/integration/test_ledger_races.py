"""Races on the ledger, on PostgreSQL, through the API and the pages as several clients would send them at once.

Each test builds its own world in a fresh database (`tests.live_gunicorn.fresh_database`), committed as requests
commit, and drives it from threads, each with its own test client (own app context, own session, own connection).
"""

import secrets
import threading
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from pharmacy import clock, create_app
from pharmacy.errors import Conflict
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.inventory.models import Lot, Transfer
from pharmacy.supply import services as supply
from pharmacy.supply.models import Consignment, ConsignmentKind
from tests.factories import make_county, make_product
from tests.live_gunicorn import fresh_database
from tests.stock_support import assert_ledger_matches_balances, ledger_problems

CLIENTS = 6


@pytest.fixture
def race_app(request, tmp_path):
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("needs PostgreSQL: run `pytest --db=postgresql` (races need row locks of a real server)")
    with fresh_database("postgresql", tmp_path) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "race",
                          "WTF_CSRF_ENABLED": False, "SERVER_NAME": None})
        with app.app_context():
            db.create_all()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()


def _signed_in(app, user_id: str) -> FlaskClient:
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = user_id
        session["_fresh"] = True
    return client


def _at_once(count: int, send) -> list:
    """Run `send(n)` in `count` threads released together; the answers in thread order."""
    barrier = threading.Barrier(count)
    answers: list = [None] * count

    def run(n):
        barrier.wait()
        try:
            answers[n] = send(n)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            answers[n] = exc

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return answers


def _transfer_in_transit(app, qty_base: int = 2) -> dict:
    """A township → village manual transfer of `qty_base` units, in transit; ids of what the test needs."""
    with app.app_context():
        county = make_county(townships=1, villages=1)
        product = make_product()
        town, village = county.townships[0], county.villages[0]
        stock.receive(town, product, lot_number=f"R{secrets.token_hex(3)}", qty_base=100, user=None,
                      key=f"race-{secrets.token_hex(4)}", expiry_date=clock.today() + timedelta(days=400))
        lot = db.session.scalar(select(Lot).where(Lot.product_id == product.id))
        consignment, _created = supply.send_by_hand(
            town, village, [supply.GoodsRequest(product, qty_base, lot)], user=county.users["township"],
            key=f"race-send-{secrets.token_hex(4)}")
        ids = {"transfer": consignment.transfer_id, "consignment": consignment.id, "village": village.id,
               "line": consignment.transfer.lines[0].id,
               "doctor": county.users["village"].get_id(), "township": county.users["township"].get_id()}
        assert consignment.kind == ConsignmentKind.TRANSFER
        db.session.commit()
        db.session.remove()
    return ids


def _booked_once(app, ids: dict, sent: int) -> None:
    with app.app_context():
        transfer = db.session.get(Transfer, ids["transfer"])
        consignment = db.session.get(Consignment, ids["consignment"])
        assert transfer.status == "received" and consignment.status == "received"
        assert [line.qty_base_received for line in transfer.lines] == [sent]
        assert ledger_problems() == {}
        assert_ledger_matches_balances()
        db.session.remove()


@pytest.mark.postgresql
def test_one_transfer_received_at_once_through_the_api_by_several_clients_is_booked_once(race_app):
    ids = _transfer_in_transit(race_app, qty_base=2)
    path = f"/api/v1/stock/transfers/{ids['transfer']}/receive"
    answers = _at_once(CLIENTS, lambda n: _signed_in(race_app, ids["doctor"]).post(
        path, json={"idempotency_key": f"tab-{n}-{secrets.token_hex(3)}"}))
    statuses = sorted(a.status_code if hasattr(a, "status_code") else repr(a) for a in answers)
    assert statuses == [200] + [409] * (CLIENTS - 1), statuses
    refused = [a.get_json()["error"]["code"] for a in answers if a.status_code == 409]
    assert set(refused) == {"already_received"}
    _booked_once(race_app, ids, sent=2)


@pytest.mark.postgresql
def test_one_transfer_received_from_two_tabs_of_the_page_form_is_booked_once(race_app):
    ids = _transfer_in_transit(race_app, qty_base=3)
    path = f"/stock/transfers/{ids['transfer']}/receive"
    answers = _at_once(CLIENTS, lambda n: _signed_in(race_app, ids["doctor"]).post(
        path, data={"idempotency_key": f"page-{n}-{secrets.token_hex(3)}", f"received_{ids['line']}": "3"}))
    statuses = sorted(a.status_code if hasattr(a, "status_code") else repr(a) for a in answers)
    assert statuses == [302] + [409] * (CLIENTS - 1), statuses
    _booked_once(race_app, ids, sent=3)


@pytest.mark.postgresql
def test_one_consignment_received_at_once_through_the_consignment_api_is_booked_once(race_app):
    ids = _transfer_in_transit(race_app, qty_base=2)
    path = f"/api/v1/consignments/{ids['consignment']}/receive"
    answers = _at_once(CLIENTS, lambda n: _signed_in(race_app, ids["doctor"]).post(
        path, json={"idempotency_key": f"pod-{n}-{secrets.token_hex(3)}"}))
    statuses = sorted(a.status_code if hasattr(a, "status_code") else repr(a) for a in answers)
    assert statuses == [200] + [409] * (CLIENTS - 1), statuses
    _booked_once(race_app, ids, sent=2)


@pytest.mark.postgresql
def test_the_ledger_books_a_transfer_in_once_whoever_calls_it(race_app):
    """The ledger's own receipt (`inventory.services.receive_transfer`, under every consignment receipt) locks the
    transfer: callers racing with their own keys book it once, the others are refused as already received."""
    with race_app.app_context():
        county = make_county(townships=1, villages=1)
        product = make_product()
        town = county.townships[0]
        stock.receive(town, product, lot_number="LEDGER-1", qty_base=10, user=None, key="ledger-stock",
                      expiry_date=clock.today() + timedelta(days=400))
        transfer = stock.send_transfer(town, county.villages[0], [stock.LineRequest(product, 2)], user=None,
                                       key="ledger-send")
        ids = {"transfer": transfer.id}
        db.session.commit()
        db.session.remove()

    def receive(n):
        with race_app.app_context():
            try:
                transfer = db.session.get(Transfer, ids["transfer"])
                transfer.lines  # noqa: B018 - loaded before the race, as a caller holding the transfer has it
                stock.receive_transfer(transfer, {}, user=None, key=f"ledger-{n}-{secrets.token_hex(3)}")
                db.session.commit()
                return "ok"
            except Conflict as exc:
                db.session.rollback()
                return exc.code
            finally:
                db.session.remove()

    answers = _at_once(CLIENTS, receive)
    assert sorted(map(str, answers)) == ["already_received"] * (CLIENTS - 1) + ["ok"], answers
    with race_app.app_context():
        assert ledger_problems() == {}
        db.session.remove()


@pytest.mark.postgresql
def test_fefo_dispensing_never_refuses_while_other_lots_hold_enough(race_app):
    """Auto-lot dispenses racing on a product held in many small lots: a lot another dispense emptied since the
    pick is not a refusal; the pick is made again on the balances read under lock. Demand stays below stock, so
    every dispense is served, earliest expiry first."""
    lots, per_lot, threads, per_thread = 12, 6, 8, 8  # 72 units on the shelf, 64 asked for one at a time
    with race_app.app_context():
        county = make_county(townships=1, villages=1)
        product = make_product()
        village = county.villages[0]
        for n in range(lots):
            stock.receive(village, product, lot_number=f"FEFO-{n:02d}", qty_base=per_lot, user=None, key=f"fefo-{n}",
                          expiry_date=clock.today() + timedelta(days=200 + n))
        ids = {"village": village.id, "product": product.id, "doctor": county.users["village"].get_id()}
        db.session.commit()
        db.session.remove()

    def dispense_all(n):
        client = _signed_in(race_app, ids["doctor"])
        codes = []
        for k in range(per_thread):
            answer = client.post("/api/v1/stock/dispenses", json={
                "facility_id": ids["village"], "product_id": ids["product"], "qty": 1, "unit": "base",
                "idempotency_key": f"fefo-{n}-{k}-{secrets.token_hex(3)}"})
            codes.append(answer.status_code if answer.status_code == 201 else answer.get_json())
        return codes

    answers = _at_once(threads, dispense_all)
    refused = [code for codes in answers for code in codes if code != 201]
    assert refused == []
    with race_app.app_context():
        from pharmacy.inventory.services import lot_stock

        left = sorted((lot.lot_number, lot.qty_base) for lot in lot_stock(ids["village"], ids["product"]))
        assert sum(qty for _n, qty in left) == lots * per_lot - threads * per_thread
        assert [name for name, _q in left] == [f"FEFO-{n:02d}" for n in range(lots - len(left), lots)]  # FEFO
        assert ledger_problems() == {}
        db.session.remove()


@pytest.mark.postgresql
def test_a_pending_adjustment_approved_by_several_people_at_once_is_booked_once(race_app):
    from pharmacy.auth.models import Role
    from pharmacy.inventory.models import AdjustmentRequest
    from tests.factories import make_user

    with race_app.app_context():
        county = make_county(townships=1, villages=1)
        product = make_product(pack_size=10)
        village = county.villages[0]
        stock.receive(village, product, lot_number="ADJ-1", qty_base=10, user=None, key="adj-stock",
                      expiry_date=clock.today() + timedelta(days=400))
        lot = db.session.scalar(select(Lot).where(Lot.product_id == product.id))
        _operation, request = stock.request_adjustment(village, lot, qty_delta=5000, reason="found",
                                                       user=county.users["village"], key="adj-big")
        approvers = [county.users["township"].get_id()] + [
            make_user(county.townships[0], Role.TOWNSHIP_PHARMACIST).get_id() for _ in range(CLIENTS - 1)]
        ids = {"request": request.id, "village": village.id, "product": product.id}
        db.session.commit()
        db.session.remove()
    path = f"/api/v1/stock/adjustment-requests/{ids['request']}/approve"
    answers = _at_once(CLIENTS, lambda n: _signed_in(race_app, approvers[n]).post(path, json={}))
    statuses = sorted(a.status_code if hasattr(a, "status_code") else repr(a) for a in answers)
    assert statuses == [200] + [409] * (CLIENTS - 1), statuses
    with race_app.app_context():
        assert stock.on_hand(ids["village"], ids["product"]) == 5010
        assert db.session.get(AdjustmentRequest, ids["request"]).status == "approved"
        assert ledger_problems() == {}
        db.session.remove()
