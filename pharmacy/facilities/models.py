"""Facilities of the county medical community: county → township → village."""


from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..models_base import TimestampMixin
from ..vocabulary import FacilityKind, Tier  # noqa: F401


KIND_TIER = {
    FacilityKind.COUNTY_HOSPITAL: Tier.COUNTY,
    FacilityKind.CENTRAL_PHARMACY: Tier.COUNTY,
    FacilityKind.HEALTH_CENTRE: Tier.TOWNSHIP,
    FacilityKind.VILLAGE_POINT: Tier.VILLAGE,
}


class Facility(TimestampMixin, db.Model):
    __tablename__ = "facility"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    tier: Mapped[str] = mapped_column(String(16), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"), index=True)
    # Materialised path of ids, "/1/4/17/", so a subtree is one indexed prefix match.
    path: Mapped[str] = mapped_column(String(255), default="", index=True)
    population: Mapped[int | None] = mapped_column(Integer)
    address: Mapped[str] = mapped_column(String(255), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)

    parent: Mapped["Facility | None"] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list["Facility"]] = relationship(back_populates="parent", order_by="Facility.code")

    def __repr__(self) -> str:
        return f"<Facility {self.code} {self.tier}>"

    def is_within(self, ancestor: "Facility") -> bool:
        return self.path.startswith(ancestor.path)
