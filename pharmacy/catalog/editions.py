"""Editions of the essential medicines list side by side: which is in force, and how the shown one differs.

A drug of one edition is the same drug in another when its normalised generic name and category agree (drug codes
change between editions: X001 in 2018, X26-001 in 2026); a product is the same product when, in addition, its
normalised dosage form and strength agree. The badges compare the edition shown with its neighbour: 新增 (a drug the
previous edition lacks), 调出 (a drug the next edition lacks), 规格变化 (the drug is in both, with another set of
strengths).

Editions of the national list are named by their year (2018, 2026). Products of any other edition code (a county's
own additions, a test set) are outside the list and belong to every edition: no edition rule hides them.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import or_, select, true

from .. import clock
from ..extensions import db
from ..vocabulary import EditionChange
from .models import Drug, EditionSetting, Product, ProductStatus

DEFAULT_EDITION = "2018"  # in force until a county chooses another
LIST_EDITION = re.compile(r"^[0-9]{4}$")


def is_list_edition(edition: str) -> bool:
    """Whether an edition code names an edition of the national list (a year)."""
    return bool(LIST_EDITION.match(edition or ""))


_BRACKETS_AND_SPACES = re.compile(r"[\s()\[\]{}（）【】〔〕]+")
_RATIO = str.maketrans({"∶": ":", "：": ":", "×": "*", "＊": "*", "·": "", "・": ""})


def spelling_key(text: str) -> str:
    """A name, form or strength as both editions' files write it, whatever the width, case, brackets and spaces
    (the catalog's own comparison: the formulary never depends on the name matcher)."""
    text = unicodedata.normalize("NFKC", text or "").lower().translate(_RATIO)
    return _BRACKETS_AND_SPACES.sub("", text)


def form_key(dosage_form: str) -> str:
    """A dosage form whether written with its 剂 or without (胶囊剂 = 胶囊, 颗粒剂 = 颗粒, 片剂 = 片)."""
    key = spelling_key(dosage_form)
    return key[:-1] if len(key) > 1 and key.endswith("剂") else key


def drug_key(category: str, generic_name: str) -> tuple[str, str]:
    """What makes two drugs of different editions the same drug."""
    return category, spelling_key(generic_name)


def strength_key(strength: str) -> str:
    return spelling_key(strength)


def product_key(category: str, generic_name: str, dosage_form: str, strength: str) -> tuple[str, str, str, str]:
    """What makes two products of different editions the same product."""
    return (*drug_key(category, generic_name), form_key(dosage_form), strength_key(strength))


@dataclass(frozen=True)
class DrugFacts:
    """What the comparison needs of one drug: its identity and its set of strengths."""

    id: int
    key: tuple[str, str]
    strengths: frozenset[str]


def compare_editions(shown: list[DrugFacts], previous: list[DrugFacts] | None,
                     following: list[DrugFacts] | None) -> dict[int, str]:
    """The change of each drug of the shown edition (drug id → EditionChange code); unchanged drugs are left out."""
    changes: dict[int, str] = {}
    prev = {d.key: d for d in previous} if previous is not None else None
    nxt = {d.key: d for d in following} if following is not None else None
    for drug in shown:
        if prev is not None and drug.key not in prev:
            changes[drug.id] = EditionChange.ADDED
        elif nxt is not None and drug.key not in nxt:
            changes[drug.id] = EditionChange.REMOVED
        else:
            other = (prev or {}).get(drug.key) or (nxt or {}).get(drug.key)
            if other is not None and other.strengths != drug.strengths:
                changes[drug.id] = EditionChange.STRENGTH_CHANGED
    return changes


def loaded_editions() -> list[str]:
    """Editions of the national list with drugs in the database, oldest first."""
    return sorted(e for e in db.session.scalars(select(Drug.edition).distinct()) if is_list_edition(e))


def other_list_editions(edition: str) -> list[str]:
    """The loaded list editions a view of `edition` leaves out (none when `edition` is not a loaded list edition:
    a county never loses its whole catalog to an edition it has not loaded)."""
    loaded = loaded_editions()
    return [e for e in loaded if e != edition] if edition in loaded else []


def edition_condition(column, edition: str):
    """SQL condition on an edition column for "the products of `edition`": a list edition keeps products outside
    the list too; another code is matched as it is."""
    if not is_list_edition(edition):
        return column == edition
    others = other_list_editions(edition)
    return column.not_in(others) if others else true()


def settings() -> list[EditionSetting]:
    """The county's choices, latest first."""
    return list(db.session.scalars(select(EditionSetting).order_by(EditionSetting.id.desc())))


def edition_in_force(on: date | None = None) -> str:
    """The edition in force on a day (today by default): the latest choice whose date has come, else 2018."""
    on = on or clock.today()
    setting = db.session.scalars(select(EditionSetting).where(EditionSetting.effective_from <= on)
                                 .order_by(EditionSetting.effective_from.desc(), EditionSetting.id.desc())).first()
    return setting.edition if setting is not None else DEFAULT_EDITION


def scheduled_setting(on: date | None = None) -> EditionSetting | None:
    """A choice whose date has not come yet (the next edition announced), if any."""
    on = on or clock.today()
    return db.session.scalars(select(EditionSetting).where(EditionSetting.effective_from > on)
                              .order_by(EditionSetting.id.desc())).first()


def _facts(edition: str) -> list[DrugFacts]:
    rows = db.session.execute(select(Drug.id, Drug.category, Drug.generic_name, Product.strength)
                              .outerjoin(Product, (Product.drug_id == Drug.id)
                                         & (Product.status == ProductStatus.ACTIVE))
                              .where(Drug.edition == edition)).all()
    found: dict[int, tuple[tuple[str, str], set[str]]] = {}
    for drug_id, category, name, strength in rows:
        key, strengths = found.setdefault(drug_id, (drug_key(category, name), set()))
        if strength is not None:
            strengths.add(strength_key(strength))
    return [DrugFacts(id=i, key=k, strengths=frozenset(s)) for i, (k, s) in found.items()]


def edition_changes(edition: str) -> dict[int, str]:
    """drug id → change code for the drugs of `edition`, compared with the editions loaded beside it."""
    editions = loaded_editions()
    if edition not in editions:
        return {}
    at = editions.index(edition)
    previous = _facts(editions[at - 1]) if at > 0 else None
    following = _facts(editions[at + 1]) if at + 1 < len(editions) else None
    return compare_editions(_facts(edition), previous, following)


def drug_ids_with_change(edition: str, change: str) -> list[int]:
    return [drug_id for drug_id, code in edition_changes(edition).items() if code == change]


def counterpart_products(from_edition: str, to_edition: str) -> dict[int, int]:
    """Map each product of one edition to its counterpart in another (same normalised generic name, form and
    strength); products without one are left out. The guided 2018→2026 transition builds on this."""
    def keyed(edition):
        rows = db.session.execute(select(Product.id, Drug.category, Drug.generic_name, Product.dosage_form,
                                         Product.strength).join(Product.drug).where(Product.edition == edition))
        return {r[0]: product_key(*r[1:]) for r in rows}

    target = {key: pid for pid, key in sorted(keyed(to_edition).items(), reverse=True)}
    return {pid: target[key] for pid, key in keyed(from_edition).items() if key in target}


def offered_condition(facility_id: int | None):
    """SQL condition on Product for what a facility is offered to pick: the edition in force (and products outside
    the list), plus the products of another list edition it still holds."""
    hidden = other_list_editions(edition_in_force())
    if not hidden:
        return true()
    from ..inventory.models import StockBalance

    held = select(StockBalance.product_id).where(StockBalance.facility_id == facility_id, StockBalance.qty_base > 0)
    return or_(Product.edition.not_in(hidden), Product.id.in_(held))
