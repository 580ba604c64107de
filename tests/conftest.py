"""Test set-up: the schema and the formulary are built once per session; each test rolls back.

`pytest` runs on a SQLite file; `pytest --db=postgresql` runs on a fresh PostgreSQL database created for the run.
"""

import contextvars
import secrets
from pathlib import Path

import psycopg
import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from pharmacy import create_app
from pharmacy.catalog.loader import load_catalog
from pharmacy.config import ROOT
from pharmacy.extensions import db
from pharmacy.matching.services import load_brand_aliases
from tests.pg_available import PG_URL, reachable


def pytest_addoption(parser):
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite", help="database engine for tests")


def pytest_configure(config):
    config.addinivalue_line("markers", "postgresql: needs PostgreSQL (run with --db=postgresql)")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--db") == "postgresql":
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: run `pytest --db=postgresql` (scripts/test does)")
    for item in items:
        if "postgresql" in item.keywords:
            item.add_marker(skip)


def _sa_pg_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def database_url(request, tmp_path_factory):
    if request.config.getoption("--db") == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
        return
    if not reachable():
        pytest.skip(f"PostgreSQL not reachable at {PG_URL}")
    name = f"pharmacy_test_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _sa_pg_url(str(make_url(PG_URL).set(database=name)))
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database_url, tmp_path_factory):
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test",
        "SERVER_NAME": None,
    })
    app.instance_path = str(tmp_path_factory.mktemp("instance"))
    with app.app_context():
        db.create_all()
        if any(Path(ROOT / "catalog_data").glob("*_drugs.csv")):
            load_catalog(ROOT / "catalog_data")
            if (ROOT / "catalog_data" / "brand_names.csv").exists():
                load_brand_aliases(ROOT / "catalog_data")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def db_session(app_ctx):
    """The test's database session: everything it and its requests write is rolled back afterwards."""
    connection = db.engine.connect()
    outer = connection.begin()
    db.session.remove()
    db.session.configure(bind=connection, join_transaction_mode="create_savepoint")
    yield db.session
    db.session.remove()
    db.session.configure(bind=None, join_transaction_mode="conditional_savepoint")
    outer.rollback()
    connection.close()


class IsolatedClient(FlaskClient):
    """A test client whose requests get their own app context and database session, as in production.

    Flask reuses an app context that is already pushed (the test's), which would make a request's rollback undo
    the test's own data; running each request in an empty contextvars context avoids that. Afterwards the test's
    session forgets what it had loaded, so assertions see what the request wrote.
    """

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        response = contextvars.Context().run(super().open, *args, **kwargs)
        if has_app_context():
            db.session.expire_all()
        return response


@pytest.fixture
def client(app, db_session):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def county(db_session):
    from tests.factories import make_county

    return make_county()


@pytest.fixture
def login(client):
    """Sign a user in on the test client without going through the password form."""

    def sign_in(user):
        with client.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return client

    return sign_in
