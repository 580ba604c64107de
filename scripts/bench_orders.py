#!/usr/bin/env python
"""Time the two heavy order operations on a demo-sized county and print the figures.

1. Building the draft order of every township (each with its villages, stock, consumption and shortages over
   N products), one request-sized transaction per township.
2. Allocating all those orders from central stock in one run (scarce products shared by the fairness rule).

    .venv/bin/python scripts/bench_orders.py                       # 12 townships × 20 villages × 300 products
    .venv/bin/python scripts/bench_orders.py --database-url postgresql+psycopg://postgres@127.0.0.1/bench

Targets: both under 2 s. Data is written with bulk inserts into a throw-away SQLite file unless a database URL is
given (that database must be empty; its tables are created).
"""

import argparse
import random
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import insert, select, text

from pharmacy import create_app
from pharmacy.auth.models import Role, User
from pharmacy.auth.policy import load_in_scope
from pharmacy.catalog.models import Drug, Product, ProductPrice
from pharmacy.clock import now_utc
from pharmacy.extensions import db
from pharmacy.facilities.models import Facility, FacilityKind
from pharmacy.facilities.services import create_facility
from pharmacy.inventory.models import Lot, StockBalance, StockMovement, StockOperation
from pharmacy.orders import fulfilment, services
from pharmacy.orders.models import Order
from pharmacy.shortages.models import Shortage


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--townships", type=int, default=12)
    parser.add_argument("--villages", type=int, default=20)
    parser.add_argument("--products", type=int, default=300)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seed", type=int, default=7)
    return parser.parse_args(argv)


def seed(args, rng: random.Random) -> dict:
    """A county with stock, three months of dispensing and open shortages, written in bulk."""
    now = now_utc()
    county = create_facility(code="B", name="基准县医院", kind=FacilityKind.COUNTY_HOSPITAL)
    central = create_facility(code="B-CP", name="基准县中心药房", kind=FacilityKind.CENTRAL_PHARMACY, parent=county)
    townships, villages = [], {}
    for t in range(1, args.townships + 1):
        town = create_facility(code=f"B-T{t:02d}", name=f"基准{t}镇卫生院", kind=FacilityKind.HEALTH_CENTRE,
                               parent=county)
        townships.append(town)
        villages[town.id] = [create_facility(code=f"B-T{t:02d}V{v:02d}", name=f"基准{t}镇{v}村卫生室",
                                             kind=FacilityKind.VILLAGE_POINT, parent=town)
                             for v in range(1, args.villages + 1)]
    users = {"county": User(username="bench-county", display_name="县药师", role=Role.COUNTY_PHARMACIST,
                            facility=central, password_hash="-")}
    for town in townships:
        users[town.id] = User(username=f"bench-{town.code}", display_name="乡镇药师", role=Role.TOWNSHIP_PHARMACIST,
                              facility=town, password_hash="-")
    db.session.add_all(users.values())
    db.session.flush()

    drug_rows = [{"edition": "B", "code": f"B{i:04d}", "eml_no": i, "category": "化学药品和生物制品",
                  "class_path": "基准", "generic_name": f"基准药{i}", "pinyin_initials": "JZY", "chronic_tags": "",
                  "is_essential": True, "remarks": "", "name_en": "", "created_at": now, "updated_at": now}
                 for i in range(1, args.products + 1)]
    db.session.execute(insert(Drug), drug_rows)
    drug_ids = dict(db.session.execute(select(Drug.code, Drug.id).where(Drug.edition == "B")).all())
    product_rows = [{"edition": "B", "code": f"B{i:04d}-01", "drug_id": drug_ids[f"B{i:04d}"], "dosage_form": "片剂",
                     "strength": "10mg", "base_unit": "片", "pack_size": rng.choice([10, 12, 24, 100]),
                     "pack_unit": "盒", "lowest_tier": "village" if i % 5 else "township",
                     "vbp_batch": "第九批" if i % 7 == 0 else "", "insurance_class": "甲",
                     "unified_price": Decimal("10.00"), "status": "active", "effective_from": now, "remarks": "",
                     "created_at": now, "updated_at": now}
                    for i in range(1, args.products + 1)]
    db.session.execute(insert(Product), product_rows)
    products = list(db.session.execute(select(Product.id, Product.pack_size, Product.lowest_tier)
                                       .where(Product.edition == "B")).all())
    db.session.execute(insert(ProductPrice), [{"product_id": p.id, "unified_price": Decimal("10.00"),
                                               "valid_from": now} for p in products])
    expiry = date.today() + timedelta(days=500)
    db.session.execute(insert(Lot), [{"product_id": p.id, "lot_number": "B-LOT", "expiry_date": expiry,
                                      "manufacturer": "", "created_at": now} for p in products])
    lots = dict(db.session.execute(select(Lot.product_id, Lot.id).where(Lot.lot_number == "B-LOT")).all())

    # Central stock: plenty of most products, too little of every tenth so allocation must share.
    balances = [{"facility_id": central.id, "product_id": p.id, "lot_id": lots[p.id],
                 "qty_base": p.pack_size * (3 if i % 10 == 0 else 400), "updated_at": now}
                for i, p in enumerate(products)]
    movements = []
    operations = []
    dispensed_at = now - timedelta(days=30)
    for town in townships:
        for facility in [town, *villages[town.id]]:
            operations.append({"idempotency_key": f"bench-{facility.id}", "kind": "dispense",
                               "facility_id": facility.id, "user_id": None, "note": "", "created_at": now})
    db.session.execute(insert(StockOperation), operations)
    op_ids = dict(db.session.execute(select(StockOperation.facility_id, StockOperation.id)
                                     .where(StockOperation.idempotency_key.like("bench-%"))).all())
    for town in townships:
        for facility in [town, *villages[town.id]]:
            for p in products:
                if facility.tier == "village" and p.lowest_tier != "village":
                    continue
                used = p.pack_size * rng.randint(1, 6)
                on_hand = p.pack_size * rng.randint(0, 4)
                balances.append({"facility_id": facility.id, "product_id": p.id, "lot_id": lots[p.id],
                                 "qty_base": on_hand, "updated_at": now})
                movements.append({"operation_id": op_ids[facility.id], "facility_id": facility.id,
                                  "product_id": p.id, "lot_id": lots[p.id], "qty_base": -used,
                                  "balance_after": on_hand, "kind": "dispense", "reason": "", "note": "",
                                  "ref_type": "", "ref_id": None, "user_id": None, "created_at": dispensed_at})
    db.session.execute(insert(StockBalance), balances)
    db.session.execute(insert(StockMovement), movements)
    village_products = [p for p in products if p.lowest_tier == "village"]
    shortages = [{"client_id": f"bench-{v.id}-{k}", "facility_id": v.id, "product_id": rng.choice(village_products).id,
                  "free_text": "", "qty_packs": rng.randint(1, 5),
                  "urgency": rng.choice(["routine", "routine", "urgent", "emergency"]), "reason": "out_of_stock",
                  "note": "", "status": "registered", "cancel_reason": "", "created_at": now, "updated_at": now}
                 for town in townships for v in villages[town.id] for k in range(3)]
    if shortages:
        db.session.execute(insert(Shortage), shortages)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        db.session.execute(text("ANALYZE"))  # fresh bulk-loaded tables have no statistics yet
        db.session.commit()
    return {"townships": [t.id for t in townships], "users": {k: u.id for k, u in users.items()},
            "movements": len(movements), "balances": len(balances), "shortages": len(shortages)}


