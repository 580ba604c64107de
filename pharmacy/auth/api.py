"""API: who am I."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from .policy import PERMISSIONS
from .schemas import MeSchema

bp = api_blueprint("auth_api", __name__, "/auth")


@bp.get("/me")
@api_operation(summary="The signed-in user, their facility and permissions", tags=["auth"], response=MeSchema)
def me():
    return {"id": current_user.id, "username": current_user.username, "display_name": current_user.display_name,
            "role": current_user.role, "facility": current_user.facility,
            "permissions": sorted(PERMISSIONS.get(current_user.role, set()))}
