"""Stock pages: stock on hand, stock card, the write forms, stocktake count sheet, the subtree view, export.

Every form carries an idempotency key made when the form was drawn, so a double tap or a resubmitted form
records once. Each page loads its form with the API's input schema and calls one operation (`operations.py`),
which converts packs to base units and applies the rules; the lists are `operations.STOCK`, paged in SQL.
"""

import uuid

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..auth.policy import get_facility_in_scope, load_in_scope, permission_required, require_permission
from ..catalog.services import get_product
from ..exports import csv_response, xlsx_response
from ..facilities.models import Tier
from ..fields import ascii_int, whole_number_or_text
from ..operations import load_form, refusal
from . import operations
from .models import AdjustmentRequest
from .schemas import (AdjustInputSchema, AdjustmentDecisionInputSchema, DispenseInputSchema, PolicyInputSchema,
                      ReceiptInputSchema, StocktakeInputSchema, WriteOffInputSchema)

bp = Blueprint("inventory", __name__, url_prefix="/stock")


def _new_key() -> str:
    return uuid.uuid4().hex


def _facility(facility_id: int):
    return get_facility_in_scope(current_user, facility_id)


@bp.get("")
@permission_required("stock.read")
def index():
    if current_user.facility.tier == Tier.VILLAGE:
        return redirect(url_for("inventory.facility_stock", facility_id=current_user.facility_id))
    return redirect(url_for("inventory.subtree"))


@bp.get("/f/<int:facility_id>")
@permission_required("stock.read")
def facility_stock(facility_id: int):
    facility = _facility(facility_id)
    return render_template("inventory/facility.html", write_key=_new_key(),
                           **operations.facility_stock(current_user, facility,
                                                       operations.STOCK.read(request.args)))


@bp.get("/subtree")
@permission_required("stock.read")
def subtree():
    return render_template("inventory/subtree.html", **operations.subtree(current_user,
                                                                           operations.STOCK.read(request.args)))


@bp.get("/f/<int:facility_id>/export.<fmt>")
@bp.get("/subtree/export.<fmt>", defaults={"facility_id": None})
@permission_required("stock.read")
def export(fmt: str, facility_id: int | None):
    facility = _facility(facility_id) if facility_id is not None else None
    if fmt not in ("csv", "xlsx"):
        return redirect(url_for("inventory.facility_stock", facility_id=facility.id if facility else
                                current_user.facility_id))
    facility, header, rows = operations.export(current_user, facility, operations.STOCK.read(request.args))
    name = f"stock-{facility.code}"
    if fmt == "csv":
        return csv_response(header, rows, f"{name}.csv")
    return xlsx_response(header, rows, f"{name}.xlsx", sheet=_("库存"))


@bp.get("/f/<int:facility_id>/p/<int:product_id>")
@permission_required("stock.read")
def stock_card(facility_id: int, product_id: int):
    return render_template("inventory/card.html",
                           **operations.stock_card_page(_facility(facility_id), get_product(product_id)))


@bp.post("/f/<int:facility_id>/p/<int:product_id>/policy")
@permission_required("stock.write")
def set_policy(facility_id: int, product_id: int):
    facility, product = _facility(facility_id), get_product(product_id)
    with refusal() as refused:
        if request.form.get("reset"):
            operations.clear_policy(current_user, facility, product)
        else:
            operations.set_policy(current_user, facility, load_form(PolicyInputSchema, request.form,
                                                                    facility_id=facility.id, product_id=product.id))
    if refused:
        return render_template("inventory/card.html", error=refused.error.message, field_errors=refused.error.fields,
                               **operations.stock_card_page(facility, product)), refused.error.status
    return redirect(url_for("inventory.stock_card", facility_id=facility.id, product_id=product.id, saved=1))


def _render_form(template: str, facility, context: dict, refused=None):
    error = refused.error if refused else None
    return render_template(f"inventory/{template}", facility=facility, error=error.message if error else None,
                           field_errors=(error.fields if error else None) or {},
                           form=request.form if request.method == "POST" else request.args,
                           key=request.form.get("idempotency_key") or _new_key(),
                           **context), error.status if error else 200


def _done(facility, product_id: int):
    return redirect(url_for("inventory.stock_card", facility_id=facility.id, product_id=product_id, done=1))


@bp.route("/f/<int:facility_id>/receive", methods=["GET", "POST"])
@permission_required("stock.write")
def receive(facility_id: int):
    facility = _facility(facility_id)
    if request.method == "POST":
        with refusal() as refused:
            command = load_form(ReceiptInputSchema, request.form, facility_id=facility.id)
            operations.receive(current_user, facility, command)
        if not refused:
            return _done(facility, command["product_id"])
        return _render_form("receive.html", facility, operations.receipt_form(facility), refused)
    return _render_form("receive.html", facility, operations.receipt_form(facility))


