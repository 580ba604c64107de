"""API: the facilities a user may see."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import get_facility_in_scope, permission_required
from . import operations
from .schemas import FacilityActiveInputSchema, FacilityInputSchema, FacilityQuerySchema, FacilitySchema

bp = api_blueprint("facilities_api", __name__, "/facilities")


@bp.get("")
@api_operation(summary="Facilities in the caller's scope", tags=["facilities"], query=FacilityQuerySchema,
               response=FacilitySchema, many=True)
def list_facilities(query):
    return operations.facilities(current_user, query)


@bp.get("/<int:facility_id>")
@api_operation(summary="One facility", tags=["facilities"], response=FacilitySchema)
def get_facility(facility_id: int):
    return get_facility_in_scope(current_user, facility_id)


@bp.post("")
@permission_required("admin.manage")
@api_operation(summary="Add a facility", tags=["facilities"], body=FacilityInputSchema, response=FacilitySchema,
               status=201)
def create_facility(body):
    return operations.create_facility(current_user, body)


@bp.post("/<int:facility_id>/active")
@permission_required("admin.manage")
@api_operation(summary="Activate or deactivate a facility", tags=["facilities"], body=FacilityActiveInputSchema,
               response=FacilitySchema)
def set_active(facility_id: int, body):
    return operations.set_facility_active(current_user, get_facility_in_scope(current_user, facility_id), body)
