"""Matching local names to the formulary: importing a dictionary, reviewing matches, learning aliases, search.

Services flush, never commit. Every decision on a local drug is recorded with its user and time, and a confirmed
mapping becomes an Alias (source local_confirmed) that wins over fuzzy scores from then on.
"""

import logging
from dataclasses import dataclass
from pathlib import Path

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from .. import clock
from ..catalog.models import Alias, AliasSource, Drug, Product, ProductStatus
from ..catalog.services import tiers_at_or_below
from ..errors import Conflict, Forbidden, InvalidInput
from ..extensions import db
from ..facilities.models import Facility, Tier
from .brands import BrandFileError, read_brand_file, resolve_brand_rows
from .catalog_index import current_index
from .dictionary_file import DictionaryFileError, read_dictionary
from .index import MatchIndex
from .matcher import PROPOSAL_LIMIT, MatchResult, match_parsed, shortlist
from .models import DecisionAction, DictionaryImport, LocalDrug, MatchDecision, MatchStatus
from .normalize import parse_name
from .search import search_products as search_index

log = logging.getLogger(__name__)

BULK_CONFIRM_FLOOR = 60.0


def facility_chain(facility: Facility | None) -> tuple[int, ...]:
    """The facility's id and its parents' ids, nearest first: the aliases a name is matched with."""
    if facility is None:
        return ()
    ids = [int(part) for part in facility.path.strip("/").split("/") if part]
    return tuple(reversed(ids)) or (facility.id,)


def match_one(name: str, *, spec: str = "", manufacturer: str = "", facility: Facility | None = None,
              restrict_to_tier: bool = False) -> MatchResult:
    """Match one local name with the current index (and the aliases the facility may use)."""
    index = current_index()
    tiers = set(tiers_at_or_below(facility.tier)) if facility is not None and restrict_to_tier else None
    return match_parsed(index, parse_name(name, spec=spec, manufacturer=manufacturer), facility_chain(facility),
                        tiers)


def match_many(names: list[str], *, facility: Facility | None = None) -> list[MatchResult]:
    index = current_index()
    chain = facility_chain(facility)
    return [match_parsed(index, parse_name(name), chain) for name in names]


# ---------------------------------------------------------------------------------------------------------------
# Search


def search_products(query: str, *, facility: Facility | None, limit: int = 10,
                    hidden_editions: frozenset[str] = frozenset(),
                    also_product_ids: frozenset[int] = frozenset()) -> list[dict]:
    """Products for a search box, restricted to what the facility's tier may stock; active products only.

    Products of `hidden_editions` only when in `also_product_ids` (marked `is_other_edition`).
    Answered from the index (no query per keystroke beyond its version check).
    """
    index = current_index(every_edition=True)
    tiers = set(tiers_at_or_below(facility.tier)) if facility is not None else None
    rows = [_product_row(index, hit.product_id, score=hit.score, matched=hit.matched)
            for hit in search_index(index, query, facility_ids=facility_chain(facility), allowed_tiers=tiers,
                                    hidden_editions=hidden_editions, also_product_ids=also_product_ids,
                                    limit=limit)]
    for row in rows:
        row["is_other_edition"] = row["edition"] in hidden_editions
    return rows


def products_in_stock_of(facility: Facility | None, editions: frozenset[str]) -> frozenset[int]:
    """Products of those editions that the facility still holds (they stay on offer until used up)."""
    if facility is None or not editions:
        return frozenset()
    from ..inventory.models import StockBalance

    return frozenset(db.session.scalars(
        select(StockBalance.product_id).join(Product, Product.id == StockBalance.product_id)
        .where(StockBalance.facility_id == facility.id, StockBalance.qty_base > 0, Product.edition.in_(editions))
        .distinct()))


def _product_row(index: MatchIndex, product_id: int, **extra) -> dict:
    """A product as search and proposals answer it, from the index alone."""
    product = index.products[product_id]
    return {"product_id": product.id, "id": product.id, "code": product.code,
            "generic_name": index.drugs[product.drug_id].generic_name, "dosage_form": product.dosage_form,
            "strength": product.strength, "base_unit": product.base_unit,
            "pack_label": f"{product.pack_size}{product.base_unit}/{product.pack_unit}",
            "pack_size": product.pack_size, "pack_unit": product.pack_unit,
            "vbp_batch": product.vbp_batch, "is_vbp": bool(product.vbp_batch),
            "lowest_tier": product.lowest_tier, "edition": product.edition, **extra}


# ---------------------------------------------------------------------------------------------------------------
# Proposals for a name typed instead of a product (a free-text shortage)


