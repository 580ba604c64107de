"""Imports of the national 医保药品代码 table and their rows, each with what became of it."""

import json
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..vocabulary import NhsaRowStatus

UNDECIDED = (NhsaRowStatus.NEEDS_REVIEW, NhsaRowStatus.NO_MATCH)


class NhsaImport(db.Model):
    """One uploaded code table. The formulary is county-wide: no `__scope__` (see auth.policy.load_in_scope)."""

    __tablename__ = "nhsa_import"
    __not_found__ = _l("找不到该医保代码导入")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    encoding: Mapped[str] = mapped_column(String(16), default="")
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, index=True)

    created_by = relationship("User")
    rows: Mapped[list["NhsaRow"]] = relationship(back_populates="record", order_by="NhsaRow.row_no")


class NhsaRow(db.Model):
    """A row of the table as read, the product it was attached to (or proposed for) and who decided."""

    __tablename__ = "nhsa_row"
    __not_found__ = _l("找不到该医保代码行")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("nhsa_import.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    nhsa_code: Mapped[str] = mapped_column(String(23), index=True)
    registered_name: Mapped[str] = mapped_column(String(200))
    trade_name: Mapped[str] = mapped_column(String(200), default="")
    dosage_form: Mapped[str] = mapped_column(String(60), default="")
    spec: Mapped[str] = mapped_column(String(200), default="")
    packaging_material: Mapped[str] = mapped_column(String(200), default="")
    pack_qty: Mapped[int | None] = mapped_column(Integer)
    min_unit: Mapped[str] = mapped_column(String(16), default="")
    pack_unit: Mapped[str] = mapped_column(String(16), default="")
    manufacturer: Mapped[str] = mapped_column(String(200), default="")
    approval_no: Mapped[str] = mapped_column(String(32), default="")
    insurance_class: Mapped[str] = mapped_column(String(4), default="")
    status: Mapped[str] = mapped_column(String(16), default=NhsaRowStatus.NEEDS_REVIEW, index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    # [[product id, score], …] best first, as the matching engine proposed them
    candidates_json: Mapped[str] = mapped_column(Text, default="[]")
    reason: Mapped[str] = mapped_column(String(200), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    record: Mapped[NhsaImport] = relationship(back_populates="rows")
    product = relationship("Product")
    decided_by = relationship("User")

    @property
    def candidates(self) -> list[tuple[int, float]]:
        return [(int(pid), float(score)) for pid, score in json.loads(self.candidates_json or "[]")]

    @property
    def is_undecided(self) -> bool:
        return self.status in UNDECIDED
