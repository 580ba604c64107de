"""What people do with the formulary, for its pages and its API alike (see `pharmacy/operations.py`).

Each function takes the acting user and a command loaded by a schema of `schemas.py`; the services hold the rules
(reason required, withdraw never deletes, one history row per change) and write the history.
"""

from ..auth.policy import require_permission
from ..listing import Page
from . import queries, services
from .models import CatalogChange, Drug, Product, ProductStatus


def products_page(user, filters: dict) -> Page:
    """One page of the formulary as the filters select it."""
    require_permission(user, "catalog.read")
    return queries.PRODUCTS.page(user, filters)


def export_rows(user, filters: dict):
    """Every product the filters select, as export rows (streamed, not held in memory)."""
    require_permission(user, "catalog.read")
    return queries.export_rows(filters)


def update_product(user, product: Product, command: dict) -> list[CatalogChange]:
    """Change a product's county terms (price, 集采 batch, 医保 class, lowest tier, pack, remarks) with a reason;
    fields sent with their current value are not changes, and a command without any change is refused."""
    require_permission(user, "catalog.edit")
    changes = dict(command)
    reason = changes.pop("reason", "")
    return services.update_product(product, changes, reason=reason, user=user)


def set_product_status(user, product: Product, command: dict) -> CatalogChange:
    """Withdraw a product (it is never deleted) or reinstate it, with a reason."""
    require_permission(user, "catalog.edit")
    return services.set_product_status(product, command["status"], reason=command["reason"], user=user)


def withdraw_product(user, product: Product, command: dict) -> CatalogChange:
    return set_product_status(user, product, {**command, "status": ProductStatus.WITHDRAWN})


def reinstate_product(user, product: Product, command: dict) -> CatalogChange:
    return set_product_status(user, product, {**command, "status": ProductStatus.ACTIVE})


def add_product(user, drug: Drug, command: dict) -> Product:
    """Add a dosage form × strength to a drug, with a reason."""
    require_permission(user, "catalog.edit")
    return services.add_product(drug, user=user, **command)


def set_chronic_tags(user, drug: Drug, command: dict) -> CatalogChange:
    """Set a drug's chronic-disease tags (none clears them), with a reason."""
    require_permission(user, "catalog.edit")
    return services.set_chronic_tags(drug, command["chronic_tags"], reason=command["reason"], user=user)