@dataclass
class Proposal:
    """What the matching engine proposes for a typed name: its status and the products worth a tap, best first."""

    text: str
    status: str
    products: list[dict]


def propose_many(requests: list[tuple[str, Facility]], *, limit: int = PROPOSAL_LIMIT) -> list[Proposal]:
    """A proposal for each (typed name, facility where it was typed): products that facility's tier may stock,
    matched with the aliases it may use (its own, its township's, the county's)."""
    index = current_index()
    out = []
    for text, facility in requests:
        result = match_parsed(index, parse_name(text or ""), facility_chain(facility),
                              set(tiers_at_or_below(facility.tier)))
        out.append(Proposal(text=text, status=result.status, products=[
            _product_row(index, c.product_id, score=round(c.score, 1), source=c.source)
            for c in shortlist(result, limit=limit)]))
    return out


def propose_products(text: str, *, facility: Facility, limit: int = PROPOSAL_LIMIT) -> Proposal:
    """The products a name typed at `facility` may mean (see `propose_many`)."""
    return propose_many([(text, facility)], limit=limit)[0]


def learn_typed_name(text: str, product: Product, *, facility_id: int | None, user, source_ref: str) -> Alias | None:
    """Learn a name typed for `product` as a confirmed local name of `facility_id` (None: county-wide), so that it
    matches that product next time; None when nothing in the text could name a drug."""
    parsed = parse_name(text or "")
    if not parsed.segments:
        return None
    return learn_alias(text.strip()[:200], parsed.key[:200], product, facility_id=facility_id, user=user,
                       source_ref=source_ref)


def learn_alias(text: str, key: str, product: Product, *, facility_id: int | None, user, source_ref: str) -> Alias:
    """The confirmed local name `text` (matched by its `key`, see ParsedName.key) for `product`; reused when it is
    already known at that facility."""
    stmt = select(Alias).where(Alias.normalized_text == key, Alias.product_id == product.id,
                               Alias.source == AliasSource.LOCAL_CONFIRMED)
    stmt = stmt.where(Alias.facility_id.is_(None) if facility_id is None else Alias.facility_id == facility_id)
    alias = db.session.scalars(stmt).first()
    if alias is None:
        alias = Alias(text=text, normalized_text=key, drug_id=product.drug_id, product_id=product.id,
                      source=AliasSource.LOCAL_CONFIRMED, facility_id=facility_id, source_ref=source_ref[:255],
                      created_by_id=user.id if user else None)
        db.session.add(alias)
        db.session.flush()
        log.info("alias %r learnt for %s at facility %s by %s", text, product.code, facility_id,
                 getattr(user, "username", "-"))
    return alias


# ---------------------------------------------------------------------------------------------------------------
# Brand and common names


@dataclass
class AliasLoadReport:
    created: int = 0
    unchanged: int = 0
    skipped: list[str] | None = None


def load_brand_aliases(data_dir: Path) -> AliasLoadReport:
    """Bring the brand and common names of catalog_data/brand_names.csv into Alias rows; idempotent."""
    path = Path(data_dir) / "brand_names.csv"
    try:
        rows = read_brand_file(path)
    except FileNotFoundError:
        raise InvalidInput(_("找不到品牌名文件 %(path)s", path=str(path))) from None
    except BrandFileError as exc:
        raise InvalidInput(str(exc)) from None
    # A brand names its generic in every edition of the list loaded side by side: one alias per edition, so the
    # name is found whichever edition is in force (the match index shows that edition's only).
    by_edition: dict[str, tuple[list, list]] = {}
    for d in db.session.scalars(select(Drug).order_by(Drug.edition, Drug.id)):
        by_edition.setdefault(d.edition, ([], []))[0].append({"key": d.id, "generic_name": d.generic_name})
    for p in db.session.scalars(select(Product).where(Product.status == ProductStatus.ACTIVE)
                                .join(Drug, Drug.id == Product.drug_id).order_by(Product.id)):
        by_edition.setdefault(p.drug.edition, ([], []))[1].append(
            {"key": p.id, "drug_key": p.drug_id, "dosage_form": p.dosage_form, "strength": p.strength})
    resolved, skipped_in = [], []
    for drugs, products in by_edition.values():
        found, skipped_here = resolve_brand_rows(rows, drugs, products)
        resolved.extend(found)
        skipped_in.append(set(skipped_here))
    # A row is reported as skipped only when no edition could place it.
    skipped = sorted(set.intersection(*skipped_in)) if skipped_in else []
    existing = {(a.normalized_text, a.drug_id, a.product_id) for a in db.session.scalars(
        select(Alias).where(Alias.facility_id.is_(None), Alias.source.in_([AliasSource.BRAND, AliasSource.COMMON])))}
    report = AliasLoadReport(skipped=skipped)
    for alias in resolved:
        key = (alias.normalized_text, alias.drug_key, alias.product_key)
        if key in existing:
            report.unchanged += 1
            continue
        existing.add(key)
        db.session.add(Alias(text=alias.text, normalized_text=alias.normalized_text, drug_id=alias.drug_key,
                             product_id=alias.product_key, source=alias.source, source_ref=alias.source_ref))
        report.created += 1
    db.session.flush()
    log.info("brand aliases: %s created, %s unchanged, %s skipped", report.created, report.unchanged, len(skipped))
    return report


