"""What townships and the county do with unified orders, once for the pages and the API (see
`pharmacy/operations.py`): each function takes the acting user, the loaded order where there is one, and the
command its input schema loaded (`schemas.py`: the API's bodies, and the page forms read into the same shapes)."""

import base64
from urllib.parse import quote

from flask_babel import gettext as _

from .. import clock
from ..auth.policy import get_facility_in_scope, has_permission, load_in_scope
from ..catalog.services import get_product
from ..errors import DomainError, InvalidInput
from ..facilities.models import Tier
from ..facilities.services import central_pharmacy_of
from ..supply import services as supply
from . import fulfilment, importing, queries, services
from .models import Order, OrderStatus, Shipment
from .pdf import pick_list_pdf

SEARCH_URL = "/api/v1/catalog/search"


def _changes(command: dict) -> dict[int, dict]:
    """The builder's unsaved line edits, {line id: {qty_packs, urgency}}."""
    return {line["line_id"]: {k: v for k, v in line.items() if k != "line_id"} for line in command.get("lines", [])}


def _township(user, facility_id):
    return get_facility_in_scope(user, facility_id or user.facility_id)


# ------------------------------------------------------------------------------------------- lists and pages


def index(user, query) -> dict:
    """The order list: the user's orders (optionally of one status), back-orders, and whether they build."""
    status = query.get("status") or None
    if status not in set(OrderStatus):
        status = None
    return {"orders": queries.orders_for(user, status=status), "status": status,
            "can_build": has_permission(user, "order.build") and user.facility.tier == Tier.TOWNSHIP,
            "backorders": queries.backorders_for(user)}


def list_orders(user, query: dict) -> list[Order]:
    return queries.orders_for(user, status=query.get("status"), facility_id=query.get("facility_id"))


def order_page(user, order: Order) -> dict:
    """What the order page shows: the order with its lines, and what the user may do with it."""
    fulfilment.order_detail(order)
    can_edit = order.status == OrderStatus.DRAFT and has_permission(user, "order.build")
    free_text = [s for s in services.open_shortages(order.facility, exclude_order_id=order.id)
                 if s.product_id is None] if can_edit else []
    return {"order": order, "lines": queries.sorted_lines(order), "can_edit": can_edit,
            "free_text_shortages": free_text, "search_url": SEARCH_URL,
            "can_ship": has_permission(user, "order.approve"), "can_receive": has_permission(user, "order.receive")}


def approval_queue(user) -> list[Order]:
    return queries.approval_queue(user)


def sorted_lines(order: Order):
    """An order's lines as the pages list them: emergency first, then by name."""
    return queries.sorted_lines(order)


def backorders(user):
    return queries.backorders_for(user)


def fulfilment_overview(user) -> dict:
    return {"approved": queries.orders_in_status(user, OrderStatus.APPROVED),
            "allocated": queries.orders_in_status(user, OrderStatus.ALLOCATED),
            "shipped": queries.orders_in_status(user, OrderStatus.SHIPPED),
            "backorders": queries.backorders_for(user)}


# ------------------------------------------------------------------------------------------- the township's draft


def build_draft(user, command: dict) -> Order:
    return services.build_draft_order(_township(user, command.get("facility_id")), user)


def _import(user, township, command: dict, order: Order | None):
    data = command.get("file") or command.get("carried_file")
    if not data:
        raise InvalidInput(_("请选择要导入的 Excel 文件"), fields={"file": [_("必填")]})
    picks = {pick["row"]: pick["product_id"] for pick in command.get("picks", [])}
    try:
        order, rows = importing.import_order(township, data, user, order=order, changes=_changes(command),
                                             picks=picks)
    except DomainError as exc:
        # Rows to settle by picking: the file rides back (base64) so the page need not ask for it again.
        if isinstance(exc.details, list) and any(p.get("candidates") for p in exc.details):
            exc.carried_file = base64.b64encode(data).decode("ascii")
        raise
    return {"order": order, "imported_rows": rows}


def import_order(user, command: dict) -> dict:
    """A new draft (or the open one) from a spreadsheet; a file with any bad row is refused whole."""
    return _import(user, _township(user, command.get("facility_id")), command, None)


