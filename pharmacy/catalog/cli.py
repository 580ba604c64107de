"""`flask catalog ...`: load the formulary from catalog_data/."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from ..extensions import db
from .loader import CatalogFileError, load_catalog


@click.group("catalog", help="统一目录 (formulary)")
def catalog_cli():
    pass


@catalog_cli.command("load")
@click.option("--data-dir", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@with_appcontext
def load(data_dir):
    """Load or update the formulary; a malformed file is refused whole."""
    data_dir = data_dir or current_app.config["CATALOG_DATA_DIR"]
    try:
        report = load_catalog(Path(data_dir))
    except CatalogFileError as exc:
        db.session.rollback()
        raise click.ClickException(f"目录文件有误，未做任何更改 (refused, nothing changed): {exc}") from None
    db.session.commit()
    click.echo(f"editions={','.join(report.editions)} drugs_created={report.drugs_created} "
               f"products_created={report.products_created} fields_changed={report.fields_changed} "
               f"withdrawn={report.products_withdrawn} groups_created={report.groups_created} "
               f"kept_local_edits={report.kept_local_edits}")
