"""The app as gunicorn serves it, plus one hook for the fault tests: a request carrying `X-Test-Pause: NAME`
writes its worker's pid to PHARMACY_TEST_PAUSE_DIR/NAME just before committing and then waits, so that a test
can kill the worker in the middle of a transaction whose rows are already flushed. Never used in production."""

import os
import time
from pathlib import Path

from flask import has_request_context, request
from sqlalchemy import event

from pharmacy import create_app
from pharmacy.extensions import Session

app = create_app()
PAUSE_DIR = Path(os.environ.get("PHARMACY_TEST_PAUSE_DIR", "/tmp"))


@event.listens_for(Session, "before_commit")
def pause_before_commit(_session):
    if has_request_context() and request.headers.get("X-Test-Pause"):
        (PAUSE_DIR / request.headers["X-Test-Pause"]).write_text(str(os.getpid()))
        time.sleep(60)