# ---------------------------------------------------------------------------------------------------------------
# Import


def _apply_result(local: LocalDrug, result: MatchResult) -> None:
    parsed = result.parsed
    local.match_key = parsed.key[:255]
    local.parsed_drug = parsed.drug_text[:120]
    local.parsed_form = parsed.form[:40]
    local.parsed_strength = parsed.strength[:120]
    local.parsed_pack = parsed.pack[:60]
    local.status = result.status
    local.score = result.score
    local.source = result.source[:24]
    local.reason = result.reason[:120]
    local.product_id = result.product_id
    local.candidates = [c.as_dict() for c in result.candidates]


def import_dictionary(facility: Facility, filename: str, data: bytes, *, user) -> DictionaryImport:
    """Read a local dictionary and match every row; a file that cannot be read is refused whole."""
    try:
        dictionary = read_dictionary(filename, data)
    except DictionaryFileError as exc:
        raise InvalidInput(_("文件无法导入：%(reason)s", reason=_(exc.message_id, **exc.params)),
                           code="bad_file") from None
    index = current_index()
    chain = facility_chain(facility)
    rejected = set(db.session.scalars(select(LocalDrug.match_key).where(
        LocalDrug.facility_id == facility.id, LocalDrug.status == MatchStatus.REJECTED)))
    record = DictionaryImport(facility_id=facility.id, filename=(filename or "")[:255],
                              file_format=dictionary.file_format, encoding=dictionary.encoding,
                              created_by_id=user.id if user else None, problems=[])
    db.session.add(record)
    db.session.flush()
    problems: list[dict] = []
    seen_codes: dict[str, int] = {}
    seen_names: dict[tuple, int] = {}
    locals_: list[LocalDrug] = []
    def report(row_no: int, message_id: str, **params) -> None:
        # Stored as message id and parameters so that each reader sees it in their language.
        problems.append({"row": row_no, "message": message_id, "params": params})

    for row in dictionary.rows:
        if row.is_empty and not row.notes:
            report(row.row_no, "空行")
            continue
        for message_id, params in row.notes:
            report(row.row_no, message_id, **params)
        if not row.name:
            if not row.notes:
                report(row.row_no, "药品名称为空，未导入")
            continue
        issue = ""
        if row.local_code and row.local_code in seen_codes:
            issue = f"本地编码重复（第 {seen_codes[row.local_code]} 行）"
            report(row.row_no, "本地编码与第 %(row)s 行重复", row=seen_codes[row.local_code])
        name_key = (row.name, row.spec, row.manufacturer)
        if not issue and name_key in seen_names:
            issue = f"重复（第 {seen_names[name_key]} 行）"
            report(row.row_no, "与第 %(row)s 行重复", row=seen_names[name_key])
        seen_codes.setdefault(row.local_code, row.row_no) if row.local_code else None
        seen_names.setdefault(name_key, row.row_no)
        parsed = parse_name(row.name, spec=row.spec, manufacturer=row.manufacturer)
        result = match_parsed(index, parsed, chain)
        local = LocalDrug(import_id=record.id, facility_id=facility.id, row_no=row.row_no, local_code=row.local_code,
                          local_name=row.name, spec=row.spec, manufacturer=row.manufacturer, unit=row.unit,
                          issue=issue[:200])
        _apply_result(local, result)
        if local.match_key in rejected:
            local.status, local.product_id, local.reason = MatchStatus.NO_MATCH, None, "此前已标记为目录外"
        locals_.append(local)
    record.row_count = len(locals_)
    record.problems = problems
    db.session.add_all(locals_)
    db.session.flush()
    log.info("dictionary import %s for %s by %s: %s rows, %s problems", record.id, facility.code,
             user.username if user else "-", record.row_count, len(problems))
    return record


