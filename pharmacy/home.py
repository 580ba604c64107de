"""The start page after sign-in (each role's to-dos), and the health check."""

from flask import Blueprint, current_app, jsonify, redirect, render_template, send_from_directory, url_for
from flask_login import current_user

from . import health, todos
from .i18n import public

bp = Blueprint("home", __name__)

# Where a role starts when its start page has nothing it must see first (`todos.start_page`): the village
# doctor's registration tablet (unless a delivery waits), the viewer's dashboard. Every other role starts on its
# to-do page. A domain that owns a better start page for a role registers it here.
ROLE_HOME: dict[str, str] = {
    "village_doctor": "shortages.tablet",
    "viewer": "reports.dashboard",
}


@bp.get("/")
def index():
    start = todos.start_page(current_user)
    endpoint = ROLE_HOME.get(current_user.role)
    if endpoint and endpoint in current_app.view_functions and not start.must_show:
        return redirect(url_for(endpoint))
    return render_template("home.html", start=start)


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
