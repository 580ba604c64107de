"""A PostgreSQL cluster of a test's own: `initdb` into a temporary folder, started on a free port of 127.0.0.1 with
a random password, stopped and deleted afterwards, even when the test fails.

For the fault tests that restart or stop the server: they must never touch a server they did not start (on a
developer's machine `PHARMACY_TEST_PG_URL` or the newest local cluster is their own). initdb refuses to run as root,
so as root the cluster belongs to the `postgres` system user (`runuser`).
"""

import os
import pwd
import re
import secrets
import shutil
import signal
import subprocess
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from glob import glob
from pathlib import Path

import psycopg

from tests.live_gunicorn import free_port

SUPERUSER = "postgres"


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server binaries of this machine (Debian's /usr/lib/postgresql/<major>/bin, else PATH)."""
    found = [Path(p).parent for p in glob("/usr/lib/postgresql/*/bin/initdb")]
    if found:
        return max(found, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0))
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> str | None:
    """Why a private cluster cannot be made here, or None."""
    bindir = postgres_bindir()
    if bindir is None or not (bindir / "pg_ctl").exists():
        return "no PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin or on PATH)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root (initdb refuses) and there is no postgres user to run it as"
        if shutil.which("runuser") is None:
            return "running as root (initdb refuses) and runuser is missing"
    return None


@dataclass
class PrivateCluster:
    bindir: Path
    root: Path
    port: int = field(default_factory=free_port)
    password: str = field(default_factory=lambda: secrets.token_urlsafe(16))

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "postgresql.log"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3) of one database of this cluster."""
        return f"postgresql+psycopg://{SUPERUSER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def connect(self) -> psycopg.Connection:
        return psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=self.password,
                               dbname="postgres", autocommit=True, connect_timeout=10)

    def create_database(self, name: str) -> str:
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def _run(self, program: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bindir / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # stdin/stdout/stderr never stay open in the server: pg_ctl sends the server's output to the log file
        return subprocess.run(command, cwd=self.root, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def _pg_ctl(self, action: str, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        done = self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "90",
                         *args, action)
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(f"pg_ctl {action} failed: {done.stderr or done.stdout}\n{tail}")

    def init(self) -> None:
        password_file = self.root / "pw"
        password_file.write_text(self.password + "\n")
        password_file.chmod(0o600)
        if os.geteuid() == 0:
            os.chown(password_file, *_postgres_ids())
        try:
            done = self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "--auth=scram-sha-256",
                             f"--pwfile={password_file}", "-E", "UTF8", "--no-locale", "--no-sync")
        finally:
            password_file.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr or done.stdout}")

    def start(self) -> None:
        self._pg_ctl("start")

    def restart(self) -> None:
        """Stop (fast: open transactions are rolled back, connections dropped) and start again."""
        self._pg_ctl("restart", "-m", "fast")

    def stop(self) -> None:
        pid_file = self.data / "postmaster.pid"
        if not pid_file.exists():
            return
        try:
            self._pg_ctl("stop", "-m", "immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            os.kill(int(pid_file.read_text().split()[0]), signal.SIGQUIT)  # the postmaster's immediate shutdown
            raise


def _postgres_ids() -> tuple[int, int]:
    entry = pwd.getpwnam("postgres")
    return entry.pw_uid, entry.pw_gid


@contextmanager
def private_cluster():
    """Yield a started PrivateCluster; stop and delete it afterwards whatever happened. Check
    `unavailable_reason()` first."""
    root = Path(tempfile.mkdtemp(prefix="pharmacy-pg-"))
    if os.geteuid() == 0:
        os.chown(root, *_postgres_ids())
    cluster = PrivateCluster(postgres_bindir(), root)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        try:
            cluster.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)
