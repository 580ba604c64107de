"""Faults on a real deployment (gunicorn with several workers over its own database): a worker killed in the
middle of a request, PostgreSQL restarted during a burst of writes. Afterwards nothing is half-written and a
tablet's retried submissions are recorded exactly once.

The restart happens to a PostgreSQL cluster the test makes for itself (tests/private_postgres.py: initdb into a
temporary folder, a free port), never to the server of PHARMACY_TEST_PG_URL or any other it did not start."""

import os
import secrets
import signal
import threading
import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import create_engine, text

from pharmacy.inventory.invariants import ledger_problems

from tests.live_gunicorn import LiveServer, fresh_database, seed_county
from tests.private_postgres import private_cluster, unavailable_reason


def _engine(request) -> str:
    return request.config.getoption("--db")


@pytest.fixture
def live(request, tmp_path):
    with fresh_database(_engine(request), tmp_path) as url:
        info = seed_county(url)
        server = LiveServer(url, tmp_path, workers=2)
        try:
            yield server, info
        finally:
            server.stop()


def _count(url: str, sql: str, **params) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar_one()
    finally:
        engine.dispose()


def _ledger_problems(url: str) -> dict[str, int]:
    """The ledger invariants (balances = movements, none negative, each transfer booked in what it received)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return ledger_problems(conn)
    finally:
        engine.dispose()


def _submission(info, key: str) -> dict:
    """What a tablet or a pharmacist sends; the key makes a resend recognisable."""
    return {"code": key, "name": f"故障测试{key}", "kind": "village_point", "parent_id": info["townships"][0]}


SUBMIT_PATH = "/api/v1/facilities"


def _recorded(url: str, key: str) -> int:
    return _count(url, "SELECT count(*) FROM facility WHERE code = :key", key=key)


def _half_written(url: str) -> int:
    """Rows a transaction would only leave behind if it stopped half way (a facility without its path)."""
    return _count(url, "SELECT count(*) FROM facility WHERE path = '' OR path IS NULL")


def _submit_until_recorded(session: requests.Session, base: str, body: dict, deadline: float) -> int:
    """Send like a tablet: on a lost answer or a 5xx, send the same body again until it is accepted.
    201 means recorded now; 409 means an earlier attempt was recorded (the key already exists)."""
    attempts = 0
    while time.monotonic() < deadline:
        attempts += 1
        try:
            response = session.post(base + SUBMIT_PATH, json=body, timeout=20)
        except requests.RequestException:
            time.sleep(0.3)
            continue
        if response.status_code in (201, 200, 409):
            return attempts
        assert response.status_code >= 500, (response.status_code, response.text[:300])
        time.sleep(0.3)
    raise AssertionError(f"{body['code']} not accepted before the deadline")


def test_a_worker_killed_mid_request_leaves_nothing_and_the_retry_counts_once(live):
    server, info = live
    session = server.session(info["users"]["county"])
    body = _submission(info, "KILLED-1")
    outcome = {}

    def send_and_lose_the_answer():
        try:
            outcome["response"] = session.post(server.base + SUBMIT_PATH, json=body, timeout=90,
                                               headers={"X-Test-Pause": "kill-1"})
        except requests.RequestException as exc:
            outcome["error"] = exc

    sender = threading.Thread(target=send_and_lose_the_answer)
    sender.start()
    worker_pid = server.wait_for_pause("kill-1")  # the row is flushed, the commit not yet made
    os.kill(worker_pid, signal.SIGKILL)
    sender.join(timeout=60)
    assert "error" in outcome or outcome["response"].status_code >= 500
    assert _recorded(server.url, "KILLED-1") == 0  # the dead worker's transaction was rolled back
    assert _half_written(server.url) == 0

    retry = server.session(info["users"]["county"])
    assert retry.post(server.base + SUBMIT_PATH, json=body, timeout=30).status_code == 201
    assert retry.post(server.base + SUBMIT_PATH, json=body, timeout=30).status_code == 409  # resent: not again
    assert _recorded(server.url, "KILLED-1") == 1
    assert _count(server.url, "SELECT count(*) FROM audit_event WHERE table_name = 'facility' AND action = 'insert' "
                              "AND changes LIKE :pattern", pattern='%"KILLED-1"%') == 1
    assert _ledger_problems(server.url) == {}
    # gunicorn replaced the worker: the server still answers on every worker
    for _ in range(6):
        assert retry.get(server.base + "/api/v1/auth/me", timeout=30).status_code == 200


def _transfer_in_transit(url: str, info: dict) -> dict:
    """Goods on their way from the first township to its first village (whose doctor is info's village user)."""
    from pharmacy import clock, create_app
    from pharmacy.extensions import db
    from pharmacy.facilities.models import Facility
    from pharmacy.inventory import services as stock
    from pharmacy.supply import services as supply
    from tests.factories import make_product

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "live"})
    with app.app_context():
        town, village = db.session.get(Facility, info["townships"][0]), db.session.get(Facility, info["villages"][0])
        product = make_product(pack_size=10)
        stock.receive(town, product, lot_number="FAULT-1", qty_base=100, user=None, key="fault-stock",
                      expiry_date=clock.today() + timedelta(days=400))
        consignment, _created = supply.send_by_hand(town, village, [supply.GoodsRequest(product, 30)], user=None,
                                                    key="fault-send")
        ids = {"transfer": consignment.transfer_id, "village": village.id, "product": product.id}
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return ids


