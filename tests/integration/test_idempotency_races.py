"""Idempotent writes under concurrency, on PostgreSQL, through HTTP: many clients send at the same moment.

- Two villages' tablets sending the same `client_id` at once each get their own registration.
- Ten identical requests at once (a tablet's retries, a double tap): exactly one 201, the others 200 with the same
  body, one record.
- Ten clients signing for one delivery stop at once: the stop row is written once, every client gets its receipt.

The module runs on a database of its own (created and dropped here), so threads commit freely; it needs
`--db=postgresql` and skips otherwise.
"""

import secrets
import threading
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from pharmacy import create_app
from pharmacy.audit.models import AuditEvent
from pharmacy.auth.models import User
from pharmacy.catalog.models import Product
from pharmacy.deliveries import services as deliveries
from pharmacy.deliveries.models import DeliveryStop, Route
from pharmacy.extensions import db
from pharmacy.facilities.models import Facility
from pharmacy.inventory.models import StockMovement, StockOperation
from pharmacy.shortages.models import Shortage
from tests.factories import make_county, make_product, make_route, make_shortage, next_weekday, stock_up
from tests.pg_available import PG_URL

pytestmark = pytest.mark.postgresql

CLIENTS = 10
ROUNDS = 6


@pytest.fixture(scope="module")
def race_app(request):
    if request.config.getoption("--db") != "postgresql":
        pytest.skip("needs PostgreSQL: run `pytest --db=postgresql`")
    name = f"pharmacy_race_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = str(make_url(PG_URL).set(database=name)).replace("postgresql://", "postgresql+psycopg://", 1)
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "WTF_CSRF_ENABLED": False,
                      "SECRET_KEY": "race", "SERVER_NAME": None})
    try:
        with app.app_context():
            db.create_all()
            db.session.commit()
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def world(race_app):
    with race_app.app_context():
        county = make_county()
        product = make_product("并发测试片", pack_size=10)
        stock_up(county.villages[0], product, 100_000, user=county.users["village"], lot="RACE1")
        db.session.commit()
        return {"product": product.id, "villages": [v.id for v in county.villages],
                "township": county.townships[0].id,
                "users": {role: (user.id, user.get_id()) for role, user in county.users.items()}}


def _client(app, session_id: str, lang: str = "zh"):
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"], session["_fresh"], session["lang"] = session_id, True, lang
    return client


def _all_at_once(app, requests: list[tuple[str, str, dict]]) -> list:
    """Send each (session id, url, body) from its own thread, released together; the responses in order."""
    clients = [_client(app, session_id) for session_id, _url, _body in requests]
    barrier, answers = threading.Barrier(len(requests)), [None] * len(requests)

    def send(index: int) -> None:
        _session_id, url, body = requests[index]
        barrier.wait(10)
        response = clients[index].post(url, json=body)
        answers[index] = (response.status_code, response.get_json())

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not any(thread.is_alive() for thread in threads)
    return answers


@contextmanager
def _reading(app):
    with app.app_context():
        yield db.session
        db.session.remove()


def test_two_villages_sending_one_client_id_at_once_each_get_their_own_registration(race_app, world):
    village_a, village_b = world["users"]["village"], world["users"]["other_village"]
    for n in range(ROUNDS):
        client_id = f"shared-{secrets.token_hex(6)}"
        answers = _all_at_once(race_app, [
            (village_a[1], "/api/v1/shortages", {"client_id": client_id, "product_id": world["product"],
                                                 "qty_packs": 2, "note": "甲村"}),
            (village_b[1], "/api/v1/shortages", {"client_id": client_id, "product_id": world["product"],
                                                 "qty_packs": 7, "note": "乙村"})])
        assert [status for status, _body in answers] == [201, 201], (n, answers)
        (_s, mine), (_t, theirs) = answers
        assert (mine["facility_id"], mine["qty_packs"], mine["note"]) == (world["villages"][0], 2, "甲村")
        assert (theirs["facility_id"], theirs["qty_packs"], theirs["note"]) == (world["villages"][-1], 7, "乙村")
        with _reading(race_app) as session:
            rows = session.execute(select(Shortage.facility_id, Shortage.registered_by_id, Shortage.note)
                                   .where(Shortage.client_id == client_id).order_by(Shortage.facility_id)).all()
            assert sorted(rows) == sorted([(world["villages"][0], village_a[0], "甲村"),
                                           (world["villages"][-1], village_b[0], "乙村")])


def test_a_client_id_sent_again_with_another_request_is_refused(race_app, world):
    doctor = _client(race_app, world["users"]["village"][1])
    body = {"client_id": f"again-{secrets.token_hex(6)}", "product_id": world["product"], "qty_packs": 2}
    assert doctor.post("/api/v1/shortages", json=body).status_code == 201
    refused = _client(race_app, world["users"]["village"][1], "en").post("/api/v1/shortages",
                                                                         json=body | {"qty_packs": 20})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "idempotency_key_reused"
    assert refused.json["error"]["message"] == "This registration id was already used for a different registration"
    zh = doctor.post("/api/v1/shortages", json=body | {"note": "改了"})
    assert zh.status_code == 409 and zh.json["error"]["message"] == "该登记编号已用于另一条内容不同的登记"
    with _reading(race_app) as session:
        assert session.scalars(select(Shortage.qty_packs).where(Shortage.client_id == body["client_id"])).all() == [2]


