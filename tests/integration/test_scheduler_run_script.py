"""`scripts/run` runs the scheduler beside the web server (issue 12): on a new demo county the stock alerts are live
within a minute of the server answering, Ctrl-C stops both processes, and when the web server ends the script stops
the scheduler too. A second run says where the saved demo passwords are, without printing them.

The real script over a temporary instance folder (its own SQLite file) on a free port; SQLite only, as the script.
"""

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from pharmacy.config import ROOT
from tests.live_gunicorn import free_port

SERVE_TIMEOUT = 300  # migrations, formulary and demo seeding come first: about 45 s on an idle machine
ALERTS_WITHIN = 60


@pytest.fixture
def db_engine(request):
    if request.config.getoption("--db") != "sqlite":
        pytest.skip("scripts/run runs on SQLite")


class ScriptRun:
    def __init__(self, instance: Path, log_name: str):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = instance.parent / log_name
        env = {k: v for k, v in os.environ.items()
               if k not in ("DATABASE_URL", "FLASK_APP", "FLASK_DEBUG") and not k.startswith("PHARMACY_")}
        env.update(PHARMACY_INSTANCE_DIR=str(instance), PORT=str(self.port))
        self._log = self.log_path.open("w")
        self.started = time.monotonic()
        self.process = subprocess.Popen([str(ROOT / "scripts" / "run")], cwd=ROOT, env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until_serving(self) -> float:
        deadline = self.started + SERVE_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.output()[-3000:]
            try:
                if requests.get(self.base + "/login", timeout=5).status_code == 200:
                    return time.monotonic()
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise AssertionError("scripts/run did not serve: " + self.output()[-3000:])

    def children(self) -> dict[str, int]:
        """The script's child processes by role: {"scheduler": pid, "web": pid}."""
        found = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except (OSError, IndexError, ValueError):
                continue
            if ppid != self.process.pid:
                continue
            if " scheduler run" in cmdline:
                found["scheduler"] = int(entry.name)
            elif " run --host" in cmdline:
                found["web"] = int(entry.name)
        return found

    def wait_for_exit(self, timeout: float = 60) -> int:
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("scripts/run did not stop: " + self.output()[-3000:]) from None

    def kill(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        for pid in self.children().values():  # should none be left, nothing happens
            os.kill(pid, signal.SIGKILL)
        self._log.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait_until_gone(pids, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in pids if _alive(pid)], "processes left running"


def _sign_in(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    page = session.get(base + "/login", timeout=10).text
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    response = session.post(base + "/login", data={"username": username, "password": password, "csrf_token": token},
                            allow_redirects=False, timeout=30)
    assert response.status_code == 302, response.text[:500]
    return session


def _alert_rows(html: str) -> int:
    return len(re.findall(r'<tr class="alert-(?:stockout|below_min|near_expiry|expired)">', html))


def test_scripts_run_shows_live_alerts_and_stops_both_processes(db_engine, tmp_path):
    instance = tmp_path / "instance"
    first = ScriptRun(instance, "first-run.log")
    try:
        serving_at = first.wait_until_serving()
        children = first.children()
        assert set(children) == {"scheduler", "web"}, (children, first.output()[-2000:])
        copy = instance / "demo-passwords.txt"
        passwords = {line.split()[0]: line.split()[1] for line in copy.read_text(encoding="utf-8").splitlines()[1:]}
        session = _sign_in(first.base, "county", passwords["county"])
        while True:
            html = session.get(first.base + "/deliveries/alerts", timeout=30).text
            if _alert_rows(html) and "数据更新于" in html:
                break
            assert time.monotonic() - serving_at < ALERTS_WITHIN, (
                "no live alerts within a minute of the server answering:\n" + first.output()[-3000:])
            time.sleep(1)
        print(f"alerts live {time.monotonic() - first.started:.0f} s after scripts/run started "
              f"({time.monotonic() - serving_at:.0f} s after the server answered)")

        os.killpg(first.process.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        first.wait_for_exit()
        _wait_until_gone(children.values())
        assert "stopped and released the lock" in first.output()  # the scheduler stopped cleanly
    finally:
        first.kill()

    second = ScriptRun(instance, "second-run.log")
    try:
        second.wait_until_serving()
        output = second.output()
        assert f"演示账号已在首次创建时生成，密码见 {copy}" in output
        assert not any(password in output for password in passwords.values())
        children = second.children()
        assert set(children) == {"scheduler", "web"}, children
        os.kill(children["web"], signal.SIGTERM)  # the web server ends on its own: the scheduler goes with it
        second.wait_for_exit()
        _wait_until_gone(children.values())
    finally:
        second.kill()