def test_a_receipt_killed_mid_request_lets_the_other_tablet_book_the_goods_once(live):
    """Two tablets sign for one transfer, each with its own key; the first one's worker dies holding the lock,
    its rows flushed: the second waits, then books the goods; the first one's resend is told they were received."""
    server, info = live
    ids = _transfer_in_transit(server.url, info)
    path = f"{server.base}/api/v1/stock/transfers/{ids['transfer']}/receive"
    first, second = server.session(info["users"]["village"]), server.session(info["users"]["village"])
    outcome = {}

    def send(name, session, key, headers):
        try:
            outcome[name] = session.post(path, json={"idempotency_key": key}, timeout=90, headers=headers)
        except requests.RequestException as exc:
            outcome[name] = exc

    killed = threading.Thread(target=send, args=("first", first, "tablet-a", {"X-Test-Pause": "receipt-1"}))
    killed.start()
    worker_pid = server.wait_for_pause("receipt-1")  # booked and flushed, holding the transfer's lock
    waiting = threading.Thread(target=send, args=("second", second, "tablet-b", {}))
    waiting.start()
    time.sleep(1.0)
    os.kill(worker_pid, signal.SIGKILL)
    killed.join(timeout=60)
    waiting.join(timeout=90)
    assert isinstance(outcome["first"], requests.RequestException) or outcome["first"].status_code >= 500
    assert outcome["second"].status_code == 200, outcome["second"].text[:300]
    resent = first.post(path, json={"idempotency_key": "tablet-a"}, timeout=30)
    assert resent.status_code == 409 and resent.json()["error"]["code"] == "already_received"
    assert _count(server.url, "SELECT coalesce(sum(qty_base), 0) FROM stock_movement WHERE kind = 'transfer_in' "
                              "AND ref_id = :t", t=ids["transfer"]) == 30
    assert _ledger_problems(server.url) == {}


@pytest.fixture
def live_on_private_postgresql(tmp_path):
    """gunicorn over a database of a PostgreSQL cluster of this test's own, which the test may restart."""
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"cannot start a private PostgreSQL cluster to restart: {reason}")
    with private_cluster() as cluster:
        url = cluster.create_database(f"pharmacy_faults_{secrets.token_hex(4)}")
        info = seed_county(url)
        server = LiveServer(url, tmp_path, workers=2)
        try:
            yield server, info, cluster
        finally:
            server.stop()


@pytest.mark.postgresql
def test_postgresql_restart_during_a_write_burst(live_on_private_postgresql):
    server, info, cluster = live_on_private_postgresql
    sessions = [server.session(info["users"]["county"]) for _ in range(4)]
    keys: list[list[str]] = [[] for _ in sessions]
    deadline = time.monotonic() + 120
    attempts: list[int] = []
    errors: list[BaseException] = []
    restarted = threading.Event()

    def tablet(number, session):
        """Keep submitting until PostgreSQL is back, and ten more after that."""
        try:
            after = 0
            while after < 10 and time.monotonic() < deadline:
                key = f"BURST-{number}-{len(keys[number])}"
                keys[number].append(key)
                attempts.append(_submit_until_recorded(session, server.base, _submission(info, key), deadline))
                after += restarted.is_set()
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)

    # daemon: should the test fail half way, its tablets must not keep the test run alive until their deadline
    threads = [threading.Thread(target=tablet, args=(n, s), daemon=True) for n, s in enumerate(sessions)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    try:
        cluster.restart()
    finally:
        restarted.set()
    for thread in threads:
        thread.join(timeout=150)
    assert not errors, errors
    all_keys = [k for own in keys for k in own]
    assert max(attempts) > 1, "no submission was interrupted: the restart did not meet the burst"
    for key in all_keys:
        assert _recorded(server.url, key) == 1, key
    assert _half_written(server.url) == 0
    assert _count(server.url, "SELECT count(*) FROM audit_event WHERE table_name = 'facility' AND action = 'insert' "
                              "AND changes LIKE '%BURST-%'") == len(all_keys)
    assert _ledger_problems(server.url) == {}
    health = requests.get(server.base + "/healthz", timeout=30)
    assert health.json()["database"] == "ok"
