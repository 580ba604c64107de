"""A consignment is one movement of goods from facility A to facility B, whatever planned it: a county→township
shipment of a unified order, a township→village stop of a delivery run, a manual transfer. The ledger records the
stock side (`inventory.Transfer`: out of A when dispatched, into B when received); the consignment records what
was meant, for whom, and the proof of delivery."""

from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, Column, Date, DateTime, ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalog.models import Product
from ..extensions import db
from ..facilities.models import Facility
from ..inventory.models import Lot, Transfer, TransferLine
from .. import clock
from ..shortages.models import Shortage
from ..vocabulary import ConsignmentKind, ConsignmentStatus, DifferenceReason  # noqa: F401

class Consignment(db.Model):
    __tablename__ = "supply_consignment"
    __scope__ = ("source_id", "destination_id")  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该货单")
    __table_args__ = (Index("ix_supply_consignment_destination_status", "destination_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    destination_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    status: Mapped[str] = mapped_column(String(16), default=ConsignmentStatus.PLANNED, index=True)
    # The ledger's record of the goods in transit, once dispatched.
    transfer_id: Mapped[int | None] = mapped_column(ForeignKey("stock_transfer.id"), unique=True)
    expected_arrival_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    source: Mapped[Facility] = relationship(foreign_keys=[source_id])
    destination: Mapped[Facility] = relationship(foreign_keys=[destination_id])
    transfer: Mapped[Transfer | None] = relationship()
    dispatched_by = relationship("User", foreign_keys=[dispatched_by_id])
    lines: Mapped[list["ConsignmentLine"]] = relationship(back_populates="consignment", order_by="ConsignmentLine.id",
                                                          cascade="all, delete-orphan")
    proof: Mapped["ProofOfDelivery | None"] = relationship(back_populates="consignment", uselist=False)

    @property
    def number(self) -> str:
        return f"HY{self.id:06d}"

    @property
    def received_at(self) -> datetime | None:
        return self.proof.signed_at if self.proof is not None else None

    @property
    def has_differences(self) -> bool:
        return any(line.has_difference for line in self.lines)


consignment_line_shortage = Table(
    "supply_consignment_line_shortage", db.metadata,
    Column("line_id", ForeignKey("supply_consignment_line.id", ondelete="CASCADE"), primary_key=True),
    Column("shortage_id", ForeignKey("shortage.id"), primary_key=True, index=True),
)


class ConsignmentLine(db.Model):
    """One lot of one product on a consignment, the registrations it serves and what arrived of it."""

    __tablename__ = "supply_consignment_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consignment_id: Mapped[int] = mapped_column(ForeignKey("supply_consignment.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    qty_base: Mapped[int] = mapped_column(Integer)
    # Where the goods are finally meant to go when that is beyond the destination (a village served through its
    # township); the dispatch policy counts the near-expiry window to the arrival there.
    final_facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"))
    qty_base_received: Mapped[int | None] = mapped_column(Integer)
    difference_reason: Mapped[str] = mapped_column(String(24), default="")
    difference_note: Mapped[str] = mapped_column(Text, default="")
    transfer_line_id: Mapped[int | None] = mapped_column(ForeignKey("stock_transfer_line.id"))

    consignment: Mapped[Consignment] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    lot: Mapped[Lot] = relationship()
    final_facility: Mapped[Facility | None] = relationship()
    transfer_line: Mapped[TransferLine | None] = relationship()
    shortages: Mapped[list[Shortage]] = relationship(secondary=consignment_line_shortage, order_by=Shortage.id)

    @property
    def has_difference(self) -> bool:
        return self.qty_base_received is not None and self.qty_base_received != self.qty_base


class ProofOfDelivery(db.Model):
    """The destination's signature for one consignment. A proxy receipt (the township signing for its village) is
    recorded as such, with who the goods were handed to and why."""

    __tablename__ = "supply_proof_of_delivery"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    consignment_id: Mapped[int] = mapped_column(ForeignKey("supply_consignment.id"), unique=True)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    signer_name: Mapped[str] = mapped_column(String(80), default="")
    is_proxy: Mapped[bool] = mapped_column(Boolean, default=False)
    proxy_reason: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    signed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    consignment: Mapped[Consignment] = relationship(back_populates="proof")
    signed_by = relationship("User")
