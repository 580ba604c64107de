"""The app as `flask scheduler run-job` loads it, plus one hook for the scheduler fault test: when
PHARMACY_TEST_PAUSE_FILE is set, planning a delivery run writes "<pid> <lines>" to that file (the process id and
how many delivery lines its open transaction holds) once the run, its stops and its lines are flushed, before the
job's commit, and then waits, so that a test can kill the process in the middle of the job's transaction.
Never used in production: `flask --app tests.fault_scheduler:app scheduler run-job ...`."""

import os
import time
from pathlib import Path

from sqlalchemy import func, select

from pharmacy import create_app
from pharmacy.deliveries import services as delivery_services
from pharmacy.deliveries.models import DeliveryLine
from pharmacy.extensions import db

app = create_app()
PAUSE_FILE = os.environ.get("PHARMACY_TEST_PAUSE_FILE")

if PAUSE_FILE:
    _insert_lines = delivery_services._insert_lines

    def _insert_lines_then_pause(run, lines):
        _insert_lines(run, lines)
        db.session.flush()  # the run, its stops and lines are written in the open transaction
        flushed = db.session.scalar(select(func.count(DeliveryLine.id)))
        Path(PAUSE_FILE).write_text(f"{os.getpid()} {flushed}")
        time.sleep(60)

    delivery_services._insert_lines = _insert_lines_then_pause
