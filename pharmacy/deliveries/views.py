"""Delivery pages: routes, run review and dispatch for pharmacists, receipt for village doctors, stock alerts."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.policy import get_facility_in_scope, has_permission, permission_required
from ..catalog import services as catalog
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..inventory import services as stock
from . import queries, services
from .labels import TEMPLATE_HELPERS
from .manifest import manifest_response
from .models import AlertKind, RunStatus, StopStatus
from ..supply import services as supply
from .services import ReceivedLine, StopSpec

bp = Blueprint("deliveries", __name__, url_prefix="/deliveries")


@bp.context_processor
def helpers():
    return TEMPLATE_HELPERS


def _int(value, field: str, *, default=None, minimum: int = 0) -> int | None:
    value = (value or "").strip()
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(_("请输入整数"), fields={field: [_("应为整数")]}) from None
    if number < minimum:
        raise InvalidInput(_("数量不能为负"), fields={field: [_("不能为负")]})
    return number


def _qty_from_form(form, prefix: str, pack_size: int) -> int | None:
    """Packs and loose base units from two inputs (`<prefix>_packs`, `<prefix>_units`) as base units."""
    packs = _int(form.get(f"{prefix}_packs"), prefix)
    units = _int(form.get(f"{prefix}_units"), prefix)
    if packs is None and units is None:
        return None
    return (packs or 0) * pack_size + (units or 0)


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


@bp.get("/runs/<int:run_id>")
@permission_required("delivery.read")
def run(run_id: int):
    item = queries.load_run_for_review(services.get_run(current_user, run_id))
    return _render_run(item)


def _render_run(item, *, error: str | None = None, status: int = 200, fields: dict | None = None):
    products = queries.township_products(item.township_id) if item.is_editable and has_permission(
        current_user, "delivery.plan") else []
    return render_template("deliveries/run.html", run=item, error=error, fields=fields or {}, products=products,
                           saved=request.args.get("saved")), status


def _run_action(run_id: int, action):
    """Apply `action(run)` to a run; on a refused rule, show the run page with the message (nothing changed)."""
    item = services.get_run(current_user, run_id)
    try:
        action(item)
    except DomainError as exc:
        db.session.rollback()  # show the run as it is, not as the refused change left it in memory
        item = queries.load_run_for_review(services.get_run(current_user, run_id))
        return _render_run(item, error=exc.message, status=exc.status, fields=exc.fields)
    return redirect(url_for("deliveries.run", run_id=item.id, saved=1))


@bp.post("/runs/<int:run_id>/lines/<int:line_id>")
@permission_required("delivery.plan")
def update_line(run_id: int, line_id: int):
    def change(item):
        line = services.line_of(item, line_id)
        qty = _qty_from_form(request.form, "qty", line.product.pack_size)
        if qty is None:
            raise InvalidInput(_("请填写数量"), fields={"qty": [_("必填")]})
        services.update_line(line, qty_base=qty, note=request.form.get("note", ""))
    return _run_action(run_id, change)


@bp.post("/runs/<int:run_id>/lines/<int:line_id>/delete")
@permission_required("delivery.plan")
def delete_line(run_id: int, line_id: int):
    return _run_action(run_id, lambda item: services.remove_line(services.line_of(item, line_id)))


@bp.post("/runs/<int:run_id>/stops/<int:stop_id>/lines")
@permission_required("delivery.plan")
def add_line(run_id: int, stop_id: int):
    def add(item):
        stop = services.stop_of(item, stop_id)
        product_id = _int(request.form.get("product_id"), "product_id")
        if not product_id:
            raise InvalidInput(_("请选择药品"), fields={"product_id": [_("必填")]})
        product = catalog.get_product(product_id)
        qty = _qty_from_form(request.form, "qty", product.pack_size)
        if not qty:
            raise InvalidInput(_("请填写数量"), fields={"qty": [_("必填")]})
        lot_id = _int(request.form.get("lot_id"), "lot_id")
        lot = stock.get_lot(lot_id, product) if lot_id else None
        services.add_line(stop, product, qty_base=qty, lot=lot, note=request.form.get("note", ""))
    return _run_action(run_id, add)


@bp.post("/runs/<int:run_id>/details")
@permission_required("delivery.plan")
def update_details(run_id: int):
    return _run_action(run_id, lambda item: services.update_run_details(
        item, vehicle=request.form.get("vehicle", ""), driver=request.form.get("driver", ""),
        note=request.form.get("note", "")))


@bp.post("/runs/<int:run_id>/confirm")
@permission_required("delivery.plan")
def confirm(run_id: int):
    return _run_action(run_id, lambda item: services.confirm_run(item, user=current_user))


@bp.post("/runs/<int:run_id>/reopen")
@permission_required("delivery.plan")
def reopen(run_id: int):
    return _run_action(run_id, lambda item: services.reopen_run(item, user=current_user))


@bp.post("/runs/<int:run_id>/cancel")
@permission_required("delivery.plan")
def cancel(run_id: int):
    return _run_action(run_id, lambda item: services.cancel_run(item, reason=request.form.get("reason", ""),
                                                                user=current_user))


@bp.post("/runs/<int:run_id>/dispatch")
@permission_required("delivery.plan")
def dispatch(run_id: int):
    return _run_action(run_id, lambda item: services.dispatch_run(item, user=current_user))


@bp.get("/runs/<int:run_id>/manifest.pdf")
@permission_required("delivery.read")
def manifest(run_id: int):
    return manifest_response(queries.load_run_for_review(services.get_run(current_user, run_id)))


# ---------------------------------------------------------------- routes

@bp.get("/routes")
@permission_required("route.read")
def routes():
    return render_template("deliveries/routes.html", routes=queries.routes_in_scope(current_user),
                           townships=queries.townships_in_scope(current_user))


def _route_form_input(form, villages) -> dict:
    stops = []
    for village in villages:
        position = _int(form.get(f"pos_{village.id}"), f"pos_{village.id}", minimum=1)
        if position is None:
            continue
        every = _int(form.get(f"every_{village.id}"), f"every_{village.id}", default=1, minimum=1)
        phase = _int(form.get(f"phase_{village.id}"), f"phase_{village.id}", default=0)
        stops.append(StopSpec(village.id, position, every, phase))
    return {"name": form.get("name", ""), "weekdays": ",".join(form.getlist("weekdays")),
            "departure_time": form.get("departure_time", ""), "vehicle": form.get("vehicle", ""),
            "driver": form.get("driver", ""), "is_active": form.get("is_active") == "1",
            "note": form.get("note", ""), "stops": stops}


def _route_page(township, route, *, error=None, fields=None, status=200, form=None):
    villages = queries.villages_of(township)
    on_route = {s.village_id: s for s in route.stops} if route is not None else {}
    elsewhere = queries.villages_on_other_routes(township, route)
    return render_template("deliveries/route_form.html", township=township, route=route, villages=villages,
                           on_route=on_route, elsewhere=elsewhere, error=error, fields=fields or {},
                           form=form), status


@bp.route("/routes/new", methods=["GET", "POST"])
@permission_required("route.edit")
def new_route():
    townships = queries.townships_in_scope(current_user)
    township_id = request.values.get("township_id", type=int) or (townships[0].id if len(townships) == 1 else None)
    if township_id is None:
        return render_template("deliveries/routes.html", routes=queries.routes_in_scope(current_user),
                               townships=townships, choose_township=True)
    township = get_facility_in_scope(current_user, township_id)
    if request.method == "GET":
        return _route_page(township, None)
    try:
        created = services.save_route(township, **_route_form_input(request.form, queries.villages_of(township)))
    except DomainError as exc:
        return _route_page(township, None, error=exc.message, fields=exc.fields, status=exc.status, form=request.form)
    return redirect(url_for("deliveries.routes", saved=created.id))


@bp.route("/routes/<int:route_id>", methods=["GET", "POST"])
@permission_required("route.read")
def edit_route(route_id: int):
    route = services.get_route(current_user, route_id)
    if request.method == "GET":
        return _route_page(route.township, route)
    if not has_permission(current_user, "route.edit"):
        return _route_page(route.township, route, error=_("您没有权限执行此操作"), status=403)
    try:
        services.save_route(route.township, route=route,
                            **_route_form_input(request.form, queries.villages_of(route.township)))
    except DomainError as exc:
        return _route_page(route.township, route, error=exc.message, fields=exc.fields, status=exc.status,
                           form=request.form)
    return redirect(url_for("deliveries.routes", saved=route.id))


@bp.post("/routes/<int:route_id>/plan")
@permission_required("delivery.plan")
def plan_route(route_id: int):
    route = services.get_route(current_user, route_id)
    try:
        planned = services.plan_next_run(route, user=current_user)
    except DomainError as exc:
        db.session.rollback()
        return _render_index(None, error=exc.message, code=exc.status)
    return redirect(url_for("deliveries.run", run_id=planned.id))


# ---------------------------------------------------------------- receipt (village doctors)

@bp.get("/receipts")
@permission_required("delivery.receive")
def receipts():
    waiting, received = queries.stops_for_receipt(current_user)
    return render_template("deliveries/receipts.html", waiting=waiting, received=received)


def _receipt_form_input(form, stop) -> dict[int, ReceivedLine]:
    received = {}
    for line in stop.lines:
        if form.get(f"diff_{line.id}") != "1":
            continue
        qty = _qty_from_form(form, f"qty_{line.id}", line.product.pack_size)
        reason = form.get(f"reason_{line.id}", "")
        received[line.id] = ReceivedLine(qty if qty is not None else line.qty_base,
                                         reason,
                                         form.get(f"note_{line.id}", ""))
    return received


def _receipt_page(stop, **context):
    sign_right = supply.may_sign(current_user, stop.consignment) if stop.consignment is not None else ""
    return render_template("deliveries/receipt.html", stop=stop, reasons=supply.RECEIPT_REASONS,
                           sign_right=sign_right, **context)


@bp.route("/stops/<int:stop_id>/receipt", methods=["GET", "POST"])
@permission_required("delivery.read")
def receipt(stop_id: int):
    stop = services.get_stop(current_user, stop_id)
    if request.method == "GET":
        return _receipt_page(stop, done=request.args.get("done"))
    if not has_permission(current_user, "delivery.receive"):
        return _receipt_page(stop, error=_("您没有权限执行此操作")), 403
    if stop.status == StopStatus.RECEIVED:
        # A second tap or a resend from a tablet that lost the answer: the receipt stands as recorded.
        return redirect(url_for("deliveries.receipt", stop_id=stop.id, done=1))
    try:
        if request.form.get("checked") != "1":
            raise InvalidInput(_("请先逐行核对，并勾选“已逐行核对”"), fields={"checked": [_("必填")]})
        services.receive_stop(stop, _receipt_form_input(request.form, stop),
                              receiver_name=request.form.get("receiver_name", ""),
                              note=request.form.get("note", ""), proxy_reason=request.form.get("proxy_reason", ""),
                              user=current_user)
    except DomainError as exc:
        db.session.rollback()
        stop = services.get_stop(current_user, stop_id)
        return _receipt_page(stop, error=exc.message, fields=exc.fields, form=request.form), exc.status
    return redirect(url_for("deliveries.receipt", stop_id=stop.id, done=1))


# ---------------------------------------------------------------- alerts

@bp.get("/alerts")
@permission_required("stock.read")
def alerts():
    kind = request.args.get("kind") or None
    if kind not in set(AlertKind):
        kind = None
    return render_template("deliveries/alerts.html", alerts=queries.open_alerts(current_user, kind=kind), kind=kind,
                           counts=queries.alert_counts(current_user), kinds=list(AlertKind))
