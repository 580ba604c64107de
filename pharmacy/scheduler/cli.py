"""`flask scheduler ...`: run the one scheduler process, run a job by hand, list the job table."""

import logging
import signal

import click
from flask import current_app
from flask.cli import with_appcontext

from .jobs import job_definitions
from .models import RunOutcome
from .runner import UnknownJob, run_job_by_id
from .service import SchedulerService, default_holder


@click.group("scheduler", help="定时任务 (scheduled jobs)")
def scheduler_cli():
    pass


@scheduler_cli.command("run")
@click.option("--poll", type=int, default=None, help="Seconds between lock checks (default SCHEDULER_POLL_SECONDS).")
@with_appcontext
def run(poll):
    """Run the scheduler in this process until stopped (SIGTERM/SIGINT); idle while another process holds the
    lock, taking over when it dies."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    service = SchedulerService(current_app._get_current_object(), holder=default_holder())
    signal.signal(signal.SIGTERM, service.request_stop)
    signal.signal(signal.SIGINT, service.request_stop)
    click.echo(f"scheduler {service.holder}: {len(service.definitions)} job(s); waiting for the lock")
    service.run_forever(poll or current_app.config["SCHEDULER_POLL_SECONDS"])


@scheduler_cli.command("run-job")
@click.argument("job_id")
@with_appcontext
def run_job_command(job_id):
    """Run one job now, in its own transaction, logged like a scheduled run."""
    try:
        job_run = run_job_by_id(job_id, trigger="manual", holder=default_holder())
    except UnknownJob:
        ids = ", ".join(d.id for d in job_definitions(current_app.config))
        raise click.ClickException(f"未知任务 (unknown job) {job_id}; 可用 (known): {ids}") from None
    if job_run.outcome != RunOutcome.SUCCEEDED:
        click.echo(job_run.error, err=True)
        raise click.ClickException(f"任务失败 (job failed): run {job_run.id}")
    click.echo(f"{job_id}: {job_run.outcome} (run {job_run.id}) {job_run.summary}")


@scheduler_cli.command("jobs")
@with_appcontext
def list_jobs():
    """List the job table."""
    for definition in job_definitions(current_app.config):
        args = " ".join(f"{k}={v}" for k, v in definition.trigger_args.items())
        click.echo(f"{definition.id:<28} {definition.trigger:<8} {args:<20} {definition.label}")
