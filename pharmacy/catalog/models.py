"""The unified formulary (统一目录): drugs, the products stocked and ordered, aliases and the change history."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (Boolean, Date, DateTime, ForeignKey, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .. import clock
from ..extensions import db
from ..models_base import TimestampMixin
from ..vocabulary import ChronicTag, AliasSource, ProductStatus  # noqa: F401

CHRONIC_TAGS = tuple(t.value for t in ChronicTag)
BASE_UNITS = ("片", "粒", "丸", "袋", "支", "瓶", "g", "ml", "贴", "枚", "揿", "盒", "套", "个", "包", "块", "条")
PACK_UNITS = ("盒", "瓶", "袋", "支", "包", "板", "桶", "罐")
INSURANCE_CLASSES = ("甲", "乙", "")
CATEGORIES = ("化学药品和生物制品", "中成药", "中药饮片", "医用耗材", "医疗机构制剂")

class Drug(TimestampMixin, db.Model):
    """A generic entry of the list (品种)."""

    __tablename__ = "drug"
    __not_found__ = _l("找不到该药品")  # the formulary is county-wide: no __scope__ (see auth.policy.load_in_scope)
    __table_args__ = (UniqueConstraint("edition", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edition: Mapped[str] = mapped_column(String(8), index=True)
    code: Mapped[str] = mapped_column(String(16))
    eml_no: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    class_path: Mapped[str] = mapped_column(String(255), default="", index=True)
    generic_name: Mapped[str] = mapped_column(String(120), index=True)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    pinyin_initials: Mapped[str] = mapped_column(String(60), default="", index=True)
    chronic_tags: Mapped[str] = mapped_column(String(80), default="")
    is_essential: Mapped[bool] = mapped_column(Boolean, default=True)
    remarks: Mapped[str] = mapped_column(Text, default="")

    products: Mapped[list["Product"]] = relationship(back_populates="drug", order_by="Product.code")
    other_class_paths: Mapped[list["DrugClassPath"]] = relationship(back_populates="drug", order_by="DrugClassPath.id",
                                                                   cascade="all, delete-orphan")

    @property
    def class_paths(self) -> list[str]:
        """The primary class path, then the others of a cross-listed drug."""
        return [self.class_path] + [c.class_path for c in self.other_class_paths]

    @property
    def chronic_tag_list(self) -> list[str]:
        return [t for t in self.chronic_tags.split("|") if t]

    @property
    def is_chronic(self) -> bool:
        return bool(self.chronic_tags)


class Product(TimestampMixin, db.Model):
    """What is stocked and ordered: one dosage form × strength of a drug, with its pack and unified price."""

    __tablename__ = "product"
    __not_found__ = _l("找不到该产品")
    __table_args__ = (UniqueConstraint("edition", "code"),
                      UniqueConstraint("drug_id", "dosage_form", "strength"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edition: Mapped[str] = mapped_column(String(8), index=True)
    code: Mapped[str] = mapped_column(String(24), index=True)
    drug_id: Mapped[int] = mapped_column(ForeignKey("drug.id"), index=True)
    dosage_form: Mapped[str] = mapped_column(String(40))
    strength: Mapped[str] = mapped_column(String(120))
    base_unit: Mapped[str] = mapped_column(String(8))
    pack_size: Mapped[int] = mapped_column(Integer, default=1)
    pack_unit: Mapped[str] = mapped_column(String(8), default="盒")
    lowest_tier: Mapped[str] = mapped_column(String(16), default="village")
    vbp_batch: Mapped[str] = mapped_column(String(16), default="")
    insurance_class: Mapped[str] = mapped_column(String(4), default="")
    unified_price: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.ACTIVE, index=True)
    effective_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remarks: Mapped[str] = mapped_column(Text, default="")
    # 医保 settlement: the national 医保药品代码 of the box the county stocks (this product from this manufacturer in
    # this pack), its generic-level first 12 characters, the 批准文号 and the maker (see pharmacy/insurance/codes.py).
    nhsa_code: Mapped[str | None] = mapped_column(String(23), unique=True)
    nhsa_generic_code: Mapped[str] = mapped_column(String(12), default="", index=True)
    approval_no: Mapped[str] = mapped_column(String(32), default="")
    manufacturer: Mapped[str] = mapped_column(String(120), default="")

    drug: Mapped[Drug] = relationship(back_populates="products")

    @property
    def is_vbp(self) -> bool:
        return bool(self.vbp_batch)

    @property
    def is_active(self) -> bool:
        return self.status == ProductStatus.ACTIVE

    @property
    def display_name(self) -> str:
        return f"{self.drug.generic_name} {self.dosage_form} {self.strength}"

    @property
    def pack_label(self) -> str:
        return f"{self.pack_size}{self.base_unit}/{self.pack_unit}"


class ProductPrice(db.Model):
    """The unified price in force from `valid_from`; settlement values a receipt at the price of its date."""

    __tablename__ = "product_price"
    __table_args__ = (Index("ix_product_price_product_valid", "product_id", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"))
    unified_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    valid_from: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    product: Mapped[Product] = relationship()


class Alias(db.Model):
    """Another name for a drug or product: a brand, a trade spelling, or a confirmed local name."""

    __tablename__ = "alias"
    __table_args__ = (UniqueConstraint("normalized_text", "drug_id", "product_id", "facility_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(String(200))
    normalized_text: Mapped[str] = mapped_column(String(200), index=True)
    drug_id: Mapped[int] = mapped_column(ForeignKey("drug.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    source: Mapped[str] = mapped_column(String(24))
    source_ref: Mapped[str] = mapped_column(String(255), default="")
    facility_id: Mapped[int | None] = mapped_column(ForeignKey("facility.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    drug: Mapped[Drug] = relationship()
    product: Mapped[Product | None] = relationship()


class CatalogChange(db.Model):
    """One changed field of the formulary: who, when, why. Rows are only ever added."""

    __tablename__ = "catalog_change"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(16))
    entity_code: Mapped[str] = mapped_column(String(32), index=True)
    drug_id: Mapped[int | None] = mapped_column(ForeignKey("drug.id"), index=True)
    product_id: Mapped[int | None] = mapped_column(ForeignKey("product.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    field: Mapped[str] = mapped_column(String(40), default="")
    old_value: Mapped[str | None] = mapped_column(Text)
    new_value: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(40), default="web")
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc, index=True)

    user = relationship("User")
    drug: Mapped[Drug | None] = relationship()
    product: Mapped[Product | None] = relationship()


class DrugClassPath(db.Model):
    """A further class path of a cross-listed drug (the primary one is `Drug.class_path`)."""

    __tablename__ = "drug_class_path"
    __table_args__ = (UniqueConstraint("drug_id", "class_path"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    drug_id: Mapped[int] = mapped_column(ForeignKey("drug.id"), index=True)
    class_path: Mapped[str] = mapped_column(String(255), index=True)

    drug: Mapped[Drug] = relationship(back_populates="other_class_paths")


class DrugGroup(TimestampMixin, db.Model):
    """A scope entry of the list that names a group of drugs (结核病用药), not a product; the county may later
    choose the products that stand for it."""

    __tablename__ = "drug_group"
    __not_found__ = _l("找不到该药品组")
    __table_args__ = (UniqueConstraint("edition", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edition: Mapped[str] = mapped_column(String(8), index=True)
    code: Mapped[str] = mapped_column(String(16))
    eml_no: Mapped[int | None] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(32))
    class_path: Mapped[str] = mapped_column(String(255), default="")
    name: Mapped[str] = mapped_column(String(120))
    remarks: Mapped[str] = mapped_column(Text, default="")

    members: Mapped[list["DrugGroupMember"]] = relationship(back_populates="group", order_by="DrugGroupMember.id")


class DrugGroupMember(db.Model):
    """A product the county chose to stand for a drug group."""

    __tablename__ = "drug_group_member"
    __table_args__ = (UniqueConstraint("group_id", "product_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("drug_group.id"), index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("product.id"), index=True)

    group: Mapped[DrugGroup] = relationship(back_populates="members")
    product: Mapped[Product] = relationship()


class EditionSetting(db.Model):
    """The county's choice of the list edition in force from a date; rows are only ever added, the latest
    row whose date has come decides (see `editions.edition_in_force`)."""

    __tablename__ = "catalog_edition_setting"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    edition: Mapped[str] = mapped_column(String(8))
    effective_from: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    set_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=clock.now_utc)

    set_by = relationship("User")
