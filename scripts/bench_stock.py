#!/usr/bin/env python
"""Stock and shortage throughput on PostgreSQL through the HTTP API, with concurrent clients.

Creates a fresh PostgreSQL database, starts the app (gunicorn, or werkzeug's threaded server) on 127.0.0.1 and a
free port, signs in one client per village doctor and prints:

* dispenses per second with N concurrent clients, each at its own village (the common case), and with all of
  them dispensing from one lot at one facility (the worst case for the balance row lock);
* the latency of a shortage submission (p50, p95, p99);
* the time `inventory.queries.stock_status` takes over many villages × products;

then checks that every balance still equals the sum of its movements, stops the server and drops the database.

    .venv/bin/python scripts/bench_stock.py                       # 8 clients, 2000 dispenses a phase, 240 × 300 status
    .venv/bin/python scripts/bench_stock.py --clients 2 --dispenses 20 --shortages 10 --status-villages 2 \\
        --status-products 3                                       # a tiny run (the test does this)
"""

import argparse
import http.client
import itertools
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg
from sqlalchemy import func, insert, select

PASSWORD = "bench-password-1"


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg-url", default=os.environ.get("PHARMACY_TEST_PG_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--dispenses", type=int, default=2000, help="dispenses per phase, over all clients")
    parser.add_argument("--shortages", type=int, default=800, help="shortage submissions, over all clients")
    parser.add_argument("--server", choices=["gunicorn", "werkzeug"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--status-villages", type=int, default=240)
    parser.add_argument("--status-products", type=int, default=300)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    return parser.parse_args()


# ---- database and data ------------------------------------------------------------------------------------

def create_database(pg_url: str) -> tuple[str, str]:
    name = f"pharmacy_bench_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parsed = urllib.parse.urlsplit(pg_url)
    url = urllib.parse.urlunsplit(parsed._replace(path="/" + name))
    return name, url


def drop_database(pg_url: str, name: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_data(app, clients: int, stock_per_client: int) -> dict:
    """A county with one village doctor per client, each village stocked, and a stocked township."""
    from werkzeug.security import generate_password_hash

    from pharmacy.auth.models import Role, User
    from pharmacy.catalog.models import Drug, Product
    from pharmacy.extensions import db
    from pharmacy.facilities.models import FacilityKind
    from pharmacy.facilities.services import create_facility
    from pharmacy.inventory import services as stock

    with app.app_context():
        db.create_all()
        hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        county = create_facility(code="B", name="压测县", kind=FacilityKind.COUNTY_HOSPITAL)
        town = create_facility(code="B-T", name="压测镇", kind=FacilityKind.HEALTH_CENTRE, parent=county)
        drug = Drug(edition="B", code="B1", category="化学药品和生物制品", generic_name="氨氯地平",
                    pinyin_initials="ALDP")
        product = Product(drug=drug, edition="B", code="B1-01", dosage_form="片剂", strength="5mg", base_unit="片",
                          pack_size=28, lowest_tier="village")
        pharmacist = User(username="bench-town", display_name="压测药师", role=Role.TOWNSHIP_PHARMACIST,
                          facility=town, password_hash=hashed, session_token=secrets.token_hex(8))
        db.session.add_all([drug, product, pharmacist])
        db.session.flush()
        expiry = date.today() + timedelta(days=400)
        stock.receive(town, product, lot_number="HOT", expiry_date=expiry, qty_base=stock_per_client * clients * 2,
                      user=pharmacist, key="bench-town")
        users = []
        for n in range(clients):
            village = create_facility(code=f"B-V{n}", name=f"压测村{n}", kind=FacilityKind.VILLAGE_POINT, parent=town)
            user = User(username=f"bench-v{n}", display_name=f"村医{n}", role=Role.VILLAGE_DOCTOR, facility=village,
                        password_hash=hashed, session_token=secrets.token_hex(8))
            db.session.add(user)
            db.session.flush()
            for lot in range(3):
                stock.receive(village, product, lot_number=f"L{lot}", expiry_date=expiry + timedelta(days=lot),
                              qty_base=stock_per_client, user=user, key=f"bench-{n}-{lot}")
            users.append({"username": user.username, "facility_id": village.id})
        lot_id = db.session.scalar(select(stock.Lot.id).where(stock.Lot.lot_number == "HOT"))
        db.session.commit()
        return {"product_id": product.id, "town_id": town.id, "hot_lot_id": lot_id, "users": users,
                "pharmacist": pharmacist.username}


# ---- server -----------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, kind: str, url: str, workers: int, threads: int):
        self.port = free_port()
        self.kind = kind
        self.process = None
        self.thread = None
        env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(16), "PHARMACY_LOG_JSON": "0"}
        if kind == "gunicorn":
            gunicorn = str(Path(sys.executable).with_name("gunicorn"))
            self.process = subprocess.Popen(
                [gunicorn, "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
                 "--bind", f"127.0.0.1:{self.port}", "--log-level", "warning", "pharmacy:create_app()"],
                cwd=ROOT, env=env)
        else:
            from werkzeug.serving import make_server

            from pharmacy import create_app

            self.app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": env["SECRET_KEY"]})
            import logging

            logging.getLogger("werkzeug").setLevel(logging.WARNING)
            self.server = make_server("127.0.0.1", self.port, self.app, threaded=True)
            self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
            self.thread.start()
        self._wait()

    def _wait(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("the server did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        else:
            self.server.shutdown()
            self.thread.join(timeout=10)


class Client:
    """One signed-in user on one keep-alive connection."""

    def __init__(self, port: int, username: str):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}
        page = self._request("GET", "/login")[1].decode()
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        body = urllib.parse.urlencode({"username": username, "password": PASSWORD, "csrf_token": token})
        status, _ = self._request("POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"})
        if status != 302:
            raise SystemExit(f"sign-in failed for {username}: {status}")

    def _request(self, method, path, body=None, headers=None):
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            # The server closed an idle keep-alive connection: reconnect and send again. Writes carry an
            # idempotency key or a client id, so a request that did arrive is not counted twice.
            self.conn.close()
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, data

    def post_json(self, path: str, payload: str) -> tuple[int, float]:
        started = time.perf_counter()
        status, _ = self._request("POST", path, payload, {"Content-Type": "application/json",
                                                          "Accept": "application/json"})
        return status, time.perf_counter() - started


def run_phase(clients: list[Client], jobs_per_client: list[list[tuple[str, str]]]) -> tuple[float, list, dict]:
    """Run each client's (path, body) list on its own thread; return wall time, latencies and status counts."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(len(clients) + 1)

    def work(client, jobs):
        barrier.wait()
        mine, seen = [], {}
        for path, body in jobs:
            status, seconds = client.post_json(path, body)
            mine.append(seconds)
            seen[status] = seen.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for status, n in seen.items():
                statuses[status] = statuses.get(status, 0) + n

    threads = [threading.Thread(target=work, args=(c, j)) for c, j in zip(clients, jobs_per_client, strict=True)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started, latencies, statuses


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def dispense_body(facility_id, product_id, key, lot_id=None) -> str:
    lot = f', "lot_id": {lot_id}' if lot_id else ""
    return (f'{{"facility_id": {facility_id}, "product_id": {product_id}, "qty": 1, "unit": "base", '
            f'"idempotency_key": "{key}"{lot}}}')


# ---- stock_status over many facilities × products ---------------------------------------------------------

def bench_stock_status(app, villages: int, products: int) -> tuple[int, float]:
    """Bulk-load villages × products with a lot, an opening receipt and two dispenses each; time the query."""
    from pharmacy.auth.models import User
    from pharmacy.catalog.models import Drug, Product
    from pharmacy.clock import now_utc
    from pharmacy.extensions import db
    from pharmacy.facilities.models import Facility, FacilityKind
    from pharmacy.facilities.services import create_facility
    from pharmacy.inventory import queries
    from pharmacy.inventory.models import Lot, StockBalance, StockMovement, StockOperation

    with app.app_context():
        parent = db.session.scalar(select(Facility).where(Facility.code == "B-T"))
        user_id = db.session.scalar(select(User.id).limit(1))
        facility_ids = [create_facility(code=f"S-V{n}", name=f"状态村{n}", kind=FacilityKind.VILLAGE_POINT,
                                        parent=parent).id for n in range(villages)]
        drugs = [{"edition": "S", "code": f"S{n}", "category": "化学药品和生物制品", "generic_name": f"状态药{n}",
                  "pinyin_initials": f"ZTY{n}", "class_path": "", "name_en": "", "chronic_tags": "",
                  "is_essential": True, "remarks": "", "created_at": now_utc(), "updated_at": now_utc()}
                 for n in range(products)]
        drug_ids = db.session.scalars(insert(Drug).returning(Drug.id, sort_by_parameter_order=True), drugs).all()
        product_ids = db.session.scalars(insert(Product).returning(Product.id, sort_by_parameter_order=True), [
            {"edition": "S", "code": f"S{n}-01", "drug_id": d, "dosage_form": "片剂", "strength": "1mg",
             "base_unit": "片", "pack_size": 10, "pack_unit": "盒", "lowest_tier": "village", "status": "active",
             "created_at": now_utc(), "updated_at": now_utc()} for n, d in enumerate(drug_ids)]).all()
        expiry = date.today() + timedelta(days=300)
        lot_ids = db.session.scalars(insert(Lot).returning(Lot.id, sort_by_parameter_order=True), [
            {"product_id": p, "lot_number": "S", "expiry_date": expiry, "manufacturer": "", "created_at": now_utc()}
            for p in product_ids]).all()
        now = now_utc()
        op_id = db.session.scalar(insert(StockOperation).returning(StockOperation.id).values(
            idempotency_key="status-bench", kind="receipt", facility_id=facility_ids[0], note="", created_at=now))
        movements, balances = [], []
        for f in facility_ids:
            for p, lot in zip(product_ids, lot_ids, strict=True):
                base = {"operation_id": op_id, "facility_id": f, "product_id": p, "lot_id": lot, "reason": "",
                        "note": "", "ref_type": "", "user_id": user_id}
                movements += [{**base, "qty_base": 100, "balance_after": 100, "kind": "receipt",
                               "created_at": now - timedelta(days=120)},
                              {**base, "qty_base": -30, "balance_after": 70, "kind": "dispense",
                               "created_at": now - timedelta(days=60)},
                              {**base, "qty_base": -20, "balance_after": 50, "kind": "dispense",
                               "created_at": now - timedelta(days=10)}]
                balances.append({"facility_id": f, "product_id": p, "lot_id": lot, "qty_base": 50, "updated_at": now})
        for chunk in range(0, len(movements), 20000):
            db.session.execute(insert(StockMovement), movements[chunk:chunk + 20000])
        db.session.execute(insert(StockBalance), balances)
        db.session.commit()
        db.session.execute(func.now().select())  # a warm connection for the timing
        db.session.execute(select(func.count()).select_from(StockMovement)).scalar()
        db.session.execute(select(func.count()).select_from(StockBalance)).scalar()
        db.session.connection().exec_driver_sql("ANALYZE")
        def timed(ids):
            timings, rows = [], []
            for _ in range(3):
                started = time.perf_counter()
                rows = queries.stock_status(ids)
                timings.append(time.perf_counter() - started)
            return len(rows), statistics.median(timings)

        def timed_page(ids):
            """One page (200 rows, worst first) of the stock pages' list, its total and its status counts."""
            from pharmacy.listing import page_of

            timings = []
            for _ in range(3):
                started = time.perf_counter()
                page = page_of(queries.stock_list(ids, order="subtree"), per_page=200, scalars=False)
                queries.stock_rows(page.items)
                queries.stock_counts(queries.stock_list(ids))
                timings.append(time.perf_counter() - started)
            return page.total, statistics.median(timings)

        return timed(facility_ids), timed(facility_ids[:20]), timed_page(facility_ids)


def ledger_is_consistent(app) -> bool:
    from pharmacy.extensions import db
    from pharmacy.inventory.models import StockBalance, StockMovement

    with app.app_context():
        sums = {(f, lot): int(total) for f, lot, total in db.session.execute(
            select(StockMovement.facility_id, StockMovement.lot_id, func.sum(StockMovement.qty_base))
            .group_by(StockMovement.facility_id, StockMovement.lot_id)).all()}
        return all(sums.get((b.facility_id, b.lot_id), 0) == b.qty_base and b.qty_base >= 0
                   for b in db.session.scalars(select(StockBalance)))


def main() -> int:
    args = parse_args()
    from pharmacy import create_app
    from pharmacy.extensions import db

    name, url = create_database(args.pg_url)
    server = None
    try:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url.replace("postgresql://", "postgresql+psycopg://", 1)})
        per_client = -(-args.dispenses // args.clients)
        data = build_data(app, args.clients, per_client)
        server = Server(args.server, url, args.workers, args.threads)
        doctors = [Client(server.port, u["username"]) for u in data["users"]]
        pharmacists = [Client(server.port, data["pharmacist"]) for _ in range(args.clients)]
        run = secrets.token_hex(3)

        jobs = [[("/api/v1/stock/dispenses", dispense_body(u["facility_id"], data["product_id"], f"{run}-v{n}-{i}"))
                 for i in range(per_client)] for n, u in enumerate(data["users"])]
        seconds, latencies, statuses = run_phase(doctors, jobs)
        done = statuses.get(201, 0)
        print(f"dispenses/s, {args.clients} clients at their own villages: {done / seconds:.0f} "
              f"({done} in {seconds:.2f} s; p50 {percentile(latencies, 50) * 1000:.1f} ms, "
              f"p95 {percentile(latencies, 95) * 1000:.1f} ms; statuses {statuses})")

        jobs = [[("/api/v1/stock/dispenses", dispense_body(data["town_id"], data["product_id"], f"{run}-t{n}-{i}",
                                                           data["hot_lot_id"]))
                 for i in range(per_client)] for n in range(args.clients)]
        seconds, latencies, statuses = run_phase(pharmacists, jobs)
        done = statuses.get(201, 0)
        print(f"dispenses/s, {args.clients} clients on one lot (lock contention): {done / seconds:.0f} "
              f"({done} in {seconds:.2f} s; p50 {percentile(latencies, 50) * 1000:.1f} ms, "
              f"p95 {percentile(latencies, 95) * 1000:.1f} ms; statuses {statuses})")

        per_client_shortages = -(-args.shortages // args.clients)
        ids = itertools.count()
        jobs = [[("/api/v1/shortages", (f'{{"client_id": "{run}-{next(ids):08d}-bench", '
                                        f'"product_id": {data["product_id"]}, "qty_packs": 2, "urgency": "urgent"}}'))
                 for _ in range(per_client_shortages)] for _ in doctors]
        seconds, latencies, statuses = run_phase(doctors, jobs)
        print(f"shortage submission latency, {args.clients} clients: p50 {percentile(latencies, 50) * 1000:.1f} ms, "
              f"p95 {percentile(latencies, 95) * 1000:.1f} ms, p99 {percentile(latencies, 99) * 1000:.1f} ms "
              f"({statuses.get(201, 0)} registered, {statuses.get(201, 0) / seconds:.0f}/s; statuses {statuses})")

        if args.status_villages and args.status_products:
            (rows, seconds), (township_rows, township_seconds), (listed, page_seconds) = bench_stock_status(
                app, args.status_villages, args.status_products)
            print(f"stock_status over {args.status_villages} villages × {args.status_products} products: "
                  f"{seconds * 1000:.0f} ms for {rows} rows; one township's "
                  f"{min(20, args.status_villages)} villages: {township_seconds * 1000:.0f} ms for {township_rows} rows")
            print(f"stock list page (200 of {listed} rows, worst first, with total and status counts): "
                  f"{page_seconds * 1000:.0f} ms")
        for client in doctors + pharmacists:
            client.conn.close()  # idle keep-alive connections would hold up gunicorn's graceful stop
        consistent = ledger_is_consistent(app)
        print(f"ledger consistent (every balance = sum of its movements, none negative): {'yes' if consistent else 'NO'}")
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        return 0 if consistent else 1
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            drop_database(args.pg_url, name)


if __name__ == "__main__":
    sys.exit(main())
