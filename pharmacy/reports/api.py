"""API: the dashboard's figures and report pages under /api/v1/reports (the same scope rules as the pages)."""

from datetime import date, datetime
from decimal import Decimal

from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from .. import clock
from ..api import api_blueprint, api_operation
from ..auth.policy import permission_required
from . import formatting, services
from .reports import REPORTS
from .schemas import (DashboardQuerySchema, DashboardSchema, ReportPageSchema, ReportQuerySchema, TracerAddSchema,
                      TracerSchema)

bp = api_blueprint("reports_api", __name__, "/reports")


@bp.get("/dashboard")
@permission_required("report.read")
@api_operation(summary="The dashboard's figures for the reader's scope, or for a township in it", tags=["reports"],
               query=DashboardQuerySchema, response=DashboardSchema)
def dashboard(query):
    return services.dashboard_for(current_user, query["unit"])


def _json_value(value, kind: str, labels):
    if isinstance(value, datetime):
        return clock.isoformat_utc(value)  # a moment, as every API moment: UTC with a Z
    value = formatting.export_value(value, kind, labels)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@bp.get("/<key>")
@permission_required("report.read")
@api_operation(summary="One page of a report (stock, consumption, shortages, deliveries, delivery_differences, "
                       "near_expiry); times in UTC with a Z, dates the county's days, labels in the reader's language",
               tags=["reports"], query=ReportQuerySchema, response=ReportPageSchema)
def report_page(key: str, query):
    report = REPORTS.get(key)
    if report is None:
        abort(404)
    filters, rows = services.report_page(current_user, report, query)
    return {"report": key, "title": _(report.title), "scope": filters.root, "date_from": filters.date_from,
            "date_to": filters.date_to,
            "columns": [{"key": c.key, "label": _(c.label), "kind": c.kind} for c in report.columns],
            "rows": [{c.key: _json_value(v, c.kind, c.labels) for c, v in zip(report.columns, row, strict=True)}
                     for row in rows.items],
            "page": rows.page, "per_page": rows.per_page, "has_next": rows.has_next}


@bp.get("/tracers")
@permission_required("report.read")
@api_operation(summary="The county's tracer products (besides the chronic-disease ones, which count by themselves)",
               tags=["reports"], response=TracerSchema, many=True)
def list_tracers():
    return services.tracers_of(current_user)


@bp.post("/tracers")
@permission_required("tracer.edit")
@api_operation(summary="Put a product on the county's tracer list", tags=["reports"], body=TracerAddSchema,
               response=TracerSchema, status=201)
def add_tracer(body):
    return services.add_tracer(current_user, services.get_product_by_code(body["product_code"]), body["note"])


@bp.delete("/tracers/<int:tracer_id>")
@permission_required("tracer.edit")
@api_operation(summary="Take a product off the county's tracer list", tags=["reports"])
def remove_tracer(tracer_id: int):
    services.remove_tracer(current_user, tracer_id)
    return "", 204
