"""Routes from a township to its villages, the delivery runs planned on them, and the stock alerts the nightly
jobs raise."""

from datetime import date, datetime, time

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, Column, Date, DateTime, Float, ForeignKey, Index, Integer, String, Table, Text, Time,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..catalog.models import Product
from ..extensions import db
from ..facilities.models import Facility
from ..inventory.models import Lot, Transfer
from ..models_base import TimestampMixin
from ..shortages.models import Shortage
from ..supply.models import Consignment, ConsignmentLine, ProofOfDelivery
from ..vocabulary import AlertKind, DeliveryLineSource as LineSource, RunStatus, StopStatus  # noqa: F401


class Route(TimestampMixin, db.Model):
    """A township's delivery route: village stops in driving order and a weekly departure schedule."""

    __tablename__ = "delivery_route"
    __scope__ = ("township_id",)  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该配送路线")
    __table_args__ = (UniqueConstraint("township_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    # ISO weekdays of departure, "2,5" = Tuesday and Friday.
    weekdays: Mapped[str] = mapped_column(String(20))
    departure_time: Mapped[time] = mapped_column(Time)
    vehicle: Mapped[str] = mapped_column(String(40), default="")
    driver: Mapped[str] = mapped_column(String(40), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")

    township: Mapped[Facility] = relationship()
    stops: Mapped[list["RouteStop"]] = relationship(back_populates="route", order_by="RouteStop.position",
                                                    cascade="all, delete-orphan")

    @property
    def weekday_numbers(self) -> list[int]:
        return sorted(int(d) for d in self.weekdays.split(",") if d.strip())


class RouteStop(db.Model):
    """A village on a route; `every_n_runs` = 2 serves it on alternate runs (the runs where the run number minus
    one, modulo 2, equals `phase`)."""

    __tablename__ = "delivery_route_stop"
    __table_args__ = (UniqueConstraint("route_id", "village_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("delivery_route.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    every_n_runs: Mapped[int] = mapped_column(Integer, default=1)
    phase: Mapped[int] = mapped_column(Integer, default=0)

    route: Mapped[Route] = relationship(back_populates="stops")
    village: Mapped[Facility] = relationship()

PENDING_RUN_STATUSES = (RunStatus.PLANNED, RunStatus.CONFIRMED)


class DeliveryRun(TimestampMixin, db.Model):
    """One departure of a route: planned (by the scheduler or a pharmacist), reviewed, confirmed, dispatched."""

    __tablename__ = "delivery_run"
    __scope__ = ("township_id",)  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该配送单")
    __table_args__ = (UniqueConstraint("route_id", "departure_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    route_id: Mapped[int] = mapped_column(ForeignKey("delivery_route.id"), index=True)
    township_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    # The route's n-th run (cancelled runs not counted); decides which alternate-run villages are due.
    sequence: Mapped[int] = mapped_column(Integer)
    departure_date: Mapped[date] = mapped_column(Date, index=True)
    departure_time: Mapped[time] = mapped_column(Time)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.PLANNED, index=True)
    vehicle: Mapped[str] = mapped_column(String(40), default="")
    driver: Mapped[str] = mapped_column(String(40), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # Lots expiring on or before this date were not planned (departure + near-expiry window).
    usable_after: Mapped[date] = mapped_column(Date)
    planned_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    dispatched_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str] = mapped_column(Text, default="")

    route: Mapped[Route] = relationship()
    township: Mapped[Facility] = relationship()
    planned_by = relationship("User", foreign_keys=[planned_by_id])
    confirmed_by = relationship("User", foreign_keys=[confirmed_by_id])
    dispatched_by = relationship("User", foreign_keys=[dispatched_by_id])
    stops: Mapped[list["DeliveryStop"]] = relationship(back_populates="run", order_by="DeliveryStop.position",
                                                       cascade="all, delete-orphan")

    @property
    def number(self) -> str:
        return f"PS{self.departure_date:%Y%m%d}-{self.id:04d}"

    @property
    def lines(self) -> list["DeliveryLine"]:
        return [line for stop in self.stops for line in stop.lines]

    @property
    def is_editable(self) -> bool:
        return self.status == RunStatus.PLANNED

class DeliveryStop(db.Model):
    """A village on one run: what goes there, and what the village confirmed on receipt."""

    __tablename__ = "delivery_stop"
    __scope__ = ("village_id",)  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该记录")
    __table_args__ = (UniqueConstraint("run_id", "village_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("delivery_run.id"), index=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default=StopStatus.PENDING, index=True)
    # Served although not its turn on an alternate-run schedule, because of an urgent shortage.
    is_off_turn: Mapped[bool] = mapped_column(Boolean, default=False)
    # The goods of this stop as they travel and are signed for (set when the run is dispatched).
    consignment_id: Mapped[int | None] = mapped_column(ForeignKey("supply_consignment.id"), unique=True)

    run: Mapped[DeliveryRun] = relationship(back_populates="stops")
    village: Mapped[Facility] = relationship()
    consignment: Mapped[Consignment | None] = relationship()
    lines: Mapped[list["DeliveryLine"]] = relationship(back_populates="stop", order_by="DeliveryLine.id",
                                                       cascade="all, delete-orphan")
    shortfalls: Mapped[list["DeliveryShortfall"]] = relationship(back_populates="stop",
                                                                 order_by="DeliveryShortfall.id",
                                                                 cascade="all, delete-orphan")

    @property
    def has_differences(self) -> bool:
        return any(line.has_difference for line in self.lines)

    @property
    def proof(self) -> ProofOfDelivery | None:
        return self.consignment.proof if self.consignment is not None else None

    @property
    def transfer(self) -> Transfer | None:
        return self.consignment.transfer if self.consignment is not None else None

    @property
    def receiver_name(self) -> str:
        return self.proof.signer_name if self.proof is not None else ""

    @property
    def receipt_note(self) -> str:
        return self.proof.note if self.proof is not None else ""

    @property
    def received_at(self) -> datetime | None:
        return self.proof.signed_at if self.proof is not None else None

    @property
    def received_by(self):
        return self.proof.signed_by if self.proof is not None else None


delivery_line_shortage = Table(
    "delivery_line_shortage", db.metadata,
    Column("line_id", ForeignKey("delivery_line.id", ondelete="CASCADE"), primary_key=True),
    Column("shortage_id", ForeignKey("shortage.id"), primary_key=True, index=True),
)

class DeliveryLine(db.Model):
    """One lot of one product for one stop, with why it was planned (the shortages it serves, the levels that
    triggered replenishment) kept as they were at planning time."""

    __tablename__ = "delivery_line"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("delivery_stop.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lot.id"), index=True)
    qty_base: Mapped[int] = mapped_column(Integer)
    planned_qty_base: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(24))
    qty_for_shortages_base: Mapped[int] = mapped_column(Integer, default=0)
    # The village's levels when planned (base units; AMC per month).
    on_hand_base: Mapped[int | None] = mapped_column(Integer)
    in_transit_base: Mapped[int | None] = mapped_column(Integer)
    amc_base: Mapped[float | None] = mapped_column(Float)
    min_base: Mapped[int | None] = mapped_column(Integer)
    max_base: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    consignment_line_id: Mapped[int | None] = mapped_column(ForeignKey("supply_consignment_line.id"))

    stop: Mapped[DeliveryStop] = relationship(back_populates="lines")
    product: Mapped[Product] = relationship()
    lot: Mapped[Lot] = relationship()
    consignment_line: Mapped[ConsignmentLine | None] = relationship()
    shortages: Mapped[list[Shortage]] = relationship(secondary=delivery_line_shortage, order_by=Shortage.id)

    @property
    def qty_received_base(self) -> int | None:
        return self.consignment_line.qty_base_received if self.consignment_line is not None else None

    @property
    def difference_reason(self) -> str:
        return self.consignment_line.difference_reason if self.consignment_line is not None else ""

    @property
    def difference_note(self) -> str:
        return self.consignment_line.difference_note if self.consignment_line is not None else ""

    @property
    def has_difference(self) -> bool:
        received = self.qty_received_base
        return received is not None and received != self.qty_base

    @property
    def is_edited(self) -> bool:
        return self.qty_base != self.planned_qty_base


class DeliveryShortfall(db.Model):
    """A need the planner could not cover from the township's stock (or could not plan at all), for the township
    pharmacist to order or handle by hand."""

    __tablename__ = "delivery_shortfall"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stop_id: Mapped[int] = mapped_column(ForeignKey("delivery_stop.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    shortage_id: Mapped[int | None] = mapped_column(ForeignKey("shortage.id"))
    qty_base: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(String(24))

    stop: Mapped[DeliveryStop] = relationship(back_populates="shortfalls")
    product: Mapped[Product | None] = relationship()
    shortage: Mapped[Shortage | None] = relationship()

LEVEL_ALERT_KINDS = (AlertKind.STOCKOUT, AlertKind.BELOW_MIN)
EXPIRY_ALERT_KINDS = (AlertKind.NEAR_EXPIRY, AlertKind.EXPIRED)


class StockAlert(db.Model):
    """A stock-out, a level below min, or a near-expiry or expired lot, found by a nightly job. An alert stays open
    while the condition lasts and is resolved (never deleted) when a later run no longer finds it."""

    __tablename__ = "stock_alert"
    __table_args__ = (Index("ix_stock_alert_open", "facility_id", "kind", "resolved_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    lot_id: Mapped[int | None] = mapped_column(ForeignKey("lot.id"))
    kind: Mapped[str] = mapped_column(String(16))
    on_hand_base: Mapped[int] = mapped_column(Integer, default=0)
    amc_base: Mapped[float | None] = mapped_column(Float)
    months_of_stock: Mapped[float | None] = mapped_column(Float)
    min_base: Mapped[int | None] = mapped_column(Integer)
    expiry_date: Mapped[date | None] = mapped_column(Date)
    first_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    facility: Mapped[Facility] = relationship()
    product: Mapped[Product] = relationship()
    lot: Mapped[Lot | None] = relationship()
