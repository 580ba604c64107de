"""Load test: a county's busy morning against gunicorn + PostgreSQL on 127.0.0.1, then the ledger invariants.

    .venv/bin/python scripts/load_test.py                  # full size: 300 tablets, 12 township pharmacists, 3 county staff
    .venv/bin/python scripts/load_test.py --size small --duration 20

It creates a fresh PostgreSQL database (dropped afterwards unless --keep-db), builds the schema, loads the whole
formulary, seeds the demo county (12 townships × 20 villages) with opening stock, starts gunicorn with
gunicorn.conf.py, runs locust headless (scripts/load_locustfile.py; statistics are reset once every user is
signed in, so the figures are the sustained load, not the log-in storm), prints requests per second, p50/p95/p99
per endpoint and the error rate, and checks the ledger's invariants (pharmacy/inventory/invariants.py): every stock
balance equals the sum of its movements, none is negative, and every transfer booked in exactly what its lines say
was received (a transfer received twice keeps balances equal to movements, so that alone would not notice). Exit status 0 only with zero errors and intact invariants. Traffic goes to 127.0.0.1 only and stops by
itself after --duration seconds.
"""

import argparse
import csv
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import date, timedelta
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PASSWORD = "load-test-pass"
SIZES = {"full": {"scale": 1.0, "duration": 150, "warmup": 15, "townships": 12, "villages": 20},
         "small": {"scale": 0.1, "duration": 20, "warmup": 3, "townships": 3, "villages": 4}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _sa_url(libpq_url: str) -> str:
    return libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)


def create_database(admin_url: str) -> str:
    name = f"pharmacy_load_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return str(make_url(admin_url).set(database=name))


def drop_database(admin_url: str, url: str) -> None:
    name = make_url(url).database
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def seed(url: str, townships: int, villages: int) -> dict:
    """Schema at head, the whole formulary, the demo county and opening stock at every village."""
    sys.path.insert(0, str(ROOT))
    from flask_migrate import stamp
    from sqlalchemy import select

    from pharmacy import create_app
    from pharmacy.audit.trail import acting_as, summarised
    from pharmacy.catalog.loader import load_catalog
    from pharmacy.catalog.models import Product
    from pharmacy.demo.seed import seed_demo
    from pharmacy.extensions import db
    from pharmacy.inventory.services import receive
    from pharmacy.supply.services import GoodsRequest, send_by_hand

    app = create_app({"SQLALCHEMY_DATABASE_URI": _sa_url(url), "SECRET_KEY": "load-seed", "TESTING": True})

    @summarised("load test seed")
    def opening_stock(demo):
        products = list(db.session.scalars(
            select(Product).where(Product.lowest_tier == "village", Product.status == "active")
            .order_by(Product.id).limit(8)))
        expiry = date.today() + timedelta(days=500)
        for township in demo.townships:
            doctor_by_village = {u.facility_id: u for u in demo.users.values()}
            for village in demo.villages[township.id]:
                for product in products:
                    receive(village, product, lot_number=f"LOAD-{product.id}", expiry_date=expiry, qty_base=2000,
                            user=doctor_by_village.get(village.id), key=f"load-open-{village.id}-{product.id}")
        return len(products)

    @summarised("load test seed: goods on their way")
    def goods_in_transit(demo, per_village: int = 3):
        """A few manual transfers on their way from each township to each of its villages, for the tablets to
        receive while the morning runs (several tablets of one village, and two taps at once, race for each)."""
        product = db.session.scalars(select(Product).where(Product.lowest_tier == "village",
                                                           Product.status == "active").order_by(Product.id)).first()
        expiry = date.today() + timedelta(days=500)
        sent = 0
        for township in demo.townships:
            pharmacist = next((u for u in demo.users.values() if u.facility_id == township.id
                               and u.role == "township_pharmacist"), None)
            villages = demo.villages[township.id]
            receive(township, product, lot_number=f"LOAD-T-{product.id}", expiry_date=expiry,
                    qty_base=10 * per_village * len(villages), user=pharmacist, key=f"load-transit-{township.id}")
            for village in villages:
                for n in range(per_village):
                    send_by_hand(township, village, [GoodsRequest(product, 2 + n)], user=pharmacist,
                                 key=f"load-send-{village.id}-{n}")
                    sent += 1
        return sent

    with app.app_context(), acting_as("load test seed"):
        db.create_all()
        stamp()  # the schema was built from the models: mark it as at the migrations' head
        load_catalog(ROOT / "catalog_data")
        demo = seed_demo(townships=townships, villages_per_township=villages,
                         passwords={r: PASSWORD for r in ("village_doctor", "township_pharmacist",
                                                          "county_pharmacist", "formulary_admin", "viewer")})
        stocked = opening_stock(demo)
        in_transit = goods_in_transit(demo)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return {"townships": townships, "villages": townships * villages, "stocked_products_per_village": stocked,
            "transfers_in_transit": in_transit}


