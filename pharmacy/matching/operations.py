"""What people do with local dictionaries and names, for the matching pages and the API alike
(see `pharmacy/operations.py`).

Each function takes the acting user and a command loaded by a schema of `schemas.py`; imports and local drugs come
loaded in the user's scope (`auth.policy.load_in_scope`). The rules of a decision (an active product only, county
staff alone decide for the whole county, the bulk floor) live in `services`.
"""

from dataclasses import replace

from flask_babel import format_datetime
from flask_babel import gettext as _

from ..auth.policy import get_facility_in_scope, load_in_scope, require_permission, scope_root
from ..catalog.editions import edition_in_force, other_list_editions
from ..catalog.models import Product
from ..errors import InvalidInput
from ..facilities.models import Facility
from ..facilities.services import facilities_under
from ..fields import ascii_int
from ..listing import Page
from . import queries, services
from .models import DictionaryImport, LocalDrug, MatchStatus


def resolve_facility(user, ref=None, *, facility_id: int | None = None) -> Facility:
    """The facility named by id or code (or by `facility_id`) in the user's scope; the user's own when none is."""
    if facility_id is not None:
        return get_facility_in_scope(user, facility_id)
    if not ref:
        return user.facility
    ref = str(ref).strip()
    if ascii_int(ref) is not None:
        return get_facility_in_scope(user, ascii_int(ref))
    return get_facility_in_scope(user, code=ref.upper())


def upload_facilities(user) -> list[Facility]:
    """The active facilities a user may import a dictionary for."""
    return facilities_under(scope_root(user), active_only=True)


# ---------------------------------------------------------------------------------------------------------------
# Names


def search(user, query: dict) -> list[dict]:
    """Products for a search box: what the facility's tier may stock, of the list edition in force, plus the
    products of another edition the facility still holds (marked), answered from the index."""
    require_permission(user, "catalog.read")
    facility = resolve_facility(user, query["facility"])
    hidden = frozenset(other_list_editions(edition_in_force()))
    return services.search_products(query["q"], facility=facility, limit=query["limit"], hidden_editions=hidden,
                                    also_product_ids=services.products_in_stock_of(facility, hidden))


def match_names(user, command: dict) -> list[dict]:
    """Each name's match: status, score, product, candidates and the parts it was read as."""
    require_permission(user, "catalog.read")
    facility = resolve_facility(user, command["facility"])
    results = services.match_many(command["names"], facility=facility)
    products = services.products_by_id({c.product_id for r in results for c in r.candidates})
    return [{"input": name, "status": result.status, "score": result.score,
             "product": products.get(result.product_id) if result.product_id else None,
             "candidates": [{"product": products[c.product_id], "score": round(c.score, 1), "source": c.source}
                            for c in result.candidates],
             "parsed_drug": result.parsed.drug_text, "parsed_form": result.parsed.form,
             "parsed_strength": result.parsed.strength}
            for name, result in zip(command["names"], results, strict=True)]


# ---------------------------------------------------------------------------------------------------------------
# Imports


def import_dictionary(user, command: dict, upload) -> DictionaryImport:
    """Read an uploaded local dictionary for an active facility in the user's scope and match every row; a
    missing or unreadable file is refused whole."""
    require_permission(user, "matching.import")
    facility = resolve_facility(user, command.get("facility"), facility_id=command.get("facility_id"))
    if not facility.is_active:
        raise InvalidInput(_("该机构已停用"), fields={"facility": [_("该机构已停用")]})
    if upload is None or not upload.filename:
        raise InvalidInput(_("请选择要上传的文件"), fields={"file": [_("必填")]})
    return services.import_dictionary(facility, upload.filename, upload.read(), user=user)


def import_summary(record: DictionaryImport, counts: dict | None = None) -> dict:
    """An import as the API shows it, with its counts per status."""
    return {**{c: getattr(record, c) for c in ("id", "facility_id", "facility", "filename", "file_format", "encoding",
                                               "row_count", "problems", "created_by", "created_at")},
            "counts": counts if counts is not None else services.status_counts(record.id)}


def imports(user) -> list[dict]:
    """Recent imports of the facilities the user may see, each with its counts."""
    require_permission(user, "matching.review")
    return queries.imports_in_scope(user)


def _presented(page: Page) -> Page:
    return replace(page, items=queries.present(page.items))


def local_drugs_page(user, record: DictionaryImport, filters: dict) -> Page:
    """One page of an import's rows (a status, a name), each with its candidates."""
    require_permission(user, "matching.review")
    return _presented(queries.LOCAL_DRUGS.page(user, {**filters, "import_id": record.id}))


def review_page(user, record: DictionaryImport, filters: dict) -> Page:
    """One page of an import's review queue (needs_review or no_match), each row with its candidates."""
    require_permission(user, "matching.review")
    return _presented(queries.REVIEW_QUEUE.page(user, {**filters, "import_id": record.id}))


# ---------------------------------------------------------------------------------------------------------------
# Decisions


def confirm(user, local: LocalDrug, command: dict) -> dict:
    """Map a local drug to an active product (a candidate or one found by search); the name is learnt as an alias,
    county-wide only when county staff ask for it."""
    require_permission(user, "matching.review")
    product = load_in_scope(user, Product, command["product_id"])
    services.confirm(local, product, user=user, county_wide=command.get("county_wide", False),
                     note=command.get("note", ""))
    return queries.present([local])[0]


def reject(user, local: LocalDrug, command: dict) -> dict:
    """Mark a local drug as not in the formulary; the facility's next import of the name says so."""
    require_permission(user, "matching.review")
    services.reject(local, user=user, note=command.get("note", ""))
    return queries.present([local])[0]


def bulk_confirm(user, record: DictionaryImport, command: dict) -> int:
    """Confirm the top candidate of every row under review scoring at least `min_score` (60 or more)."""
    require_permission(user, "matching.review")
    return services.bulk_confirm(record, command["min_score"], user=user)


# ---------------------------------------------------------------------------------------------------------------
# Export

def _localtime(value, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A stored UTC time as the county's local time (pages use the app's `localtime` filter)."""
    return format_datetime(value, pattern) if value else ""


def mapping_rows(user, record: DictionaryImport):
    """The import's mapping, one row per local drug, streamed in batches (in the columns of `views.EXPORT_HEADER`)."""
    require_permission(user, "matching.review")
    return _mapping_rows(record)


def _mapping_rows(record: DictionaryImport):
    for batch in queries.presented_batches(record.id):
        for row in batch:
            local, product = row["local"], row["product"]
            yield [local.row_no, local.local_code, local.local_name, local.spec, local.manufacturer, local.unit,
                   MatchStatus.label_of(local.status), product.code if product else "",
                   product.drug.generic_name if product else "", product.dosage_form if product else "",
                   product.strength if product else "", local.score,
                   local.decided_by.display_name if local.decided_by else "",
                   _localtime(local.decided_at),
                   local.issue or (_(local.reason) if local.reason else "")]
