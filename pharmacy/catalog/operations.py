"""What people do with the formulary, for its pages and its API alike (see `pharmacy/operations.py`).

Each function takes the acting user and a command loaded by a schema of `schemas.py`; the services hold the rules
(reason required, withdraw never deletes, one history row per change) and write the history.
"""

from flask_babel import gettext as _

from ..auth.policy import has_permission, require_permission
from ..errors import Forbidden
from ..listing import Page
from . import editions, queries, services
from .models import CatalogChange, Drug, DrugGroup, EditionSetting, Product, ProductStatus


def products_page(user, filters: dict) -> Page:
    """One page of the formulary as the filters select it; each product carries its drug's edition badge."""
    require_permission(user, "catalog.read")
    result = queries.PRODUCTS.page(user, filters)
    changes = {edition: editions.edition_changes(edition) for edition in {p.edition for p in result.items}}
    for product in result.items:
        product.edition_change = changes[product.edition].get(product.drug_id)
    return result


def formulary_page(user, filters: dict) -> dict:
    """The formulary page: one edition at a time (the edition in force unless another is chosen), its badges,
    its class tree and drug groups, and the county's edition setting."""
    require_permission(user, "catalog.read")
    overview = editions_overview(user)
    filters = {**filters, "edition": filters.get("edition") or overview["in_force"]}
    return {"result": products_page(user, filters), "filters": filters, "editions": overview,
            "classes": services.class_tree(filters["edition"]), "groups": services.drug_groups(filters["edition"]),
            "may_set_edition": may_set_edition(user)}


def may_set_edition(user) -> bool:
    return has_permission(user, "catalog.edit") or has_permission(user, "admin.manage")


def editions_overview(user) -> dict:
    """Which editions are loaded, which is in force today, and the county's choices."""
    require_permission(user, "catalog.read")
    return {"in_force": editions.edition_in_force(), "loaded": editions.loaded_editions(),
            "scheduled": editions.scheduled_setting(), "history": editions.settings()}


def set_edition_in_force(user, command: dict) -> EditionSetting:
    """Choose the list edition in force and the day it takes effect (formulary admin or county pharmacist), with
    a reason; an edition not loaded is refused."""
    if not may_set_edition(user):
        raise Forbidden(_("您没有权限执行此操作"))
    return services.set_edition_in_force(command["edition"], command["effective_from"], reason=command["reason"],
                                         user=user)


def drug_groups(user, filters: dict) -> list[DrugGroup]:
    """The scope entries of an edition (the edition in force by default) that name drug groups."""
    require_permission(user, "catalog.read")
    return services.drug_groups(filters.get("edition") or editions.edition_in_force())


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
