#!/usr/bin/env python
"""Time delivery planning and the manifest on the demo county.

Builds the demo county (12 townships × 20 villages, two routes each) in a scratch SQLite database, gives every
township stock and every village three months of consumption and a few shortage registrations, then prints:
  1. the time to plan the next run of every route of every township (target < 2 s);
  2. the time to read and render a 400-line manifest (target < 1 s).
With --example-pdf it also writes the manifest of one confirmed demo run (docs/ keeps one).

    .venv/bin/python scripts/bench_deliveries.py
    .venv/bin/python scripts/bench_deliveries.py --example-pdf docs/manifest-example.pdf
"""

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert, select  # noqa: E402

from pharmacy import create_app  # noqa: E402
from pharmacy.auth.models import Role, User  # noqa: E402
from pharmacy.catalog.loader import load_catalog  # noqa: E402
from pharmacy.catalog.models import Drug, Product, ProductStatus  # noqa: E402
from pharmacy.clock import now_utc  # noqa: E402
from pharmacy.deliveries import queries, services  # noqa: E402
from pharmacy.deliveries.manifest import build_manifest_pdf  # noqa: E402
from pharmacy.deliveries.models import DeliveryLine, DeliveryRun, LineSource, Route  # noqa: E402
from pharmacy.demo.seed import seed_demo  # noqa: E402
from pharmacy.extensions import db  # noqa: E402
from pharmacy.inventory.models import Lot, StockBalance, StockMovement, StockOperation  # noqa: E402
from pharmacy.shortages.services import register_shortage  # noqa: E402

# Common village-level essential medicines: (generic name, form, strength, base unit, pack size, category).
PRODUCTS = [
    ("阿莫西林胶囊", "胶囊剂", "0.25g", "粒", 24), ("头孢氨苄胶囊", "胶囊剂", "0.25g", "粒", 24),
    ("阿奇霉素片", "片剂", "0.25g", "片", 6), ("左氧氟沙星片", "片剂", "0.5g", "片", 4),
    ("甲硝唑片", "片剂", "0.2g", "片", 100), ("复方磺胺甲噁唑片", "片剂", "0.48g", "片", 100),
    ("布洛芬缓释胶囊", "胶囊剂", "0.3g", "粒", 20), ("对乙酰氨基酚片", "片剂", "0.5g", "片", 12),
    ("阿司匹林肠溶片", "肠溶片", "100mg", "片", 30), ("硝苯地平缓释片（Ⅱ）", "缓释片", "20mg", "片", 30),
    ("苯磺酸氨氯地平片", "片剂", "5mg", "片", 28), ("卡托普利片", "片剂", "25mg", "片", 100),
    ("依那普利片", "片剂", "10mg", "片", 16), ("氢氯噻嗪片", "片剂", "25mg", "片", 100),
    ("美托洛尔片", "片剂", "25mg", "片", 20), ("二甲双胍片", "片剂", "0.5g", "片", 48),
    ("格列美脲片", "片剂", "2mg", "片", 30), ("阿卡波糖片", "片剂", "50mg", "片", 30),
    ("辛伐他汀片", "片剂", "20mg", "片", 10), ("阿托伐他汀钙片", "片剂", "20mg", "片", 7),
    ("奥美拉唑肠溶胶囊", "肠溶胶囊", "20mg", "粒", 14), ("多潘立酮片", "片剂", "10mg", "片", 30),
    ("蒙脱石散", "散剂", "3g", "袋", 10), ("口服补液盐散（Ⅲ）", "散剂", "5.125g", "袋", 6),
    ("氯雷他定片", "片剂", "10mg", "片", 6), ("马来酸氯苯那敏片", "片剂", "4mg", "片", 100),
    ("沙丁胺醇气雾剂", "气雾剂", "100μg×200揿", "瓶", 1), ("氨茶碱片", "片剂", "0.1g", "片", 100),
    ("复方甘草片", "片剂", "复方", "片", 100), ("维生素B1片", "片剂", "10mg", "片", 100),
    ("维生素C片", "片剂", "0.1g", "片", 100), ("葡萄糖酸钙口服溶液", "口服溶液剂", "10ml:1g", "支", 12),
    ("硫酸亚铁片", "片剂", "0.3g", "片", 100), ("红霉素软膏", "软膏剂", "1%×10g", "支", 1),
    ("莫匹罗星软膏", "软膏剂", "2%×5g", "支", 1), ("碘伏消毒液", "外用液体剂", "100ml", "瓶", 1),
    ("连花清瘟胶囊", "胶囊剂", "0.35g", "粒", 24), ("板蓝根颗粒", "颗粒剂", "10g", "袋", 20),
    ("藿香正气水", "酊剂", "10ml", "支", 10), ("复方丹参滴丸", "滴丸剂", "27mg", "丸", 180),
    ("速效救心丸", "滴丸剂", "40mg", "丸", 60), ("六味地黄丸", "浓缩丸", "0.2g", "丸", 200),
    ("牛黄解毒片", "片剂", "0.27g", "片", 24), ("云南白药气雾剂", "气雾剂", "85g", "瓶", 1),
    ("小儿止咳糖浆", "糖浆剂", "100ml", "瓶", 1), ("小儿氨酚黄那敏颗粒", "颗粒剂", "6g", "袋", 10),
    ("地塞米松片", "片剂", "0.75mg", "片", 100), ("泼尼松片", "片剂", "5mg", "片", 100),
    ("甲钴胺片", "片剂", "0.5mg", "片", 20), ("胰岛素注射液", "注射剂", "10ml:400单位", "支", 1),
]

