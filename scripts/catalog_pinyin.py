"""Fill the pinyin_initials column of every catalog_data/*_drugs.csv from the generic names.

Run after editing a drugs file: `.venv/bin/python scripts/catalog_pinyin.py`. The readings come from
pharmacy.catalog.pinyin, whose phrase dictionary corrects pypinyin on drug words; a test checks the column.
"""

import csv
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pharmacy.catalog.loader import DRUG_COLUMNS  # noqa: E402
from pharmacy.catalog.pinyin import pinyin_initials  # noqa: E402


def fill(path: Path) -> int:
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    changed = 0
    for row in rows:
        initials = pinyin_initials(row["generic_name"])
        if row.get("pinyin_initials") != initials:
            row["pinyin_initials"] = initials
            changed += 1
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=DRUG_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: row.get(k, "") for k in DRUG_COLUMNS} for row in rows)
    path.write_text(out.getvalue(), encoding="utf-8")
    return changed


if __name__ == "__main__":
    for drugs_file in sorted((ROOT / "catalog_data").glob("*_drugs.csv")):
        print(f"{drugs_file.name}: {fill(drugs_file)} rows updated")
