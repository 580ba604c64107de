"""Reading and changing the formulary; every change lands in the history with its reason."""

import logging
from decimal import Decimal, InvalidOperation

from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from .. import clock
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..facilities.models import Facility, Tier
from . import editions
from .models import (BASE_UNITS, CHRONIC_TAGS, INSURANCE_CLASSES, PACK_UNITS, CatalogChange, Drug, DrugClassPath,
                     DrugGroup, EditionSetting, Product, ProductPrice, ProductStatus)
from .rules import may_stock

log = logging.getLogger(__name__)

EDITABLE_FIELDS = ("unified_price", "vbp_batch", "insurance_class", "lowest_tier", "pack_size", "pack_unit",
                   "remarks")


def get_product(product_id: int) -> Product:
    product = db.session.get(Product, product_id, options=[joinedload(Product.drug)])
    if product is None:
        raise NotFound(_("找不到该产品"))
    return product


def get_product_by_code(code: str, edition: str | None = None) -> Product:
    stmt = select(Product).where(Product.code == code).options(joinedload(Product.drug))
    if edition:
        stmt = stmt.where(Product.edition == edition)
    product = db.session.scalars(stmt.order_by(Product.edition.desc())).first()
    if product is None:
        raise NotFound(_("找不到产品 %(code)s", code=code))
    return product


def tiers_at_or_below(tier: str) -> list[str]:
    """Product tiers a facility of `tier` may stock."""
    return [t.value for t in Tier if may_stock(tier, t)]


def product_query(*, q: str = "", class_path: str = "", category: str = "", chronic: str = "", vbp: bool | None = None,
                  status: str = ProductStatus.ACTIVE, facility: Facility | None = None, edition: str = "",
                  change: str = ""):
    """A select of products filtered like the formulary page; plain substring search over names and initials.

    `change` keeps the drugs of `edition` (the edition in force when empty) with that EditionChange badge."""
    stmt = (select(Product).join(Product.drug)
            .options(joinedload(Product.drug).selectinload(Drug.other_class_paths)))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(Drug.generic_name.like(like), Drug.pinyin_initials.like(like.upper()),
                              Drug.name_en.ilike(like), Product.code.like(like), Drug.code.like(like)))
    if class_path:
        stmt = stmt.where(or_(Drug.class_path.startswith(class_path), Drug.id.in_(
            select(DrugClassPath.drug_id).where(DrugClassPath.class_path.startswith(class_path)))))
    if category:
        stmt = stmt.where(Drug.category == category)
    if chronic:
        stmt = stmt.where(Drug.chronic_tags.contains(chronic))
    if vbp is True:
        stmt = stmt.where(Product.vbp_batch != "")
    elif vbp is False:
        stmt = stmt.where(Product.vbp_batch == "")
    if status:
        stmt = stmt.where(Product.status == status)
    if facility is not None:
        stmt = stmt.where(Product.lowest_tier.in_(tiers_at_or_below(facility.tier)))
    if change:
        edition = edition or editions.edition_in_force()
        stmt = stmt.where(Drug.id.in_(editions.drug_ids_with_change(edition, change) or [-1]))
    if edition:
        stmt = stmt.where(editions.edition_condition(Product.edition, edition))
    return stmt.order_by(Drug.category.desc(), Drug.eml_no, Product.code)


def class_tree(edition: str = "") -> list[dict]:
    """Therapeutic classes with product counts, in the list's own order, as a flat list for an indented tree.

    A cross-listed drug counts under each of its class paths; `edition` keeps one edition's drugs."""
    def counted(path_column, source):
        stmt = (select(Drug.category, path_column, func.count(Product.id), func.min(Drug.eml_no))
                .select_from(source).join(Product, Product.drug_id == Drug.id)
                .where(Product.status == ProductStatus.ACTIVE).group_by(Drug.category, path_column))
        if edition:
            stmt = stmt.where(editions.edition_condition(Drug.edition, edition))
        return db.session.execute(stmt).all()

    rows = counted(Drug.class_path, Drug) + counted(
        DrugClassPath.class_path, db.join(DrugClassPath, Drug, DrugClassPath.drug_id == Drug.id))
    counts: dict[tuple[str, str], int] = {}
    first_no: dict[tuple[str, str], int] = {}
    for category, path, n, eml_no in rows:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            key = (category, "/".join(parts[:depth]))
            counts[key] = counts.get(key, 0) + n
            first_no[key] = min(first_no.get(key, 10**9), eml_no or 10**9)

    def order(key):
        category, path = key
        ancestors = ["/".join(path.split("/")[:d]) for d in range(1, path.count("/") + 2)]
        return (category != "化学药品和生物制品", category, [(first_no[(category, a)], a) for a in ancestors])

    return [{"category": c, "path": p, "name": p.split("/")[-1], "depth": p.count("/"), "count": counts[(c, p)]}
            for (c, p) in sorted(counts, key=order)]


