"""`flask matching load-aliases`, `flask matching import` and `flask match file`.

`flask match file IN --out OUT.csv` is how matching quality is measured from outside: keep its columns stable.
"""

import csv
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth.models import User
from ..errors import DomainError
from ..extensions import db
from ..facilities.models import Facility
from . import services
from .catalog_index import current_index
from .dictionary_file import DictionaryFileError, read_dictionary
from .matcher import TOP_N, match_parsed
from .normalize import parse_name

MATCH_FILE_COLUMNS = ["input", "status", "product_code", "generic_name", "dosage_form", "strength", "score",
                      "candidates"]


def _facility(code: str | None) -> Facility | None:
    if not code:
        return None
    facility = db.session.scalar(select(Facility).where(Facility.code == code.strip().upper()))
    if facility is None:
        raise click.ClickException(f"找不到机构 {code} (unknown facility)")
    return facility


@click.group("matching", help="名称匹配 (name matching)")
def matching_cli():
    pass


@matching_cli.command("load-aliases")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@with_appcontext
def load_aliases(data_dir):
    """Load brand and common names from catalog_data/brand_names.csv into aliases (idempotent)."""
    try:
        report = services.load_brand_aliases(Path(data_dir or current_app.config["CATALOG_DATA_DIR"]))
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(f"品牌名文件有误，未做任何更改 (refused, nothing changed): {exc.message}") from None
    db.session.commit()
    for note in report.skipped or []:
        click.echo(f"skipped: {note}", err=True)
    click.echo(f"aliases created={report.created} unchanged={report.unchanged} skipped={len(report.skipped or [])}")


@matching_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--facility", "facility_code", required=True, help="Facility code the dictionary belongs to.")
@click.option("--user", "username", default=None, help="Recorded as the importer (default: none).")
@with_appcontext
def import_command(path, facility_code, username):
    """Import a local drug dictionary (CSV or XLSX) for a facility and match every row."""
    facility = _facility(facility_code)
    user = db.session.scalar(select(User).where(User.username == username)) if username else None
    try:
        record = services.import_dictionary(facility, path.name, path.read_bytes(), user=user)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    counts = services.status_counts(record.id)
    db.session.commit()
    click.echo(f"import={record.id} rows={record.row_count} problems={len(record.problems)} "
               + " ".join(f"{k}={v}" for k, v in counts.items()))


@click.group("match", help="名称匹配 (match names from a file)")
def match_cli():
    pass


@match_cli.command("file")
@click.argument("in_path", metavar="IN", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--facility", "facility_code", default=None, help="Use this facility's confirmed local names too.")
@with_appcontext
def match_file(in_path, out_path, facility_code):
    """Match the names in IN (first column, or the column "name") and write one row per input to OUT.csv."""
    facility = _facility(facility_code)
    try:
        dictionary = read_dictionary(in_path.name, in_path.read_bytes(), require_header=False)
    except (DictionaryFileError, DomainError) as exc:  # DomainError: a sheet past the upload limits, unsafe XML
        raise click.ClickException(f"文件无法读取 (cannot read file): {exc.message}") from None
    index = current_index()
    chain = services.facility_chain(facility)
    names = [" ".join(p for p in (row.name, row.spec) if p) for row in dictionary.rows]
    results = [match_parsed(index, parse_name(name, manufacturer=row.manufacturer), chain) if name else None
               for name, row in zip(names, dictionary.rows, strict=True)]
    with out_path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(MATCH_FILE_COLUMNS)
        for name, result in zip(names, results, strict=True):
            if result is None:
                writer.writerow([name, "no_match", "", "", "", "", "0", ""])
                continue
            top = result.top
            product = index.products[top.product_id] if top else None
            drug = index.drugs[product.drug_id] if product else None
            candidates = "|".join(index.products[c.product_id].code for c in result.candidates[:TOP_N])
            writer.writerow([name, result.status, product.code if product else "",
                             drug.generic_name if drug else "", product.dosage_form if product else "",
                             product.strength if product else "", f"{result.score:.1f}", candidates])
    counts: dict[str, int] = {}
    for result in results:
        status = result.status if result else "no_match"
        counts[status] = counts.get(status, 0) + 1
    click.echo(f"matched {len(results)} names → {out_path}: " + " ".join(f"{k}={v}" for k, v in sorted(counts.items())))
