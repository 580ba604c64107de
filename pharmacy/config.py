"""Configuration read from the environment; nothing else reads os.environ."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _sqlalchemy_url(raw: str) -> str:
    # Heroku-style and plain postgres URLs select psycopg 3 explicitly.
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw[len(prefix):]
    return raw


DEFAULT_SECRET_KEY = "dev-only-change-me"


def _flag(name: str, default: bool = False) -> bool:
    return os.environ.get(name, "1" if default else "0").strip().lower() in ("1", "true", "yes", "on")


class Config:
    # PHARMACY_ENV=production: secure cookies, and the app refuses to start with the default SECRET_KEY.
    PRODUCTION = os.environ.get("PHARMACY_ENV", "development") == "production"
    SECRET_KEY = os.environ.get("SECRET_KEY", DEFAULT_SECRET_KEY)
    INSTANCE_DIR = Path(os.environ.get("PHARMACY_INSTANCE_DIR", ROOT / "instance"))
    SQLALCHEMY_DATABASE_URI = _sqlalchemy_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'pharmacy.sqlite3'}")
    )
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    CATALOG_DATA_DIR = Path(os.environ.get("PHARMACY_CATALOG_DIR", ROOT / "catalog_data"))
    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("PHARMACY_TIMEZONE", "Asia/Shanghai")
    LANGUAGES = {"zh_CN": "中文", "en": "English"}
    WTF_CSRF_TIME_LIMIT = None
    MAX_CONTENT_LENGTH = int(os.environ.get("PHARMACY_MAX_UPLOAD_BYTES", 10 * 1024 * 1024))
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _flag("PHARMACY_SECURE_COOKIES", default=PRODUCTION)
    REMEMBER_COOKIE_SECURE = SESSION_COOKIE_SECURE
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # Read only by pharmacy.supply.policy (the dispatch policy): a lot must stay usable this many days after it
    # reaches the facility it is meant for; a county→township shipment takes SHIPMENT_TRANSIT_DAYS, and goods
    # for a village wait at most ONWARD_DELIVERY_DAYS at the township for the village's next run.
    NEAR_EXPIRY_DAYS = int(os.environ.get("PHARMACY_NEAR_EXPIRY_DAYS", 90))
    # An adjustment of more packs than this (either way) waits for a second person's approval; 0: every one does.
    ADJUSTMENT_APPROVAL_PACKS = int(os.environ.get("PHARMACY_ADJUSTMENT_APPROVAL_PACKS", 20))
    SHIPMENT_TRANSIT_DAYS = int(os.environ.get("PHARMACY_SHIPMENT_TRANSIT_DAYS", 1))
    ONWARD_DELIVERY_DAYS = int(os.environ.get("PHARMACY_ONWARD_DELIVERY_DAYS", 7))
    PUBLIC_BASE_URL = os.environ.get("PHARMACY_PUBLIC_URL", "http://127.0.0.1:5000")
    LOG_JSON = _flag("PHARMACY_LOG_JSON")
    LOG_LEVEL = os.environ.get("PHARMACY_LOG_LEVEL", "INFO").upper()
    # Behind a reverse proxy: how many proxies set X-Forwarded-For/-Proto/-Host (0 = not behind one; trusting
    # these headers without a proxy would let any client claim another address or https).
    PROXY_FIX_HOPS = int(os.environ.get("PHARMACY_PROXY_HOPS", 0))
    # Seconds after which the scheduler's heartbeat counts as stale on /healthz.
    SCHEDULER_STALE_SECONDS = int(os.environ.get("PHARMACY_SCHEDULER_STALE_SECONDS", 180))
    # Gunicorn (read by gunicorn.conf.py).
    BIND = os.environ.get("PHARMACY_BIND", "127.0.0.1:8000")
    WEB_WORKERS = int(os.environ.get("PHARMACY_WEB_WORKERS", 0))  # 0: 2 × cores + 1
    WEB_THREADS = int(os.environ.get("PHARMACY_WEB_THREADS", 1))
    WEB_TIMEOUT = int(os.environ.get("PHARMACY_WEB_TIMEOUT", 60))
    # Delivery planning: a route's next run is planned this many hours before it leaves.
    DELIVERY_PLAN_LEAD_HOURS = int(os.environ.get("PHARMACY_DELIVERY_LEAD_HOURS", 24))
    DELIVERY_PLAN_INTERVAL_MINUTES = int(os.environ.get("PHARMACY_DELIVERY_PLAN_INTERVAL_MINUTES", 15))
    # `flask scheduler run`: how often a process checks the lock, how long a SQLite lease lasts without a
    # heartbeat, and when a failed job is tried again.
    SCHEDULER_POLL_SECONDS = int(os.environ.get("PHARMACY_SCHEDULER_POLL_SECONDS", 10))
    SCHEDULER_LEASE_SECONDS = int(os.environ.get("PHARMACY_SCHEDULER_LEASE_SECONDS", 60))
    SCHEDULER_RETRY_MINUTES = int(os.environ.get("PHARMACY_SCHEDULER_RETRY_MINUTES", 10))
    SCHEDULER_MAX_RETRIES = int(os.environ.get("PHARMACY_SCHEDULER_MAX_RETRIES", 3))
