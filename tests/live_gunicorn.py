"""A real gunicorn (gunicorn.conf.py, several workers) on 127.0.0.1 over its own database, for the fault tests."""

import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg
import requests
from sqlalchemy.engine import make_url

from pharmacy import create_app
from pharmacy.config import ROOT
from pharmacy.extensions import db
from tests.pg_available import PG_URL

BIN = Path(sys.executable).parent
PASSWORD = "correct horse"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def fresh_database(engine: str, tmp_path: Path):
    """A SQLAlchemy URL of an empty database of the given engine, dropped afterwards."""
    if engine == "sqlite":
        yield f"sqlite:///{tmp_path / 'live.sqlite3'}"
        return
    name = f"pharmacy_live_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield str(make_url(PG_URL).set(database=name)).replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        for _ in range(20):  # the server may just have restarted
            try:
                with psycopg.connect(PG_URL, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                break
            except psycopg.OperationalError:
                time.sleep(0.5)


def seed_county(url: str):
    """Schema and a small county with one user per role (password PASSWORD); returns plain ids and names."""
    from tests.factories import make_county

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "live"})
    with app.app_context():
        db.create_all()
        county = make_county(townships=2, villages=2)
        info = {"users": {k: u.username for k, u in county.users.items()},
                "townships": [t.id for t in county.townships], "villages": [v.id for v in county.villages]}
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return info


class LiveServer:
    def __init__(self, url: str, tmp_path: Path, workers: int = 2):
        self.url, self.port = url, free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.pause_dir = tmp_path / "pauses"
        self.pause_dir.mkdir(exist_ok=True)
        self.log_path = tmp_path / "gunicorn.log"
        env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secrets.token_hex(32), PHARMACY_BIND=f"127.0.0.1:{self.port}",
                   PHARMACY_WEB_WORKERS=str(workers), PHARMACY_WEB_TIMEOUT="120", PHARMACY_LOG_LEVEL="WARNING",
                   PHARMACY_TEST_PAUSE_DIR=str(self.pause_dir), PYTHONPATH=str(ROOT))
        self._log = self.log_path.open("w")
        self.process = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "tests.fault_wsgi:app"],
                                        cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        try:
            self.wait_until_serving()
        except BaseException:
            self.stop()  # nothing is left running when the server does not come up
            raise

    def wait_until_serving(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log_path.read_text()[-3000:]
            try:
                if requests.get(self.base + "/login", timeout=5).status_code == 200:
                    return
            except requests.RequestException:  # not listening yet, or a worker still starting (slow under load)
                pass
            time.sleep(0.2)
        raise AssertionError("gunicorn did not start: " + self.log_path.read_text()[-3000:])

    def session(self, username: str) -> requests.Session:
        session = requests.Session()
        page = session.get(self.base + "/login", timeout=10).text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        response = session.post(self.base + "/login", data={"username": username, "password": PASSWORD,
                                                            "csrf_token": token}, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text[:500]
        return session

    def wait_for_pause(self, name: str, timeout: float = 30) -> int:
        marker = self.pause_dir / name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text():
                return int(marker.read_text())
            time.sleep(0.05)
        raise AssertionError(f"no request paused as {name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
