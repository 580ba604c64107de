"""What a user can do with routes, delivery runs and their receipt: one function per action, shared by the pages
(views.py) and the API (api.py). Each takes the acting user, the loaded object and the command its input schema
(schemas.py) loaded, applies every rule and returns the result; services.py holds the writes they call.

Quantities arrive either in base units (`qty_base`, the API's usual form) or as packs and loose units
(`qty_packs`, `qty_units`, what the page's two inputs send); the product's pack size turns the latter into base
units here, where the product is known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from flask_babel import gettext as _

from ..auth.policy import get_facility_in_scope, has_permission, scope_root
from ..catalog import services as catalog
from ..errors import Forbidden, InvalidInput
from ..facilities.services import facilities_under
from ..inventory import services as stock
from ..listing import ListQuery
from ..matching.services import search_products
from ..supply.schemas import REASON_CHOICES
from . import queries, services
from .models import DeliveryLine, DeliveryRun, DeliveryStop, Route, StopStatus
from .schemas import AlertQuerySchema
from .services import ReceivedLine, StopSpec

# Open stock alerts, most severe first: the page shows 100 a page; the API's first page holds 500, as its list
# always did.
ALERTS = ListQuery(AlertQuerySchema, queries.alert_query, per_page=100)

log = logging.getLogger(__name__)

CANDIDATES_SHOWN = 5


# ---------------------------------------------------------------- routes

class RouteSeenBy:
    """A route as one user sees it: a village doctor sees only the stops at the villages in reach."""

    def __init__(self, route: Route, stops):
        self._route, self.stops = route, stops

    def __getattr__(self, name):
        return getattr(self._route, name)


def routes_seen_by(user) -> list[RouteSeenBy]:
    """The routes in the user's scope; on a route of another township's (one that serves the user's village) only
    the user's own stops are listed."""
    visible = {f.id for f in facilities_under(scope_root(user))}
    seen = []
    for route in queries.routes_in_scope(user):
        stops = route.stops if route.township_id in visible else [s for s in route.stops if s.village_id in visible]
        seen.append(RouteSeenBy(route, stops))
    return seen


def save_route(user, command: dict, *, route: Route | None = None) -> Route:
    """Create a route for `command["township_id"]`, or change `route` (its stops are replaced by those given)."""
    if not has_permission(user, "route.edit"):
        raise Forbidden(_("您没有权限执行此操作"))
    if route is None:
        if command.get("township_id") is None:
            raise InvalidInput(_("请选择乡镇卫生院"), fields={"township_id": [_("必填")]})
        township = get_facility_in_scope(user, command["township_id"])
    else:
        township = route.township
    ordered = sorted(enumerate(command["stops"]), key=lambda item: (
        item[1].get("position") if item[1].get("position") is not None else item[0] + 1, item[0]))
    stops = [StopSpec(s["village_id"], position, s["every_n_runs"], s["phase"])
             for position, (_index, s) in enumerate(ordered, start=1)]
    return services.save_route(township, route=route, name=command["name"],
                               weekdays=",".join(map(str, command["weekdays"])),
                               departure_time=command["departure_time"], vehicle=command["vehicle"],
                               driver=command["driver"], is_active=command["is_active"], note=command["note"],
                               stops=stops)


def plan_route(user, route: Route, command: dict | None = None) -> DeliveryRun:
    """Plan the route's next departure that has no run yet, or the departure date the command names."""
    return services.plan_next_run(route, user=user, departure_date=(command or {}).get("departure_date"))


# ---------------------------------------------------------------- run review

def update_run_details(user, run: DeliveryRun, command: dict) -> DeliveryRun:
    """Set the vehicle, driver and note printed on the manifest."""
    return services.update_run_details(run, vehicle=command.get("vehicle"), driver=command.get("driver"),
                                       note=command.get("note"))


def confirm_run(user, run: DeliveryRun) -> DeliveryRun:
    """Accept the reviewed plan."""
    return services.confirm_run(run, user=user)


def reopen_run(user, run: DeliveryRun) -> DeliveryRun:
    """Take a confirmed run back to review."""
    return services.reopen_run(run, user=user)


def cancel_run(user, run: DeliveryRun, command: dict) -> DeliveryRun:
    """Cancel a run that has not left, with the reason."""
    return services.cancel_run(run, reason=command.get("reason", ""), user=user)


def dispatch_run(user, run: DeliveryRun) -> DeliveryRun:
    """Send a confirmed run: each stop's goods leave the township."""
    return services.dispatch_run(run, user=user)


@dataclass
class LineEdit:
    """What an edit left: the stop, and the line unless the edit removed it."""

    stop: DeliveryStop
    line: DeliveryLine | None


def update_line(user, run: DeliveryRun, line_id: int, command: dict) -> LineEdit:
    """Change a planned line's quantity (0 removes it) and note."""
    line = services.line_of(run, line_id)
    stop = line.stop
    qty = _qty_base(command, line.product)
    if qty is None:
        raise InvalidInput(_("请填写数量"), fields={"qty_base": [_("必填")]})
    return LineEdit(stop, services.update_line(line, qty_base=qty, note=command.get("note", "")))


def remove_line(user, run: DeliveryRun, line_id: int) -> DeliveryStop:
    """Drop a planned line; returns its stop."""
    line = services.line_of(run, line_id)
    stop = line.stop
    services.remove_line(line)
    return stop


def add_line(user, run: DeliveryRun, stop_id: int, command: dict) -> list[DeliveryLine]:
    """Add a product to a stop by hand, FEFO from township stock unless a lot is named. The product is named by
    `product_id`, or by `product_query` (name, pinyin initials or code) when it matches exactly one product the
    village may stock and the township holds."""
    stop = services.stop_of(run, stop_id)
    product = _product_for(command, stop, run)
    qty = _qty_base(command, product)
    if not qty:
        raise InvalidInput(_("请填写数量"), fields={"qty_base": [_("必填")]})
    lot = stock.get_lot(command["lot_id"], product) if command.get("lot_id") else None
    return services.add_line(stop, product, qty_base=qty, lot=lot, note=command.get("note", ""))


def _product_for(command: dict, stop: DeliveryStop, run: DeliveryRun):
    if command.get("product_id"):
        return catalog.get_product(command["product_id"])
    text = (command.get("product_query") or "").strip()
    if not text:
        raise InvalidInput(_("请选择药品"), fields={"product_id": [_("必填")]})
    held = {p.id: p for p in queries.township_products(run.township_id)}
    by_code = [p for p in held.values() if p.code.upper() == text.upper()]
    if by_code:
        return by_code[0]
    hits = [hit for hit in search_products(text, facility=stop.village, limit=50) if hit["product_id"] in held]
    if len(hits) == 1:
        return held[hits[0]["product_id"]]
    if not hits:
        raise InvalidInput(_("乡镇库存中没有与“%(text)s”相符、本村可配备的药品", text=text),
                           fields={"product_query": [_("没有找到")]})
    names = "、".join(f"{h['generic_name']} {h['dosage_form']} {h['strength']}（{h['code']}）"
                     for h in hits[:CANDIDATES_SHOWN])
    raise InvalidInput(_("“%(text)s”与多个药品相符，请输入更完整的名称或编码：%(names)s", text=text, names=names),
                       fields={"product_query": [_("有多个药品相符")]})


def _qty_base(command: dict, product) -> int | None:
    """Base units from `qty_base`, or from `qty_packs` and `qty_units` (None when none is given)."""
    if command.get("qty_base") is not None:
        return command["qty_base"]
    packs, units = command.get("qty_packs"), command.get("qty_units")
    if packs is None and units is None:
        return None
    return (packs or 0) * product.pack_size + (units or 0)


# ---------------------------------------------------------------- receipt

def receive_stop(user, stop: DeliveryStop, command: dict) -> DeliveryStop:
    """The village signs for what arrived, line by line (lines not listed arrived as sent).

    The signer states that every line was checked (`checked` true); each difference reason comes from the receipt
    list. A stop already received answers with its receipt as recorded: a second tap, or a tablet resending after
    it lost the answer, changes nothing, even when it arrives while the first is being recorded."""
    if not has_permission(user, "delivery.receive"):
        raise Forbidden(_("您没有权限执行此操作"))
    services.lock_stop(stop)  # a receipt racing this one has committed by now, or waits for this one
    if stop.status == StopStatus.RECEIVED:
        log.info("delivery stop %s: receipt sent again by %s, answered as recorded", stop.id, user.username)
        return stop
    if command.get("checked") is not True:
        raise InvalidInput(_("请先逐行核对，并勾选“已逐行核对”"), fields={"checked": [_("必填")]},
                           code="not_checked")
    lines = {line.id: line for line in stop.lines}
    received, errors = {}, {}
    for item in command.get("lines", []):
        line = lines.get(item["line_id"])
        reason = item.get("reason") or ""
        if reason not in REASON_CHOICES:
            errors[str(item["line_id"])] = [_("未知的差异原因：%(reason)s", reason=reason)]
        if line is None:
            received[item["line_id"]] = ReceivedLine(0, reason, "")  # refused as not of this stop below
            continue
        qty = _received_qty(item, line)
        received[line.id] = ReceivedLine(qty, reason, item.get("note", ""))
    if errors:
        raise InvalidInput(_("签收数据有误，请检查标出的明细"), fields=errors, code="unknown_reason")
    return services.receive_stop(stop, received, receiver_name=command.get("receiver_name", ""),
                                 note=command.get("note", ""), proxy_reason=command.get("proxy_reason", ""),
                                 user=user)


def _received_qty(item: dict, line: DeliveryLine) -> int:
    if item.get("qty_received_base") is not None:
        return item["qty_received_base"]
    packs, units = item.get("qty_received_packs"), item.get("qty_received_units")
    if packs is None and units is None:
        return line.qty_base  # listed for its note, or its box ticked without a number: as sent
    return (packs or 0) * line.product.pack_size + (units or 0)
