"""`flask db upgrade` on an empty database yields exactly the models' schema, on SQLite and PostgreSQL."""

import secrets

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy.engine import make_url

from pharmacy import create_app
from pharmacy.extensions import db
from tests.pg_available import PG_URL


def _assert_schema_matches_models(url: str) -> None:
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        upgrade()
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            differences = compare_metadata(context, db.metadata)
        assert differences == []
        downgrade(revision="base")
        db.engine.dispose()


def test_upgrade_empty_sqlite(tmp_path):
    _assert_schema_matches_models(f"sqlite:///{tmp_path / 'empty.sqlite3'}")


@pytest.mark.postgresql
def test_upgrade_empty_postgresql():
    name = f"pharmacy_mig_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        url = str(make_url(PG_URL).set(database=name)).replace("postgresql://", "postgresql+psycopg://", 1)
        _assert_schema_matches_models(url)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
