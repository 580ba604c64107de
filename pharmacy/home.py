"""Landing page after sign-in, and the health check."""

from flask import Blueprint, current_app, jsonify, redirect, render_template, send_from_directory, url_for
from flask_login import current_user

from . import health
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


@bp.get("/favicon.ico")
@public
def favicon():
    """Browsers ask for /favicon.ico on every first visit; answer with the product's icon instead of a 404."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=86400)


@bp.get("/healthz")
@public
def healthz():
    """Database reachable, schema at the migrations' head, scheduler heartbeat; 503 when not fit to serve.

    A stale scheduler makes the status "degraded" but keeps 200: the web workers can still serve.
    """
    report = health.check()
    response = jsonify(report)
    response.headers["Cache-Control"] = "no-store"
    return response, 503 if report["status"] == "error" else 200
