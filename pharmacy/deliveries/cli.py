"""`flask deliveries ...`: print a manifest, plan runs by hand."""

from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..errors import DomainError
from ..extensions import db
from . import queries, services
from .manifest import build_manifest_pdf
from .models import DeliveryRun, Route


@click.group("deliveries", help="配送 (deliveries to village points)")
def deliveries_cli():
    pass


@deliveries_cli.command("manifest")
@click.argument("run_id", type=int)
@click.option("--out", "out", type=click.Path(dir_okay=False, writable=True, path_type=Path), required=True,
              help="Where to write the PDF.")
@with_appcontext
def manifest(run_id, out):
    """Write the manifest PDF of run RUN_ID."""
    run = db.session.get(DeliveryRun, run_id)
    if run is None:
        raise click.ClickException(f"找不到配送单 (no run) {run_id}")
    pdf = build_manifest_pdf(queries.load_run_for_review(run))
    out.write_bytes(pdf)
    click.echo(f"{run.number}: {len(run.lines)} line(s), {len(pdf)} bytes -> {out}")


@deliveries_cli.command("plan")
@click.option("--route", "route_ids", type=int, multiple=True, help="Route id (repeatable); default every active one.")
@with_appcontext
def plan(route_ids):
    """Plan the next unplanned departure of routes (all active ones by default), in one transaction."""
    stmt = select(Route).where(Route.is_active.is_(True)).order_by(Route.id)
    if route_ids:
        stmt = select(Route).where(Route.id.in_(route_ids)).order_by(Route.id)
    try:
        runs = [services.plan_next_run(route) for route in db.session.scalars(stmt)]
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(f"未规划任何配送单 (nothing planned): {exc.message}") from None
    db.session.commit()
    for run in runs:
        click.echo(f"{run.number} route={run.route_id} {run.departure_date} stops={len(run.stops)} "
                   f"lines={len(run.lines)}")
