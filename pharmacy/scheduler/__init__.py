"""The one scheduler of a deployment: APScheduler in its own process, guarded by a database lock."""
