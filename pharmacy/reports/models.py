"""The tracer list a county keeps beside its chronic-disease products."""

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..catalog.models import Product
from ..extensions import db
from ..models_base import utcnow


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
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    product: Mapped[Product] = relationship()
    added_by = relationship("User")
