"""Back up and restore the database: SQLite through its online backup API (safe while the app writes),
PostgreSQL through pg_dump/pg_restore in custom format. Used by scripts/backup and scripts/restore.

    python -m pharmacy.ops.backup backup [--database-url URL] [--output FILE]
    python -m pharmacy.ops.backup restore --yes [--database-url URL] FILE
"""

import argparse
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy.engine import make_url

from .. import clock


class BackupError(Exception):
    pass


def _engine_kind(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"unsupported database {name!r}")
    return name


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _libpq_url(url: str) -> str:
    """The URL as pg_dump understands it (no SQLAlchemy driver suffix)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client (apt-get install postgresql-client)")
    return path


def default_output(url: str, directory: Path) -> Path:
    stamp = clock.now_utc().strftime("%Y%m%dT%H%M%SZ")
    suffix = "sqlite3" if _engine_kind(url) == "sqlite" else "dump"
    return directory / f"pharmacy-{stamp}.{suffix}"


def backup(url: str, output: Path) -> Path:
    """Write a consistent copy of the database to `output` while the application keeps running."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if _engine_kind(url) == "sqlite":
        source_path = _sqlite_path(url)
        if not source_path.exists():
            raise BackupError(f"no database at {source_path}")
        partial = output.with_name(output.name + ".partial")
        source = sqlite3.connect(f"file:{source_path}?mode=ro", uri=True)
        target = sqlite3.connect(partial)
        try:
            source.backup(target, pages=1024)  # copies in steps; writers are blocked only per step
            if target.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError("the copy failed its integrity check")
        finally:
            target.close()
            source.close()
        partial.replace(output)
    else:
        subprocess.run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                        "--file", str(output), "--dbname", _libpq_url(url)], check=True)
    return output


def restore(url: str, backup_file: Path) -> None:
    """Replace the database's content with the backup's (stop the application first)."""
    if not backup_file.is_file():
        raise BackupError(f"no backup at {backup_file}")
    if _engine_kind(url) == "sqlite":
        header = backup_file.read_bytes()[:16]
        if header != b"SQLite format 3\x00":
            raise BackupError(f"{backup_file} is not an SQLite database")
        target_path = _sqlite_path(url)
        target_path.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(f"file:{backup_file}?mode=ro", uri=True)
        target = sqlite3.connect(target_path)
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
    else:
        subprocess.run([_pg_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--no-privileges",
                        "--single-transaction", "--exit-on-error", "--dbname", _libpq_url(url), str(backup_file)],
                       check=True)


def _database_url(arg: str | None) -> str:
    if arg:
        return arg
    from pharmacy.config import Config

    return Config.SQLALCHEMY_DATABASE_URI


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pharmacy-backup", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    make = sub.add_parser("backup", help="write a backup file")
    make.add_argument("--database-url", help="default: DATABASE_URL, as the app uses it")
    make.add_argument("--output", type=Path, help="file to write (default: <instance>/backups/pharmacy-<time>.*)")
    back = sub.add_parser("restore", help="replace the database's content with a backup")
    back.add_argument("--database-url")
    back.add_argument("--yes", action="store_true", help="confirm: the current content is replaced")
    back.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    url = _database_url(args.database_url)
    try:
        if args.command == "backup":
            if args.output is None:
                from pharmacy.config import Config

                args.output = default_output(url, Path(Config.INSTANCE_DIR) / "backups")
            path = backup(url, args.output)
            print(f"backup written: {path} ({path.stat().st_size} bytes)")
        else:
            if not args.yes:
                print("restore replaces the database's content: stop the application, then pass --yes",
                      file=sys.stderr)
                return 2
            restore(url, args.file)
            print(f"restored {args.file} into {make_url(url).render_as_string(hide_password=True)}")
    except (BackupError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    os.umask(0o077)  # backups hold password hashes: readable by their owner only
    sys.exit(main())