@bp.route("/f/<int:facility_id>/dispense", methods=["GET", "POST"])
@permission_required("stock.write")
def dispense(facility_id: int):
    facility = _facility(facility_id)
    if request.method == "POST":
        with refusal() as refused:
            command = load_form(DispenseInputSchema, request.form, facility_id=facility.id)
            operations.dispense(current_user, facility, command)
        if not refused:
            return _done(facility, command["product_id"])
        return _render_form("dispense.html", facility, operations.dispense_form(facility), refused)
    return _render_form("dispense.html", facility, operations.dispense_form(facility))


@bp.route("/f/<int:facility_id>/adjust", methods=["GET", "POST"])
@permission_required("stock.write")
def adjust(facility_id: int):
    facility = _facility(facility_id)
    if request.method == "POST":
        with refusal() as refused:
            operation, pending, _created = operations.adjust(current_user, facility, load_form(
                AdjustInputSchema, request.form, facility_id=facility.id))
        if not refused and pending is not None:
            return redirect(url_for("inventory.adjustments", facility_id=facility.id, requested=pending.id))
        if not refused:
            return _done(facility, operation.movements[0].product_id if operation.movements else None)
        return _render_form("adjust.html", facility, operations.adjust_form(facility), refused)
    return _render_form("adjust.html", facility, operations.adjust_form(facility))


@bp.get("/f/<int:facility_id>/adjustments")
@permission_required("stock.read")
def adjustments(facility_id: int):
    """Large adjustments waiting for a second person's approval, and those decided."""
    return render_template("inventory/adjustments.html", requested=request.args.get("requested", type=ascii_int),
                           **operations.adjustments_page(current_user, _facility(facility_id)))


def _decide_adjustment(request_id: int, *, approve: bool):
    adjustment = load_in_scope(current_user, AdjustmentRequest, request_id, for_update=True)
    facility = _facility(adjustment.facility_id)
    with refusal() as refused:
        operations.decide_adjustment(current_user, adjustment, load_form(AdjustmentDecisionInputSchema, request.form),
                                     approve=approve)
    if refused:
        return render_template("inventory/adjustments.html", error=refused.error.message,
                               field_errors=refused.error.fields, requested=None,
                               **operations.adjustments_page(current_user, facility)), refused.error.status
    return redirect(url_for("inventory.adjustments", facility_id=facility.id, done=1))


@bp.post("/adjustment-requests/<int:request_id>/approve")
@permission_required("stock.write")
def approve_adjustment_request(request_id: int):
    return _decide_adjustment(request_id, approve=True)


@bp.post("/adjustment-requests/<int:request_id>/reject")
@permission_required("stock.write")
def reject_adjustment_request(request_id: int):
    return _decide_adjustment(request_id, approve=False)


def _count(raw: str):
    """A typed count as a number when it is a whole number (the schema then checks its range), else as typed."""
    return whole_number_or_text(raw)


def _stocktake_command(facility, lots) -> dict:
    """The count sheet loaded with the API's schema; a refused count is shown at its own cell (count_<lot>)."""
    counts = [{"lot_id": lot.lot_id, "counted_base": _count(raw)} for lot in lots
              if (raw := request.form.get(f"count_{lot.lot_id}", "").strip()) != ""]
    try:
        return StocktakeInputSchema().load({"facility_id": facility.id, "counts": counts,
                                            "note": request.form.get("note", ""),
                                            "idempotency_key": request.form.get("idempotency_key", "")})
    except ValidationError as exc:
        messages = dict(exc.messages)
        said = messages.pop("counts", {})
        if isinstance(said, dict):
            for n in said:
                messages[f"count_{counts[n]['lot_id']}"] = [_("应为非负整数")]
        else:
            messages["counts"] = [_("没有盘点数据")]
        raise ValidationError(messages) from None


@bp.route("/f/<int:facility_id>/stocktake", methods=["GET", "POST"])
@permission_required("stock.read")
def stocktake(facility_id: int):
    """The count sheet (print it, or fill it in here) and the stocktake posting."""
    facility = _facility(facility_id)
    context = {**operations.count_sheet(facility), "blind": request.args.get("blind") == "1",
               "printing": request.args.get("print") == "1"}
    if request.method == "POST":
        require_permission(current_user, "stock.write")
        with refusal() as refused:
            operations.stocktake(current_user, facility, _stocktake_command(facility, context["lots"]))
        if not refused:
            return redirect(url_for("inventory.facility_stock", facility_id=facility.id, done=1))
        return _render_form("stocktake.html", facility, context, refused)
    return _render_form("stocktake.html", facility, context)


@bp.post("/f/<int:facility_id>/write-off-expired")
@permission_required("stock.write")
def write_off_expired(facility_id: int):
    facility = _facility(facility_id)
    operations.write_off_expired(current_user, facility, load_form(WriteOffInputSchema, request.form,
                                                                   facility_id=facility.id))
    return redirect(url_for("inventory.facility_stock", facility_id=facility.id, done=1))
