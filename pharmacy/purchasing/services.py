"""Suppliers, purchase-order proposals for back-orders, confirmation, and goods receipts that create lots at the
central pharmacy and announce them (`events.goods_received`: orders release their back-orders). Services flush;
the caller commits."""

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from .. import clock, events, idempotency
from ..catalog.models import Product
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..facilities.models import Facility, FacilityKind
from ..inventory import services as stock
from . import demand
from .models import (OPEN_PURCHASE_STATUSES, GoodsReceipt, GoodsReceiptLine, PurchaseOrder, PurchaseOrderLine,
                     PurchaseStatus, Supplier, SupplierProduct)

log = logging.getLogger(__name__)

MAX_QTY_PACKS = 1000000



# ---------------------------------------------------------------------------------------------------------------
# Suppliers


def _price(value, field: str = "unit_price") -> Decimal:
    try:
        price = Decimal(str(value)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise InvalidInput(_("价格无效"), fields={field: [_("价格无效")]}) from None
    if price < 0:
        raise InvalidInput(_("价格不能为负"), fields={field: [_("价格不能为负")]})
    return price


def get_supplier(supplier_id: int) -> Supplier:
    supplier = db.session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound(_("找不到该供应商"))
    return supplier


def list_suppliers(*, active_only: bool = False) -> list[Supplier]:
    stmt = select(Supplier).options(selectinload(Supplier.products).joinedload(SupplierProduct.product)
                                    .joinedload(Product.drug)).order_by(Supplier.code)
    if active_only:
        stmt = stmt.where(Supplier.is_active.is_(True))
    return list(db.session.scalars(stmt))


def create_supplier(*, code: str, name: str, contact: str = "", phone: str = "", address: str = "") -> Supplier:
    """Add a supplier; the code is unique."""
    code, name = (code or "").strip().upper(), (name or "").strip()
    if not code or not name:
        raise InvalidInput(_("编码和名称均为必填"), fields={"code": [_("必填")], "name": [_("必填")]})
    if db.session.scalar(select(Supplier.id).where(Supplier.code == code)) is not None:
        raise Conflict(_("供应商编码已存在"), fields={"code": [_("供应商编码已存在")]})
    supplier = Supplier(code=code, name=name, contact=(contact or "").strip(), phone=(phone or "").strip(),
                        address=(address or "").strip(), is_active=True)
    db.session.add(supplier)
    db.session.flush()
    return supplier


def update_supplier(supplier: Supplier, **changes) -> Supplier:
    for field in ("name", "contact", "phone", "address"):
        if changes.get(field) is not None:
            setattr(supplier, field, changes[field].strip())
    if changes.get("is_active") is not None:
        supplier.is_active = bool(changes["is_active"])
    if not supplier.name:
        raise InvalidInput(_("名称必填"), fields={"name": [_("必填")]})
    db.session.flush()
    return supplier


def set_supplier_product(supplier: Supplier, product: Product, unit_price) -> SupplierProduct:
    """Record (or change) the price per pack at which a supplier delivers a product."""
    price = _price(unit_price)
    item = next((sp for sp in supplier.products if sp.product_id == product.id), None)
    if item is None:
        item = SupplierProduct(product=product, unit_price=price)
        supplier.products.append(item)
    item.unit_price = price
    db.session.flush()
    return item


def remove_supplier_product(supplier: Supplier, product_id: int) -> None:
    item = next((sp for sp in supplier.products if sp.product_id == product_id), None)
    if item is None:
        raise NotFound(_("该供应商不供应此产品"))
    supplier.products.remove(item)
    db.session.flush()


def best_offers(product_ids) -> dict[int, SupplierProduct]:
    """The cheapest active supplier of each product (ties: supplier code)."""
    rows = db.session.scalars(
        select(SupplierProduct).join(Supplier, Supplier.id == SupplierProduct.supplier_id)
        .where(Supplier.is_active.is_(True), SupplierProduct.product_id.in_(list(product_ids)))
        .options(joinedload(SupplierProduct.supplier))
        .order_by(SupplierProduct.product_id, SupplierProduct.unit_price, Supplier.code))
    offers: dict[int, SupplierProduct] = {}
    for offer in rows:
        offers.setdefault(offer.product_id, offer)
    return offers


# ---------------------------------------------------------------------------------------------------------------
# Proposals


def central_pharmacy_for(user) -> Facility:
    """The central pharmacy a county user buys for."""
    from ..facilities.services import central_pharmacy_of

    central = central_pharmacy_of(user.facility)
    if central is None or central.kind != FacilityKind.CENTRAL_PHARMACY:
        raise NotFound(_("找不到区域中心药房"))
    return central


@dataclass
class PurchaseNeed:
    product: Product
    backordered_packs: int
    on_purchase_packs: int

    @property
    def to_buy_packs(self) -> int:
        return max(0, self.backordered_packs - self.on_purchase_packs)


def open_purchase_packs(central: Facility) -> dict[int, int]:
    """Packs per product confirmed with suppliers and not delivered yet."""
    rows = db.session.execute(
        select(PurchaseOrderLine.product_id, PurchaseOrderLine.qty_packs, PurchaseOrderLine.qty_packs_received)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(PurchaseOrder.facility_id == central.id, PurchaseOrder.status.in_(OPEN_PURCHASE_STATUSES)))
    out: dict[int, int] = {}
    for product_id, qty, received in rows:
        out[product_id] = out.get(product_id, 0) + max(0, qty - received)
    return out


def purchase_needs(central: Facility) -> list[PurchaseNeed]:
    """What central stock cannot cover: back-orders of the townships less what is already bought."""
    backordered: dict[int, int] = {}
    products: dict[int, Product] = {}
    for product, packs in demand.backordered_packs(central):
        backordered[product.id] = backordered.get(product.id, 0) + packs
        products[product.id] = product
    on_purchase = open_purchase_packs(central)
    needs = [PurchaseNeed(products[pid], packs, on_purchase.get(pid, 0)) for pid, packs in backordered.items()]
    return sorted(needs, key=lambda n: (not n.product.is_vbp, n.product.code))


def propose_purchase_orders(central: Facility, user) -> tuple[list[PurchaseOrder], list[PurchaseNeed]]:
    """Replace the unconfirmed proposals by fresh ones: one purchase order per supplier (cheapest offer), 集采
    products first and marked. Returns the proposals and the needs no supplier offers."""
    for old in db.session.scalars(select(PurchaseOrder).where(PurchaseOrder.facility_id == central.id,
                                                              PurchaseOrder.status == PurchaseStatus.PROPOSED)):
        db.session.delete(old)
    db.session.flush()
    needs = [n for n in purchase_needs(central) if n.to_buy_packs > 0]
    offers = best_offers([n.product.id for n in needs])
    by_supplier: dict[int, PurchaseOrder] = {}
    unsupplied = []
    for need in needs:
        offer = offers.get(need.product.id)
        if offer is None:
            unsupplied.append(need)
            continue
        po = by_supplier.get(offer.supplier_id)
        if po is None:
            po = PurchaseOrder(supplier=offer.supplier, facility_id=central.id, status=PurchaseStatus.PROPOSED,
                               created_by_id=getattr(user, "id", None))
            db.session.add(po)
            by_supplier[offer.supplier_id] = po
        po.lines.append(PurchaseOrderLine(product=need.product, qty_packs=need.to_buy_packs,
                                          unit_price=offer.unit_price, is_vbp=need.product.is_vbp,
                                          backordered_packs=need.backordered_packs))
    db.session.flush()
    proposals = sorted(by_supplier.values(), key=lambda po: po.supplier.code)
    log.info("purchase proposals for %s by %s: %s orders, %s products without supplier", central.code,
             getattr(user, "username", "-"), len(proposals), len(unsupplied))
    return proposals, unsupplied


# ---------------------------------------------------------------------------------------------------------------
# Editing and confirming


def list_purchase_orders(central: Facility, *, status: str | None = None) -> list[PurchaseOrder]:
    stmt = (select(PurchaseOrder).where(PurchaseOrder.facility_id == central.id)
            .options(joinedload(PurchaseOrder.supplier),
                     selectinload(PurchaseOrder.lines).joinedload(PurchaseOrderLine.product)
                     .joinedload(Product.drug))
            .order_by(PurchaseOrder.id.desc()))
    if status:
        stmt = stmt.where(PurchaseOrder.status == status)
    return list(db.session.scalars(stmt))


def _require_status(po: PurchaseOrder, *statuses: str) -> None:
    if po.status not in statuses:
        raise Conflict(_("采购单状态为“%(status)s”，不能执行此操作", status=PurchaseStatus.label_of(po.status)),
                       code="invalid_transition")


def _check_qty(qty_packs) -> int:
    if not isinstance(qty_packs, int) or isinstance(qty_packs, bool) or not 0 < qty_packs <= MAX_QTY_PACKS:
        raise InvalidInput(_("数量应为 1 到 %(max)s 之间的整数", max=MAX_QTY_PACKS),
                           fields={"qty_packs": [_("数量无效")]})
    return qty_packs


def get_po_line(po: PurchaseOrder, line_id: int) -> PurchaseOrderLine:
    line = next((line for line in po.lines if line.id == line_id), None)
    if line is None:
        raise NotFound(_("找不到该采购明细"))
    return line


def update_po_lines(po: PurchaseOrder, changes: dict[int, dict]) -> PurchaseOrder:
    """Apply several line edits of one proposal at once (the page's save button); all or nothing."""
    _require_status(po, PurchaseStatus.PROPOSED)
    for line_id, change in changes.items():
        update_po_line(po, get_po_line(po, line_id), **change)
    return po


def update_po_line(po: PurchaseOrder, line: PurchaseOrderLine, *, qty_packs: int | None = None,
                   unit_price=None) -> PurchaseOrderLine:
    """Change a proposed line's quantity or price."""
    _require_status(po, PurchaseStatus.PROPOSED)
    if qty_packs is not None:
        line.qty_packs = _check_qty(qty_packs)
    if unit_price is not None:
        line.unit_price = _price(unit_price)
    db.session.flush()
    return line


def add_po_line(po: PurchaseOrder, product: Product, *, qty_packs: int, unit_price=None) -> PurchaseOrderLine:
    """Add a product to a proposal (price from the supplier's offer unless given)."""
    _require_status(po, PurchaseStatus.PROPOSED)
    _check_qty(qty_packs)
    if any(line.product_id == product.id for line in po.lines):
        raise Conflict(_("该产品已在采购单中"), code="duplicate_line")
    if unit_price is None:
        offer = next((sp for sp in po.supplier.products if sp.product_id == product.id), None)
        if offer is None:
            raise InvalidInput(_("该供应商没有此产品的报价，请填写单价"), fields={"unit_price": [_("必填")]})
        unit_price = offer.unit_price
    line = PurchaseOrderLine(product=product, qty_packs=qty_packs, unit_price=_price(unit_price),
                             is_vbp=product.is_vbp)
    po.lines.append(line)
    db.session.flush()
    return line


def remove_po_line(po: PurchaseOrder, line: PurchaseOrderLine) -> None:
    _require_status(po, PurchaseStatus.PROPOSED)
    po.lines.remove(line)
    db.session.flush()


def confirm_purchase_order(po: PurchaseOrder, user) -> PurchaseOrder:
    """Send a proposal to the supplier: it can no longer be edited, only received or cancelled."""
    _require_status(po, PurchaseStatus.PROPOSED)
    if not po.lines:
        raise InvalidInput(_("采购单没有明细，不能确认"), code="empty_order")
    po.status = PurchaseStatus.CONFIRMED
    po.confirmed_at = clock.now_utc()
    po.confirmed_by_id = getattr(user, "id", None)
    db.session.flush()
    log.info("purchase order %s confirmed by %s", po.id, getattr(user, "username", "-"))
    return po


def cancel_purchase_order(po: PurchaseOrder, user, reason: str) -> PurchaseOrder:
    _require_status(po, PurchaseStatus.PROPOSED, PurchaseStatus.CONFIRMED)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请填写原因"), fields={"reason": [_("必填")]})
    po.status = PurchaseStatus.CANCELLED
    po.note = (po.note + "\n" if po.note else "") + reason
    db.session.flush()
    return po


# ---------------------------------------------------------------------------------------------------------------
# Goods receipt


@dataclass
class ReceiptLineInput:
    purchase_order_line_id: int
    lot_number: str
    expiry_date: date
    qty_packs: int
    manufacturer: str = ""


def receive_goods(po: PurchaseOrder, lines: list[ReceiptLineInput], *, user, key: str,
                  note: str = "") -> GoodsReceipt:
    """Book a delivery against a confirmed purchase order: one lot per line at the central pharmacy, announced as
    `goods_received` (the orders domain allocates it to back-orders). A replay with the same key returns the first
    receipt."""
    key = (key or "").strip()
    if not key or len(key) > 80:
        raise InvalidInput(_("缺少幂等键（idempotency key）"), fields={"key": [_("必填")]})
    scope = idempotency.scope_of(po.facility_id, user)
    request_hash = idempotency.fingerprint(purchase_order_id=po.id, note=(note or "").strip(), lines=[
        [item.purchase_order_line_id, (item.lot_number or "").strip(), item.expiry_date, item.qty_packs,
         (item.manufacturer or "").strip()] for item in lines])
    existing = db.session.scalar(select(GoodsReceipt).where(GoodsReceipt.key_scope == scope,
                                                            GoodsReceipt.idempotency_key == key))
    if existing is not None:
        if existing.purchase_order_id != po.id:
            raise Conflict(_("该幂等键已用于另一项操作"), code="idempotency_key_reused")
        idempotency.require_same_request(existing.request_hash, request_hash)
        existing.is_replay = True
        return existing
    _require_status(po, *OPEN_PURCHASE_STATUSES)
    if not lines:
        raise InvalidInput(_("到货单没有明细"))
    po_lines = {line.id: line for line in po.lines}
    incoming: dict[int, int] = {}
    errors = {}
    for index, item in enumerate(lines):
        po_line = po_lines.get(item.purchase_order_line_id)
        if po_line is None:
            errors[str(index)] = [_("明细不属于该采购单")]
            continue
        if not isinstance(item.qty_packs, int) or item.qty_packs <= 0:
            errors[str(index)] = [_("数量必须是正整数")]
            continue
        incoming[po_line.id] = incoming.get(po_line.id, 0) + item.qty_packs
        if incoming[po_line.id] > po_line.qty_packs_open:
            errors[str(index)] = [_("到货数量超过未到数量（%(open)s 盒）", open=po_line.qty_packs_open)]
    if errors:
        raise InvalidInput(_("到货明细有误"), fields=errors)
    # By id, not relationship: the savepoint below must be the first to see the row.
    receipt = GoodsReceipt(purchase_order_id=po.id, idempotency_key=key, key_scope=scope, request_hash=request_hash,
                           note=(note or "").strip(), received_by_id=getattr(user, "id", None))
    try:
        with db.session.begin_nested():
            db.session.add(receipt)
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("该到货单正在处理或已处理"), code="duplicate_receipt") from None
    central = po.facility
    for index, item in enumerate(lines):
        po_line = po_lines[item.purchase_order_line_id]
        product = po_line.product
        qty_base = item.qty_packs * product.pack_size
        operation = stock.receive(central, product, lot_number=item.lot_number, expiry_date=item.expiry_date,
                                  qty_base=qty_base, user=user, key=f"{key}:{index}", manufacturer=item.manufacturer,
                                  ref_type="purchase_order", ref_id=po.id,
                                  note=_("采购单 %(number)s 到货", number=po.number))
        lot_id = operation.movements[0].lot_id
        receipt.lines.append(GoodsReceiptLine(purchase_order_line=po_line, lot_id=lot_id, qty_packs=item.qty_packs,
                                              qty_base=qty_base))
        po_line.qty_packs_received += item.qty_packs
    po.status = (PurchaseStatus.RECEIVED if all(line.qty_packs_open == 0 for line in po.lines)
                 else PurchaseStatus.PARTIALLY_RECEIVED)
    db.session.flush()
    log.info("goods receipt %s for %s by %s: %s lines", receipt.id, po.number, getattr(user, "username", "-"),
             len(lines))
    # Orders listen and allocate the new stock to their back-orders (same transaction).
    events.goods_received.send(receipt, facility=central, user=user,
                               product_ids=sorted({po_lines[i.purchase_order_line_id].product_id for i in lines}))
    return receipt