def _exactly_one_created(answers) -> None:
    statuses = sorted(status for status, _body in answers)
    assert statuses == [200] * (CLIENTS - 1) + [201], statuses
    assert all(body == answers[0][1] for _status, body in answers)


def test_ten_identical_registrations_at_once_create_one_and_answer_it_to_all(race_app, world):
    doctor = world["users"]["village"][1]
    for _round in range(ROUNDS):
        body = {"client_id": f"burst-{secrets.token_hex(6)}", "product_id": world["product"], "qty_packs": 3}
        _exactly_one_created(_all_at_once(race_app, [(doctor, "/api/v1/shortages", body)] * CLIENTS))
        with _reading(race_app) as session:
            assert session.scalar(select(func.count(Shortage.id)).where(Shortage.client_id == body["client_id"])) == 1


def test_ten_identical_dispenses_at_once_record_one_and_say_created_once(race_app, world):
    doctor = world["users"]["village"][1]
    for _round in range(ROUNDS):
        body = {"idempotency_key": f"disp-{secrets.token_hex(6)}", "facility_id": world["villages"][0],
                "product_id": world["product"], "qty": 1, "unit": "base"}
        _exactly_one_created(_all_at_once(race_app, [(doctor, "/api/v1/stock/dispenses", body)] * CLIENTS))
        with _reading(race_app) as session:
            operations = session.scalars(select(StockOperation.id)
                                         .where(StockOperation.idempotency_key == body["idempotency_key"])).all()
            assert len(operations) == 1
            assert session.scalar(select(func.count(StockMovement.id))
                                  .where(StockMovement.operation_id == operations[0])) == 1


def test_a_stock_key_belongs_to_its_sender_and_its_request(race_app, world):
    """Another user's identical key is another write; the same user's key with another quantity is refused."""
    body = {"idempotency_key": f"mine-{secrets.token_hex(6)}", "facility_id": world["villages"][0],
            "product_id": world["product"], "qty": 1, "unit": "base"}
    doctor, township = (_client(race_app, world["users"][role][1]) for role in ("village", "township"))
    first = doctor.post("/api/v1/stock/dispenses", json=body)
    assert first.status_code == 201
    assert doctor.post("/api/v1/stock/dispenses", json=body).json == first.json
    refused = doctor.post("/api/v1/stock/dispenses", json=body | {"qty": 2})
    assert refused.status_code == 409 and refused.json["error"]["code"] == "idempotency_key_reused"
    theirs = township.post("/api/v1/stock/dispenses", json=body)
    assert theirs.status_code == 201 and theirs.json["id"] != first.json["id"]
    assert theirs.json["user_id"] == world["users"]["township"][0]


def _dispatched_stop(app, world) -> int:
    with app.app_context():
        township = db.session.get(Facility, world["township"])
        village = db.session.get(Facility, world["villages"][0])
        pharmacist = db.session.get(User, world["users"]["township"][0])
        doctor = db.session.get(User, world["users"]["village"][0])
        product = db.session.get(Product, world["product"])
        stock_up(township, product, 100, user=pharmacist, lot=f"RUN{secrets.token_hex(3)}")
        make_shortage(village, product, 2, user=doctor)
        if "route" not in world:
            world["route"] = make_route(township, [village], name="并发线").id
            world["runs"] = 0
        world["runs"] += 1
        run = deliveries.plan_run(db.session.get(Route, world["route"]),
                                  next_weekday(2) + timedelta(weeks=world["runs"]), user=pharmacist)
        deliveries.confirm_run(run, user=pharmacist)
        deliveries.dispatch_run(run, user=pharmacist)
        stop_id = run.stops[0].id
        db.session.commit()
        db.session.remove()
        return stop_id


def test_ten_clients_signing_one_stop_at_once_write_it_once(race_app, world):
    doctor = world["users"]["village"][1]
    for _round in range(3):
        stop_id = _dispatched_stop(race_app, world)
        body = {"receiver_name": "李医生", "checked": True}
        answers = _all_at_once(race_app, [(doctor, f"/api/v1/deliveries/stops/{stop_id}/receipt", body)] * CLIENTS)
        assert [status for status, _body in answers] == [200] * CLIENTS, answers
        assert all(body == answers[0][1] and body["status"] == "received" for _status, body in answers)
        with _reading(race_app) as session:
            assert session.get(DeliveryStop, stop_id).status == "received"
            writes = session.scalar(select(func.count(AuditEvent.id)).where(
                AuditEvent.table_name == "delivery_stop", AuditEvent.row_id == str(stop_id),
                AuditEvent.action == "update", AuditEvent.changes.contains('"status"'),
                AuditEvent.changes.contains('"received"')))
            assert writes == 1


def test_ten_identical_transfers_at_once_send_one_consignment(race_app, world):
    doctor = world["users"]["village"][1]
    for _round in range(ROUNDS):
        body = {"idempotency_key": f"tr-{secrets.token_hex(6)}", "from_facility_id": world["villages"][0],
                "to_facility_id": world["township"],
                "lines": [{"product_id": world["product"], "qty": 1, "unit": "base"}]}
        _exactly_one_created(_all_at_once(race_app, [(doctor, "/api/v1/stock/transfers", body)] * CLIENTS))
        with _reading(race_app) as session:
            operations = session.scalars(select(StockOperation.id)
                                         .where(StockOperation.idempotency_key == body["idempotency_key"])).all()
            assert len(operations) == 1
