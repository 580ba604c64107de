"""API: the formulary under /api/v1/catalog."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import load_in_scope, permission_required
from . import operations, services
from .models import Drug, Product
from .schemas import (ChangeSchema, ChronicTagsSchema, ClassSchema, DrugGroupSchema, DrugSchema,
                      EditionSettingInputSchema, EditionSettingSchema, EditionsSchema, GroupQuerySchema,
                      ProductCreateSchema, ProductPageSchema, ProductQuerySchema, ProductSchema, ProductUpdateSchema,
                      ReasonSchema)

bp = api_blueprint("catalog_api", __name__, "/catalog")


@bp.get("/products")
@permission_required("catalog.read")
@api_operation(summary="Browse and filter formulary products", tags=["catalog"], query=ProductQuerySchema,
               response=ProductPageSchema,
               description="`edition` keeps one list edition (omitted: every edition); `change` keeps the drugs "
                           "with that edition badge (`added`, `removed`, `strength_changed`) compared with the "
                           "neighbouring edition, of `edition` or else of the edition in force. Each item carries "
                           "its `edition_change` (null when unchanged).")
def list_products(query):
    return operations.products_page(current_user, query)


@bp.get("/products/<int:product_id>")
@permission_required("catalog.read")
@api_operation(summary="One product", tags=["catalog"], response=ProductSchema)
def get_product(product_id: int):
    return load_in_scope(current_user, Product, product_id)


@bp.patch("/products/<int:product_id>")
@permission_required("catalog.edit")
@api_operation(summary="Change a product's price, flags or lowest tier (reason required)", tags=["catalog"],
               body=ProductUpdateSchema, response=ProductSchema)
def update_product(product_id: int, body):
    product = load_in_scope(current_user, Product, product_id)
    operations.update_product(current_user, product, body)
    return product


@bp.post("/products/<int:product_id>/withdraw")
@permission_required("catalog.edit")
@api_operation(summary="Withdraw a product (it is never deleted)", tags=["catalog"], body=ReasonSchema,
               response=ProductSchema)
def withdraw_product(product_id: int, body):
    product = load_in_scope(current_user, Product, product_id)
    operations.withdraw_product(current_user, product, body)
    return product


@bp.post("/products/<int:product_id>/reinstate")
@permission_required("catalog.edit")
@api_operation(summary="Reinstate a withdrawn product", tags=["catalog"], body=ReasonSchema, response=ProductSchema)
def reinstate_product(product_id: int, body):
    product = load_in_scope(current_user, Product, product_id)
    operations.reinstate_product(current_user, product, body)
    return product


@bp.post("/drugs/<int:drug_id>/products")
@permission_required("catalog.edit")
@api_operation(summary="Add a dosage form and strength to a drug", tags=["catalog"], body=ProductCreateSchema,
               response=ProductSchema, status=201)
def add_product(drug_id: int, body):
    return operations.add_product(current_user, load_in_scope(current_user, Drug, drug_id), body)


@bp.put("/drugs/<int:drug_id>/chronic-tags")
@permission_required("catalog.edit")
@api_operation(summary="Set a drug's chronic-disease tags (reason required)", tags=["catalog"],
               body=ChronicTagsSchema, response=DrugSchema)
def set_chronic_tags(drug_id: int, body):
    drug = load_in_scope(current_user, Drug, drug_id)
    operations.set_chronic_tags(current_user, drug, body)
    return drug


@bp.get("/products/<int:product_id>/history")
@permission_required("catalog.read")
@api_operation(summary="Change history of a product", tags=["catalog"], response=ChangeSchema, many=True)
def product_history(product_id: int):
    return services.history(product=load_in_scope(current_user, Product, product_id))


@bp.get("/classes")
@permission_required("catalog.read")
@api_operation(summary="Therapeutic classes with product counts", tags=["catalog"], query=GroupQuerySchema,
               response=ClassSchema, many=True,
               description="A cross-listed drug counts under each of its class paths. `edition` keeps one edition "
                           "(omitted: every edition).")
def classes(query):
    return services.class_tree(query["edition"])


@bp.get("/editions")
@permission_required("catalog.read")
@api_operation(summary="Editions loaded, the edition in force and the county's choices", tags=["catalog"],
               response=EditionsSchema)
def editions():
    return operations.editions_overview(current_user)


@bp.put("/edition")
@permission_required("catalog.read")
@api_operation(summary="Choose the edition in force and its effective date (reason required)", tags=["catalog"],
               body=EditionSettingInputSchema, response=EditionSettingSchema,
               description="Formulary admin or county pharmacist (catalog.edit or admin.manage; others 403). "
                           "An edition that is not loaded is refused (422); the same edition and date as the "
                           "current choice is refused as no_change (422). The choice takes effect on "
                           "`effective_from` (2018 is in force until a county chooses); it is kept in the "
                           "catalog history and the audit trail.")
def set_edition(body):
    return operations.set_edition_in_force(current_user, body)


@bp.get("/groups")
@permission_required("catalog.read")
@api_operation(summary="Scope entries of an edition that name drug groups", tags=["catalog"], query=GroupQuerySchema,
               response=DrugGroupSchema, many=True)
def groups(query):
    return operations.drug_groups(current_user, query)
