"""Pages that move goods by hand: a manual transfer and the receipt of anything in transit to a facility.
The forms keep their old addresses under /stock; the goods go through the one dispatch and receipt services."""

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..auth.policy import get_facility_in_scope, load_in_scope, permission_required
from ..deliveries.labels import discrepancy_reason_label
from ..fields import whole_number_or_text
from ..inventory.consumption import QtyUnit
from ..inventory.models import Transfer
from ..operations import refusal
from . import operations, services
from .schemas import TransferInputSchema, TransferReceiveInputSchema

bp = Blueprint("supply", __name__, url_prefix="/stock")

TRANSFER_FORM_LINES = 6


def _transfer_rows() -> tuple[list[dict], list[int]]:
    """The filled rows of the transfer form as the API's `lines`, and the form row each came from."""
    lines, rows = [], []
    for i in range(TRANSFER_FORM_LINES):
        row = {name: request.form.get(f"{name}_{i}", "").strip() for name in ("product_id", "lot_id", "qty", "unit")}
        if not row["product_id"] and not row["qty"]:
            continue
        lines.append({name: value for name, value in row.items() if value})
        rows.append(i)
    return lines, rows


def _transfer_command(source) -> dict:
    """The transfer form loaded with the API's schema; a refused row names its own form fields (qty_3 …)."""
    lines, rows = _transfer_rows()
    form = {"from_facility_id": source.id, "lines": lines,
            "in_transit": request.form.get("in_transit", "1") != "0", "note": request.form.get("note", ""),
            "idempotency_key": request.form.get("idempotency_key", "")}
    if request.form.get("to_facility_id", "").strip():
        form["to_facility_id"] = request.form["to_facility_id"].strip()
    try:
        return TransferInputSchema().load(form)
    except ValidationError as exc:
        messages = dict(exc.messages)
        per_line = messages.pop("lines", {})
        if isinstance(per_line, dict):
            for n, said in per_line.items():
                messages.update({f"{name}_{rows[n]}": value for name, value in said.items()})
        elif not lines:
            messages["product_id_0"] = [_("调拨单没有明细")]
        raise ValidationError(messages) from None


@bp.route("/f/<int:facility_id>/transfer", methods=["GET", "POST"])
@permission_required("stock.write")
def transfer(facility_id: int):
    facility = get_facility_in_scope(current_user, facility_id)
    error, fields, status = None, {}, 200
    if request.method == "POST":
        with refusal() as refused:
            operations.send_by_hand(current_user, facility, _transfer_command(facility))
        if not refused:
            return redirect(url_for("supply.transfers", facility_id=facility.id, done=1))
        error, fields, status = refused.error.message, refused.error.fields, refused.error.status
    return render_template("inventory/transfer.html", facility=facility, error=error, field_errors=fields,
                           form=request.form if request.method == "POST" else request.args,
                           key=request.form.get("idempotency_key") or services.new_key(), units=list(QtyUnit),
                           line_count=TRANSFER_FORM_LINES, **operations.transfer_form(current_user, facility)), status


@bp.get("/f/<int:facility_id>/transfers")
@permission_required("stock.read")
def transfers(facility_id: int):
    """Goods that left or reach a facility, with the receipt form for what is in transit to it."""
    return _transfers_page(get_facility_in_scope(current_user, facility_id))


def _transfers_page(facility, **context):
    return render_template("inventory/transfers.html", facility=facility,
                           receipt_reasons=services.RECEIPT_REASONS, discrepancy_reason_label=discrepancy_reason_label,
                           key=services.new_key(), **operations.transfers_of(current_user, facility), **context)


def _whole_number(raw: str):
    """A typed quantity as a number when it is one (the rules then say what is wrong with it), else as typed."""
    return whole_number_or_text(raw)


def _receipt_command(transfer_: Transfer) -> dict:
    """The receipt form loaded with the API's schema: the lines whose received quantity differs from the sent.
    A refused line's messages are shown under that line (by transfer line id)."""
    lines = []
    for line in transfer_.lines:
        raw = request.form.get(f"received_{line.id}", "").strip()
        if raw == "" or raw == str(line.qty_base_sent):
            continue
        lines.append({"line_id": line.id, "qty_base_received": _whole_number(raw),
                      "reason": request.form.get(f"reason_{line.id}", ""),
                      "note": request.form.get(f"note_{line.id}", "")})
    try:
        return TransferReceiveInputSchema().load({"lines": lines, "proxy_reason": request.form.get("proxy_reason", ""),
                                                  "idempotency_key": request.form.get("idempotency_key", "")})
    except ValidationError as exc:
        messages = dict(exc.messages)
        for n, said in (messages.pop("lines", {}) or {}).items():
            messages[str(lines[n]["line_id"])] = [text for value in said.values() for text in value]
        raise ValidationError(messages) from None


@bp.post("/transfers/<int:transfer_id>/receive")
@permission_required("stock.write")
def receive_transfer(transfer_id: int):
    transfer_ = load_in_scope(current_user, Transfer, transfer_id)
    facility = get_facility_in_scope(current_user, transfer_.to_facility_id)
    with refusal() as refused:
        operations.receive_transfer(current_user, transfer_, _receipt_command(transfer_))
    if refused:
        return _transfers_page(facility, error=refused.error.message, field_errors=refused.error.fields,
                               form=request.form), refused.error.status
    return redirect(url_for("supply.transfers", facility_id=facility.id, done=1))