def start_server(url: str, port: int, workers: int, log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secrets.token_hex(32), PHARMACY_ENV="development",
               PHARMACY_BIND=f"127.0.0.1:{port}", PHARMACY_WEB_WORKERS=str(workers), PHARMACY_LOG_LEVEL="WARNING",
               PHARMACY_LOG_JSON="1")
    log = log_path.open("w")
    server = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {server.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    stop_server(server)
    raise RuntimeError(f"gunicorn did not answer within 60 s; see {log_path}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children (gunicorn: the master and workers)."""
    import psutil

    try:
        process = psutil.Process(pid)
        times = process.cpu_times()
        # the master, the workers it already replaced (max_requests) and the workers alive now
        total = times.user + times.system + times.children_user + times.children_system
        for child in process.children(recursive=True):
            child_times = child.cpu_times()
            total += child_times.user + child_times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def machine_busy_seconds() -> float:
    import psutil

    times = psutil.cpu_times()
    return times.user + times.system + getattr(times, "nice", 0.0)


def run_locust(host: str, scale: float, duration: int, warmup: int, townships: int, villages: int,
               out_prefix: Path) -> None:
    users = max(1, round(300 * scale)) + max(1, round(12 * scale)) + max(1, round(3 * scale))
    env = dict(os.environ, LOAD_SCALE=str(scale), LOAD_PASSWORD=PASSWORD, LOAD_TOWNSHIPS=str(townships),
               LOAD_VILLAGES=str(villages), LOAD_MEASURE_SECONDS=str(duration), LOAD_WARMUP_SECONDS=str(warmup))
    spawn_rate = max(5, users // 30)  # tablets come online over half a minute, as a morning starts
    # The locustfile resets the statistics once every user has signed in and stops `duration` seconds later;
    # -t is only a safety limit.
    command = [str(BIN / "locust"), "-f", str(ROOT / "scripts" / "load_locustfile.py"), "--headless",
               "-u", str(users), "-r", str(spawn_rate), "-t", f"{duration + users // spawn_rate + 300}s",
               "--host", host, "--csv", str(out_prefix), "--only-summary",
               "--loglevel", "WARNING", "--stop-timeout", "10"]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=duration + users // spawn_rate + 400)
    if result.returncode not in (0, 1):  # 1: some requests failed, reported below
        raise RuntimeError(f"locust failed ({result.returncode}): {result.stderr[-2000:]}")
    for line in result.stdout.splitlines():
        if "signed in" in line:
            print(line, flush=True)


def read_stats(out_prefix: Path) -> dict:
    rows = list(csv.DictReader(Path(f"{out_prefix}_stats.csv").open(encoding="utf-8")))
    endpoints = []
    total = None
    def ms(value: str) -> float:
        return float(value) if value not in ("", "N/A") else 0.0

    for row in rows:
        if int(row["Request Count"]) == 0:
            continue
        entry = {"method": row["Type"], "name": row["Name"], "requests": int(row["Request Count"]),
                 "failures": int(row["Failure Count"]), "rps": float(row["Requests/s"]),
                 "p50_ms": ms(row["50%"]), "p95_ms": ms(row["95%"]), "p99_ms": ms(row["99%"])}
        if row["Name"] == "Aggregated":
            total = entry
        else:
            endpoints.append(entry)
    failures = list(csv.DictReader(Path(f"{out_prefix}_failures.csv").open(encoding="utf-8")))
    return {"endpoints": endpoints, "total": total,
            "failure_samples": [{"name": f["Name"], "error": f["Error"][:200], "count": f["Occurrences"]}
                                for f in failures[:10]]}


def ledger_invariants() -> dict[str, str]:
    """The ledger's invariants (pharmacy/inventory/invariants.py: balances = movements, none negative, every
    transfer booked in what its lines say was received and out what they say was sent), and one of this run's:
    every operation the traffic wrote has its movements."""
    sys.path.insert(0, str(ROOT))
    from pharmacy.inventory.invariants import LEDGER_INVARIANTS

    return {**LEDGER_INVARIANTS, "operations_without_movements": """
        SELECT count(*) FROM stock_operation o WHERE NOT EXISTS (SELECT 1 FROM stock_movement m
                                                                 WHERE m.operation_id = o.id)"""}


def check_invariants(url: str) -> dict:
    with psycopg.connect(url) as conn:
        found = {name: conn.execute(sql).fetchone()[0] for name, sql in ledger_invariants().items()}
        found["movements"] = conn.execute("SELECT count(*) FROM stock_movement").fetchone()[0]
        # receipts the tablets signed during the run (their keys are uuid4s; the seed's are not)
        found["transfers_received"] = conn.execute(
            "SELECT count(*) FROM stock_operation WHERE kind = 'transfer_in' "
            "AND idempotency_key LIKE '________-____-____-____-____________'").fetchone()[0]
        found["shortages"] = conn.execute("SELECT count(*) FROM shortage").fetchone()[0]
        found["audit_events"] = conn.execute("SELECT count(*) FROM audit_event").fetchone()[0]
    return found


def report(summary: dict) -> str:
    lines = [f"{'endpoint':<46} {'reqs':>7} {'fail':>5} {'rps':>7} {'p50':>6} {'p95':>6} {'p99':>6}"]
    for e in sorted(summary["stats"]["endpoints"], key=lambda e: -e["requests"]):
        lines.append(f"{e['method'] + ' ' + e['name']:<46.46} {e['requests']:>7} {e['failures']:>5} {e['rps']:>7.1f} "
                     f"{e['p50_ms']:>6.0f} {e['p95_ms']:>6.0f} {e['p99_ms']:>6.0f}")
    t = summary["stats"]["total"]
    lines.append(f"{'TOTAL':<46} {t['requests']:>7} {t['failures']:>5} {t['rps']:>7.1f} {t['p50_ms']:>6.0f} "
                 f"{t['p95_ms']:>6.0f} {t['p99_ms']:>6.0f}")
    lines.append(f"error rate {summary['error_rate']:.4%}; invariants: {summary['invariants']}")
    cpu = summary["cpu"]
    lines.append(f"cpu over the locust run ({cpu['wall_s']} s incl. sign-in and warm-up): gunicorn used "
                 f"{cpu['server_cores']} cores, the whole machine {cpu['machine_busy_cores']} of {summary['cores']} "
                 f"(anything above gunicorn + locust + postgres is other work on the machine); "
                 f"load average after {cpu['loadavg_after'][0]:.1f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", choices=sorted(SIZES), default="full")
    parser.add_argument("--duration", type=int, help="seconds of sustained load after ramp-up")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default 2 × cores + 1)")
    parser.add_argument("--pg-url", default=os.environ.get("PHARMACY_TEST_PG_URL",
                                                           "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--json", type=Path, help="write the summary here")
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument("--workdir", type=Path, default=ROOT / "instance" / "load")
    args = parser.parse_args(argv)
    size = SIZES[args.size]
    duration = args.duration or size["duration"]
    args.workdir.mkdir(parents=True, exist_ok=True)
    workers = args.workers or (os.cpu_count() or 1) * 2 + 1

    url = create_database(args.pg_url)
    server = None
    try:
        started = time.monotonic()
        seeded = seed(url, size["townships"], size["villages"])
        print(f"seeded in {time.monotonic() - started:.0f}s: {seeded}", flush=True)
        port = _free_port()
        server = start_server(url, port, workers, args.workdir / "gunicorn.log")
        prefix = args.workdir / f"locust-{args.size}"
        server_cpu_before, machine_before, wall_before = cpu_seconds(server.pid), machine_busy_seconds(), time.time()
        print(f"load: {args.size}, {duration}s sustained, gunicorn workers={workers}, cores={os.cpu_count()}",
              flush=True)
        run_locust(f"http://127.0.0.1:{port}", size["scale"], duration, size["warmup"], size["townships"],
                   size["villages"], prefix)
        stats = read_stats(prefix)
        wall = time.time() - wall_before
        server_cpu = cpu_seconds(server.pid) - server_cpu_before
        machine = machine_busy_seconds() - machine_before
        cpu = {"wall_s": round(wall, 1), "server_cpu_s": round(server_cpu, 1),
               "machine_busy_cores": round(machine / wall, 2),
               "server_cores": round(server_cpu / wall, 2), "loadavg_after": os.getloadavg()}
    finally:
        if server is not None:
            stop_server(server)
    try:
        invariants = check_invariants(url)
    finally:
        if not args.keep_db:
            drop_database(args.pg_url, url)
    total = stats["total"] or {"requests": 0, "failures": 0}
    summary = {"size": args.size, "duration_s": duration, "workers": workers, "cores": os.cpu_count(),
               "seeded": seeded, "stats": stats, "invariants": invariants, "cpu": cpu,
               "error_rate": total["failures"] / total["requests"] if total["requests"] else 1.0}
    print(report(summary))
    if stats["failure_samples"]:
        print("failures:", json.dumps(stats["failure_samples"], ensure_ascii=False, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, ensure_ascii=False, indent=1))
    broken = any(invariants[name] for name in ledger_invariants())
    return 0 if total["requests"] and not total["failures"] and not broken else 1


if __name__ == "__main__":
    sys.exit(main())
