#!/usr/bin/env python
"""Measure name matching: quality on the labelled development set, speed, search latency, index size.

    .venv/bin/python scripts/bench_matching.py                 # the figures in the README
    .venv/bin/python scripts/bench_matching.py --size 50       # a smoke run (what the test suite does)

It builds a throw-away SQLite database from catalog_data/ (formulary and brand_names.csv), then prints:
- quality on tests/data/matching_dev_set.csv + matching_dev_variants.csv, labelled by (generic name, dosage form,
  strength) or NOT_IN_FORMULARY: generic top-1, product top-1, product in top 5, wrong auto-matches, and the
  auto-match rate and wrong auto-matches for a range of thresholds (how AUTO_THRESHOLD was calibrated);
- the time to match --size local names (default 10,000) against the formulary with its aliases;
- search-as-you-type latency (p50/p95) through the HTTP API with the Flask test client;
- the time to rebuild the index after an alias change, and the memory the index holds.
"""

import argparse
import csv
import gc
import json
import random
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEV_SETS = [ROOT / "tests" / "data" / "matching_dev_set.csv", ROOT / "tests" / "data" / "matching_dev_variants.csv"]
NOT_IN_FORMULARY = "NOT_IN_FORMULARY"
THRESHOLDS = [60, 70, 75, 80, 85, 88, 90, 92, 95, 98, 100]
PACKS = ["*24粒", "*12片*2板", "x10支", "10袋/盒", "*100片/瓶", "×30s", "*6s", " 1盒", "*20片", "x36粒", ""]
MAKERS = ["", " 华北制药", "(石药集团)", " 扬子江药业", "【国药集团】", " 鲁南", " 修正药业", "-同仁堂", " 科伦",
          " 上海信谊"]


def read_dev_set(paths=DEV_SETS, limit: int | None = None) -> list[dict]:
    rows = []
    for path in paths:
        with path.open(encoding="utf-8") as handle:
            rows.extend(csv.DictReader(handle))
    return rows[:limit] if limit else rows


def evaluate(index, rows: list[dict], match) -> dict:
    """Quality figures: per row, is the top candidate's drug and product the labelled one, was it auto-matched."""
    from pharmacy.matching.matcher import AUTO_MATCHED, decide

    def is_label(candidate, row) -> bool:
        product = index.products[candidate.product_id]
        return (index.drugs[candidate.drug_id].generic_name == row["generic_name"]
                and product.dosage_form == row["dosage_form"] and product.strength == row["strength"])

    totals = {"rows": 0, "in_formulary": 0, "not_in_formulary": 0, "product_not_in_formulary": 0,
              "generic_top1": 0, "product_top1": 0, "product_top5": 0, "wrong_auto": 0, "auto": 0,
              "generic_top1_in": 0, "product_top1_in": 0, "product_top5_in": 0, "nif_no_match": 0,
              "nif_needs_review": 0, "nif_auto": 0}
    per_threshold = {t: {"auto": 0, "wrong": 0} for t in THRESHOLDS}
    failures = []
    for row in rows:
        result = match(row["name"])
        top = result.top
        auto = result.status == AUTO_MATCHED
        totals["rows"] += 1
        totals["auto"] += auto
        drug_absent = row["generic_name"] == NOT_IN_FORMULARY
        product_absent = not drug_absent and row["dosage_form"] == NOT_IN_FORMULARY
        if drug_absent:
            totals["not_in_formulary"] += 1
            totals["nif_" + result.status.replace("auto_matched", "auto")] += 1
            generic_ok = product_ok = top5_ok = not auto
            right_if_auto = False
        else:
            totals["in_formulary"] += 1
            generic_ok = top is not None and index.drugs[top.drug_id].generic_name == row["generic_name"]
            if product_absent:
                totals["product_not_in_formulary"] += 1
                product_ok = top5_ok = not auto
                right_if_auto = False
            else:
                product_ok = top is not None and is_label(top, row)
                top5_ok = any(is_label(c, row) for c in result.candidates)
                right_if_auto = product_ok
            totals["generic_top1_in"] += generic_ok
            totals["product_top1_in"] += product_ok
            totals["product_top5_in"] += top5_ok
        totals["generic_top1"] += generic_ok
        totals["product_top1"] += product_ok
        totals["product_top5"] += top5_ok
        wrong = auto and not right_if_auto
        totals["wrong_auto"] += wrong
        # What another threshold would have decided, everything else the same.
        for threshold in THRESHOLDS:
            if decide(result.candidates, result.parsed, threshold)[0] == AUTO_MATCHED:
                per_threshold[threshold]["auto"] += 1
                per_threshold[threshold]["wrong"] += not right_if_auto
        if not (generic_ok and product_ok and top5_ok) or wrong:
            failures.append((row, result))
    n = totals["rows"] or 1
    m = totals["in_formulary"] or 1
    figures = {
        "rows": totals["rows"],
        "in_formulary_rows": totals["in_formulary"],
        "not_in_formulary_rows": totals["not_in_formulary"],
        "product_not_in_formulary_rows": totals["product_not_in_formulary"],
        "generic_top1": totals["generic_top1"] / n,
        "product_top1": totals["product_top1"] / n,
        "product_top5": totals["product_top5"] / n,
        "wrong_auto": totals["wrong_auto"] / n,
        "auto_rate": totals["auto"] / n,
        "generic_top1_in_formulary": totals["generic_top1_in"] / m,
        "product_top1_in_formulary": totals["product_top1_in"] / m,
        "product_top5_in_formulary": totals["product_top5_in"] / m,
        "not_in_formulary": {k: totals["nif_" + k] for k in ("no_match", "needs_review", "auto")},
        "thresholds": {t: {"auto_rate": v["auto"] / n, "wrong_auto": v["wrong"] / n} for t, v in per_threshold.items()},
    }
    return {"figures": figures, "failures": failures}


