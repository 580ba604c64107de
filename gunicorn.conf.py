"""Gunicorn settings for pharmacy (`gunicorn -c gunicorn.conf.py wsgi:app`); every value comes from
pharmacy.config, i.e. from PHARMACY_* environment variables (see docs/deploy.md)."""

import multiprocessing

from pharmacy.config import Config

bind = Config.BIND
workers = Config.WEB_WORKERS or multiprocessing.cpu_count() * 2 + 1
threads = Config.WEB_THREADS
worker_class = "gthread" if threads > 1 else "sync"
timeout = Config.WEB_TIMEOUT
graceful_timeout = 30
keepalive = 5
# A worker is replaced after this many requests (plus jitter) so a slow leak cannot grow for months.
max_requests = 2000
max_requests_jitter = 200
# The app logs each request itself, with the user and facility (pharmacy.access); gunicorn logs only errors.
accesslog = None
errorlog = "-"
loglevel = Config.LOG_LEVEL.lower()
# Each worker builds its own app and connection pool after the fork: no database connection is shared.
preload_app = False
proc_name = "pharmacy"
forwarded_allow_ips = "127.0.0.1,::1"

if Config.LOG_JSON:
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "pharmacy.logging_setup.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": loglevel.upper(), "handlers": []},  # the app adds its own JSON handler to the root
        "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False}},
    }
