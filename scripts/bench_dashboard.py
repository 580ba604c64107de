"""How fast the dashboard and the reports answer on a simulated year (see scripts/simulate_year.py).

    .venv/bin/python scripts/simulate_year.py --database-url postgresql://postgres@127.0.0.1:5432/pharmacy_sim \
        --create-database
    .venv/bin/python scripts/bench_dashboard.py --database-url postgresql://postgres@127.0.0.1:5432/pharmacy_sim

Each page is requested in-process through the Flask test client as a signed-in user (county pharmacist for the
county, t01 for a township), so the figures are server time: SQL plus rendering. The first request of each page is
reported apart (cold caches) from the median of the following ones. `--simulate` first fills an empty database
(used by the tests with a tiny county).
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

TARGET_SECONDS = 1.0


def _client_for(app, username: str):
    from sqlalchemy import select

    from pharmacy.auth.models import User
    from pharmacy.extensions import db

    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            raise SystemExit(f"no user {username!r}: run scripts/simulate_year.py first")
        session_id = user.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    return client


def _time(client, url: str, repeat: int) -> tuple[float, float, int]:
    timings = []
    size = 0
    for _ in range(repeat + 1):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        timings.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}: {body[:300]!r}")
        size = len(body)
    return timings[0], statistics.median(timings[1:]) if repeat else timings[0], size


def run(app, *, repeat: int = 3, out=print) -> dict[str, tuple[float, float]]:
    """Time every page; return {label: (first, median)}."""
    from sqlalchemy import func, select

    from pharmacy.extensions import db
    from pharmacy.inventory.models import StockMovement
    from pharmacy.reports.reports import REPORTS
    from pharmacy.shortages.models import Shortage

    with app.app_context():
        movements = db.session.scalar(select(func.count(StockMovement.id)))
        shortages = db.session.scalar(select(func.count(Shortage.id)))
        engine = db.engine.dialect.name
    out(f"database: {engine}, {movements:,} stock movements, {shortages:,} shortage registrations")
    county, township = _client_for(app, "county"), _client_for(app, "t01")
    pages = [("dashboard, county", county, "/dashboard"), ("dashboard, township t01", township, "/dashboard")]
    pages += [(f"report {key}, first page", county, f"/reports/{key}") for key in REPORTS]
    pages += [(f"report {key}, township page", township, f"/reports/{key}") for key in ("stock", "consumption")]
    results = {}
    out(f"{'page':40} {'first':>8} {'median':>8} {'KB':>7}")
    for label, client, url in pages:
        first, median, size = _time(client, url, repeat)
        results[label] = (first, median)
        flag = "" if median < TARGET_SECONDS else "  ← over 1 s"
        out(f"{label:40} {first:8.3f} {median:8.3f} {size / 1024:7.0f}{flag}")
    with app.app_context():
        from zoneinfo import ZoneInfo

        from pharmacy.auth.models import User
        from pharmacy.auth.policy import scope_root
        from pharmacy.clock import now_utc
        from pharmacy.reports.dashboard import build_dashboard
        from pharmacy.supply.policy import near_expiry_days

        root = scope_root(db.session.scalar(select(User).where(User.username == "county")))
        started = time.perf_counter()
        build_dashboard(root, now=now_utc(), tz=ZoneInfo(app.config["BABEL_DEFAULT_TIMEZONE"]), keep=False,
                        use_kept=False, near_expiry_days=near_expiry_days())
        cold = time.perf_counter() - started
        db.session.rollback()
    out(f"{'county figures, no week kept yet':40} {cold:8.3f}   (computed, not rendered: the first view after "
        f"an empty table)")
    results["cold county figures"] = (cold, cold)
    started = time.perf_counter()
    response = county.get("/reports/stock.csv")
    rows = response.get_data(as_text=True).count("\n") - 1
    elapsed = time.perf_counter() - started
    out(f"{'stock on hand CSV, whole county':40} {elapsed:8.3f} {'':>8} {len(response.get_data()) / 1024:7.0f}"
        f"  ({rows:,} rows)")
    results["csv stock"] = (elapsed, elapsed)
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=3, help="timed requests per page after the first")
    parser.add_argument("--simulate", action="store_true", help="fill the (empty) database first")
    parser.add_argument("--townships", type=int, default=12)
    parser.add_argument("--villages", type=int, default=20)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--days", type=int, default=365)
    args = parser.parse_args(argv)

    from pharmacy import create_app
    from pharmacy.config import _sqlalchemy_url

    app = create_app({"SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(args.database_url), "WTF_CSRF_ENABLED": False})
    if args.simulate:
        from simulate_year import simulate

        simulate(app, townships=args.townships, villages=args.villages, products=args.products, days=args.days,
                 seed=7)
    results = run(app, repeat=args.repeat)
    slow = [label for label, (_first, median) in results.items() if median >= TARGET_SECONDS
            and not label.startswith(("csv", "cold"))]
    print("all pages under 1 s" if not slow else f"over 1 s: {', '.join(slow)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
