"""What the county does in purchasing, once for its pages and its API (see `pharmacy/operations.py`): each
function takes the acting user, the loaded purchase order or supplier where there is one, and the command its
input schema loaded."""

from dataclasses import dataclass

from ..catalog.services import get_product, get_product_by_code
from . import services
from .models import OPEN_PURCHASE_STATUSES, PurchaseOrder, PurchaseStatus, Supplier

CLOSED_SHOWN = 30


@dataclass
class PurchasingOverview:
    """The purchasing page: what stock cannot cover, the best offer for it, and the purchase orders by stage."""

    needs: list
    offers: dict
    proposals: list[PurchaseOrder]
    open_orders: list[PurchaseOrder]
    closed_orders: list[PurchaseOrder]


def overview(user) -> PurchasingOverview:
    central = services.central_pharmacy_for(user)
    needs = services.purchase_needs(central)
    orders = services.list_purchase_orders(central)
    closed = [po for po in orders if po.status in (PurchaseStatus.RECEIVED, PurchaseStatus.CANCELLED)]
    return PurchasingOverview(needs=needs, offers=services.best_offers([n.product.id for n in needs]),
                              proposals=[po for po in orders if po.status == PurchaseStatus.PROPOSED],
                              open_orders=[po for po in orders if po.status in OPEN_PURCHASE_STATUSES],
                              closed_orders=closed[:CLOSED_SHOWN])


def needs(user) -> list:
    return services.purchase_needs(services.central_pharmacy_for(user))


def list_orders(user, query: dict) -> list[PurchaseOrder]:
    return services.list_purchase_orders(services.central_pharmacy_for(user), status=query.get("status"))


def propose(user) -> dict:
    """Fresh proposals per supplier; returns them and the needs no supplier offers."""
    orders, unsupplied = services.propose_purchase_orders(services.central_pharmacy_for(user), user)
    return {"purchase_orders": orders, "without_supplier": unsupplied}


def update_lines(user, po: PurchaseOrder, command: dict) -> PurchaseOrder:
    """The proposal's save button: several lines' quantities and prices at once, all or nothing."""
    changes = {line.pop("line_id"): line for line in command["lines"]}
    return services.update_po_lines(po, changes)


def update_line(user, po: PurchaseOrder, line_id: int, command: dict):
    return services.update_po_line(po, services.get_po_line(po, line_id), **command)


def add_line(user, po: PurchaseOrder, command: dict):
    """Add a product, named by id (API) or by code (page), to a proposal."""
    product = (get_product(command["product_id"]) if "product_id" in command
               else get_product_by_code(command["product_code"].strip()))
    return services.add_po_line(po, product, qty_packs=command["qty_packs"], unit_price=command.get("unit_price"))


def remove_line(user, po: PurchaseOrder, line_id: int) -> None:
    services.remove_po_line(po, services.get_po_line(po, line_id))


def confirm(user, po: PurchaseOrder) -> PurchaseOrder:
    return services.confirm_purchase_order(po, user)


def cancel(user, po: PurchaseOrder, command: dict) -> PurchaseOrder:
    return services.cancel_purchase_order(po, user, command["reason"])


def receive(user, po: PurchaseOrder, command: dict):
    """Book a delivery: one lot per line at the central pharmacy; back-orders are released by the orders domain,
    which hears of the receipt. Returns (the receipt, whether this request booked it: a replay of its key did not)."""
    lines = [services.ReceiptLineInput(**line) for line in command["lines"]]
    receipt = services.receive_goods(po, lines, user=user, key=command["key"], note=command["note"])
    return receipt, not receipt.is_replay


# ------------------------------------------------------------------------------------------- suppliers


def suppliers(user) -> list[Supplier]:
    return services.list_suppliers()


def create_supplier(user, command: dict) -> Supplier:
    return services.create_supplier(**command)


def update_supplier(user, supplier_id: int, command: dict) -> Supplier:
    return services.update_supplier(services.get_supplier(supplier_id), **command)


def set_supplier_product(user, supplier_id: int, command: dict):
    """A supplier's price per pack for a product, named by id (API) or by code (page)."""
    product = (get_product(command["product_id"]) if "product_id" in command
               else get_product_by_code(command["product_code"].strip()))
    return services.set_supplier_product(services.get_supplier(supplier_id), product, command["unit_price"])


def remove_supplier_product(user, supplier_id: int, product_id: int) -> Supplier:
    supplier = services.get_supplier(supplier_id)
    services.remove_supplier_product(supplier, product_id)
    return supplier
