"""Stock pages: stock on hand, stock card, the write forms, stocktake count sheet, the subtree view, export.

Every form carries an idempotency key made when the form was drawn, so a double tap or a resubmitted form
records once. Quantities are entered in packs or base units and converted here.
"""

import uuid

from flask import Blueprint, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..auth.policy import get_facility_in_scope, permission_required, scope_root
from ..catalog.services import get_product
from ..errors import DomainError, translate_validation_messages
from ..exports import csv_response, xlsx_response
from ..facilities.models import Tier
from ..facilities.services import facilities_under
from ..supply import policy as dispatch_policy
from . import queries, services
from .consumption import STATUS_RANK, QtyUnit, StockStatus, to_base_units
from .models import AdjustReason, TransferStatus
from .schemas import AdjustInputSchema, DispenseInputSchema, PolicyInputSchema, ReceiptInputSchema

bp = Blueprint("inventory", __name__, url_prefix="/stock")

PAGE_SIZE = 200


def _new_key() -> str:
    return uuid.uuid4().hex


def _form(*names: str) -> dict:
    """The non-empty form fields among `names` (an empty optional field means 'not given')."""
    return {n: request.form[n].strip() for n in names if request.form.get(n, "").strip()}


def _failure(exc: Exception) -> tuple[str, dict, int]:
    if isinstance(exc, ValidationError):
        return _("输入有误，请检查标出的字段"), translate_validation_messages(exc.messages), 422
    return exc.message, exc.fields, exc.status


def _facility(facility_id: int):
    return get_facility_in_scope(current_user, facility_id)


@bp.get("")
@permission_required("stock.read")
def index():
    if current_user.facility.tier == Tier.VILLAGE:
        return redirect(url_for("inventory.facility_stock", facility_id=current_user.facility_id))
    return redirect(url_for("inventory.subtree"))


def _sorted_rows(rows, products):
    return sorted(rows, key=lambda r: (STATUS_RANK[r.status], products[r.product_id].drug.generic_name,
                                       products[r.product_id].code))


@bp.get("/f/<int:facility_id>")
@permission_required("stock.read")
def facility_stock(facility_id: int):
    facility = _facility(facility_id)
    status, q = request.args.get("status", ""), request.args.get("q", "").strip()[:50]
    near_only = request.args.get("near") == "1"
    rows = queries.stock_status([facility.id])
    products = queries.products_by_id(r.product_id for r in rows)
    rows = [r for r in rows if (not status or r.status == status) and (not near_only or r.near_expiry)
            and queries.product_matches(products[r.product_id], q)]
    lots: dict[int, list] = {}
    for lot in queries.lots_on_hand([facility.id]):
        lots.setdefault(lot.product_id, []).append(lot)
    counts = {s: 0 for s in StockStatus}
    for r in rows:
        counts[r.status] += 1
    incoming = queries.transfers_for(facility.id, status=TransferStatus.IN_TRANSIT)
    incoming = [t for t in incoming if t.to_facility_id == facility.id]
    return render_template("inventory/facility.html", facility=facility, rows=_sorted_rows(rows, products),
                           products=products, lots=lots, counts=counts, filters={"status": status, "q": q,
                                                                                 "near": near_only},
                           incoming=incoming, near_days=dispatch_policy.near_expiry_days(), write_key=_new_key())


