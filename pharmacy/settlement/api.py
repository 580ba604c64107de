"""API: monthly statements under /api/v1/settlements."""

from flask_login import current_user

from ..api import api_blueprint, api_operation
from ..auth.policy import permission_required
from . import operations
from .schemas import (SettlementClosePreviewSchema, SettlementCloseSchema, SettlementMonthSchema,
                      SettlementQuerySchema, StatementSchema, StatementSummarySchema)

bp = api_blueprint("settlement_api", __name__, "/settlements")


@bp.get("")
@permission_required("settlement.read")
@api_operation(summary="Every facility's statement totals for a month, side by side", tags=["settlements"],
               query=SettlementQuerySchema, response=StatementSummarySchema, many=True)
def overview(query):
    return operations.facilities_overview(current_user, query)


@bp.get("/<int:facility_id>/<month>")
@permission_required("settlement.read")
@api_operation(summary="One facility's statement: every receipt at the unified price of its date, with totals",
               tags=["settlements"], response=StatementSchema)
def statement(facility_id: int, month: str):
    return operations.statement(current_user, facility_id, month)


@bp.get("/<month>/close")
@permission_required("settlement.close")
@api_operation(summary="What closing a month would freeze: every facility's statement totals and receipt count",
               tags=["settlements"], response=SettlementClosePreviewSchema,
               description="The first of the two steps of closing (nothing is written). Send its `totals.lines` "
                           "and `totals.total` as `expected_lines` / `expected_total` with the close.")
def close_preview(month: str):
    return operations.close_preview(current_user, month)


@bp.post("/<month>/close")
@permission_required("settlement.close")
@api_operation(summary="Close an ended month: every facility's statement is stored and never changes",
               tags=["settlements"], body=SettlementCloseSchema, response=SettlementMonthSchema, status=201,
               description="Closing cannot be undone, so the body must say `{\"confirm\": true}` (without it: 422, "
                           "code `confirmation_required`). With `expected_lines` / `expected_total` from "
                           "GET /api/v1/settlements/<month>/close the month is closed only if the ledger still "
                           "gives those figures (else 409, code `statements_changed`). A month not over yet or "
                           "already closed: 409.")
def close(month: str, body):
    return operations.close_month(current_user, month, body)
