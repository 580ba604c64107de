"""`flask reports ...`: keep the dashboard's weekly figures by hand (the scheduler does it every night)."""

import click
from flask.cli import with_appcontext

from ..extensions import db
from . import services


@click.group("reports", help="驾驶舱与报表 (dashboard and reports)")
def reports_cli():
    pass


@reports_cli.command("keep-weeks")
@with_appcontext
def keep_weeks():
    """Compute and keep the dashboard figures at past week starts for every county and township."""
    summary = services.keep_past_weeks()
    db.session.commit()
    click.echo(f"kept weekly figures for {summary['scopes']} scopes")
