"""Exit 0 when the test PostgreSQL server answers; used by scripts/test."""

import os
import sys

import psycopg

PG_URL = os.environ.get("PHARMACY_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


def reachable(url: str = PG_URL) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


if __name__ == "__main__":
    sys.exit(0 if reachable() else 1)
