"""API: routes under /api/v1/routes, delivery runs and receipts under /api/v1/deliveries."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import load_in_scope, permission_required
from . import operations, queries
from .manifest import manifest_response
from .models import DeliveryRun, DeliveryStop, Route
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

routes_bp = api_blueprint("routes_api", __name__, "/routes")
bp = api_blueprint("deliveries_api", __name__, "/deliveries")


def _run(run_id: int) -> DeliveryRun:
    return load_in_scope(current_user, DeliveryRun, run_id)


# ---------------------------------------------------------------- routes

@routes_bp.get("")
@permission_required("delivery.read")  # route.read, and a village doctor's delivery.read: the routes serving it
@api_operation(summary="Delivery routes in the caller's scope", tags=["deliveries"], response=RouteSchema, many=True,
               description="A village doctor sees the routes that stop at the village, with only the village's own "
                           "stop listed.")
def list_routes():
    return operations.routes_seen_by(current_user)


@routes_bp.post("")
@permission_required("route.edit")
@api_operation(summary="Add a route: villages in driving order, weekly departures", tags=["deliveries"],
               body=RouteInputSchema, response=RouteSchema, status=201,
               description="Stops are in driving order: the order of the list, or each stop's `position`.")
def create_route(body):
    return operations.save_route(current_user, body)


@routes_bp.get("/<int:route_id>")
@permission_required("route.read")
@api_operation(summary="One route", tags=["deliveries"], response=RouteSchema)
def get_route(route_id: int):
    return load_in_scope(current_user, Route, route_id)


@routes_bp.put("/<int:route_id>")
@permission_required("route.edit")
@api_operation(summary="Change a route (its stops are replaced by the list given)", tags=["deliveries"],
               body=RouteInputSchema, response=RouteSchema)
def update_route(route_id: int, body):
    return operations.save_route(current_user, body, route=load_in_scope(current_user, Route, route_id))


@routes_bp.post("/<int:route_id>/plan")
@permission_required("delivery.plan")
@api_operation(summary="Plan the route's next unplanned departure (or the date given)", tags=["deliveries"],
               body=PlanRouteInputSchema, response=RunSchema, status=201)
def plan_route(route_id: int, body):
    return operations.plan_route(current_user, load_in_scope(current_user, Route, route_id), body)


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
    return operations.plan_route(current_user, load_in_scope(current_user, Route, body["route_id"]), body)


@bp.get("/<int:run_id>")
@permission_required("delivery.read")
@api_operation(summary="One run with its stops, lines and the reason for each line", tags=["deliveries"],
               response=RunSchema)
def get_run(run_id: int):
    return queries.load_run_for_review(_run(run_id))


@bp.patch("/<int:run_id>")
@permission_required("delivery.plan")
@api_operation(summary="Set vehicle, driver and note", tags=["deliveries"], body=RunDetailsInputSchema,
               response=RunSchema)
def update_run(run_id: int, body):
    return operations.update_run_details(current_user, _run(run_id), body)


@bp.post("/<int:run_id>/confirm")
@permission_required("delivery.plan")
@api_operation(summary="Confirm a reviewed plan", tags=["deliveries"], response=RunSchema)
def confirm_run(run_id: int):
    return operations.confirm_run(current_user, _run(run_id))


@bp.post("/<int:run_id>/reopen")
@permission_required("delivery.plan")
@api_operation(summary="Take a confirmed run back to review", tags=["deliveries"], response=RunSchema)
def reopen_run(run_id: int):
    return operations.reopen_run(current_user, _run(run_id))


@bp.post("/<int:run_id>/cancel")
@permission_required("delivery.plan")
@api_operation(summary="Cancel a run that has not left", tags=["deliveries"], body=CancelInputSchema,
               response=RunSchema)
def cancel_run(run_id: int, body):
    return operations.cancel_run(current_user, _run(run_id), body)


@bp.post("/<int:run_id>/dispatch")
@permission_required("delivery.plan")
@api_operation(summary="Dispatch a confirmed run: goods leave the township, in transit to each village",
               tags=["deliveries"], response=RunSchema)
def dispatch_run(run_id: int):
    return operations.dispatch_run(current_user, _run(run_id))


@bp.get("/<int:run_id>/manifest.pdf")
@permission_required("delivery.read")
@api_operation(summary="The run's manifest (PDF, A4)", tags=["deliveries"])
def manifest(run_id: int):
    return manifest_response(queries.load_run_for_review(_run(run_id)))


@bp.patch("/<int:run_id>/lines/<int:line_id>")
@permission_required("delivery.plan")
@api_operation(summary="Change a planned line's quantity (0 removes it)", tags=["deliveries"],
               body=LineUpdateInputSchema, response=RunSchema,
               description="The quantity is `qty_base`, or `qty_packs` and `qty_units`; one of them is required.")
def update_line(run_id: int, line_id: int, body):
    run = _run(run_id)
    operations.update_line(current_user, run, line_id, body)
    return run


@bp.delete("/<int:run_id>/lines/<int:line_id>")
@permission_required("delivery.plan")
@api_operation(summary="Remove a planned line", tags=["deliveries"], response=RunSchema)
def delete_line(run_id: int, line_id: int):
    run = _run(run_id)
    operations.remove_line(current_user, run, line_id)
    return run


@bp.post("/<int:run_id>/stops/<int:stop_id>/lines")
@permission_required("delivery.plan")
@api_operation(summary="Add a product to a stop by hand (FEFO from township stock unless a lot is named)",
               tags=["deliveries"], body=LineCreateInputSchema, response=LineSchema, many=True, status=201,
               description="Name the product by `product_id`, or by `product_query` (name, pinyin initials or "
                           "code: taken when exactly one product the village may stock and the township holds "
                           "matches, else 422 listing the candidates). The quantity is `qty_base`, or `qty_packs` "
                           "and `qty_units`.")
def add_line(run_id: int, stop_id: int, body):
    return operations.add_line(current_user, _run(run_id), stop_id, body)


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
    return load_in_scope(current_user, DeliveryStop, stop_id)


@bp.post("/stops/<int:stop_id>/receipt")
@permission_required("delivery.receive")
@api_operation(summary="Confirm receipt at the village; lines not listed arrived as sent", tags=["deliveries"],
               body=ReceiptInputSchema, response=StopSchema,
               description="The signer checks every line against the goods, as the page's 已逐行核对 box: "
                           "`checked` is required and must be true (422 `not_checked` otherwise). A line that "
                           "differs gives what arrived (`qty_received_base`, or packs and units) and a reason from "
                           "the receipt list (`GET /api/v1/vocabulary`, context `receipt`); an unknown reason is "
                           "refused (422 `unknown_reason`, the line named in `fields`) and nothing is recorded. A "
                           "stop already received answers 200 with its receipt as recorded, unchanged (a resend).")
def receive_stop(stop_id: int, body):
    return operations.receive_stop(current_user, load_in_scope(current_user, DeliveryStop, stop_id), body)


@bp.get("/alerts")
@permission_required("stock.read")
@api_operation(summary="Open stock alerts (stock-outs, below min, near-expiry, expired) in the caller's scope",
               tags=["deliveries"], query=AlertQuerySchema, response=AlertSchema, many=True)
def list_alerts(query):
    return operations.ALERTS.page(current_user, query).items
