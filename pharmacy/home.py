"""Landing page after sign-in, and the health check."""

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from .extensions import db
from .i18n import public

bp = Blueprint("home", __name__)

# Where each role starts; a domain that owns a better start page for a role registers it here.
ROLE_HOME: dict[str, str] = {
    "village_doctor": "shortages.tablet",
    "county_pharmacist": "reports.dashboard",
    "viewer": "reports.dashboard",
}


@bp.get("/")
def index():
    endpoint = ROLE_HOME.get(current_user.role)
    if endpoint and endpoint in current_app.view_functions:
        return redirect(url_for(endpoint))
    return render_template("home.html")


@bp.get("/healthz")
@public
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
        ok = True
    except Exception:  # the point is to report, not to raise
        ok = False
    return jsonify({"status": "ok" if ok else "error", "database": ok}), 200 if ok else 503