def run(args) -> dict:
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.sqlite3"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "bench"})
        with app.app_context():
            db.create_all()
            started = time.perf_counter()
            data = seed(args, rng)
            seeded = time.perf_counter() - started

            db.session.remove()
            started, cpu = time.perf_counter(), time.process_time()
            order_ids, lines = [], 0
            for town_id in data["townships"]:  # one request per township: build, then commit
                town = db.session.get(Facility, town_id)
                order = services.build_draft_order(town, db.session.get(User, data["users"][town_id]))
                order_ids.append(order.id)
                lines += len(order.lines)
                db.session.commit()
            build_seconds, build_cpu = time.perf_counter() - started, time.process_time() - cpu

            county_user = db.session.get(User, data["users"]["county"])
            for order_id in order_ids:
                order = db.session.get(Order, order_id)
                services.submit_order(order, order.created_by)
                services.approve_order(order, county_user)
            db.session.commit()
            db.session.remove()

            started, cpu = time.perf_counter(), time.process_time()
            county_user = db.session.get(User, data["users"]["county"])
            orders = [load_in_scope(county_user, Order, order_id, for_update=True) for order_id in order_ids]
            fulfilment.allocate_orders(orders, county_user)
            backordered = sum(line.qty_packs_backordered > 0 for order in orders for line in order.lines)
            db.session.commit()
            allocate_seconds, allocate_cpu = time.perf_counter() - started, time.process_time() - cpu
            db.session.remove()
            if args.database_url:
                db.drop_all()
            db.engine.dispose()
    return {"seed_s": seeded, "build_s": build_seconds, "allocate_s": allocate_seconds, "build_cpu_s": build_cpu,
            "allocate_cpu_s": allocate_cpu, "orders": len(order_ids),
            "lines": lines, "backordered_lines": backordered, **{k: data[k] for k in ("movements", "balances",
                                                                                      "shortages")}}


def main(argv=None) -> int:
    args = parse_args(argv)
    result = run(args)
    print(f"county: {args.townships} townships × {args.villages} villages × {args.products} products "
          f"({result['balances']} balances, {result['movements']} dispense movements, {result['shortages']} "
          f"shortages; seeded in {result['seed_s']:.1f} s)")
    print(f"build draft orders: {result['build_s']:.2f} s for {result['orders']} townships "
          f"({result['lines']} lines; {result['build_cpu_s']:.2f} s CPU in this process)   target < 2 s")
    print(f"allocate all orders: {result['allocate_s']:.2f} s for {result['lines']} lines "
          f"({result['backordered_lines']} back-ordered; {result['allocate_cpu_s']:.2f} s CPU in this process)"
          f"   target < 2 s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
