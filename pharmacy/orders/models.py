"""A township's unified order, its lines, the lots allocated to them and the shipments that carry them."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..catalog.models import Product
from ..extensions import db
from ..facilities.models import Facility
from ..inventory.models import Lot, Transfer
from ..models_base import TimestampMixin
from ..shortages.models import Shortage
from ..supply.models import Consignment, ConsignmentStatus
from ..vocabulary import OrderLineSource as LineSource, OrderLineStatus as LineStatus, OrderStatus, ShipmentStatus  # noqa: F401

# Orders whose lines still count as "on order" for the township (goods not yet shipped).
ACTIVE_STATUSES = (OrderStatus.SUBMITTED, OrderStatus.APPROVED, OrderStatus.ALLOCATED, OrderStatus.SHIPPED,
                   OrderStatus.RECEIVED)

class Order(TimestampMixin, db.Model):
    """One order of a township for itself and its villages: draft → submitted → approved → allocated →
    shipped → received (or rejected, cancelled)."""

    __tablename__ = "supply_order"
    __scope__ = ("facility_id",)  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该订单")
    __table_args__ = (Index("ix_supply_order_facility_status", "facility_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.DRAFT, index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    allocated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    facility: Mapped[Facility] = relationship()
    created_by = relationship("User", foreign_keys=[created_by_id])
    submitted_by = relationship("User", foreign_keys=[submitted_by_id])
    approved_by = relationship("User", foreign_keys=[approved_by_id])
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.id",
                                                    cascade="all, delete-orphan")
    shipments: Mapped[list["Shipment"]] = relationship(back_populates="order", order_by="Shipment.id")

    @property
    def number(self) -> str:
        return f"{self.facility.code}-{self.id:05d}"

    @property
    def has_emergency(self) -> bool:
        return any(line.urgency == "emergency" and line.status != LineStatus.REJECTED for line in self.lines)

    @property
    def backordered_packs(self) -> int:
        return sum(line.qty_packs_backordered for line in self.lines)


class OrderLine(db.Model):
    """One product of an order, in packs, with where the suggestion came from and how it was filled."""

    __tablename__ = "supply_order_line"
    __table_args__ = (UniqueConstraint("order_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("supply_order.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    source: Mapped[str] = mapped_column(String(16), default=LineSource.MANUAL)
    # Meant (at least partly) for the villages: the product must then be allowed at village tier.
    is_for_villages: Mapped[bool] = mapped_column(default=False)
    urgency: Mapped[str] = mapped_column(String(16), default="routine")
    qty_packs: Mapped[int] = mapped_column(Integer, default=0)
    # What the builder proposed, and why (all in packs), kept for the approver to see.
    suggested_packs: Mapped[int] = mapped_column(Integer, default=0)
    shortage_packs: Mapped[int] = mapped_column(Integer, default=0)
    township_need_packs: Mapped[int] = mapped_column(Integer, default=0)
    village_need_packs: Mapped[int] = mapped_column(Integer, default=0)
    on_order_packs: Mapped[int] = mapped_column(Integer, default=0)
    is_edited: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=LineStatus.PENDING)
    qty_packs_approved: Mapped[int | None] = mapped_column(Integer)
    approval_reason: Mapped[str] = mapped_column(Text, default="")
    qty_packs_allocated: Mapped[int] = mapped_column(Integer, default=0)
    qty_packs_backordered: Mapped[int] = mapped_column(Integer, default=0)
    # How the last allocation treated the line (allocation.RULE_*), "near_expiry" when only near-expiry lots were left.
    allocation_rule: Mapped[str] = mapped_column(String(16), default="")
    qty_base_shipped: Mapped[int] = mapped_column(Integer, default=0)
    qty_base_received: Mapped[int] = mapped_column(Integer, default=0)

    order: Mapped[Order] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    shortages: Mapped[list[Shortage]] = relationship(secondary="supply_order_line_shortage",
                                                     order_by="Shortage.id")
    allocations: Mapped[list["Allocation"]] = relationship(back_populates="line", order_by="Allocation.id")

    @property
    def qty_packs_effective(self) -> int:
        """Packs the county agreed to supply (the request until it is approved; 0 when rejected)."""
        if self.status == LineStatus.REJECTED:
            return 0
        return self.qty_packs if self.qty_packs_approved is None else self.qty_packs_approved

    @property
    def qty_packs_shipped(self) -> float:
        return self.qty_base_shipped / (self.product.pack_size or 1)

    @property
    def qty_packs_received(self) -> float:
        return self.qty_base_received / (self.product.pack_size or 1)


class OrderLineShortage(db.Model):
    """Which shortage registrations an order line serves."""

    __tablename__ = "supply_order_line_shortage"

    line_id: Mapped[int] = mapped_column(ForeignKey("supply_order_line.id", ondelete="CASCADE"), primary_key=True)
    shortage_id: Mapped[int] = mapped_column(ForeignKey("shortage.id"), primary_key=True, index=True)


class Allocation(db.Model):
    """Central-pharmacy stock of one lot set aside for an order line; it leaves with a shipment."""

    __tablename__ = "supply_allocation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    line_id: Mapped[int] = mapped_column(ForeignKey("supply_order_line.id"), index=True)
    source_facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    qty_base: Mapped[int] = mapped_column(Integer)
    shipment_id: Mapped[int | None] = mapped_column(ForeignKey("supply_shipment.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    line: Mapped[OrderLine] = relationship(back_populates="allocations")
    lot: Mapped[Lot] = relationship()

class Shipment(db.Model):
    """The consignment that carries allocated lots of an order to the township (the order's side of it)."""

    __tablename__ = "supply_shipment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("supply_order.id"), index=True)
    consignment_id: Mapped[int] = mapped_column(ForeignKey("supply_consignment.id"), unique=True)
    shipped_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    shipped_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    order: Mapped[Order] = relationship(back_populates="shipments")
    consignment: Mapped[Consignment] = relationship()
    allocations: Mapped[list[Allocation]] = relationship(order_by="Allocation.id")
    shipped_by = relationship("User", foreign_keys=[shipped_by_id])

    # Not stored: set when this request found the shipment sent earlier under its key (a replay: 200).
    is_replay = False

    @property
    def status(self) -> str:
        return ShipmentStatus.RECEIVED if self.consignment.status == ConsignmentStatus.RECEIVED \
            else ShipmentStatus.IN_TRANSIT

    @property
    def transfer(self) -> Transfer | None:
        return self.consignment.transfer

    @property
    def transfer_id(self) -> int | None:
        return self.consignment.transfer_id

    @property
    def received_at(self) -> datetime | None:
        return self.consignment.received_at

    @property
    def proof(self):
        return self.consignment.proof
