"""A facility's local drug dictionary, each entry's match to the formulary, and every decision taken on it."""

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..models_base import TimestampMixin
from ..vocabulary import DecisionAction, MatchStatus  # noqa: F401


class DictionaryImport(db.Model):
    """One uploaded local dictionary file: who sent it for which facility, how it was read, what was odd in it."""

    __tablename__ = "dictionary_import"
    __scope__ = ("facility_id",)  # see auth.policy.load_in_scope
    __not_found__ = _l("找不到该导入记录")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    file_format: Mapped[str] = mapped_column(String(8))
    encoding: Mapped[str] = mapped_column(String(16), default="")
    row_count: Mapped[int] = mapped_column(Integer, default=0)
    # [{"row": 12, "message": "空行"}, ...]: rows reported rather than silently dropped
    problems: Mapped[list] = mapped_column(JSON, default=list)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, index=True)

    facility = relationship("Facility")
    created_by = relationship("User")


class LocalDrug(TimestampMixin, db.Model):
    """One entry of a facility's local dictionary with its best formulary candidates and where it stands."""

    __tablename__ = "local_drug"
    __scope__ = ("facility_id",)
    __not_found__ = _l("找不到该记录")
    __table_args__ = (Index("ix_local_drug_import_status", "import_id", "status"),
                      Index("ix_local_drug_facility_key", "facility_id", "match_key"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    import_id: Mapped[int] = mapped_column(ForeignKey("dictionary_import.id"), index=True)
    facility_id: Mapped[int] = mapped_column(ForeignKey("facility.id"), index=True)
    row_no: Mapped[int] = mapped_column(Integer)
    local_code: Mapped[str] = mapped_column(String(64), default="")
    local_name: Mapped[str] = mapped_column(String(200))
    spec: Mapped[str] = mapped_column(String(120), default="")
    manufacturer: Mapped[str] = mapped_column(String(120), default="")
    unit: Mapped[str] = mapped_column(String(16), default="")
    # What identifies the product the name means ("drug words|form|strength"); a rejection is remembered by it.
    match_key: Mapped[str] = mapped_column(String(255), default="")
    parsed_drug: Mapped[str] = mapped_column(String(120), default="")
    parsed_form: Mapped[str] = mapped_column(String(40), default="")
    parsed_strength: Mapped[str] = mapped_column(String(120), default="")
    parsed_pack: Mapped[str] = mapped_column(String(60), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    score: Mapped[float] = mapped_column(Float, default=0.0)
    source: Mapped[str] = mapped_column(String(24), default="")
    reason: Mapped[str] = mapped_column(String(120), default="")
    # The auto-matched or confirmed product; None while under review, not in the formulary or unmatched.
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    # [{"product_id": 12, "score": 97.0, "source": "generic"}, ...], best first, at most five
    candidates: Mapped[list] = mapped_column(JSON, default=list)
    issue: Mapped[str] = mapped_column(String(200), default="")
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    dictionary_import = relationship("DictionaryImport")
    facility = relationship("Facility")
    product = relationship("Product")
    decided_by = relationship("User")

    @property
    def display_spec(self) -> str:
        return " ".join(p for p in (self.spec, self.unit) if p)


class MatchDecision(db.Model):
    """A person's decision on a local drug: who, when, what it was before. Rows are only ever added."""

    __tablename__ = "match_decision"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    local_drug_id: Mapped[int] = mapped_column(ForeignKey("local_drug.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    old_status: Mapped[str] = mapped_column(String(16))
    new_status: Mapped[str] = mapped_column(String(16))
    old_product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    alias_id: Mapped[int | None] = mapped_column(ForeignKey("alias.id"))
    note: Mapped[str] = mapped_column(String(255), default="")
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, index=True)

    local_drug = relationship("LocalDrug")
    product = relationship("Product", foreign_keys=[product_id])
    user = relationship("User")
