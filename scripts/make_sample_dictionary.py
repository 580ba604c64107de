#!/usr/bin/env python
"""Write a real-looking township drug dictionary to try the import with: GBK-encoded CSV by default.

    .venv/bin/python scripts/make_sample_dictionary.py --rows 2000 --out instance/城关镇药品字典.csv [--xlsx]

Rows are formulary products written the way a township writes them (salt names, other form spellings, units,
packs, makers), the local names of tests/data/matching_dev_set.csv (brands, typos, pinyin, medicines outside the
formulary), an empty row and a duplicated one — what a pharmacist would upload at /matching.
"""

import argparse
import csv
import io
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pharmacy.catalog.loader import read_catalog  # noqa: E402

FORM_WORDS = {"片剂": ["片", "片"], "胶囊": ["胶囊", "胶囊剂"], "颗粒剂": ["颗粒", "冲剂"], "注射液": ["注射液", "针"],
              "缓释片": ["缓释片"], "肠溶片": ["肠溶片"], "蜜丸": ["丸", "大蜜丸"], "口服液": ["口服液"],
              "软膏剂": ["软膏"],
              "滴眼剂": ["滴眼液"], "注射用无菌粉末": ["粉针"], "胶丸": ["胶丸"]}
MAKERS = ["华北制药", "石药集团", "扬子江药业", "国药集团", "鲁南制药", "修正药业", "同仁堂", "太极集团", "", "", ""]
UNITS = {"片": "盒", "粒": "盒", "袋": "盒", "支": "盒", "瓶": "瓶", "丸": "盒"}


def sample_rows(count: int, catalog: Path, seed: int = 2018) -> list[list[str]]:
    rng = random.Random(seed)
    drugs, products = read_catalog(catalog)
    names = {d["code"]: d["generic_name"] for d in drugs}
    local = []
    for dev_set in ("matching_dev_set.csv", "matching_dev_variants.csv"):
        with (ROOT / "tests" / "data" / dev_set).open(encoding="utf-8") as handle:
            local += [row["name"] for row in csv.DictReader(handle)]
    rows = [["本地编码", "药品名称", "规格", "厂家", "单位"]]
    usable = [p for p in products if p["dosage_form"] in FORM_WORDS and "+" not in p["strength"]]
    rng.shuffle(local)
    rng.shuffle(usable)
    while len(rows) <= count:
        code = f"{len(rows):05d}"
        if local and rng.random() < 0.3:
            rows.append([code, local.pop(), "", "", "盒"])
            continue
        product = usable[len(rows) % len(usable)]
        generic = names[product["drug_code"]].replace("䓬", "卓")  # GBK has no 䓬
        form = rng.choice(FORM_WORDS[product["dosage_form"]])
        name = "注射用" + generic if form == "粉针" and rng.random() < 0.6 else generic + form
        pack = rng.choice([product["pack_size"], product["pack_size"], 10, 12, 20, 24, 30, 36, 48, 100])
        spec = f"{product['strength']}*{pack}{product['base_unit']}"
        rows.append([code, name, spec, rng.choice(MAKERS), UNITS.get(product["base_unit"], "盒")])
    rows.insert(10, ["", "", "", "", ""])
    rows.insert(20, list(rows[15]))
    return rows[: count + 1]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--encoding", default="gbk", help="gbk (default), gb18030, utf-8 or utf-8-sig")
    parser.add_argument("--xlsx", action="store_true", help="write an .xlsx workbook instead of a CSV")
    parser.add_argument("--catalog", type=Path, default=ROOT / "catalog_data")
    args = parser.parse_args(argv)
    rows = sample_rows(args.rows, args.catalog)
    if args.xlsx:
        from openpyxl import Workbook

        workbook = Workbook()
        for row in rows:
            workbook.active.append(row)
        workbook.save(args.out)
    else:
        buffer = io.StringIO()
        csv.writer(buffer).writerows(rows)
        args.out.write_bytes(buffer.getvalue().encode(args.encoding, errors="replace"))
    print(f"wrote {len(rows) - 1} rows to {args.out}")


if __name__ == "__main__":
    main()
