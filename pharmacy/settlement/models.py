"""Closed months and the statements stored when a month is closed."""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..facilities.models import Facility


class SettlementMonth(db.Model):
    """A month the county closed: its statements are stored and read from here ever after."""

    __tablename__ = "settlement_month"
    __table_args__ = (UniqueConstraint("root_facility_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    month: Mapped[str] = mapped_column(String(7))
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    closed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    closed_by = relationship("User")


class Statement(db.Model):
    __tablename__ = "settlement_statement"
    __table_args__ = (UniqueConstraint("facility_id", "month"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    settlement_month_id: Mapped[int] = mapped_column(ForeignKey("settlement_month.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    month: Mapped[str] = mapped_column(String(7))
    total_amount: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal(0))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    facility: Mapped[Facility] = relationship()
    settlement_month: Mapped[SettlementMonth] = relationship()
    lines: Mapped[list["StatementLine"]] = relationship(back_populates="statement", order_by="StatementLine.id",
                                                       cascade="all, delete-orphan")


class StatementLine(db.Model):
    """One receipt as it was valued when the month closed (names and flags copied, so later catalog edits do not
    rewrite history)."""

    __tablename__ = "settlement_statement_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("settlement_statement.id"), index=True)
    movement_id: Mapped[int] = mapped_column(ForeignKey("stock_movement.id"))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    product_code: Mapped[str] = mapped_column(String(24))
    product_name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(32))
    is_vbp: Mapped[bool] = mapped_column(Boolean, default=False)
    lot_number: Mapped[str] = mapped_column(String(64))
    qty_base: Mapped[int] = mapped_column(Integer)
    base_unit: Mapped[str] = mapped_column(String(8))
    pack_size: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    amount: Mapped[Decimal] = mapped_column(Numeric(14, 2))

    statement: Mapped[Statement] = relationship(back_populates="lines")
