"""`flask users ...`: manage people from the shell."""

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..extensions import db
from ..facilities.models import Facility
from . import services


@click.group("users", help="管理用户 (manage users)")
def users_cli():
    pass


@users_cli.command("create")
@click.argument("username")
@click.option("--name", "display_name", default="")
@click.option("--role", required=True)
@click.option("--facility", "facility_code", required=True)
@click.password_option()
@with_appcontext
def create(username, display_name, role, facility_code, password):
    """Create a user."""
    facility = db.session.scalar(select(Facility).where(Facility.code == facility_code))
    if facility is None:
        raise click.ClickException(f"unknown facility {facility_code}")
    services.create_user(username=username, display_name=display_name or username, password=password, role=role,
                         facility=facility)
    db.session.commit()
    click.echo(f"created {username}")
