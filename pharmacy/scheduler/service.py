"""The scheduler process: `flask scheduler run` starts one `SchedulerService` and calls `tick()` every few seconds.

A process that wins the database lock starts APScheduler on the persistent job store and keeps renewing the lock;
one that does not stays idle and tries again on the next tick, so it takes over when the holder dies. A holder
that loses the lock stops its scheduler before anything else can run twice. Never start this in a web worker:
every forked worker would run every job.
"""

import logging
import os
import socket
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import Flask
from sqlalchemy import create_engine

from ..clock import now_utc
from ..db_setup import configure_engine_events
from ..extensions import db
from .jobs import JobDefinition, job_definitions
from .locks import make_lock
from .models import RunOutcome, apscheduler_jobs
from .queries import last_succeeded_at
from .runner import consecutive_failures, run_job

log = logging.getLogger(__name__)

JOB_FUNCTION = "pharmacy.scheduler.service:run_scheduled_job"

# The service whose APScheduler is running in this process; the job store keeps only a textual reference to
# `run_scheduled_job`, which finds the app here.
_active: "SchedulerService | None" = None


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class SchedulerService:
    def __init__(self, app: Flask, *, holder: str | None = None, definitions: list[JobDefinition] | None = None,
                 lock=None, clock=now_utc):
        self.app = app
        self.holder = holder or default_holder()
        self.definitions = definitions if definitions is not None else job_definitions(app.config)
        self.clock = clock
        with app.app_context():
            self.lock = lock or make_lock(db.engine, self.holder, app.config["SCHEDULER_LEASE_SECONDS"], clock)
        self.scheduler: BackgroundScheduler | None = None
        self._store_engine = None
        self._stopping = threading.Event()

    @property
    def is_active(self) -> bool:
        return self.scheduler is not None

    def definition(self, job_id: str) -> JobDefinition | None:
        return next((d for d in self.definitions if d.id == job_id), None)

    def tick(self) -> bool:
        """Take or keep the lock; start or stop APScheduler to match. Returns whether this process acts."""
        if self.scheduler is None:
            if self.lock.acquire():
                log.info("scheduler %s holds the lock: starting", self.holder)
                self._start()
        elif not self.lock.renew():
            log.warning("scheduler %s lost the lock: stopping", self.holder)
            self._stop()
        return self.is_active

    def run_forever(self, poll_seconds: int) -> None:
        log.info("scheduler %s waiting for the lock (every %ss)", self.holder, poll_seconds)
        try:
            while not self._stopping.is_set():
                try:
                    self.tick()
                except Exception:  # the database may be away for a while: keep trying, never die
                    log.exception("scheduler %s: lock check failed", self.holder)
                self._stopping.wait(poll_seconds)
        finally:
            self.shutdown()

    def request_stop(self, *_args) -> None:
        self._stopping.set()

    def shutdown(self) -> None:
        """Stop APScheduler (waiting for a running job) and free the lock."""
        if self.scheduler is not None:
            self._stop(wait=True)
            self.lock.release()
            log.info("scheduler %s stopped and released the lock", self.holder)

    def _start(self) -> None:
        global _active
        config = self.app.config
        engine = self._store_engine = create_engine(config["SQLALCHEMY_DATABASE_URI"])
        configure_engine_events(engine)
        scheduler = BackgroundScheduler(
            timezone=ZoneInfo(config["BABEL_DEFAULT_TIMEZONE"]),
            jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=apscheduler_jobs.name)},
            executors={"default": ThreadPoolExecutor(1)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 6 * 3600},
        )
        scheduler.start(paused=True)
        self._sync_jobs(scheduler)
        self.scheduler = scheduler
        _active = self
        scheduler.resume()

    def _sync_jobs(self, scheduler: BackgroundScheduler) -> None:
        """Make the persistent job store match the job table; keep the stored next run of unchanged jobs, so a
        run missed while no scheduler was up still happens (within the misfire grace time)."""
        wanted = {d.id: d for d in self.definitions}
        for job in scheduler.get_jobs():
            if job.id not in wanted:
                log.info("removing job %s: no longer in the job table", job.id)
                job.remove()
        for definition in self.definitions:
            job = scheduler.get_job(definition.id)
            trigger = make_trigger(definition, scheduler.timezone)
            if job is None or str(trigger) != str(job.trigger) or job.func_ref != JOB_FUNCTION:
                scheduler.add_job(JOB_FUNCTION, trigger, args=[definition.id], id=definition.id,
                                  name=definition.id, replace_existing=True)
        self._catch_up(scheduler)

    def _catch_up(self, scheduler: BackgroundScheduler) -> None:
        """Run now the nightly (cron) jobs that have never succeeded: on a new deployment their figures would
        otherwise stay empty until the first night. Interval jobs come round soon anyway."""
        cron_ids = [d.id for d in self.definitions if d.trigger == "cron"]
        if not cron_ids:
            return
        with self.app.app_context():  # its own session, ended at once: SQLite lets one connection write at a time
            succeeded = last_succeeded_at(cron_ids)
        for job_id in cron_ids:
            if job_id not in succeeded:
                log.info("job %s has never succeeded: running it now", job_id)
                scheduler.modify_job(job_id, next_run_time=self.clock())

    def _stop(self, wait: bool = False) -> None:
        global _active
        scheduler, self.scheduler = self.scheduler, None
        if _active is self:
            _active = None
        if scheduler is not None:
            scheduler.shutdown(wait=wait)
        if self._store_engine is not None:
            # The scheduler's loop may have opened a connection while the job store was being shut down.
            self._store_engine.dispose()
            self._store_engine = None

    def run_now(self, job_id: str, trigger: str) -> None:
        """Run one job here (APScheduler calls this through `run_scheduled_job`); retry a failure soon."""
        definition = self.definition(job_id)
        if definition is None:
            log.warning("job %s is not in this scheduler's job table: skipped", job_id)
            return
        with self.app.app_context():
            run = run_job(definition, trigger=trigger, holder=self.holder)
            failures = consecutive_failures(job_id) if run.outcome == RunOutcome.FAILED else 0
            # End this read before the job store writes: SQLite lets one connection write at a time.
            db.session.rollback()
        if failures and failures <= self.app.config["SCHEDULER_MAX_RETRIES"] and self.scheduler is not None:
            retry_at = self.clock() + timedelta(minutes=self.app.config["SCHEDULER_RETRY_MINUTES"])
            try:
                self.scheduler.modify_job(job_id, next_run_time=retry_at)
            except JobLookupError:
                return  # a one-off job is gone once it ran
            log.warning("job %s failed %s time(s) in a row: retrying at %s", job_id, failures, retry_at)

def make_trigger(definition: JobDefinition, timezone):
    if definition.trigger == "cron":
        return CronTrigger(timezone=timezone, **definition.trigger_args)
    if definition.trigger == "interval":
        return IntervalTrigger(timezone=timezone, **definition.trigger_args)
    raise ValueError(f"unknown trigger {definition.trigger!r} for job {definition.id}")


def run_scheduled_job(job_id: str) -> None:
    """Entry point stored in the job store: run the job if this process still holds the lock."""
    service = _active
    if service is None or not service.is_active:
        log.warning("job %s fired without an active scheduler in this process: skipped", job_id)
        return
    service.run_now(job_id, trigger="schedule")
