"""`flask insurance ...`: import a province's 医保药品代码 table, too long for a page's request."""

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..auth.models import User
from ..auth.policy import has_permission
from ..errors import DomainError
from ..extensions import db
from . import services
from .table_file import MAX_ROWS_CLI


@click.group("insurance", help="医保药品代码 (NHSA drug codes)")
def insurance_cli():
    pass


@insurance_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--user", "username", required=True, help="the formulary admin recorded as importing it")
@with_appcontext
def import_file(path: Path, username: str):
    """Import the NHSA code table at PATH (XLSX or CSV); a malformed file is refused whole."""
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not has_permission(user, "catalog.edit"):
        raise click.ClickException(f"{username}: 没有这个目录管理员 (no formulary admin of that name)")
    try:
        record = services.import_table(path.name, path.read_bytes(), user=user, max_rows=MAX_ROWS_CLI)
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(f"未做任何更改 (refused, nothing changed): {exc.message}") from None
    counts = services.status_counts(record.id)
    db.session.commit()
    click.echo(f"import={record.id} rows={record.row_count} " + " ".join(f"{k}={v}" for k, v in counts.items()))