BENCH_PASSWORD = "bench-only"


def make_products(count: int) -> list[Product]:
    """Village-tier active products: the formulary's when one is loaded, else the list above."""
    products = list(db.session.scalars(select(Product).where(Product.lowest_tier == "village",
                                                             Product.status == ProductStatus.ACTIVE)
                                       .order_by(Product.code).limit(count)))
    for i, (name, form, strength, unit, pack) in enumerate(PRODUCTS[:max(0, count - len(products))], start=1):
        drug = Drug(edition="BENCH", code=f"B{i:03d}", eml_no=i, category="化学药品和生物制品", generic_name=name,
                    class_path="演示/演示")
        product = Product(edition="BENCH", code=f"B{i:03d}-01", drug=drug, dosage_form=form, strength=strength,
                          base_unit=unit, pack_size=pack, pack_unit="盒" if pack > 1 else "支",
                          lowest_tier="village", unified_price=10, status=ProductStatus.ACTIVE)
        db.session.add_all([drug, product])
        products.append(product)
    db.session.flush()
    return products


def seed_stock(demo, products: list[Product], rng: random.Random) -> None:
    """Township lots and village consumption, inserted in bulk (a consistent ledger: receipt, dispense, balance)."""
    today, now = date.today(), now_utc()
    lots = {}
    for product in products:
        for n, days in enumerate((45, 200, 420)):  # one lot inside the near-expiry window, two usable
            lots[(product.id, n)] = db.session.scalar(insert(Lot).returning(Lot.id).values(
                product_id=product.id, lot_number=f"{product.code[-6:]}-{today:%y}{n + 1:02d}",
                expiry_date=today + timedelta(days=days + rng.randint(0, 60)), manufacturer="演示药业",
                created_at=now))
    user = demo.users["county"]
    movements, balances = [], []

    def operation(facility_id: int, kind: str) -> int:
        return db.session.scalar(insert(StockOperation).returning(StockOperation.id).values(
            idempotency_key=f"bench-{kind}-{facility_id}", kind=kind, facility_id=facility_id, user_id=user.id,
            note="bench", created_at=now))

    for township in demo.townships:
        op = operation(township.id, "receipt")
        for product in products:
            for n in range(3):
                qty = product.pack_size * rng.randint(10, 60)
                movements.append(dict(operation_id=op, facility_id=township.id, product_id=product.id,
                                      lot_id=lots[(product.id, n)], qty_base=qty, balance_after=qty, kind="receipt",
                                      user_id=user.id, created_at=now - timedelta(days=100)))
                balances.append(dict(facility_id=township.id, product_id=product.id, lot_id=lots[(product.id, n)],
                                     qty_base=qty, updated_at=now))
        for village in demo.villages[township.id]:
            receipt, dispense = operation(village.id, "receipt"), operation(village.id, "dispense")
            for product in rng.sample(products, k=min(len(products), 25)):
                monthly = product.pack_size * rng.randint(1, 4)
                on_hand = rng.choice([0, monthly // 3, monthly, 2 * monthly])
                lot_id = lots[(product.id, 2)]
                received = 3 * monthly + on_hand
                movements.append(dict(operation_id=receipt, facility_id=village.id, product_id=product.id,
                                      lot_id=lot_id, qty_base=received, balance_after=received, kind="receipt",
                                      user_id=user.id, created_at=now - timedelta(days=85)))
                movements.append(dict(operation_id=dispense, facility_id=village.id, product_id=product.id,
                                      lot_id=lot_id, qty_base=-3 * monthly, balance_after=on_hand, kind="dispense",
                                      user_id=user.id, created_at=now - timedelta(days=rng.randint(1, 80))))
                balances.append(dict(facility_id=village.id, product_id=product.id, lot_id=lot_id, qty_base=on_hand,
                                     updated_at=now))
    db.session.execute(insert(StockMovement), movements)
    db.session.execute(insert(StockBalance), balances)


def seed_shortages(demo, products: list[Product], rng: random.Random) -> int:
    count = 0
    doctors = {u.facility_id: u for u in demo.users.values() if u.role == Role.VILLAGE_DOCTOR}
    for township in demo.townships:
        for village in demo.villages[township.id]:
            for _ in range(rng.randint(0, 3)):
                register_shortage(facility=village, user=doctors[village.id], client_id=f"bench-{count}",
                                  qty_packs=rng.randint(1, 5), product=rng.choice(products),
                                  urgency=rng.choice(["routine", "routine", "urgent", "emergency"]))
                count += 1
    return count


def pad_run_to(run: DeliveryRun, total_lines: int, products: list[Product]) -> None:
    """Give a run exactly `total_lines` lines (bench only: rows inserted directly, spread over its stops)."""
    lots = {p.id: db.session.scalar(select(Lot.id).where(Lot.product_id == p.id).order_by(Lot.expiry_date.desc()))
            for p in products}
    stops = run.stops
    existing = len(run.lines)
    rows = []
    for i in range(max(0, total_lines - existing)):
        product = products[i % len(products)]
        rows.append(dict(stop_id=stops[i % len(stops)].id, product_id=product.id, lot_id=lots[product.id],
                         qty_base=product.pack_size * (1 + i % 5), planned_qty_base=product.pack_size * (1 + i % 5),
                         source=LineSource.MANUAL, qty_for_shortages_base=0, note=""))
    if rows:
        db.session.execute(insert(DeliveryLine), rows)
    db.session.expire_all()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=12)
    parser.add_argument("--villages", type=int, default=20)
    parser.add_argument("--products", type=int, default=50)
    parser.add_argument("--lines", type=int, default=400, help="lines of the manifest to render")
    parser.add_argument("--repeat", type=int, default=3, help="timed repetitions (the median is reported)")
    parser.add_argument("--example-pdf", type=Path, help="also write a confirmed demo run's manifest here")
    parser.add_argument("--keep-db", type=Path, help="build the database in this SQLite file and keep it")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        database = args.keep_db.resolve() if args.keep_db else Path(tmp) / "bench.sqlite3"
        database.unlink(missing_ok=True)
        app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                          "PUBLIC_BASE_URL": "http://127.0.0.1:5000"})
        with app.app_context():
            db.create_all()
            catalog_dir = Path(app.config["CATALOG_DATA_DIR"])
            if any(catalog_dir.glob("*_drugs.csv")):
                load_catalog(catalog_dir)
            rng = random.Random(2018)
            started = time.perf_counter()
            demo = seed_demo(townships=args.townships, villages_per_township=args.villages,
                             passwords={r.value: BENCH_PASSWORD for r in Role})
            products = make_products(args.products)
            seed_stock(demo, products, rng)
            shortages = seed_shortages(demo, products, rng)
            db.session.commit()
            routes = list(db.session.scalars(select(Route).order_by(Route.id)))
            print(f"demo county: {len(demo.townships)} townships, {sum(map(len, demo.villages.values()))} villages, "
                  f"{len(routes)} routes, {len(products)} products, {shortages} open shortages "
                  f"(set-up {time.perf_counter() - started:.1f} s)")

            timings = []
            for _ in range(args.repeat):  # each repetition plans from the same state, then is rolled back
                attempt = db.session.begin_nested()
                started = time.perf_counter()
                runs = [services.plan_next_run(route) for route in routes]
                db.session.flush()
                timings.append(time.perf_counter() - started)
                attempt.rollback()
            runs = [services.plan_next_run(route) for route in routes]
            db.session.commit()
            stops = sum(len(run.stops) for run in runs)
            lines = sum(len(run.lines) for run in runs)
            print(f"plan the next run of every route of {len(demo.townships)} townships: "
                  f"{statistics.median(timings):.3f} s median of {len(timings)} (best {min(timings):.3f} s; "
                  f"{len(runs)} runs, {stops} stops, {lines} lines; target < 2 s)")

            example = max(runs[:2], key=lambda r: len(r.lines))
            if args.example_pdf:
                pharmacist = db.session.scalar(select(User).where(User.username == "t01"))
                example.driver = "赵师傅"
                services.confirm_run(example, user=pharmacist)
                db.session.commit()
                args.example_pdf.write_bytes(build_manifest_pdf(queries.load_run_for_review(example)))
                print(f"example manifest: {args.example_pdf} ({example.number}, {len(example.lines)} lines)")

            big = max(runs, key=lambda r: len(r.stops))
            pad_run_to(big, args.lines, products)
            db.session.commit()
            big = db.session.get(DeliveryRun, big.id)
            big_id, line_count, stop_count = big.id, len(big.lines), len(big.stops)
            timings = []
            for _ in range(args.repeat):
                db.session.remove()  # a fresh session, as a request or a command has
                started = time.perf_counter()
                pdf = build_manifest_pdf(queries.load_run_for_review(db.session.get(DeliveryRun, big_id)))
                timings.append(time.perf_counter() - started)
            print(f"read and render a {line_count}-line manifest ({stop_count} stops, "
                  f"{len(pdf) // 1024} KiB): {statistics.median(timings):.3f} s median of {len(timings)} "
                  f"(best {min(timings):.3f} s; target < 1 s)")
            db.session.remove()
            db.engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