def history(*, product: Product | None = None, drug: Drug | None = None, limit: int = 200) -> list[CatalogChange]:
    stmt = select(CatalogChange).order_by(CatalogChange.id.desc()).limit(limit)
    if product is not None:
        stmt = stmt.where(or_(CatalogChange.product_id == product.id,
                              (CatalogChange.drug_id == product.drug_id) & CatalogChange.product_id.is_(None)))
    elif drug is not None:
        stmt = stmt.where(CatalogChange.drug_id == drug.id)
    return list(db.session.scalars(stmt))


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(_("请填写变更原因"), fields={"reason": [_("必填")]})
    return reason


def _coerce(field: str, value):
    if field == "unified_price":
        try:
            price = Decimal(str(value)).quantize(Decimal("0.01"))
        except (InvalidOperation, ValueError):
            raise InvalidInput(_("价格无效"), fields={field: [_("价格无效")]}) from None
        if price < 0:
            raise InvalidInput(_("价格不能为负"), fields={field: [_("价格不能为负")]})
        return price
    if field == "pack_size":
        try:
            size = int(value)
        except (TypeError, ValueError):
            size = 0
        if size <= 0:
            raise InvalidInput(_("包装数量应为正整数"), fields={field: [_("包装数量应为正整数")]})
        return size
    if field == "lowest_tier" and value not in set(Tier):
        raise InvalidInput(_("未知层级"), fields={field: [_("未知层级")]})
    if field == "insurance_class" and value not in INSURANCE_CLASSES:
        raise InvalidInput(_("未知医保类别"), fields={field: [_("未知医保类别")]})
    if field == "pack_unit" and value not in PACK_UNITS:
        raise InvalidInput(_("未知包装单位"), fields={field: [_("未知包装单位")]})
    return (value or "").strip() if isinstance(value, str) else value


def update_product(product: Product, changes: dict, *, reason: str, user) -> list[CatalogChange]:
    """Change a product's county terms; one history row per changed field, all sharing the reason."""
    reason = _require_reason(reason)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise InvalidInput(_("这些字段不能修改：%(fields)s", fields=", ".join(sorted(unknown))))
    rows = []
    now = clock.now_utc()
    for field, raw in changes.items():
        new = _coerce(field, raw)
        old = getattr(product, field)
        if str(old) == str(new):
            continue
        setattr(product, field, new)
        rows.append(CatalogChange(entity="product", entity_code=product.code, drug_id=product.drug_id,
                                  product=product, action="price" if field == "unified_price" else "update",
                                  field=field, old_value=str(old), new_value=str(new), reason=reason,
                                  source="web", user_id=user.id if user else None))
        if field == "unified_price":
            db.session.add(ProductPrice(product=product, unified_price=new, valid_from=now))
    if not rows:
        raise InvalidInput(_("没有任何变化"), code="no_change")
    db.session.add_all(rows)
    db.session.flush()
    log.info("product %s changed by %s: %s", product.code, user.username if user else "-", [r.field for r in rows])
    return rows


def set_product_status(product: Product, status: str, *, reason: str, user) -> CatalogChange:
    """Withdraw a product (never delete it) or reinstate it, with a reason in the history."""
    reason = _require_reason(reason)
    if status not in set(ProductStatus):
        raise InvalidInput(_("未知状态"))
    if product.status == status:
        raise Conflict(_("产品已是该状态"))
    old = product.status
    product.status = status
    product.withdrawn_at = clock.now_utc() if status == ProductStatus.WITHDRAWN else None
    change = CatalogChange(entity="product", entity_code=product.code, drug_id=product.drug_id, product=product,
                           action="withdraw" if status == ProductStatus.WITHDRAWN else "reinstate", field="status",
                           old_value=old, new_value=status, reason=reason, source="web",
                           user_id=user.id if user else None)
    db.session.add(change)
    db.session.flush()
    return change


