"""scripts/backup and scripts/restore: back up a demo database, wipe it, restore it, find every row again."""

import secrets
import subprocess
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url

from pharmacy import clock, create_app
from pharmacy.audit.trail import acting_as
from pharmacy.config import ROOT
from pharmacy.extensions import db
from tests.pg_available import PG_URL


def _fill_demo(url: str) -> None:
    """A small demo county with a formulary, stock movements and shortages."""
    from pharmacy.catalog.loader import load_catalog
    from pharmacy.catalog.models import Product
    from pharmacy.demo.seed import seed_demo
    from pharmacy.inventory.services import dispense, receive
    from pharmacy.shortages.services import register_shortage

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "backup-test"})
    with app.app_context(), acting_as("test: demo for backup"):
        db.create_all()
        load_catalog(ROOT / "tests" / "data" / "catalog_small")
        demo = seed_demo(townships=2, villages_per_township=3, passwords={"village_doctor": "x" * 10})
        products = list(db.session.scalars(select(Product).where(Product.lowest_tier == "village").limit(3)))
        village = demo.villages[demo.townships[0].id][0]
        doctor = demo.users["t01v01"]
        for n, product in enumerate(products):
            receive(village, product, lot_number=f"L{n}", expiry_date=clock.today() + timedelta(days=400),
                    qty_base=100, user=doctor, key=f"backup-recv-{n}")
            dispense(village, product, qty_base=7, user=doctor, key=f"backup-disp-{n}")
            register_shortage(facility=village, user=doctor, client_id=f"backup-short-{n}", qty_packs=2,
                              product=product, note="备份测试 ' \" ; --")
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _snapshot(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "TESTING": True, "SECRET_KEY": "backup-test"})
    with app.app_context():
        rows = {}
        for table in db.metadata.sorted_tables:
            stmt = select(table).order_by(*table.primary_key.columns)
            try:
                rows[table.name] = [tuple(r) for r in db.session.execute(stmt)]
            except Exception:  # a wiped database has no tables
                db.session.rollback()
                rows[table.name] = None
        db.session.remove()
        db.engine.dispose()
    return rows


def _run(script: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ROOT / "scripts" / script), *args], capture_output=True, text=True, timeout=120)


def _back_up_wipe_restore(url: str, backup_file, wipe) -> None:
    _fill_demo(url)
    before = _snapshot(url)
    assert before["stock_movement"] and before["shortage"] and before["app_user"] and before["audit_event"]

    made = _run("backup", "--database-url", url, "--output", str(backup_file))
    assert made.returncode == 0, made.stderr
    assert backup_file.stat().st_size > 0

    wipe()
    assert all(not rows for rows in _snapshot(url).values())

    refused = _run("restore", "--database-url", url, str(backup_file))
    assert refused.returncode == 2  # needs --yes
    restored = _run("restore", "--yes", "--database-url", url, str(backup_file))
    assert restored.returncode == 0, restored.stderr
    assert _snapshot(url) == before


def test_sqlite_backup_wipe_restore(tmp_path):
    path = tmp_path / "demo.sqlite3"
    url = f"sqlite:///{path}"

    def wipe():
        for leftover in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            leftover.unlink(missing_ok=True)

    _back_up_wipe_restore(url, tmp_path / "backup.sqlite3", wipe)


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    bogus = tmp_path / "bogus.sqlite3"
    bogus.write_text("not a database")
    result = _run("restore", "--yes", "--database-url", f"sqlite:///{tmp_path / 'x.sqlite3'}", str(bogus))
    assert result.returncode == 1 and "not an SQLite database" in result.stderr


@pytest.mark.postgresql
def test_postgresql_backup_wipe_restore(tmp_path):
    name = f"pharmacy_backup_{secrets.token_hex(4)}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    libpq_url = str(make_url(PG_URL).set(database=name))
    url = libpq_url.replace("postgresql://", "postgresql+psycopg://", 1)

    def wipe():
        with psycopg.connect(libpq_url, autocommit=True) as conn:
            conn.execute("DROP SCHEMA public CASCADE")
            conn.execute("CREATE SCHEMA public")

    try:
        _back_up_wipe_restore(url, tmp_path / "backup.dump", wipe)
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
