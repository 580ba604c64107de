"""What people do with stock, one function per action, for the stock pages and /api/v1/stock alike.

Each write takes the acting user, the facility (loaded in scope by the entry point) and a command its input schema
(`schemas.py`) loaded, and returns (the stock operation, whether this request created it): a repeat with the same
idempotency key returns the first operation and records nothing. The rules stay in `services.py` (the ledger) and
`consumption.py` (the arithmetic); see `pharmacy/operations.py` for the pattern.

`STOCK` is the one stock list: the facility page, the subtree page, the exports and `GET /api/v1/stock/status`
select, filter and order its rows in SQL (`queries.stock_list`); the pages page it.
"""

from __future__ import annotations

from flask_babel import gettext as _

from .. import clock
from ..auth.policy import get_facility_in_scope, scope_root
from ..catalog.models import Product
from ..catalog.services import get_product
from ..facilities.models import Facility, Tier
from ..facilities.services import facilities_under
from ..listing import ListQuery, Page
from ..supply import policy as dispatch_policy
from . import queries, services
from .consumption import QtyUnit, StockStatus, to_base_units
from .models import AdjustmentRequest, AdjustmentRequestStatus, AdjustReason, StockOperation, TransferStatus
from .schemas import StockListQuerySchema

PAGE_SIZE = 200


# ---- the stock list ------------------------------------------------------------------------------------------

def _facility_scope(user, filters: dict):
    """The facilities a stock list covers: those named (each in the user's scope), a branch of the tree (`under`,
    `tier`, `subtree`), or the user's own facility."""
    if filters.get("facility_id"):
        return [get_facility_in_scope(user, facility_id).id for facility_id in filters["facility_id"]]
    if filters.get("subtree") or filters.get("tier") or filters.get("under"):
        top = get_facility_in_scope(user, filters["under"]) if filters.get("under") else scope_root(user)
        return queries.facility_ids_under(top, tier=filters.get("tier"), active_only=filters.get("active_only"))
    return [user.facility_id]


def _stock_statement(user, filters: dict):
    return queries.stock_list(_facility_scope(user, filters), product_ids=filters.get("product_id"),
                              statuses=filters.get("status"), near_expiry_only=filters.get("near_expiry_only"),
                              q=filters.get("q", ""), order=filters.get("order", "key"), as_of=filters.get("as_of"))


STOCK = ListQuery(StockListQuerySchema, _stock_statement, per_page=PAGE_SIZE, scalars=False)


def stock_status(user, query: dict) -> list[queries.StockStatusRow]:
    """Every row of the stock list the API asks for (not paged), with what is set aside."""
    as_of = clock.now_utc()
    return queries.stock_list_rows(_stock_statement(user, {**query, "as_of": as_of}), as_of=as_of, holds=True)


def stock_page(user, filters: dict) -> tuple[Page, dict[str, int]]:
    """One page of the stock list (rows in full) and how many rows of each status the filters leave."""
    filters = {**filters, "as_of": clock.now_utc()}
    page = STOCK.page(user, filters)
    page.items = queries.stock_rows(page.items, as_of=filters["as_of"])
    counts = queries.stock_counts(_stock_statement(user, {**filters, "status": None}))
    return page, counts


def _shown_filters(filters: dict) -> dict:
    return {"status": (filters.get("status") or [""])[0], "q": filters.get("q", ""),
            "near": bool(filters.get("near_expiry_only")), "tier": filters.get("tier") or "",
            "under": filters.get("under")}


def facility_stock(user, facility: Facility, filters: dict) -> dict:
    """The facility's stock page: its rows (worst first), their lots, and what is on its way to it."""
    filters = {**filters, "facility_id": [facility.id], "order": "facility"}
    page, counts = stock_page(user, filters)
    lots: dict[int, list] = {}
    for lot in queries.lots_on_hand([facility.id]):
        lots.setdefault(lot.product_id, []).append(lot)
    incoming = [t for t in queries.transfers_for(facility.id, status=TransferStatus.IN_TRANSIT)
                if t.to_facility_id == facility.id]
    return {"facility": facility, "page": page, "rows": page.items,
            "products": queries.products_by_id(r.product_id for r in page.items), "lots": lots, "counts": counts,
            "filters": _shown_filters(filters), "incoming": incoming, "near_days": dispatch_policy.near_expiry_days()}


