"""Pages: the dashboard (驾驶舱), the reports with their downloads, and the county's tracer list."""

from datetime import timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..auth.policy import has_permission, permission_required
from ..catalog.services import class_tree
from ..errors import DomainError
from ..exports import csv_response, xlsx_stream_response
from . import formatting, services
from .definitions import definitions
from .reports import REPORTS, stream
from .schemas import DashboardQuerySchema, ReportQuerySchema, TracerAddSchema

bp = Blueprint("reports", __name__)


@bp.context_processor
def figure_helpers():
    return {"fmt": formatting, "reports": REPORTS, "figures": definitions(),
            "timedelta_year": timedelta(days=365)}


def _filled(args) -> dict:
    """The query string without the empty fields a GET form sends for "all"."""
    return {key: value for key, value in args.items() if value != ""}


@bp.get("/dashboard")
@permission_required("report.read")
def dashboard():
    query = DashboardQuerySchema().load(_filled(request.args))
    board = services.dashboard_for(current_user, query["unit"])
    return render_template("reports/dashboard.html", board=board, units=services.units_for_choice(current_user),
                           selected_unit=query["unit"], can_edit_tracers=has_permission(current_user, "tracer.edit"))


@bp.get("/reports")
@permission_required("report.read")
def index():
    return render_template("reports/index.html")


def _report_or_404(key: str):
    report = REPORTS.get(key)
    if report is None:
        abort(404)
    return report


@bp.get("/reports/<key>")
@permission_required("report.read")
def report(key: str):
    report = _report_or_404(key)
    query = ReportQuerySchema().load(_filled(request.args))
    filters, rows = services.report_page(current_user, report, query)
    townships, villages = services.report_facility_choices(current_user)
    return render_template("reports/report.html", report=report, rows=rows, query=query,
                           filters=filters, townships=townships, villages=villages,
                           classes=[c for c in class_tree() if c["depth"] <= 1])


@bp.get("/reports/<key>.<fmt>")
@permission_required("report.read")
def export(key: str, fmt: str):
    report = _report_or_404(key)
    if fmt not in ("csv", "xlsx"):
        abort(404)
    query = ReportQuerySchema().load(_filled(request.args))
    filters = services.report_filters(current_user, report, query)
    header = [_(c.label) for c in report.columns]
    kinds = [(c.kind, c.labels) for c in report.columns]
    rows = ([formatting.export_value(v, kind, labels) for v, (kind, labels) in zip(row, kinds, strict=True)]
            for row in stream(report, filters))
    filename = f"{report.key}-{filters.root.code}.{fmt}"
    if fmt == "csv":
        return csv_response(header, rows, filename)
    return xlsx_stream_response(header, rows, filename, sheet=_(report.title))


@bp.get("/dashboard/tracers")
@permission_required("report.read")
def tracers():
    board_root = services.dashboard_root(current_user)
    return render_template("reports/tracers.html", tracers=services.tracers_of(current_user), root=board_root,
                           can_edit=has_permission(current_user, "tracer.edit"),
                           chronic_count=services.chronic_tracer_count(current_user))


@bp.post("/dashboard/tracers")
@permission_required("tracer.edit")
def add_tracer():
    try:
        body = TracerAddSchema().load({k: v for k, v in request.form.items() if k in ("product_code", "note")})
        product = services.get_product_by_code(body["product_code"])
        services.add_tracer(current_user, product, body["note"])
    except (DomainError, ValidationError) as exc:
        message, status = (exc.message, exc.status) if isinstance(exc, DomainError) else (_("请填写产品编码"), 422)
        return render_template("reports/tracers.html", tracers=services.tracers_of(current_user), can_edit=True,
                               root=services.dashboard_root(current_user), error=message, form=request.form,
                               chronic_count=services.chronic_tracer_count(current_user)), status
    return redirect(url_for("reports.tracers", saved=1))


@bp.post("/dashboard/tracers/<int:tracer_id>/delete")
@permission_required("tracer.edit")
def remove_tracer(tracer_id: int):
    services.remove_tracer(current_user, tracer_id)
    return redirect(url_for("reports.tracers", removed=1))
