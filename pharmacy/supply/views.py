"""Pages that move goods by hand: a manual transfer and the receipt of anything in transit to a facility.
The forms keep their old addresses under /stock; the goods go through the one dispatch and receipt services."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..auth.policy import get_facility_in_scope, permission_required, scope_root
from ..catalog.services import get_product
from ..errors import DomainError, translate_validation_messages
from ..facilities.services import facilities_under
from ..extensions import db
from ..inventory import queries as stock_queries
from ..inventory import services as stock
from ..inventory.consumption import QtyUnit, to_base_units
from ..deliveries.labels import discrepancy_reason_label
from . import services
from .schemas import TransferLineInputSchema

bp = Blueprint("supply", __name__, url_prefix="/stock")

TRANSFER_FORM_LINES = 6


def _destinations(facility):
    choices = [f for f in facilities_under(scope_root(current_user), active_only=True) if f.id != facility.id]
    if facility.parent is not None and facility.parent not in choices:
        choices.insert(0, facility.parent)
    return choices


def _form(*names: str) -> dict:
    return {n: request.form[n].strip() for n in names if request.form.get(n, "").strip()}


def _transfer_lines() -> list[services.GoodsRequest]:
    lines = []
    for i in range(TRANSFER_FORM_LINES):
        raw = _form(f"product_id_{i}", f"lot_id_{i}", f"qty_{i}", f"unit_{i}")
        if f"product_id_{i}" not in raw and f"qty_{i}" not in raw:
            continue
        try:
            line = TransferLineInputSchema().load({k.rsplit("_", 1)[0]: v for k, v in raw.items()})
        except ValidationError as exc:
            raise ValidationError({f"{k}_{i}": v for k, v in exc.messages.items()}) from None
        product = get_product(line["product_id"])
        lot = stock.get_lot(line["lot_id"], product) if line["lot_id"] is not None else None
        lines.append(services.GoodsRequest(product, to_base_units(line["qty"], line["unit"], product.pack_size), lot))
    return lines


@bp.route("/f/<int:facility_id>/transfer", methods=["GET", "POST"])
@permission_required("stock.write")
def transfer(facility_id: int):
    facility = get_facility_in_scope(current_user, facility_id)
    context = {"products": stock_queries.products_in_stock(facility.id),
               "lots": stock_queries.lots_on_hand([facility.id]), "destinations": _destinations(facility),
               "line_count": TRANSFER_FORM_LINES}
    error, fields, status = None, {}, 200
    if request.method == "POST":
        try:
            destination = stock.transfer_destination(current_user, facility,
                                                     request.form.get("to_facility_id", type=int) or 0)
            services.send_by_hand(facility, destination, _transfer_lines(), user=current_user,
                                  key=request.form.get("idempotency_key", ""), note=request.form.get("note", ""),
                                  handed_over=request.form.get("in_transit", "1") == "0")
            return redirect(url_for("supply.transfers", facility_id=facility.id, done=1))
        except ValidationError as exc:
            error, fields, status = _("输入有误，请检查标出的字段"), translate_validation_messages(exc.messages), 422
        except DomainError as exc:
            error, fields, status = exc.message, exc.fields, exc.status
    return render_template("inventory/transfer.html", facility=facility, error=error, field_errors=fields,
                           form=request.form if request.method == "POST" else request.args,
                           key=request.form.get("idempotency_key") or services.new_key(), units=list(QtyUnit),
                           **context), status


@bp.get("/f/<int:facility_id>/transfers")
@permission_required("stock.read")
def transfers(facility_id: int):
    """Goods that left or reach a facility, with the receipt form for what is in transit to it."""
    return _transfers_page(get_facility_in_scope(current_user, facility_id))


def _transfers_page(facility, **context):
    items = stock_queries.transfers_for(facility.id)
    sign_rights = {t.id: services.may_sign(current_user, services.consignment_of_transfer(t)) for t in items
                   if t.status == "in_transit"}
    return render_template("inventory/transfers.html", facility=facility, transfers=items, sign_rights=sign_rights,
                           products=stock_queries.products_by_id(line.product_id for t in items for line in t.lines),
                           receipt_reasons=services.RECEIPT_REASONS, discrepancy_reason_label=discrepancy_reason_label,
                           key=services.new_key(), **context)


@bp.post("/transfers/<int:transfer_id>/receive")
@permission_required("stock.write")
def receive_transfer(transfer_id: int):
    transfer_ = stock_queries.get_transfer_in_scope(current_user, transfer_id)
    facility = get_facility_in_scope(current_user, transfer_.to_facility_id)
    received = {}
    for line in transfer_.lines:
        raw = request.form.get(f"received_{line.id}", "").strip()
        if raw == "" or raw == str(line.qty_base_sent):
            continue
        qty = int(raw) if raw.isascii() and raw.lstrip("-").isdigit() else -1
        received[line.id] = services.ReceivedLine(qty, request.form.get(f"reason_{line.id}", ""),
                                                  request.form.get(f"note_{line.id}", ""))
    try:
        services.receive_transfer(transfer_, received, user=current_user,
                                  key=request.form.get("idempotency_key", ""),
                                  proxy_reason=request.form.get("proxy_reason", ""))
    except DomainError as exc:
        db.session.rollback()
        return _transfers_page(facility, error=exc.message, field_errors=exc.fields, form=request.form), exc.status
    return redirect(url_for("supply.transfers", facility_id=facility.id, done=1))
