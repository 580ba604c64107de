"""What people do with shortage registrations, one function per action, for the pages and the API alike.

Each takes the acting user and a command its input schema (`schemas.py`) loaded, and returns the result; the
registration itself comes loaded in scope (`auth.policy.load_in_scope`). The rules stay in `services.py`, the only
writer of a registration's status (see `pharmacy/operations.py` for the pattern).
"""

from __future__ import annotations

from ..auth.policy import get_facility_in_scope, load_in_scope
from ..catalog.services import get_product
from ..matching.services import propose_products
from . import queries, services
from .models import OPEN_STATUSES, Shortage


def register(user, command: dict) -> tuple[Shortage, bool]:
    """Record what a facility lacks; a resend with the same client id returns the first registration."""
    facility = get_facility_in_scope(user, command.get("facility_id") or user.facility_id)
    product = get_product(command["product_id"]) if command.get("product_id") is not None else None
    return services.register_shortage(
        facility=facility, user=user, client_id=command["client_id"], product=product,
        free_text=command.get("free_text", ""), qty_packs=command["qty_packs"], urgency=command["urgency"],
        reason=command["reason"], note=command.get("note", ""), client_created_at=command.get("client_created_at"))


def list_shortages(user, query: dict) -> list[Shortage]:
    """Registrations the user may see (of one facility's subtree when named), newest first."""
    statuses = query.get("status") or (list(OPEN_STATUSES) if query.get("open") else None)
    return queries.shortages_in(queries.scope_ids(user, query.get("facility_id")), statuses=statuses,
                                limit=query.get("limit", 100),
                                registered_by_id=user.id if query.get("mine") else None)


def my_recent(user, limit: int = 30) -> list[Shortage]:
    """What the user registered at their own facility lately (the tablet's list)."""
    return queries.shortages_in([user.facility_id], registered_by_id=user.id, limit=limit)


def open_groups(user, facility_id: int | None = None) -> list[queries.ProductGroup]:
    """Open registrations the user may see, grouped by product, emergencies first."""
    return queries.open_by_product(queries.scope_ids(user, facility_id))


def free_text_items(user, facility_id: int | None = None, limit: int = 200) -> list[queries.FreeTextItem]:
    """Free-text registrations waiting for a product, each with the products proposed for its text."""
    return queries.free_text_queue(queries.scope_ids(user, facility_id), limit=limit)


def registrable_products(user) -> list[queries.PickItem]:
    return queries.registrable_products(user.facility)


def quick_picks(user) -> list:
    return queries.quick_picks(user.facility)


def propose(user, query: dict):
    """Products the matching engine proposes for a name typed at a facility the user may see."""
    facility = get_facility_in_scope(user, query.get("facility_id") or user.facility_id)
    return propose_products(query["text"].strip(), facility=facility)


def detail(shortage: Shortage) -> dict:
    """A registration with its history, as its page shows it."""
    return {"shortage": shortage, "events": queries.events_of(shortage), "is_open": shortage.is_open}


def acknowledge(user, shortage: Shortage, command: dict) -> Shortage:
    return services.acknowledge(shortage, user=user, note=command.get("note", ""))


def cancel(user, shortage: Shortage, command: dict) -> Shortage:
    return services.cancel(shortage, user=user, reason=command["reason"])


def transition(user, shortage: Shortage, command: dict) -> Shortage:
    """Acknowledge or cancel by status code (the statuses that follow the goods are refused: 409)."""
    return services.transition(shortage, command["status"], user=user, note=command.get("note", ""))


def acknowledge_many(user, command: dict) -> int:
    """Acknowledge the listed registrations that are still only registered (each loaded in the user's scope)."""
    shortages = [load_in_scope(user, Shortage, shortage_id) for shortage_id in sorted(set(command["shortage_ids"]))]
    return services.acknowledge_many(shortages, user=user, note=command.get("note", ""))


def resolve_product(user, shortage: Shortage, command: dict) -> Shortage:
    """Name the product a free-text registration asks for (optionally learning the text as a local name)."""
    return services.resolve_product(shortage, get_product(command["product_id"]), user=user,
                                    learn_alias=command.get("learn_alias", True), note=command.get("note", ""))
