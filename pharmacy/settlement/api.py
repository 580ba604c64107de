"""API: monthly statements under /api/v1/settlements."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import get_facility_in_scope, permission_required, scope_root
from ..facilities.services import facilities_under
from . import services
from .schemas import SettlementQuerySchema, SettlementMonthSchema, StatementSchema, StatementSummarySchema

bp = api_blueprint("settlement_api", __name__, "/settlements")


@bp.get("")
@permission_required("settlement.read")
@api_operation(summary="Every facility's statement totals for a month, side by side", tags=["settlements"],
               query=SettlementQuerySchema, response=StatementSummarySchema, many=True)
def overview(query):
    facilities = facilities_under(scope_root(current_user), tier=query.get("tier"))
    return services.overview(facilities, query.get("month") or services.current_month())


@bp.get("/<int:facility_id>/<month>")
@permission_required("settlement.read")
@api_operation(summary="One facility's statement: every receipt at the unified price of its date, with totals",
               tags=["settlements"], response=StatementSchema)
def statement(facility_id: int, month: str):
    return services.get_statement(get_facility_in_scope(current_user, facility_id), month)


@bp.post("/<month>/close")
@permission_required("settlement.close")
@api_operation(summary="Close an ended month: every facility's statement is stored and never changes",
               tags=["settlements"], response=SettlementMonthSchema, status=201)
def close(month: str):
    root = scope_root(current_user)
    return services.close_month(root, facilities_under(root), month, current_user)