def workload(rows: list[dict], products: list, size: int, seed: int = 7) -> list[str]:
    """`size` distinct local names: the development set and every formulary product, written in varied ways."""
    rng = random.Random(seed)
    bases = [r["name"] for r in rows] + [f"{p.drug.generic_name}{p.dosage_form} {p.strength}" for p in products]
    names, seen = [], set()
    attempts = 0
    while len(names) < size and attempts < size * 20:
        attempts += 1
        base = bases[attempts % len(bases)] if attempts <= len(bases) else rng.choice(bases)
        name = base if attempts <= len(bases) else base + rng.choice(PACKS) + rng.choice(MAKERS)
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def build_app(catalog_dir: Path, workdir: Path):
    from pharmacy import create_app
    from pharmacy.catalog.loader import load_catalog
    from pharmacy.extensions import db
    from pharmacy.matching.services import load_brand_aliases

    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / 'bench.sqlite3'}"})
    app.instance_path = str(workdir)
    with app.app_context():
        db.create_all()
        load_catalog(catalog_dir)
        if (catalog_dir / "brand_names.csv").exists():
            load_brand_aliases(catalog_dir)
        db.session.commit()
    return app


def search_latency(app, queries: list[str], repeat: int) -> dict:
    from sqlalchemy import select

    from pharmacy.auth.models import Role, User
    from pharmacy.extensions import db
    from pharmacy.facilities.models import Facility, FacilityKind
    from pharmacy.facilities.services import create_facility

    with app.app_context():
        village = db.session.scalar(select(Facility).where(Facility.code == "BENCH-V"))
        if village is None:
            county = create_facility(code="BENCH", name="基准县医院", kind=FacilityKind.COUNTY_HOSPITAL)
            town = create_facility(code="BENCH-T", name="基准镇卫生院", kind=FacilityKind.HEALTH_CENTRE, parent=county)
            village = create_facility(code="BENCH-V", name="基准村卫生室", kind=FacilityKind.VILLAGE_POINT, parent=town)
            user = User(username="bench", display_name="基准村医", role=Role.VILLAGE_DOCTOR, facility=village,
                        password_hash="-", session_token="bench")
            db.session.add(user)
            db.session.commit()
        user = db.session.scalar(select(User).where(User.username == "bench"))
        session_id = user.get_id()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = session_id
        session["_fresh"] = True
    client.get("/api/v1/catalog/search", query_string={"q": "阿莫"})  # the first request builds the index
    times = []
    for _ in range(repeat):
        for q in queries:
            started = time.perf_counter()
            response = client.get("/api/v1/catalog/search", query_string={"q": q, "limit": 10})
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)
    times.sort()
    return {"requests": len(times), "p50_ms": times[len(times) // 2], "p95_ms": times[int(len(times) * 0.95) - 1],
            "max_ms": times[-1]}


def search_queries(rows: list[dict], count: int, seed: int = 11) -> list[str]:
    """What people type: the first characters of local names, pinyin initials, a few whole names."""
    from pharmacy.matching.normalize import parse_name
    from pharmacy.catalog.pinyin import pinyin_initials

    rng = random.Random(seed)
    queries = []
    for row in rng.sample(rows, min(len(rows), count)):
        words = "".join(parse_name(row["name"]).segments) or row["name"]
        kind = rng.random()
        if kind < 0.45:
            queries.append(words[: rng.randint(1, max(1, min(4, len(words))))])
        elif kind < 0.8:
            queries.append(pinyin_initials(words)[: rng.randint(2, 5)].lower())
        else:
            queries.append(row["name"])
    return [q for q in queries if q.strip()][:count]


def index_figures(app) -> dict:
    from pharmacy.catalog.models import Alias, AliasSource, Drug
    from pharmacy.extensions import db
    from pharmacy.matching import catalog_index
    from pharmacy.matching.index import build_index

    with app.app_context():
        catalog_index.current_index()
        drug = db.session.scalars(db.select(Drug).order_by(Drug.id)).first()
        db.session.add(Alias(text="基准测试别名", normalized_text="基准测试别名||", drug_id=drug.id,
                             source=AliasSource.MANUAL))
        db.session.commit()
        started = time.perf_counter()
        index = catalog_index.current_index()  # the alias changed the version: a rebuild
        rebuild = time.perf_counter() - started
        records = catalog_index._load_records(every_edition=False)
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        kept = build_index(*records)
        size = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del kept
        return {"rebuild_s": rebuild, "index_mb": size / 1e6, **index.size}


def resident_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10000, help="local names to match for the speed figure")
    parser.add_argument("--queries", type=int, default=None, help="distinct search queries (default: size/25)")
    parser.add_argument("--repeat", type=int, default=5, help="times each search query is sent")
    parser.add_argument("--catalog", type=Path, default=ROOT / "catalog_data")
    parser.add_argument("--dev-limit", type=int, default=None, help="use only the first N development rows")
    parser.add_argument("--failures", action="store_true", help="list the development rows that went wrong")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    from pharmacy.catalog.models import Product
    from pharmacy.extensions import db
    from pharmacy.matching import catalog_index
    from pharmacy.matching.matcher import AUTO_THRESHOLD, match_parsed
    from pharmacy.matching.normalize import parse_name

    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(args.catalog, Path(tmp))
        rows = read_dev_set(limit=args.dev_limit)
        with app.app_context():
            index = catalog_index.current_index()
            quality = evaluate(index, rows, lambda name: match_parsed(index, parse_name(name)))
            out["quality"] = quality["figures"]
            out["quality"]["auto_threshold"] = AUTO_THRESHOLD
            products = list(db.session.scalars(db.select(Product).order_by(Product.code)))
            for product in products:
                product.drug  # noqa: B018  (load before timing)
            names = workload(rows, products, args.size)
            started = time.perf_counter()
            for name in names:
                match_parsed(index, parse_name(name))
            elapsed = time.perf_counter() - started
            out["speed"] = {"names": len(names), "seconds": elapsed, "per_name_ms": elapsed / max(len(names), 1) * 1000}
        queries = search_queries(rows, args.queries or max(20, args.size // 25))
        out["search"] = search_latency(app, queries, args.repeat)
        out["index"] = index_figures(app)
        out["index"]["process_rss_mb"] = resident_mb()
        with app.app_context():
            url = str(db.engine.url)
            db.session.remove()
            db.engine.dispose()
        catalog_index.clear_cache(url)
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    else:
        _print(out)
    if args.failures:
        for row, result in quality["failures"]:
            top = result.top
            got = (f"{index.drugs[top.drug_id].generic_name} {index.products[top.product_id].dosage_form} "
                   f"{index.products[top.product_id].strength} {top.score:.0f}") if top else "-"
            print(f"  {row['kind'][:16]:16} {row['name']}  want {row['generic_name']}/{row['dosage_form']}/"
                  f"{row['strength']}  got {result.status} {got}")
    return out


def _print(out: dict) -> None:
    q, s, x, i = out["quality"], out["speed"], out["search"], out["index"]
    print(f"development set: {q['rows']} rows ({q['in_formulary_rows']} in the formulary, of which "
          f"{q['product_not_in_formulary_rows']} with a product it lacks; {q['not_in_formulary_rows']} not in it)")
    print(f"generic-drug top-1 accuracy      {q['generic_top1']:.2%}   (in-formulary rows only: "
          f"{q['generic_top1_in_formulary']:.2%})")
    print(f"product top-1 accuracy           {q['product_top1']:.2%}   ({q['product_top1_in_formulary']:.2%})")
    print(f"correct product in top 5         {q['product_top5']:.2%}   ({q['product_top5_in_formulary']:.2%})")
    print(f"wrong auto-matches (all rows)    {q['wrong_auto']:.2%}")
    print(f"auto-matched                     {q['auto_rate']:.1%}   at threshold {q['auto_threshold']:g}")
    nif = q["not_in_formulary"]
    print(f"not in formulary → no_match {nif['no_match']}, needs_review {nif['needs_review']}, auto {nif['auto']}")
    print("threshold  auto-matched  wrong auto")
    for threshold, figures in q["thresholds"].items():
        print(f"  {threshold:>5}      {figures['auto_rate']:6.1%}      {figures['wrong_auto']:6.2%}")
    print(f"matching {s['names']} names: {s['seconds']:.2f} s ({s['per_name_ms']:.3f} ms per name)")
    print(f"search through the API ({x['requests']} requests): p50 {x['p50_ms']:.1f} ms, p95 {x['p95_ms']:.1f} ms, "
          f"max {x['max_ms']:.1f} ms")
    print(f"index rebuild after an alias change: {i['rebuild_s']:.3f} s; index memory {i['index_mb']:.1f} MB "
          f"(process RSS {i['process_rss_mb']:.0f} MB); {i['drugs']} drugs, {i['products']} products, "
          f"{i['keys']} keys")


if __name__ == "__main__":
    warnings.simplefilter("error")
    main()
