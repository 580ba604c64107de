"""Shortage registrations (缺药登记) from village points and their lifecycle."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Date, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..catalog.models import Product
from ..extensions import db
from ..facilities.models import Facility
from ..vocabulary import ShortageReason, ShortageStatus, Urgency  # noqa: F401

OPEN_STATUSES = (ShortageStatus.REGISTERED, ShortageStatus.ACKNOWLEDGED, ShortageStatus.ORDERED,
                 ShortageStatus.DISPATCHED)

# What people may do by hand from each status (the statuses that follow the goods are derived, see progress.py).
TRANSITIONS = {
    ShortageStatus.REGISTERED: {ShortageStatus.ACKNOWLEDGED, ShortageStatus.CANCELLED},
    ShortageStatus.ACKNOWLEDGED: {ShortageStatus.CANCELLED},
    ShortageStatus.ORDERED: {ShortageStatus.CANCELLED},
    ShortageStatus.DISPATCHED: set(),
    ShortageStatus.DELIVERED: set(),
    ShortageStatus.CANCELLED: set(),
}




class Shortage(db.Model):
    __tablename__ = "shortage"
    __scope__ = ("facility_id",)  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该缺药登记")
    __table_args__ = (Index("ix_shortage_facility_status", "facility_id", "status"),
                      UniqueConstraint("key_scope", "client_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Generated on the tablet; a resend with the same id, from the same user for the same facility (`key_scope`,
    # see pharmacy/idempotency.py), is the same registration; with another request (`request_hash`) it is refused.
    client_id: Mapped[str] = mapped_column(String(64))
    key_scope: Mapped[str] = mapped_column(String(40), default="")
    request_hash: Mapped[str] = mapped_column(String(64), default="")
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    free_text: Mapped[str] = mapped_column(String(200), default="")
    qty_packs: Mapped[int] = mapped_column(Integer)
    urgency: Mapped[str] = mapped_column(String(16), default=Urgency.ROUTINE)
    reason: Mapped[str] = mapped_column(String(24), default=ShortageReason.OUT_OF_STOCK)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ShortageStatus.REGISTERED, index=True)
    cancel_reason: Mapped[str] = mapped_column(Text, default="")
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    client_created_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, onupdate=clock.now_utc)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Where its goods are (progress.Stage); the status is derived from it (progress.derived_status).
    stage: Mapped[str] = mapped_column(String(24), default="")
    # When its goods are expected at the next facility on their way (set when they are dispatched).
    expected_arrival_date: Mapped[date | None] = mapped_column(Date)
    # What went wrong the last time goods for it arrived short (cleared when it is delivered).
    difference_note: Mapped[str] = mapped_column(Text, default="")

    facility: Mapped[Facility] = relationship()
    product: Mapped[Product | None] = relationship()
    registered_by = relationship("User")
    events: Mapped[list["ShortageEvent"]] = relationship(back_populates="shortage", order_by="ShortageEvent.id")

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def label(self) -> str:
        """What was asked for: the product, or the free text when none was picked."""
        return self.product.display_name if self.product is not None else self.free_text

    @property
    def qty_base(self) -> int:
        return self.qty_packs * (self.product.pack_size if self.product else 1)


class ShortageEvent(db.Model):
    """Every status change of a registration, with who and when."""

    __tablename__ = "shortage_event"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    shortage_id: Mapped[int] = mapped_column(ForeignKey("shortage.id"), index=True)
    from_status: Mapped[str] = mapped_column(String(16), default="")
    to_status: Mapped[str] = mapped_column(String(16))
    # The goods' stage after this event (progress.Stage), when the event is about the goods.
    stage: Mapped[str] = mapped_column(String(24), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    ref_type: Mapped[str] = mapped_column(String(24), default="")
    ref_id: Mapped[int | None] = mapped_column(Integer)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, index=True)

    shortage: Mapped[Shortage] = relationship(back_populates="events")
    user = relationship("User")
