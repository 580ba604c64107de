"""The match index of the current catalog and aliases, built from the database and kept in memory.

The index is a module-level cache keyed by the database and a catalog version: counts, highest ids and latest
change times of drugs, products and aliases, and the edition in force. Any write to them changes the version, so the
next caller rebuilds; a version check is one small query. A lock keeps two threads from building at once.

Names are matched against the edition of the national list in force (with the products outside the list, such as a
county's own): with 2018 and 2026 loaded side by side, the same 阿莫西林胶囊 0.25g of both would otherwise tie and
send every name to review. A search box also offers another edition's products the facility still holds, so it
reads the index of every edition (`current_index(every_edition=True)`) and leaves out the rest itself.
"""

import logging
import threading
import time

from sqlalchemy import func, select

from ..catalog import editions
from ..catalog.models import Alias, Drug, Product, ProductStatus
from ..extensions import db
from .index import AliasRecord, DrugRecord, MatchIndex, ProductRecord, build_index

log = logging.getLogger(__name__)

_lock = threading.Lock()
_cache: dict[str, MatchIndex] = {}


def catalog_version() -> tuple:
    """A value that changes whenever a drug, product or alias is added, changed or removed."""
    columns = [func.count(Drug.id), func.max(Drug.id), func.max(Drug.updated_at),
               func.count(Product.id), func.max(Product.id), func.max(Product.updated_at),
               func.count(Alias.id), func.max(Alias.id), func.max(Alias.created_at)]
    row = db.session.execute(select(*(select(c).scalar_subquery() for c in columns))).one()
    return (*(str(v) for v in row), editions.edition_in_force())


def _hidden_editions() -> list[str]:
    """The list editions not in force (none when the edition in force is not loaded)."""
    return editions.other_list_editions(editions.edition_in_force())


def _load_records(every_edition: bool) -> tuple[list[DrugRecord], list[ProductRecord], list[AliasRecord]]:
    hidden = [] if every_edition else _hidden_editions()
    drugs = [DrugRecord(id=r.id, code=r.code, generic_name=r.generic_name, category=r.category,
                        pinyin_initials=r.pinyin_initials or "")
             for r in db.session.execute(select(Drug.id, Drug.code, Drug.generic_name, Drug.category,
                                                Drug.pinyin_initials).where(Drug.edition.not_in(hidden))
                                         .order_by(Drug.id))]
    products = [ProductRecord(id=r.id, code=r.code, drug_id=r.drug_id, dosage_form=r.dosage_form,
                              strength=r.strength, lowest_tier=r.lowest_tier,
                              is_active=r.status == ProductStatus.ACTIVE, remarks=r.remarks or "",
                              base_unit=r.base_unit, pack_size=r.pack_size, pack_unit=r.pack_unit,
                              vbp_batch=r.vbp_batch or "", edition=r.edition)
                for r in db.session.execute(select(Product.id, Product.code, Product.drug_id, Product.dosage_form,
                                                   Product.strength, Product.lowest_tier, Product.status,
                                                   Product.remarks, Product.base_unit, Product.pack_size,
                                                   Product.pack_unit, Product.vbp_batch, Product.edition)
                                            .where(Product.edition.not_in(hidden)).order_by(Product.code))]
    shown_drugs, shown_products = {d.id for d in drugs}, {p.id for p in products}
    aliases = [AliasRecord(id=r.id, text=r.text, normalized_text=r.normalized_text, drug_id=r.drug_id,
                           product_id=r.product_id, source=r.source, facility_id=r.facility_id)
               for r in db.session.execute(select(Alias.id, Alias.text, Alias.normalized_text, Alias.drug_id,
                                                  Alias.product_id, Alias.source, Alias.facility_id)
                                           .order_by(Alias.id))
               if (r.drug_id is None or r.drug_id in shown_drugs)
               and (r.product_id is None or r.product_id in shown_products)]
    return drugs, products, aliases


def current_index(*, every_edition: bool = False) -> MatchIndex:
    """The index for the catalog as it is now in this session's database (the edition in force, or every edition);
    rebuilt only when it changed."""
    key = f"{db.engine.url}|{'all' if every_edition else 'in-force'}"
    version = catalog_version()
    index = _cache.get(key)
    if index is not None and index.version == version:
        return index
    with _lock:
        index = _cache.get(key)
        if index is not None and index.version == version:
            return index
        started = time.perf_counter()
        index = build_index(*_load_records(every_edition), version=version)
        _cache[key] = index
        log.info("match index built in %.2fs: %s", time.perf_counter() - started, index.size)
        return index


def clear_cache(url: str | None = None) -> None:
    """Forget the index of one database (by URL), or of all."""
    with _lock:
        if url is None:
            _cache.clear()
        else:
            for key in [k for k in _cache if k.split("|", 1)[0] == url]:
                _cache.pop(key, None)
