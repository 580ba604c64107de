"""API: the formulary under /api/v1/catalog."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import permission_required
from ..extensions import db
from . import services
from .schemas import (ChangeSchema, ChronicTagsSchema, DrugSchema, ClassSchema, ProductCreateSchema, ProductPageSchema, ProductQuerySchema,
                      ProductSchema, ProductUpdateSchema, ReasonSchema)

bp = api_blueprint("catalog_api", __name__, "/catalog")


@bp.get("/products")
@permission_required("catalog.read")
@api_operation(summary="Browse and filter formulary products", tags=["catalog"], query=ProductQuerySchema,
               response=ProductPageSchema)
def list_products(query):
    page, per_page = query.pop("page"), query.pop("per_page")
    result = db.paginate(services.product_query(**query), page=page, per_page=per_page, error_out=False)
    return {"items": result.items, "total": result.total, "page": page, "per_page": per_page}


@bp.get("/products/<int:product_id>")
@permission_required("catalog.read")
@api_operation(summary="One product", tags=["catalog"], response=ProductSchema)
def get_product(product_id: int):
    return services.get_product(product_id)


@bp.patch("/products/<int:product_id>")
@permission_required("catalog.edit")
@api_operation(summary="Change a product's price, flags or lowest tier (reason required)", tags=["catalog"],
               body=ProductUpdateSchema, response=ProductSchema)
def update_product(product_id: int, body):
    product = services.get_product(product_id)
    reason = body.pop("reason")
    services.update_product(product, body, reason=reason, user=current_user)
    return product


@bp.post("/products/<int:product_id>/withdraw")
@permission_required("catalog.edit")
@api_operation(summary="Withdraw a product (it is never deleted)", tags=["catalog"], body=ReasonSchema,
               response=ProductSchema)
def withdraw_product(product_id: int, body):
    product = services.get_product(product_id)
    services.set_product_status(product, "withdrawn", reason=body["reason"], user=current_user)
    return product


@bp.post("/products/<int:product_id>/reinstate")
@permission_required("catalog.edit")
@api_operation(summary="Reinstate a withdrawn product", tags=["catalog"], body=ReasonSchema, response=ProductSchema)
def reinstate_product(product_id: int, body):
    product = services.get_product(product_id)
    services.set_product_status(product, "active", reason=body["reason"], user=current_user)
    return product


@bp.post("/drugs/<int:drug_id>/products")
@permission_required("catalog.edit")
@api_operation(summary="Add a dosage form and strength to a drug", tags=["catalog"], body=ProductCreateSchema,
               response=ProductSchema, status=201)
def add_product(drug_id: int, body):
    drug = services.get_drug(drug_id)
    return services.add_product(drug, user=current_user, **body)


@bp.put("/drugs/<int:drug_id>/chronic-tags")
@permission_required("catalog.edit")
@api_operation(summary="Set a drug's chronic-disease tags (reason required)", tags=["catalog"],
               body=ChronicTagsSchema, response=DrugSchema)
def set_chronic_tags(drug_id: int, body):
    drug = services.get_drug(drug_id)
    services.set_chronic_tags(drug, body["chronic_tags"], reason=body["reason"], user=current_user)
    return drug


@bp.get("/products/<int:product_id>/history")
@permission_required("catalog.read")
@api_operation(summary="Change history of a product", tags=["catalog"], response=ChangeSchema, many=True)
def product_history(product_id: int):
    return services.history(product=services.get_product(product_id))


@bp.get("/classes")
@permission_required("catalog.read")
@api_operation(summary="Therapeutic classes with product counts", tags=["catalog"], response=ClassSchema, many=True)
def classes():
    return services.class_tree()
