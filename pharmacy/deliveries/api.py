"""API: routes under /api/v1/routes, delivery runs and receipts under /api/v1/deliveries."""

from flask import jsonify
from flask_babel import gettext as _
from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import get_facility_in_scope, permission_required, scope_root
from ..catalog import services as catalog
from ..errors import InvalidInput
from ..facilities.services import facilities_under
from ..inventory import services as stock
from . import queries, services
from .manifest import manifest_response
from .schemas import (
    AlertQuerySchema,
    AlertSchema,
    CancelInputSchema,
    LineCreateInputSchema,
    LineSchema,
    LineUpdateInputSchema,
    PlanRouteInputSchema,
    PlanRunInputSchema,
    ReceiptInputSchema,
    RouteInputSchema,
    RouteSchema,
    RunDetailsInputSchema,
    RunQuerySchema,
    RunSchema,
    RunSummarySchema,
    StopQuerySchema,
    StopSchema,
)
from .services import ReceivedLine, StopSpec

routes_bp = api_blueprint("routes_api", __name__, "/routes")
bp = api_blueprint("deliveries_api", __name__, "/deliveries")


def _stop_specs(body) -> list[StopSpec]:
    return [StopSpec(s["village_id"], position, s["every_n_runs"], s["phase"])
            for position, s in enumerate(body["stops"], start=1)]


# ---------------------------------------------------------------- routes

@routes_bp.get("")
@permission_required("delivery.read")  # route.read, and a village doctor's delivery.read: the routes serving it
@api_operation(summary="Delivery routes in the caller's scope", tags=["deliveries"], response=RouteSchema, many=True,
               description="A village doctor sees the routes that stop at the village, with only the village's own "
                           "stop listed.")
def list_routes():
    routes = RouteSchema(many=True).dump(queries.routes_in_scope(current_user))
    visible = {f.id for f in facilities_under(scope_root(current_user))}
    for route in routes:
        if route["township_id"] not in visible:
            route["stops"] = [stop for stop in route["stops"] if stop["village_id"] in visible]
    return jsonify(routes)


@routes_bp.post("")
@permission_required("route.edit")
@api_operation(summary="Add a route: villages in driving order, weekly departures", tags=["deliveries"],
               body=RouteInputSchema, response=RouteSchema, status=201)
def create_route(body):
    if body["township_id"] is None:
        raise InvalidInput(_("请选择乡镇卫生院"), fields={"township_id": [_("必填")]})
    township = get_facility_in_scope(current_user, body.pop("township_id"))
    return services.save_route(township, stops=_stop_specs(body), weekdays=",".join(map(str, body.pop("weekdays"))),
                               **{k: v for k, v in body.items() if k != "stops"})


@routes_bp.get("/<int:route_id>")
@permission_required("route.read")
@api_operation(summary="One route", tags=["deliveries"], response=RouteSchema)
def get_route(route_id: int):
    return services.get_route(current_user, route_id)


@routes_bp.put("/<int:route_id>")
@permission_required("route.edit")
@api_operation(summary="Change a route (its stops are replaced by the list given)", tags=["deliveries"],
               body=RouteInputSchema, response=RouteSchema)
def update_route(route_id: int, body):
    route = services.get_route(current_user, route_id)
    body.pop("township_id")
    return services.save_route(route.township, route=route, stops=_stop_specs(body),
                               weekdays=",".join(map(str, body.pop("weekdays"))),
                               **{k: v for k, v in body.items() if k != "stops"})


@routes_bp.post("/<int:route_id>/plan")
@permission_required("delivery.plan")
@api_operation(summary="Plan the route's next unplanned departure (or the date given)", tags=["deliveries"],
               body=PlanRouteInputSchema, response=RunSchema, status=201)
def plan_route(route_id: int, body):
    route = services.get_route(current_user, route_id)
    return services.plan_next_run(route, user=current_user, departure_date=body["departure_date"])


# ---------------------------------------------------------------- runs

@bp.get("")
@permission_required("delivery.read")
@api_operation(summary="Delivery runs in the caller's scope, latest departure first", tags=["deliveries"],
               query=RunQuerySchema, response=RunSummarySchema, many=True)
def list_runs(query):
    return queries.runs_in_scope(current_user, status=query["status"], route_id=query["route_id"])


@bp.post("")
@permission_required("delivery.plan")
@api_operation(summary="Plan a route's run", tags=["deliveries"], body=PlanRunInputSchema, response=RunSchema,
               status=201)
def plan_run(body):
    route = services.get_route(current_user, body["route_id"])
    return services.plan_next_run(route, user=current_user, departure_date=body["departure_date"])


@bp.get("/<int:run_id>")
@permission_required("delivery.read")
@api_operation(summary="One run with its stops, lines and the reason for each line", tags=["deliveries"],
               response=RunSchema)
def get_run(run_id: int):
    return queries.load_run_for_review(services.get_run(current_user, run_id))


@bp.patch("/<int:run_id>")
@permission_required("delivery.plan")
@api_operation(summary="Set vehicle, driver and note", tags=["deliveries"], body=RunDetailsInputSchema,
               response=RunSchema)
