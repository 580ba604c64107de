"""Suppliers, what they supply at which price, purchase orders and goods receipts."""

from datetime import datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..catalog.models import Product
from ..extensions import db
from ..facilities.models import Facility
from ..inventory.models import Lot
from ..models_base import TimestampMixin
from ..vocabulary import PurchaseStatus  # noqa: F401


class Supplier(TimestampMixin, db.Model):
    __tablename__ = "supplier"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    contact: Mapped[str] = mapped_column(String(80), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    address: Mapped[str] = mapped_column(String(255), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    products: Mapped[list["SupplierProduct"]] = relationship(back_populates="supplier",
                                                             order_by="SupplierProduct.id",
                                                             cascade="all, delete-orphan")


class SupplierProduct(db.Model):
    """A product a supplier delivers, at the unified purchase price per pack."""

    __tablename__ = "supplier_product"
    __table_args__ = (UniqueConstraint("supplier_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))

    supplier: Mapped[Supplier] = relationship(back_populates="products")
    product: Mapped[Product] = relationship()

OPEN_PURCHASE_STATUSES = (PurchaseStatus.CONFIRMED, PurchaseStatus.PARTIALLY_RECEIVED)


class PurchaseOrder(TimestampMixin, db.Model):
    """An order of the central pharmacy to one supplier: proposed → confirmed → (partially) received."""

    __tablename__ = "purchase_order"
    __scope__ = ("facility_id",)  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该采购单")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("supplier.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    status: Mapped[str] = mapped_column(String(24), default=PurchaseStatus.PROPOSED, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    supplier: Mapped[Supplier] = relationship()
    facility: Mapped[Facility] = relationship()
    lines: Mapped[list["PurchaseOrderLine"]] = relationship(
        back_populates="purchase_order", cascade="all, delete-orphan",
        order_by=lambda: [PurchaseOrderLine.is_vbp.desc(), PurchaseOrderLine.id])
    receipts: Mapped[list["GoodsReceipt"]] = relationship(back_populates="purchase_order",
                                                          order_by="GoodsReceipt.id")

    @property
    def number(self) -> str:
        return f"PO{self.id:05d}"

    @property
    def total_amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal(0))


class PurchaseOrderLine(db.Model):
    __tablename__ = "purchase_order_line"
    __table_args__ = (UniqueConstraint("purchase_order_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    qty_packs: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # 集采 (volume-based procurement) product when proposed: listed first and marked.
    is_vbp: Mapped[bool] = mapped_column(Boolean, default=False)
    # Back-ordered packs the line was proposed for, for the buyer to see.
    backordered_packs: Mapped[int] = mapped_column(Integer, default=0)
    qty_packs_received: Mapped[int] = mapped_column(Integer, default=0)

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()

    @property
    def amount(self) -> Decimal:
        return (self.unit_price or Decimal(0)) * self.qty_packs

    @property
    def qty_packs_open(self) -> int:
        return max(0, self.qty_packs - self.qty_packs_received)


class GoodsReceipt(db.Model):
    """Goods delivered against a purchase order; each line became a lot at the central pharmacy."""

    __tablename__ = "goods_receipt"
    __table_args__ = (UniqueConstraint("key_scope", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    purchase_order_id: Mapped[int] = mapped_column(ForeignKey("purchase_order.id"), index=True)
    # The sender's key (`key_scope`: the central pharmacy and the user, see pharmacy/idempotency.py) and what was
    # booked under it (`request_hash`): the same key with other lines is refused.
    idempotency_key: Mapped[str] = mapped_column(String(80))
    key_scope: Mapped[str] = mapped_column(String(40), default="")
    request_hash: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    purchase_order: Mapped[PurchaseOrder] = relationship(back_populates="receipts")
    lines: Mapped[list["GoodsReceiptLine"]] = relationship(back_populates="receipt", order_by="GoodsReceiptLine.id")
    received_by = relationship("User")

    # Not stored: set when this request found the receipt booked earlier under its key (a replay: 200).
    is_replay = False


class GoodsReceiptLine(db.Model):
    __tablename__ = "goods_receipt_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    receipt_id: Mapped[int] = mapped_column(ForeignKey("goods_receipt.id"), index=True)
    purchase_order_line_id: Mapped[int] = mapped_column(ForeignKey("purchase_order_line.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    qty_packs: Mapped[int] = mapped_column(Integer)
    qty_base: Mapped[int] = mapped_column(Integer)

    receipt: Mapped[GoodsReceipt] = relationship(back_populates="lines")
    purchase_order_line: Mapped[PurchaseOrderLine] = relationship()
    lot: Mapped[Lot] = relationship()