@bp.get("/subtree")
@permission_required("stock.read")
def subtree():
    root = scope_root(current_user)
    facilities = facilities_under(root, active_only=True)
    status = request.args.get("status", "")
    tier = request.args.get("tier", "")
    under = request.args.get("under", type=int)
    q = request.args.get("q", "").strip()[:50]
    chosen = [f for f in facilities if (not tier or f.tier == tier)]
    if under:
        top = _facility(under)
        chosen = [f for f in chosen if f.is_within(top)]
    by_id = {f.id: f for f in chosen}
    rows = queries.stock_status(list(by_id)) if by_id else []
    products = queries.products_by_id(r.product_id for r in rows)
    rows = [r for r in rows if (not status or r.status == status) and queries.product_matches(products[r.product_id], q)]
    counts = {s: 0 for s in StockStatus}
    for r in rows:
        counts[r.status] += 1
    rows.sort(key=lambda r: (STATUS_RANK[r.status], by_id[r.facility_id].path, products[r.product_id].code))
    page = max(request.args.get("page", 1, type=int), 1)
    pages = max((len(rows) + PAGE_SIZE - 1) // PAGE_SIZE, 1)
    shown = rows[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    return render_template("inventory/subtree.html", root=root, rows=shown, total=len(rows), page=page, pages=pages,
                           products=products, facilities=by_id, counts=counts,
                           groups=[f for f in facilities if f.tier != Tier.VILLAGE],
                           filters={"status": status, "tier": tier, "under": under, "q": q})


EXPORT_HEADER = ["机构编码", "机构名称", "产品编码", "通用名", "剂型", "规格", "包装", "批号", "有效期", "批次数量（基本单位）",
                 "合计（基本单位）", "可用（基本单位）", "在途（基本单位）", "月均消耗（基本单位）", "可用月数", "下限", "上限", "状态",
                 "近效期"]


def _export_rows(facility_ids, status: str = ""):
    rows = queries.stock_status(facility_ids)
    products = queries.products_by_id(r.product_id for r in rows)
    facilities = queries.facilities_by_id(r.facility_id for r in rows)
    lots: dict[tuple[int, int], list] = {}
    for lot in queries.lots_on_hand(list(facilities)):
        lots.setdefault((lot.facility_id, lot.product_id), []).append(lot)
    for r in rows:
        if status and r.status != status:
            continue
        f, p = facilities[r.facility_id], products[r.product_id]
        common = [r.on_hand, r.usable, r.in_transit, None if r.amc is None else round(r.amc, 1),
                  None if r.months_of_stock is None else round(r.months_of_stock, 1), r.min_base, r.max_base,
                  StockStatus.label_of(r.status)]
        for lot in lots.get((r.facility_id, r.product_id)) or [None]:
            yield [f.code, f.name, p.code, p.drug.generic_name, p.dosage_form, p.strength, p.pack_label,
                   lot.lot_number if lot else "", lot.expiry_date.isoformat() if lot else "",
                   lot.qty_base if lot else 0, *common,
                   (_("已过期") if lot.is_expired else _("近效期") if lot.is_near_expiry else "") if lot else ""]


@bp.get("/f/<int:facility_id>/export.<fmt>")
@bp.get("/subtree/export.<fmt>", defaults={"facility_id": None})
@permission_required("stock.read")
def export(fmt: str, facility_id: int | None):
    if facility_id is None:
        facility = scope_root(current_user)
        ids = [f.id for f in facilities_under(facility)]
    else:
        facility = _facility(facility_id)
        ids = [facility.id]
    header = [_(h) for h in EXPORT_HEADER]
    rows = _export_rows(ids, request.args.get("status", ""))
    name = f"stock-{facility.code}"
    if fmt == "csv":
        return csv_response(header, rows, f"{name}.csv")
    if fmt == "xlsx":
        return xlsx_response(header, rows, f"{name}.xlsx", sheet=_("库存"))
    return redirect(url_for("inventory.facility_stock", facility_id=facility.id))


@bp.get("/f/<int:facility_id>/p/<int:product_id>")
@permission_required("stock.read")
def stock_card(facility_id: int, product_id: int):
    facility = _facility(facility_id)
    product = get_product(product_id)
    opening, lines, has_more = queries.stock_card(facility.id, product.id)
    return render_template("inventory/card.html", facility=facility, product=product, opening=opening,
                           lines=list(reversed(lines)), has_more=has_more,
                           status=queries.stock_status_one(facility.id, product.id),
                           lots=queries.lots_on_hand([facility.id], product.id), near_days=dispatch_policy.near_expiry_days())


@bp.post("/f/<int:facility_id>/p/<int:product_id>/policy")
@permission_required("stock.write")
def set_policy(facility_id: int, product_id: int):
    facility = _facility(facility_id)
    product = get_product(product_id)
    try:
        if request.form.get("reset"):
            services.clear_policy(facility, product, user=current_user)
        else:
            body = PolicyInputSchema().load({**_form("min_months", "max_months", "min_qty_base", "max_qty_base"),
                                             "facility_id": facility.id, "product_id": product.id})
            services.set_policy(facility, product, min_months=body["min_months"], max_months=body["max_months"],
                                min_qty_base=body["min_qty_base"], max_qty_base=body["max_qty_base"],
                                user=current_user)
    except (DomainError, ValidationError) as exc:
        message, _fields, status = _failure(exc)
        opening, lines, has_more = queries.stock_card(facility.id, product.id)
        return render_template("inventory/card.html", facility=facility, product=product, opening=opening,
                               lines=list(reversed(lines)), has_more=has_more, error=message, field_errors=_fields,
                               status=queries.stock_status_one(facility.id, product.id),
                               lots=queries.lots_on_hand([facility.id], product.id),
                               near_days=dispatch_policy.near_expiry_days()), status
    return redirect(url_for("inventory.stock_card", facility_id=facility.id, product_id=product.id, saved=1))


def _render_form(template: str, facility, *, error=None, field_errors=None, status=200, **context):
    return render_template(f"inventory/{template}", facility=facility, error=error, field_errors=field_errors or {},
                           form=request.form if request.method == "POST" else request.args,
                           key=request.form.get("idempotency_key") or _new_key(), units=list(QtyUnit),
                           **context), status


@bp.route("/f/<int:facility_id>/receive", methods=["GET", "POST"])
@permission_required("stock.write")
def receive(facility_id: int):
    facility = _facility(facility_id)
    context = {"products": queries.stockable_products(facility)}
    if request.method == "POST":
        try:
            body = ReceiptInputSchema().load({**_form("product_id", "lot_number", "expiry_date", "manufacturer",
                                                      "qty", "unit", "note", "idempotency_key"),
                                              "facility_id": facility.id})
            product = get_product(body["product_id"])
            services.receive(facility, product, lot_number=body["lot_number"], expiry_date=body["expiry_date"],
                             qty_base=to_base_units(body["qty"], body["unit"], product.pack_size),
                             manufacturer=body["manufacturer"], note=body["note"], user=current_user,
                             key=body["idempotency_key"])
        except (DomainError, ValidationError) as exc:
            message, fields, status = _failure(exc)
            return _render_form("receive.html", facility, error=message, field_errors=fields, status=status,
                                **context)
        return redirect(url_for("inventory.stock_card", facility_id=facility.id, product_id=product.id, done=1))
    return _render_form("receive.html", facility, **context)


@bp.route("/f/<int:facility_id>/dispense", methods=["GET", "POST"])
@permission_required("stock.write")
def dispense(facility_id: int):
    facility = _facility(facility_id)
    context = {"products": queries.products_in_stock(facility.id), "lots": queries.lots_on_hand([facility.id])}
    if request.method == "POST":
        try:
            body = DispenseInputSchema().load({**_form("product_id", "lot_id", "qty", "unit", "note",
                                                       "idempotency_key"), "facility_id": facility.id})
            product = get_product(body["product_id"])
            lot = services.get_lot(body["lot_id"], product) if body["lot_id"] is not None else None
            services.dispense(facility, product, qty_base=to_base_units(body["qty"], body["unit"], product.pack_size),
                              lot=lot, note=body["note"], user=current_user, key=body["idempotency_key"])
        except (DomainError, ValidationError) as exc:
            message, fields, status = _failure(exc)
            return _render_form("dispense.html", facility, error=message, field_errors=fields, status=status,
                                **context)
        return redirect(url_for("inventory.stock_card", facility_id=facility.id, product_id=product.id, done=1))
    return _render_form("dispense.html", facility, **context)


@bp.route("/f/<int:facility_id>/adjust", methods=["GET", "POST"])
@permission_required("stock.write")
def adjust(facility_id: int):
    facility = _facility(facility_id)
    lots = queries.lots_on_hand([facility.id])
    context = {"lots": lots, "products": queries.products_by_id(lot.product_id for lot in lots),
               "reasons": list(AdjustReason)}
    if request.method == "POST":
        try:
            body = AdjustInputSchema().load({**_form("lot_id", "qty_delta_base", "reason", "note", "idempotency_key"),
                                             "facility_id": facility.id})
            lot = services.get_lot(body["lot_id"])
            services.adjust(facility, lot, qty_delta=body["qty_delta_base"], reason=body["reason"],
                            note=body["note"], user=current_user, key=body["idempotency_key"])
        except (DomainError, ValidationError) as exc:
            message, fields, status = _failure(exc)
            return _render_form("adjust.html", facility, error=message, field_errors=fields, status=status,
                                **context)
        return redirect(url_for("inventory.stock_card", facility_id=facility.id, product_id=lot.product_id, done=1))
    return _render_form("adjust.html", facility, **context)


@bp.route("/f/<int:facility_id>/stocktake", methods=["GET", "POST"])
@permission_required("stock.read")
def stocktake(facility_id: int):
    """The count sheet (print it, or fill it in here) and the stocktake posting."""
    facility = _facility(facility_id)
    lots = queries.lots_on_hand([facility.id])
    products = queries.products_by_id(lot.product_id for lot in lots)
    lots.sort(key=lambda lot: (products[lot.product_id].drug.generic_name, products[lot.product_id].code,
                               lot.expiry_date))
    context = {"lots": lots, "products": products, "blind": request.args.get("blind") == "1",
               "printing": request.args.get("print") == "1"}
    if request.method == "POST":
        from ..auth.policy import require_permission

        require_permission(current_user, "stock.write")
        counts, bad = {}, {}
        for lot in lots:
            raw = request.form.get(f"count_{lot.lot_id}", "").strip()
            if raw == "":
                continue
            if not raw.isdigit():
                bad[f"count_{lot.lot_id}"] = [_("应为非负整数")]
                continue
            counts[lot.lot_id] = int(raw)
        try:
            if bad:
                raise DomainError(_("盘点数量应为非负整数"), fields=bad, code="invalid")
            services.stocktake(facility, counts, user=current_user, key=request.form.get("idempotency_key", ""),
                               note=request.form.get("note", ""))
        except DomainError as exc:
            return _render_form("stocktake.html", facility, error=exc.message, field_errors=exc.fields,
                                status=422 if exc.status == 400 else exc.status, **context)
        return redirect(url_for("inventory.facility_stock", facility_id=facility.id, done=1))
    return _render_form("stocktake.html", facility, **context)


@bp.post("/f/<int:facility_id>/write-off-expired")
@permission_required("stock.write")
def write_off_expired(facility_id: int):
    facility = _facility(facility_id)
    services.write_off_expired(facility, user=current_user, key=request.form.get("idempotency_key", ""))
    return redirect(url_for("inventory.facility_stock", facility_id=facility.id, done=1))
