"""The tracer list a county keeps beside its chronic-disease products, and dashboard figures kept per week."""

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..catalog.models import Product
from ..extensions import db


class TracerProduct(db.Model):
    """A product the county watches on the dashboard in addition to the chronic-disease products."""

    __tablename__ = "tracer_product"
    __table_args__ = (UniqueConstraint("county_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The root of the facility tree the list belongs to, so two counties on one server keep their own lists.
    county_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    product: Mapped[Product] = relationship()
    added_by = relationship("User")


class FigureSnapshot(db.Model):
    """A dashboard figure of one scope at a past week start. The ledger only grows and every row is stamped when
    it is written, so a figure at a past moment never changes: it is computed once and kept."""

    __tablename__ = "figure_snapshot"
    __table_args__ = (UniqueConstraint("root_id", "kind", "point_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    root_id: Mapped[int] = mapped_column(ForeignKey("facility.id"))
    kind: Mapped[str] = mapped_column(String(32))
    point_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSON)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)