def import_into_draft(user, order: Order, command: dict) -> dict:
    """A spreadsheet into this draft, after the builder's unsaved edits; `picks` settle ambiguous rows."""
    return _import(user, order.facility, command, order)


def save_lines(user, order: Order, command: dict) -> Order:
    return services.update_lines(order, _changes(command))


def add_line(user, order: Order, command: dict):
    """A product onto a draft by hand (after the builder's unsaved edits, if any)."""
    if command.get("product_id") is None:
        message = _("请先搜索并选择药品")
        raise InvalidInput(message, fields={"product_id": [message]})
    return services.add_line(order, get_product(command["product_id"]), qty_packs=command["qty_packs"], user=user,
                             is_for_villages=command.get("is_for_villages", False),
                             urgency=command.get("urgency", "routine"), note=command.get("note", ""),
                             changes=_changes(command))


def update_line(user, order: Order, line_id: int, command: dict):
    return services.update_line(order, services.get_line(order, line_id), **command)


def remove_line(user, order: Order, line_id: int) -> None:
    services.remove_line(order, services.get_line(order, line_id))


def submit(user, order: Order, command: dict) -> Order:
    return services.submit_order(order, user, changes=_changes(command))


def cancel(user, order: Order, command: dict) -> Order:
    return services.cancel_order(order, user, command.get("reason", ""))


# ------------------------------------------------------------------------------------------- the county


def review(user, order: Order, command: dict) -> Order:
    """The county's decisions on some lines, then the order approved (undecided lines as asked)."""
    decisions = {d["line_id"]: {k: v for k, v in d.items() if k != "line_id"} for d in command["decisions"]}
    return services.review_order(order, decisions, user)


def approve_line(user, order: Order, line_id: int, command: dict):
    return services.set_approved_qty(order, services.get_line(order, line_id), qty_packs=command["qty_packs"],
                                     reason=command["reason"], user=user)


def reject_line(user, order: Order, line_id: int, command: dict):
    return services.reject_line(order, services.get_line(order, line_id), reason=command["reason"], user=user)


def approve(user, order: Order) -> Order:
    return services.approve_order(order, user)


def reject(user, order: Order, command: dict) -> Order:
    return services.reject_order(order, reason=command.get("reason", ""), user=user)


def allocate(user, command: dict) -> list[Order]:
    """Fill the approved orders chosen from central stock in one fair run."""
    orders = [load_in_scope(user, Order, order_id, for_update=True) for order_id in sorted(set(command["order_ids"]))]
    return fulfilment.allocate_orders(orders, user)


def release_backorders(user):
    return fulfilment.release_backorders(central_pharmacy_of(user.facility), None, user)


def pick_list(user, order: Order) -> tuple[bytes, str]:
    """The pick list PDF and its file name."""
    central = central_pharmacy_of(order.facility)
    pdf = pick_list_pdf(order, fulfilment.pick_list_rows(order), central_name=central.name if central else "",
                        printed_at=clock.now_local())
    return pdf, quote(f"pick-list-{order.number}.pdf")


def ship(user, order: Order, command: dict) -> tuple[Shipment, bool]:
    """Ship the allocated lots; returns (the shipment, whether this request sent it: a retry of its key did not)."""
    shipment = fulfilment.ship_order(order, user, key=command.get("key"))
    return shipment, not shipment.is_replay


# ------------------------------------------------------------------------------------------- the township's receipt


def receipt_page(user, order: Order, shipment_id: int) -> dict:
    shipment = fulfilment.get_shipment(order, shipment_id)
    return {"order": order, "shipment": shipment, "reasons": supply.RECEIPT_REASONS,
            "sign_right": supply.may_sign(user, shipment.consignment)}


def receive(user, order: Order, shipment_id: int, command: dict):
    """Sign for a shipment: lines received as sent need no entry; a difference needs its reason."""
    shipment = fulfilment.get_shipment(order, shipment_id)
    sent = {line.id: line.qty_base_sent for line in shipment.transfer.lines}
    received = {line["transfer_line_id"]: (line["qty_base"], line["reason"], line["note"])
                for line in command["lines"] if sent.get(line["transfer_line_id"]) != line["qty_base"]}
    return fulfilment.receive_shipment(order, shipment, received, user)