def subtree(user, filters: dict) -> dict:
    """Stock across the user's subtree (a tier, a branch), worst first, a page at a time."""
    root = scope_root(user)
    page, counts = stock_page(user, {**filters, "subtree": True, "active_only": True, "order": "subtree"})
    return {"root": root, "page": page, "rows": page.items, "total": page.total, "pages": page.pages,
            "products": queries.products_by_id(r.product_id for r in page.items),
            "facilities": queries.facilities_by_id(r.facility_id for r in page.items), "counts": counts,
            "groups": [f for f in facilities_under(root, active_only=True) if f.tier != Tier.VILLAGE],
            "filters": _shown_filters(filters)}


EXPORT_HEADER = ["机构编码", "机构名称", "产品编码", "通用名", "剂型", "规格", "包装", "批号", "有效期", "批次数量（基本单位）",
                 "合计（基本单位）", "可用（基本单位）", "在途（基本单位）", "月均消耗（基本单位）", "可用月数", "下限", "上限", "状态",
                 "近效期"]


def export(user, facility: Facility | None, filters: dict) -> tuple[Facility, list[str], list[list]]:
    """The stock list of a facility (or of the user's whole subtree) with one line per lot, for CSV or XLSX."""
    if facility is None:
        facility, scope = scope_root(user), {"subtree": True}
    else:
        scope = {"facility_id": [facility.id]}
    as_of = clock.now_utc()
    rows = queries.stock_list_rows(_stock_statement(user, {**scope, "status": filters.get("status"), "as_of": as_of}),
                                   as_of=as_of)
    products = queries.products_by_id(r.product_id for r in rows)
    facilities = queries.facilities_by_id(r.facility_id for r in rows)
    lots: dict[tuple[int, int], list] = {}
    for lot in queries.lots_on_hand(list(facilities)):
        lots.setdefault((lot.facility_id, lot.product_id), []).append(lot)
    lines = []
    for r in rows:
        f, p = facilities[r.facility_id], products[r.product_id]
        common = [r.on_hand, r.usable, r.in_transit, None if r.amc is None else round(r.amc, 1),
                  None if r.months_of_stock is None else round(r.months_of_stock, 1), r.min_base, r.max_base,
                  StockStatus.label_of(r.status)]
        for lot in lots.get((r.facility_id, r.product_id)) or [None]:
            lines.append([f.code, f.name, p.code, p.drug.generic_name, p.dosage_form, p.strength, p.pack_label,
                          lot.lot_number if lot else "", lot.expiry_date.isoformat() if lot else "",
                          lot.qty_base if lot else 0, *common,
                          (_("已过期") if lot.is_expired else _("近效期") if lot.is_near_expiry else "") if lot else ""])
    return facility, [_(h) for h in EXPORT_HEADER], lines


# ---- reads of one facility -----------------------------------------------------------------------------------

def stock_card(facility: Facility, product: Product, *, limit: int = 500) -> dict:
    """A product's movements at a facility with the running balance, its position and its lots."""
    opening, lines, has_more = queries.stock_card(facility.id, product.id, limit=limit)
    return {"facility_id": facility.id, "product_id": product.id, "opening_balance": opening, "lines": lines,
            "has_more": has_more}


def stock_card_page(facility: Facility, product: Product) -> dict:
    card = stock_card(facility, product)
    return {"facility": facility, "product": product, "opening": card["opening_balance"],
            "lines": list(reversed(card["lines"])), "has_more": card["has_more"],
            "status": queries.stock_status_one(facility.id, product.id),
            "lots": queries.lots_on_hand([facility.id], product.id), "near_days": dispatch_policy.near_expiry_days()}


def lots(facility: Facility, product_id: int | None = None) -> list[queries.LotRow]:
    return queries.lots_on_hand([facility.id], product_id)


def transfers(user, query: dict) -> list:
    """Transfers into or out of a facility the user may see, newest first."""
    facility = get_facility_in_scope(user, query["facility_id"])
    return queries.transfers_for(facility.id, status=query.get("status"))


def receipt_form(facility: Facility) -> dict:
    return {"products": queries.stockable_products(facility), "units": list(QtyUnit)}


def dispense_form(facility: Facility) -> dict:
    return {"products": queries.products_in_stock(facility.id), "lots": queries.lots_on_hand([facility.id]),
            "units": list(QtyUnit)}


def adjust_form(facility: Facility) -> dict:
    on_hand = queries.lots_on_hand([facility.id])
    return {"lots": on_hand, "products": queries.products_by_id(lot.product_id for lot in on_hand),
            "reasons": list(AdjustReason), "units": list(QtyUnit), "limit_packs": services.approval_limit_packs()}


