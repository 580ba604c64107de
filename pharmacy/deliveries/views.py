"""Delivery pages: routes, run review and dispatch for pharmacists, receipt for village doctors, stock alerts."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user
from marshmallow import ValidationError

from ..auth.policy import get_facility_in_scope, load_in_scope, permission_required
from ..errors import translate_validation_messages
from ..fields import ascii_int
from ..operations import load_form, refusal
from ..supply import services as supply
from . import operations, queries
from .labels import TEMPLATE_HELPERS
from .manifest import manifest_response
from .models import AlertKind, DeliveryRun, DeliveryStop, Route, RunStatus
from .schemas import (CancelInputSchema, LineCreateInputSchema, LineUpdateInputSchema, ReceiptInputSchema,
                      RouteInputSchema, RunDetailsInputSchema)

bp = Blueprint("deliveries", __name__, url_prefix="/deliveries")

# What the run page says after each action (`done=` in its address); the template words them.
RUN_NOTICES = ("saved", "line_saved", "line_removed", "line_added", "confirmed", "reopened", "cancelled",
               "dispatched")


@bp.context_processor
def helpers():
    return TEMPLATE_HELPERS


# ---------------------------------------------------------------- runs

@bp.get("")
@permission_required("delivery.read")
def index():
    status = request.args.get("status") or None
    return _render_index(status if status in set(RunStatus) else None)


def _render_index(status: str | None, *, error: str | None = None, code: int = 200):
    return render_template("deliveries/index.html", runs=queries.runs_in_scope(current_user, status=status),
                           routes=queries.routes_in_scope(current_user), status=status,
                           counts=queries.run_counts(current_user), alert_counts=queries.alert_counts(current_user),
                           statuses=list(RunStatus), error=error), code


def _load_run(run_id: int) -> DeliveryRun:
    return load_in_scope(current_user, DeliveryRun, run_id)


@bp.get("/runs/<int:run_id>")
@permission_required("delivery.read")
def run(run_id: int):
    done = request.args.get("done")
    return _render_run(queries.load_run_for_review(_load_run(run_id)), done=done if done in RUN_NOTICES else None)


def _render_run(item, *, refused=None, done: str | None = None):
    error = refused.message if refused else None
    return render_template("deliveries/run.html", run=item, error=error, fields=refused.fields if refused else {},
                           done=done, form=request.form if refused else {}), refused.status if refused else 200


def _run_action(run_id: int, action, done: str):
    """Apply `action(run)`, which may answer the anchor to come back to (`line-…`, `stop-…`; else the top), and say
    `done`; on a refusal, show the run page with the message (nothing changed)."""
    item = _load_run(run_id)
    with refusal() as refused:
        anchor = action(item)
    if refused:
        return _render_run(queries.load_run_for_review(_load_run(run_id)), refused=refused.error)
    return redirect(url_for("deliveries.run", run_id=run_id, done=done,
                            _anchor=anchor if isinstance(anchor, str) else None))


@bp.post("/runs/<int:run_id>/lines/<int:line_id>")
@permission_required("delivery.plan")
def update_line(run_id: int, line_id: int):
    def change(item):
        edit = operations.update_line(current_user, item, line_id, load_form(LineUpdateInputSchema, request.form))
        return f"line-{edit.line.id}" if edit.line is not None else f"stop-{edit.stop.id}"
    return _run_action(run_id, change, "line_saved")


@bp.post("/runs/<int:run_id>/lines/<int:line_id>/delete")
@permission_required("delivery.plan")
def delete_line(run_id: int, line_id: int):
    return _run_action(run_id, lambda item: f"stop-{operations.remove_line(current_user, item, line_id).id}",
                       "line_removed")


@bp.post("/runs/<int:run_id>/stops/<int:stop_id>/lines")
@permission_required("delivery.plan")
def add_line(run_id: int, stop_id: int):
    def add(item):
        added = operations.add_line(current_user, item, stop_id, load_form(LineCreateInputSchema, request.form))
        return f"line-{added[0].id}"
    return _run_action(run_id, add, "line_added")


@bp.post("/runs/<int:run_id>/details")
@permission_required("delivery.plan")
def update_details(run_id: int):
    # Every field is sent: an emptied box clears the value (load_form would read it as "not given").
    def save(item):
        command = RunDetailsInputSchema().load({k: request.form.get(k, "") for k in ("vehicle", "driver", "note")})
        operations.update_run_details(current_user, item, command)
        return "run-details"
    return _run_action(run_id, save, "saved")


@bp.post("/runs/<int:run_id>/confirm")
@permission_required("delivery.plan")
def confirm(run_id: int):
    return _run_action(run_id, lambda item: operations.confirm_run(current_user, item), "confirmed")


@bp.post("/runs/<int:run_id>/reopen")
@permission_required("delivery.plan")
def reopen(run_id: int):
    return _run_action(run_id, lambda item: operations.reopen_run(current_user, item), "reopened")


@bp.post("/runs/<int:run_id>/cancel")
@permission_required("delivery.plan")
def cancel(run_id: int):
    return _run_action(run_id, lambda item: operations.cancel_run(
        current_user, item, load_form(CancelInputSchema, request.form)), "cancelled")


@bp.post("/runs/<int:run_id>/dispatch")
@permission_required("delivery.plan")
def dispatch(run_id: int):
    return _run_action(run_id, lambda item: operations.dispatch_run(current_user, item), "dispatched")


@bp.get("/runs/<int:run_id>/manifest.pdf")
@permission_required("delivery.read")
def manifest(run_id: int):
    return manifest_response(queries.load_run_for_review(_load_run(run_id)))


# ---------------------------------------------------------------- routes

@bp.get("/routes")
@permission_required("route.read")
def routes():
    return render_template("deliveries/routes.html", routes=queries.routes_in_scope(current_user),
                           townships=queries.townships_in_scope(current_user))


def _route_command(form, township, villages) -> dict:
    """The route form as the route schema reads it: the villages given a position, in any order."""
    stops = []
    for village in villages:
        position = (form.get(f"pos_{village.id}") or "").strip()
        if not position:
            continue
        stop = {"village_id": village.id, "position": position}
        for key, name in (("every_n_runs", "every"), ("phase", "phase")):
            value = (form.get(f"{name}_{village.id}") or "").strip()
            if value:
                stop[key] = value
        stops.append(stop)
    data = {key: form.get(key, "") for key in ("name", "departure_time", "vehicle", "driver", "note")
            if form.get(key, "") != ""}
    data.update(township_id=township.id, weekdays=form.getlist("weekdays"), stops=stops,
                is_active=form.get("is_active") == "1")
    names = {village.id: village.name for village in villages}
    return _load_naming_rows(RouteInputSchema(), data, "stops",
                             lambda index: ("stops", names[stops[index]["village_id"]]))


def _route_page(township, route, *, refused=None, form=None):
    villages = queries.villages_of(township)
    on_route = {s.village_id: s for s in route.stops} if route is not None else {}
    elsewhere = queries.villages_on_other_routes(township, route)
    return render_template("deliveries/route_form.html", township=township, route=route, villages=villages,
                           on_route=on_route, elsewhere=elsewhere, error=refused.message if refused else None,
                           fields=refused.fields if refused else {}, form=form), \
        refused.status if refused else 200


@bp.route("/routes/new", methods=["GET", "POST"])
@permission_required("route.edit")
def new_route():
    townships = queries.townships_in_scope(current_user)
    township_id = (request.values.get("township_id", type=ascii_int)
                   or (townships[0].id if len(townships) == 1 else None))
    if township_id is None:
        return render_template("deliveries/routes.html", routes=queries.routes_in_scope(current_user),
                               townships=townships, choose_township=True)
    township = get_facility_in_scope(current_user, township_id)
    if request.method == "GET":
        return _route_page(township, None)
    with refusal() as refused:
        created = operations.save_route(current_user, _route_command(request.form, township,
                                                                      queries.villages_of(township)))
    if refused:
        return _route_page(township, None, refused=refused.error, form=request.form)
    return redirect(url_for("deliveries.routes", saved=created.id))


@bp.route("/routes/<int:route_id>", methods=["GET", "POST"])
@permission_required("route.read")
def edit_route(route_id: int):
    route = load_in_scope(current_user, Route, route_id)
    if request.method == "GET":
        return _route_page(route.township, route)
    with refusal() as refused:
        operations.save_route(current_user, _route_command(request.form, route.township,
                                                           queries.villages_of(route.township)), route=route)
    if refused:
        return _route_page(route.township, route, refused=refused.error, form=request.form)
    return redirect(url_for("deliveries.routes", saved=route.id))


@bp.post("/routes/<int:route_id>/plan")
@permission_required("delivery.plan")
def plan_route(route_id: int):
    route = load_in_scope(current_user, Route, route_id)
    with refusal() as refused:
        planned = operations.plan_route(current_user, route)
    if refused:
        return _render_index(None, error=refused.error.message, code=refused.error.status)
    return redirect(url_for("deliveries.run", run_id=planned.id))


# ---------------------------------------------------------------- receipt (village doctors)

@bp.get("/receipts")
@permission_required("delivery.receive")
def receipts():
    waiting, received = queries.stops_for_receipt(current_user)
    return render_template("deliveries/receipts.html", waiting=waiting, received=received)


def _receipt_command(form, stop) -> dict:
    """The receipt form as the receipt schema reads it: the lines whose "有差异" box is ticked."""
    lines = []
    for line in stop.lines:
        if form.get(f"diff_{line.id}") != "1":
            continue
        item = {"line_id": line.id, "reason": form.get(f"reason_{line.id}", ""),
                "note": form.get(f"note_{line.id}", "")}
        for part in ("packs", "units"):
            value = (form.get(f"qty_{line.id}_{part}") or "").strip()
            if value:
                item[f"qty_received_{part}"] = value
        lines.append(item)
    data = {key: form[key] for key in ("receiver_name", "proxy_reason", "note") if form.get(key)}
    data.update(checked=form.get("checked") == "1", lines=lines)
    return _load_naming_rows(ReceiptInputSchema(), data, "lines", lambda index: (str(lines[index]["line_id"]), ""))


def _load_naming_rows(schema, data: dict, rows: str, name_of):
    """Load a form's command; a refused row is marked where the page shows it (`name_of(index)` → field key and a
    prefix for its messages), not by its place in the list."""
    try:
        return schema.load(data)
    except ValidationError as err:
        messages = dict(err.messages) if isinstance(err.messages, dict) else {"_schema": err.messages}
        nested = messages.pop(rows, None)
        if nested is not None and not isinstance(nested, dict):
            messages[rows] = nested
        for index, problems in (nested.items() if isinstance(nested, dict) else []):
            key, prefix = name_of(int(index))
            for field_messages in problems.values():
                for message in translate_validation_messages(field_messages):
                    messages.setdefault(key, []).append(f"{prefix}：{message}" if prefix else message)
        raise ValidationError(messages) from None


def _receipt_page(stop, **context):
    sign_right = supply.may_sign(current_user, stop.consignment) if stop.consignment is not None else ""
    return render_template("deliveries/receipt.html", stop=stop, reasons=supply.RECEIPT_REASONS,
                           sign_right=sign_right, **context)


@bp.route("/stops/<int:stop_id>/receipt", methods=["GET", "POST"])
@permission_required("delivery.read")
def receipt(stop_id: int):
    stop = load_in_scope(current_user, DeliveryStop, stop_id)
    if request.method == "GET":
        return _receipt_page(stop, done=request.args.get("done"))
    with refusal() as refused:
        operations.receive_stop(current_user, stop, _receipt_command(request.form, stop))
    if refused:
        error = refused.error
        return _receipt_page(stop, error=error.message, fields=error.fields, form=request.form), error.status
    return redirect(url_for("deliveries.receipt", stop_id=stop.id, done=1))


# ---------------------------------------------------------------- alerts

@bp.get("/alerts")
@permission_required("stock.read")
def alerts():
    """Open alerts, most severe first, 100 a page (the list the API shares); a bad filter shows them all."""
    filters = operations.ALERTS.read(request.args)
    return render_template("deliveries/alerts.html", page=operations.ALERTS.page(current_user, filters),
                           kind=filters.get("kind"), facility_id=filters.get("facility_id"),
                           counts=queries.alert_counts(current_user), kinds=list(AlertKind))