def add_product(drug: Drug, *, dosage_form: str, strength: str, base_unit: str, pack_size: int, pack_unit: str,
                unified_price, lowest_tier: str = Tier.VILLAGE, vbp_batch: str = "", insurance_class: str = "",
                remarks: str = "", reason: str, user) -> Product:
    """Add a new form × strength of a drug, coded after the drug's last product."""
    reason = _require_reason(reason)
    dosage_form, strength = (dosage_form or "").strip(), (strength or "").strip()
    if not dosage_form or not strength:
        raise InvalidInput(_("剂型和规格均为必填"), fields={"dosage_form": [_("必填")], "strength": [_("必填")]})
    if base_unit not in BASE_UNITS:
        raise InvalidInput(_("未知基本单位"), fields={"base_unit": [_("未知基本单位")]})
    duplicate = db.session.scalar(select(Product.id).where(
        Product.drug_id == drug.id, Product.dosage_form == dosage_form, Product.strength == strength))
    if duplicate is not None:
        raise Conflict(_("该药品已有相同剂型和规格的产品"))
    codes = db.session.scalars(select(Product.code).where(Product.drug_id == drug.id)).all()
    seq = max((int(c.rsplit("-", 1)[-1]) for c in codes if c.rsplit("-", 1)[-1].isdigit()), default=0) + 1
    product = Product(drug=drug, edition=drug.edition, code=f"{drug.code}-{seq:02d}", dosage_form=dosage_form,
                      strength=strength, base_unit=base_unit, pack_size=_coerce("pack_size", pack_size),
                      pack_unit=_coerce("pack_unit", pack_unit), unified_price=_coerce("unified_price", unified_price),
                      lowest_tier=_coerce("lowest_tier", lowest_tier), vbp_batch=(vbp_batch or "").strip(),
                      insurance_class=_coerce("insurance_class", insurance_class or ""), remarks=remarks or "",
                      status=ProductStatus.ACTIVE, effective_from=clock.now_utc())
    db.session.add(product)
    db.session.flush()
    db.session.add(ProductPrice(product=product, unified_price=product.unified_price, valid_from=product.effective_from))
    db.session.add(CatalogChange(entity="product", entity_code=product.code, drug_id=drug.id, product=product,
                                 action="create", reason=reason, source="web", user_id=user.id if user else None,
                                 new_value=f"{dosage_form} {strength}"))
    db.session.flush()
    return product


def set_chronic_tags(drug: Drug, tags: list[str], *, reason: str, user) -> CatalogChange:
    """Set a drug's chronic-disease tags (they decide what villages must stock), with a reason in the history."""
    reason = _require_reason(reason)
    unknown = [t for t in tags if t not in CHRONIC_TAGS]
    if unknown:
        raise InvalidInput(_("未知慢病标签"), fields={"chronic_tags": [_("未知慢病标签")]})
    new = "|".join(t for t in CHRONIC_TAGS if t in tags)
    if new == drug.chronic_tags:
        raise InvalidInput(_("没有任何变化"), code="no_change")
    change = CatalogChange(entity="drug", entity_code=drug.code, drug_id=drug.id, action="update",
                           field="chronic_tags", old_value=drug.chronic_tags, new_value=new, reason=reason,
                           source="web", user_id=user.id if user else None)
    drug.chronic_tags = new
    db.session.add(change)
    db.session.flush()
    return change


def drug_groups(edition: str) -> list[DrugGroup]:
    """The edition's scope entries that name drug groups, in the list's order."""
    return list(db.session.scalars(select(DrugGroup).where(DrugGroup.edition == edition)
                                   .order_by(DrugGroup.eml_no, DrugGroup.code)))


def set_edition_in_force(edition: str, effective_from, *, reason: str, user) -> EditionSetting:
    """Record the county's choice of the edition in force from a date, with a reason in the history."""
    reason = _require_reason(reason)
    if edition not in editions.loaded_editions():
        raise InvalidInput(_("目录中没有该版本"), fields={"edition": [_("目录中没有该版本")]})
    latest = db.session.scalars(select(EditionSetting).order_by(EditionSetting.id.desc())).first()
    old = (latest.edition, latest.effective_from) if latest else (editions.DEFAULT_EDITION, None)
    if old == (edition, effective_from):
        raise InvalidInput(_("没有任何变化"), code="no_change")
    setting = EditionSetting(edition=edition, effective_from=effective_from, reason=reason,
                             set_by_id=user.id if user else None)
    db.session.add(setting)
    db.session.add(CatalogChange(entity="setting", entity_code=edition, action="update",
                                 field="edition_in_force",
                                 old_value=f"{old[0]} {old[1].isoformat() if old[1] else ''}".strip(),
                                 new_value=f"{edition} {effective_from.isoformat()}", reason=reason, source="web",
                                 user_id=user.id if user else None))
    db.session.flush()
    log.info("edition in force set to %s from %s by %s", edition, effective_from, user.username if user else "-")
    return setting