def count_sheet(facility: Facility) -> dict:
    """The stocktake count sheet: every lot on hand by name, code and expiry."""
    on_hand = queries.lots_on_hand([facility.id])
    products = queries.products_by_id(lot.product_id for lot in on_hand)
    on_hand.sort(key=lambda lot: (products[lot.product_id].drug.generic_name, products[lot.product_id].code,
                                  lot.expiry_date))
    return {"lots": on_hand, "products": products, "units": list(QtyUnit)}


# ---- writes --------------------------------------------------------------------------------------------------

def _written(operation: StockOperation) -> tuple[StockOperation, bool]:
    """The operation and whether this request recorded it (a replay, even one racing the first, did not)."""
    return operation, not operation.is_replay


def receive(user, facility: Facility, command: dict) -> tuple[StockOperation, bool]:
    """Goods received into stock (the lot is made if new)."""
    product = get_product(command["product_id"])
    operation = services.receive(
        facility, product, lot_number=command["lot_number"], expiry_date=command["expiry_date"],
        qty_base=to_base_units(command["qty"], command["unit"], product.pack_size),
        manufacturer=command.get("manufacturer", ""), note=command.get("note", ""), user=user,
        key=command["idempotency_key"])
    return _written(operation)


def dispense(user, facility: Facility, command: dict) -> tuple[StockOperation, bool]:
    """Dispensed to patients: FEFO over unexpired lots unless a lot is named."""
    product = get_product(command["product_id"])
    lot = services.get_lot(command["lot_id"], product) if command.get("lot_id") is not None else None
    operation = services.dispense(facility, product, qty_base=to_base_units(command["qty"], command["unit"],
                                                                            product.pack_size),
                                  lot=lot, note=command.get("note", ""), user=user, key=command["idempotency_key"])
    return _written(operation)


def adjust(user, facility: Facility, command: dict) -> tuple[StockOperation | None, AdjustmentRequest | None, bool]:
    """One lot corrected with a reason: booked at once up to the approval limit (`ADJUSTMENT_APPROVAL_PACKS`),
    above it recorded for a second person's approval. Returns (booking or None, pending request or None,
    whether this request made it)."""
    lot = services.get_lot(command["lot_id"])
    operation, pending = services.request_adjustment(
        facility, lot, qty_delta=command["qty_delta_base"], reason=command["reason"], note=command.get("note", ""),
        user=user, key=command["idempotency_key"])
    made = operation if operation is not None else pending
    return operation, pending, not made.is_replay


def adjustment_requests(user, query: dict) -> list[AdjustmentRequest]:
    """Adjustment requests of a facility the user may see, newest first (`status` to narrow)."""
    facility = get_facility_in_scope(user, query["facility_id"])
    return services.adjustment_requests(facility.id, query.get("status"),
                                        within=facility if query.get("subtree") else None)


def adjustments_page(user, facility: Facility) -> dict:
    """The adjustment requests of the facility and the facilities it supplies (a township approves its villages'):
    those waiting first."""
    requests = services.adjustment_requests(facility.id, within=facility)
    return {"facility": facility, "pending": [r for r in requests if r.status == AdjustmentRequestStatus.PENDING],
            "decided": [r for r in requests if r.status != AdjustmentRequestStatus.PENDING][:50],
            "limit_packs": services.approval_limit_packs()}


def decide_adjustment(user, request: AdjustmentRequest, command: dict, *, approve: bool) -> AdjustmentRequest:
    """Approve (book) or reject a pending adjustment; another person than the one who asked decides."""
    return services.decide_adjustment(request, approve=approve, user=user, note=command.get("note", ""))


def stocktake(user, facility: Facility, command: dict) -> tuple[StockOperation, bool]:
    """Counted − recorded posted for every counted lot that differs."""
    counts = {c["lot_id"]: c["counted_base"] for c in command["counts"]}
    for lot_id in counts:
        services.get_lot(lot_id)
    operation = services.stocktake(facility, counts, note=command.get("note", ""), user=user,
                                   key=command["idempotency_key"])
    return _written(operation)


def write_off_expired(user, facility: Facility, command: dict) -> tuple[StockOperation, bool]:
    """Every expired lot at the facility written off."""
    return _written(services.write_off_expired(facility, user=user, key=command["idempotency_key"]))


def set_policy(user, facility: Facility, command: dict):
    """A product's min and max stock at a facility (months, optionally base units)."""
    product = get_product(command["product_id"])
    return services.set_policy(facility, product, min_months=command["min_months"], max_months=command["max_months"],
                               min_qty_base=command.get("min_qty_base"), max_qty_base=command.get("max_qty_base"),
                               user=user)


def clear_policy(user, facility: Facility, product: Product) -> None:
    """Back to the tier defaults for a product at a facility."""
    services.clear_policy(facility, product, user=user)
