"""A real server for browser tests: the app on 127.0.0.1 and a free port, in a thread, on a temporary SQLite file."""

import logging
import threading
from dataclasses import dataclass
from pathlib import Path

from werkzeug.serving import make_server

from pharmacy import create_app
from pharmacy.config import ROOT
from pharmacy.extensions import db
from tests.live_gunicorn import free_port

PASSWORD = "e2e-password-1"


@dataclass
class LiveServer:
    url: str
    app: object
    usernames: dict
    _server: object
    _thread: threading.Thread

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=10)
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()



def start_live_server(directory: Path, seed=None) -> LiveServer:
    """Build a database with the small formulary and a county, then serve it; `seed(county)` may add data."""
    from werkzeug.security import generate_password_hash

    from pharmacy.catalog.loader import load_catalog
    from tests.factories import make_county

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'e2e.sqlite3'}", "SECRET_KEY": "e2e",
                      "TESTING": False})
    app.instance_path = str(directory)
    with app.app_context():
        db.create_all()
        load_catalog(ROOT / "tests" / "data" / "catalog_small")
        county = make_county(code="E2E")
        hashed = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
        for user in county.users.values():
            user.password_hash = hashed
        if seed is not None:
            seed(county)
        db.session.commit()
        usernames = {role: user.username for role, user in county.users.items()}
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return LiveServer(f"http://127.0.0.1:{port}", app, usernames, server, thread)