def status_counts(import_id: int) -> dict[str, int]:
    rows = db.session.execute(select(LocalDrug.status, func.count(LocalDrug.id))
                              .where(LocalDrug.import_id == import_id).group_by(LocalDrug.status))
    counts = {s.value: 0 for s in MatchStatus}
    counts.update({status: n for status, n in rows})
    return counts


# ---------------------------------------------------------------------------------------------------------------
# Review


def may_create_global_alias(user) -> bool:
    """County staff decide for the whole county; a township's confirmation applies to it and its villages."""
    return user is not None and user.facility.tier == Tier.COUNTY


def _learn_alias(local: LocalDrug, product: Product, *, user, county_wide: bool) -> Alias:
    text = " ".join(p for p in (local.local_name, local.spec) if p)[:200]
    parsed = parse_name(local.local_name, spec=local.spec, manufacturer=local.manufacturer)
    return learn_alias(text, parsed.key[:200], product, facility_id=None if county_wide else local.facility_id,
                       user=user, source_ref=f"local_drug:{local.id}")


def confirm(local: LocalDrug, product: Product, *, user, county_wide: bool = False,
            action: str = DecisionAction.CONFIRM, note: str = "") -> MatchDecision:
    """Map a local drug to a product (a candidate or one found by search) and learn the name as an alias."""
    if product.status != ProductStatus.ACTIVE:
        raise Conflict(_("该产品已停用，不能用于匹配"))
    if county_wide and not may_create_global_alias(user):
        raise Forbidden(_("只有县级人员可以设为全县通用"))
    alias = _learn_alias(local, product, user=user, county_wide=county_wide)
    decision = MatchDecision(local_drug_id=local.id, action=action, product_id=product.id, old_status=local.status,
                             new_status=MatchStatus.CONFIRMED, old_product_id=local.product_id, score=local.score,
                             alias_id=alias.id, note=(note or "")[:255], user_id=user.id)
    local.status = MatchStatus.CONFIRMED
    local.product_id = product.id
    local.decided_by_id, local.decided_at = user.id, clock.now_utc()
    db.session.add(decision)
    db.session.flush()
    log.info("local drug %s confirmed as %s by %s", local.id, product.code, user.username)
    return decision


def reject(local: LocalDrug, *, user, note: str = "") -> MatchDecision:
    """Mark a local drug as not in the formulary; the next import of the same name at this facility says so."""
    decision = MatchDecision(local_drug_id=local.id, action=DecisionAction.REJECT, product_id=None,
                             old_status=local.status, new_status=MatchStatus.REJECTED,
                             old_product_id=local.product_id, score=local.score, note=(note or "")[:255],
                             user_id=user.id)
    local.status = MatchStatus.REJECTED
    local.product_id = None
    local.decided_by_id, local.decided_at = user.id, clock.now_utc()
    db.session.add(decision)
    db.session.flush()
    log.info("local drug %s marked not in formulary by %s", local.id, user.username)
    return decision


def bulk_confirm(record: DictionaryImport, min_score: float, *, user) -> int:
    """Confirm the top candidate of every row under review scoring at least `min_score`; return how many."""
    if min_score < BULK_CONFIRM_FLOOR or min_score > 100:
        raise InvalidInput(_("批量确认的最低分应在 %(a)s 到 100 之间", a=int(BULK_CONFIRM_FLOOR)),
                           fields={"min_score": [_("分数超出范围")]})
    rows = list(db.session.scalars(select(LocalDrug).where(
        LocalDrug.import_id == record.id, LocalDrug.status == MatchStatus.NEEDS_REVIEW,
        LocalDrug.score >= min_score).order_by(LocalDrug.row_no)))
    product_ids = {r.candidates[0]["product_id"] for r in rows if r.candidates}
    products = {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(product_ids)))}
    done = 0
    for local in rows:
        if not local.candidates:
            continue
        product = products.get(local.candidates[0]["product_id"])
        if product is None or product.status != ProductStatus.ACTIVE:
            continue
        confirm(local, product, user=user, action=DecisionAction.BULK_CONFIRM,
                note=f"批量确认：得分不低于 {min_score:g}")
        done += 1
    return done


def candidate_products(locals_: list[LocalDrug]) -> dict[int, Product]:
    """Every product named as a candidate or a match of these rows, by id (one query)."""
    ids = {c["product_id"] for local in locals_ for c in (local.candidates or [])}
    return products_by_id(ids | {local.product_id for local in locals_ if local.product_id})


def products_by_id(ids) -> dict[int, Product]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(select(Product).where(Product.id.in_(ids))
                                                .options(joinedload(Product.drug)))}