def update_run(run_id: int, body):
    return services.update_run_details(services.get_run(current_user, run_id), **body)


@bp.post("/<int:run_id>/confirm")
@permission_required("delivery.plan")
@api_operation(summary="Confirm a reviewed plan", tags=["deliveries"], response=RunSchema)
def confirm_run(run_id: int):
    return services.confirm_run(services.get_run(current_user, run_id), user=current_user)


@bp.post("/<int:run_id>/reopen")
@permission_required("delivery.plan")
@api_operation(summary="Take a confirmed run back to review", tags=["deliveries"], response=RunSchema)
def reopen_run(run_id: int):
    return services.reopen_run(services.get_run(current_user, run_id), user=current_user)


@bp.post("/<int:run_id>/cancel")
@permission_required("delivery.plan")
@api_operation(summary="Cancel a run that has not left", tags=["deliveries"], body=CancelInputSchema,
               response=RunSchema)
def cancel_run(run_id: int, body):
    return services.cancel_run(services.get_run(current_user, run_id), reason=body["reason"], user=current_user)


@bp.post("/<int:run_id>/dispatch")
@permission_required("delivery.plan")
@api_operation(summary="Dispatch a confirmed run: goods leave the township, in transit to each village",
               tags=["deliveries"], response=RunSchema)
def dispatch_run(run_id: int):
    return services.dispatch_run(services.get_run(current_user, run_id), user=current_user)


@bp.get("/<int:run_id>/manifest.pdf")
@permission_required("delivery.read")
@api_operation(summary="The run's manifest (PDF, A4)", tags=["deliveries"])
def manifest(run_id: int):
    return manifest_response(queries.load_run_for_review(services.get_run(current_user, run_id)))


@bp.patch("/<int:run_id>/lines/<int:line_id>")
@permission_required("delivery.plan")
@api_operation(summary="Change a planned line's quantity (0 removes it)", tags=["deliveries"],
               body=LineUpdateInputSchema, response=RunSchema)
def update_line(run_id: int, line_id: int, body):
    run = services.get_run(current_user, run_id)
    services.update_line(services.line_of(run, line_id), qty_base=body["qty_base"], note=body["note"])
    return run


@bp.delete("/<int:run_id>/lines/<int:line_id>")
@permission_required("delivery.plan")
@api_operation(summary="Remove a planned line", tags=["deliveries"], response=RunSchema)
def delete_line(run_id: int, line_id: int):
    run = services.get_run(current_user, run_id)
    services.remove_line(services.line_of(run, line_id))
    return run


@bp.post("/<int:run_id>/stops/<int:stop_id>/lines")
@permission_required("delivery.plan")
@api_operation(summary="Add a product to a stop by hand (FEFO from township stock unless a lot is named)",
               tags=["deliveries"], body=LineCreateInputSchema, response=LineSchema, many=True, status=201)
def add_line(run_id: int, stop_id: int, body):
    run = services.get_run(current_user, run_id)
    stop = services.stop_of(run, stop_id)
    product = catalog.get_product(body["product_id"])
    lot = stock.get_lot(body["lot_id"], product) if body["lot_id"] else None
    return services.add_line(stop, product, qty_base=body["qty_base"], lot=lot, note=body["note"])


# ---------------------------------------------------------------- receipt

@bp.get("/stops")
@permission_required("delivery.read")
@api_operation(summary="Stops at the villages in the caller's scope (a village: its incoming deliveries), latest "
                       "departure first", tags=["deliveries"], query=StopQuerySchema, response=StopSchema, many=True,
               description="Each stop names its run and its consignment (`consignment_id`, also the ledger's "
                           "`transfer_id` under /api/v1/stock/transfers); `status=dispatched` lists what is on its "
                           "way to be signed for.")
def list_stops(query):
    return queries.stops_in_scope(current_user, status=query["status"], village_id=query["village_id"])


@bp.get("/stops/<int:stop_id>")
@permission_required("delivery.read")
@api_operation(summary="One stop of a run, with what was sent and received", tags=["deliveries"],
               response=StopSchema)
def get_stop(stop_id: int):
    return services.get_stop(current_user, stop_id)


@bp.post("/stops/<int:stop_id>/receipt")
@permission_required("delivery.receive")
@api_operation(summary="Confirm receipt at the village; lines not listed arrived as sent", tags=["deliveries"],
               body=ReceiptInputSchema, response=StopSchema)
def receive_stop(stop_id: int, body):
    stop = services.get_stop(current_user, stop_id)
    received = {item["line_id"]: ReceivedLine(item["qty_received_base"], item["reason"], item["note"])
                for item in body["lines"]}
    return services.receive_stop(stop, received, receiver_name=body["receiver_name"], note=body["note"],
                                 proxy_reason=body["proxy_reason"], user=current_user)


@bp.get("/alerts")
@permission_required("stock.read")
@api_operation(summary="Open stock alerts (stock-outs, below min, near-expiry, expired) in the caller's scope",
               tags=["deliveries"], query=AlertQuerySchema, response=AlertSchema, many=True)
def list_alerts(query):
    return queries.open_alerts(current_user, kind=query["kind"], facility_id=query["facility_id"])
