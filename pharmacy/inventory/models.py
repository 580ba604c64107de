"""Stock: lots, the append-only movement ledger and the balances it keeps."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import (CheckConstraint, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..catalog.models import Product
from ..extensions import db
from ..facilities.models import Facility
from ..vocabulary import AdjustmentRequestStatus, AdjustReason, MovementKind, TransferStatus  # noqa: F401

class Lot(db.Model):
    __tablename__ = "lot"
    __table_args__ = (UniqueConstraint("product_id", "lot_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    lot_number: Mapped[str] = mapped_column(String(64))
    expiry_date: Mapped[date] = mapped_column(Date, index=True)
    manufacturer: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    product: Mapped[Product] = relationship()


class StockOperation(db.Model):
    """One write a user asked for (a dispense, a transfer ...), keyed for idempotency; its movements hang off it."""

    __tablename__ = "stock_operation"
    __table_args__ = (UniqueConstraint("key_scope", "idempotency_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The key is the sender's (`key_scope`: facility and user, see pharmacy/idempotency.py); `request_hash` is what
    # was asked under it, so the same key with another request is refused.
    idempotency_key: Mapped[str] = mapped_column(String(80))
    key_scope: Mapped[str] = mapped_column(String(40), default="")
    request_hash: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(24))
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    movements: Mapped[list["StockMovement"]] = relationship(back_populates="operation", order_by="StockMovement.id")

    # Not stored: set when this request found the operation recorded earlier under its key (a replay: 200).
    is_replay = False


class StockMovement(db.Model):
    """A signed quantity of one lot at one facility. Rows are inserted, never updated or deleted."""

    __tablename__ = "stock_movement"
    __table_args__ = (
        Index("ix_stock_movement_facility_product_time", "facility_id", "product_id", "created_at"),
        Index("ix_stock_movement_kind_time", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    operation_id: Mapped[int] = mapped_column(ForeignKey("stock_operation.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    qty_base: Mapped[int] = mapped_column(Integer)
    balance_after: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(24), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    ref_type: Mapped[str] = mapped_column(String(24), default="")
    ref_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    operation: Mapped[StockOperation] = relationship(back_populates="movements")
    lot: Mapped[Lot] = relationship()
    product: Mapped[Product] = relationship()
    facility: Mapped[Facility] = relationship()
    user = relationship("User")


class StockBalance(db.Model):
    """Facility × lot on hand, always the sum of its movements; locked while it changes, never below zero."""

    __tablename__ = "stock_balance"
    __table_args__ = (
        UniqueConstraint("facility_id", "lot_id"),
        CheckConstraint("qty_base >= 0", name="non_negative"),
        Index("ix_stock_balance_facility_product", "facility_id", "product_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    qty_base: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, onupdate=clock.now_utc)

    lot: Mapped[Lot] = relationship()
    product: Mapped[Product] = relationship()
    facility: Mapped[Facility] = relationship()

class Transfer(db.Model):
    """Goods on their way from one facility to another: out of the source when sent, into the destination when
    received, with what did not arrive recorded line by line."""

    __tablename__ = "stock_transfer"
    __scope__ = ("from_facility_id", "to_facility_id")  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该调拨单")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    from_facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    to_facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=TransferStatus.IN_TRANSIT, index=True)
    ref_type: Mapped[str] = mapped_column(String(24), default="")
    ref_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    lines: Mapped[list["TransferLine"]] = relationship(back_populates="transfer", order_by="TransferLine.id")
    from_facility: Mapped[Facility] = relationship(foreign_keys=[from_facility_id])
    to_facility: Mapped[Facility] = relationship(foreign_keys=[to_facility_id])


class TransferLine(db.Model):
    __tablename__ = "stock_transfer_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    transfer_id: Mapped[int] = mapped_column(ForeignKey("stock_transfer.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    qty_base_sent: Mapped[int] = mapped_column(Integer)
    qty_base_received: Mapped[int | None] = mapped_column(Integer)
    discrepancy_reason: Mapped[str] = mapped_column(String(24), default="")
    discrepancy_note: Mapped[str] = mapped_column(Text, default="")
    ref_type: Mapped[str] = mapped_column(String(24), default="")
    ref_id: Mapped[int | None] = mapped_column(Integer)

    transfer: Mapped[Transfer] = relationship(back_populates="lines")
    lot: Mapped[Lot] = relationship()
    product: Mapped[Product] = relationship()


class StockPolicy(db.Model):
    """Min and max stock of a product at a facility, in months of stock (tier defaults apply when absent)."""

    __tablename__ = "stock_policy"
    __table_args__ = (UniqueConstraint("facility_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    min_months: Mapped[float] = mapped_column(Numeric(6, 2))
    max_months: Mapped[float] = mapped_column(Numeric(6, 2))
    min_qty_base: Mapped[int | None] = mapped_column(Integer)
    max_qty_base: Mapped[int | None] = mapped_column(Integer)
    shelf_location: Mapped[str] = mapped_column(String(40), default="")


class AdjustmentRequest(db.Model):
    """An adjustment above the approval limit (`ADJUSTMENT_APPROVAL_PACKS`): recorded, not booked, until a second
    person with stock rights at the facility or above approves it (then its operation is the booking) or rejects
    it."""

    __tablename__ = "stock_adjustment_request"
    __scope__ = ("facility_id",)  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该调整申请")
    __table_args__ = (Index("ix_stock_adjustment_request_facility_status", "facility_id", "status"),
                      UniqueConstraint("key_scope", "idempotency_key"))

    is_replay = False  # set on a request answered again under its key (see pharmacy/idempotency.py)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(80))
    key_scope: Mapped[str] = mapped_column(String(40), default="")
    request_hash: Mapped[str] = mapped_column(String(64), default="")
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"))
    qty_delta_base: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=AdjustmentRequestStatus.PENDING)
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    operation_id: Mapped[int | None] = mapped_column(ForeignKey("stock_operation.id"))

    facility: Mapped[Facility] = relationship()
    product: Mapped[Product] = relationship()
    lot: Mapped[Lot] = relationship()
    operation: Mapped[StockOperation | None] = relationship()
    requested_by = relationship("User", foreign_keys=[requested_by_id])
    decided_by = relationship("User", foreign_keys=[decided_by_id])
