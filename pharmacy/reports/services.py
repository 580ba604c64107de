"""Entry points of the reports domain: whose dashboard, which report scope, and the county's tracer list."""

import logging
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import select

from .. import clock
from ..auth.policy import get_facility_in_scope, scope_root
from ..catalog.models import Product, ProductStatus
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..listing import page_of
from ..supply import policy as dispatch_policy
from ..facilities.models import Facility, Tier
from .dashboard import Dashboard, build_dashboard, keep_history
from .models import TracerProduct

log = logging.getLogger(__name__)


def county_id_of(facility: Facility) -> int:
    return int(facility.path.strip("/").split("/")[0])


def dashboard_root(user, unit_id: int | None = None) -> Facility:
    """The subtree the user's dashboard shows: their own scope, or a township inside it."""
    root = scope_root(user)
    if not unit_id or unit_id == root.id:
        return root
    facility = get_facility_in_scope(user, unit_id)
    if facility.tier != Tier.TOWNSHIP:
        raise InvalidInput(_("只能按乡镇查看驾驶舱"), fields={"unit": [_("请选择乡镇")]})
    return facility


def dashboard_for(user, unit_id: int | None = None, *, now: datetime | None = None,
                  near_expiry_days: int | None = None) -> Dashboard:
    """The dashboard of the user's scope (or of one township in it) as of `now`, weeks in the county's time;
    the near-expiry window is the dispatch policy's unless given."""
    if near_expiry_days is None:
        near_expiry_days = dispatch_policy.near_expiry_days()
    return build_dashboard(dashboard_root(user, unit_id), now=now or clock.now_utc(), near_expiry_days=near_expiry_days,
                           tz=clock.local_zone())


def units_for_choice(user) -> list[Facility]:
    """Townships the user may pick on the dashboard (none for a township pharmacist)."""
    root = scope_root(user)
    if root.tier == Tier.TOWNSHIP:
        return []
    return list(db.session.scalars(select(Facility).where(
        Facility.path.startswith(root.path), Facility.tier == Tier.TOWNSHIP, Facility.is_active)
        .order_by(Facility.code)))


# --- the tracer list ---------------------------------------------------------------------------------------------

def tracers_of(user) -> list[TracerProduct]:
    county_id = county_id_of(scope_root(user))
    return list(db.session.scalars(select(TracerProduct).where(TracerProduct.county_id == county_id)
                                   .order_by(TracerProduct.created_at, TracerProduct.id)))


def chronic_tracer_count(user) -> int:
    """How many chronic-disease products count as tracers automatically in the user's county."""
    from . import queries

    county_id = county_id_of(scope_root(user))
    everything = set(queries.tracer_product_ids(county_id, f"/{county_id}/"))
    return len(everything - set(queries.configured_tracer_ids(county_id)))


def add_tracer(user, product: Product, note: str = "") -> TracerProduct:
    """Put a product on the county's tracer list; it must be active and allowed at village points."""
    county_id = county_id_of(scope_root(user))
    if product.status != ProductStatus.ACTIVE:
        raise InvalidInput(_("该药品已停用"), fields={"product_id": [_("已停用")]})
    if product.lowest_tier != Tier.VILLAGE:
        raise InvalidInput(_("示踪药品按村卫生室的有货情况统计，只能选择村级可配备的药品"),
                           fields={"product_id": [_("层级不允许")]}, code="tier_not_allowed")
    if product.drug.chronic_tags:
        raise Conflict(_("慢病药品已自动列入示踪药品"), code="already_tracer")
    exists = db.session.scalar(select(TracerProduct.id).where(TracerProduct.county_id == county_id,
                                                              TracerProduct.product_id == product.id))
    if exists is not None:
        raise Conflict(_("该药品已在示踪清单中"), code="already_tracer")
    tracer = TracerProduct(county_id=county_id, product_id=product.id, note=(note or "").strip()[:500],
                           added_by_id=getattr(user, "id", None))
    db.session.add(tracer)
    db.session.flush()
    log.info("tracer product %s added for county %s by %s", product.code, county_id, getattr(user, "username", "-"))
    return tracer


def remove_tracer(user, tracer_id: int) -> None:
    """Take a product off the county's tracer list."""
    tracer = db.session.get(TracerProduct, tracer_id)
    if tracer is None or tracer.county_id != county_id_of(scope_root(user)):
        raise NotFound(_("找不到该记录"))
    db.session.delete(tracer)
    db.session.flush()
    log.info("tracer product %s removed for county %s by %s", tracer.product_id, tracer.county_id,
             getattr(user, "username", "-"))


# --- report filters ----------------------------------------------------------------------------------------------

def report_filters(user, report, query: dict, *, today=None, tz=None):
    """Turn a report's query (township, village, q, class_path, dates) into filters inside the user's scope;
    dates are days of the time zone `tz` (the county's unless a test says otherwise)."""
    from .reports import Filters

    root = scope_root(user)
    if query.get("township"):
        root = get_facility_in_scope(user, query["township"])
        if root.tier != Tier.TOWNSHIP:
            raise InvalidInput(_("所选机构不是乡镇卫生院"), fields={"township": [_("请选择乡镇")]})
    if query.get("village"):
        village = get_facility_in_scope(user, query["village"])
        if village.tier != Tier.VILLAGE:
            raise InvalidInput(_("所选机构不是村卫生室"), fields={"village": [_("请选择村卫生室")]})
        if not village.is_within(root):
            raise InvalidInput(_("该村卫生室不属于所选乡镇"), fields={"village": [_("不属于所选乡镇")]})
        root = village
    date_from, date_to = query.get("date_from"), query.get("date_to")
    if report.uses_dates and report.default_days:
        default_from, default_to = report.default_range(today or clock.today())
        span = default_to - default_from
        if date_to is None:
            date_to = default_to if date_from is None or date_from <= default_to else date_from + span
        if date_from is None:
            date_from = default_from if default_from <= date_to else date_to - span
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(_("开始日期不能晚于结束日期"), fields={"date_from": [_("晚于结束日期")]})
    return Filters(root=root, q=(query.get("q") or "").strip(), class_path=(query.get("class_path") or "").strip(),
                   date_from=date_from if report.uses_dates else None, date_to=date_to if report.uses_dates else None,
                   tz=tz or clock.local_zone())


def report_page(user, report, query: dict):
    """The report's filters in the user's scope and the page of rows the query asks for: (filters, Page), the rows
    not counted (a count would cost a pass over the whole report)."""
    filters = report_filters(user, report, query)
    return filters, page_of(report.build(filters), page=query["page"], per_page=query["per_page"], scalars=False,
                            count=False)


def report_facility_choices(user) -> tuple[list[Facility], list[Facility]]:
    """Townships and villages the user may filter by."""
    root = scope_root(user)
    rows = list(db.session.scalars(select(Facility).where(
        Facility.path.startswith(root.path), Facility.tier.in_([Tier.TOWNSHIP, Tier.VILLAGE]), Facility.is_active)
        .order_by(Facility.code)))
    return [f for f in rows if f.tier == Tier.TOWNSHIP], [f for f in rows if f.tier == Tier.VILLAGE]


def get_product_by_code(code: str) -> Product:
    from ..catalog.services import get_product_by_code as lookup

    return lookup((code or "").strip().upper())


# --- the nightly job -------------------------------------------------------------------------------------------------

def keep_past_weeks(now: datetime | None = None) -> dict:
    """Keep the dashboard figures at past week starts for every county and township (a scheduler job)."""

    now = now or clock.now_utc()
    roots = list(db.session.scalars(select(Facility).where(
        Facility.is_active, (Facility.parent_id.is_(None)) | (Facility.tier == Tier.TOWNSHIP))
        .order_by(Facility.path)))
    for root in roots:
        keep_history(root, now=now, near_expiry_days=dispatch_policy.near_expiry_days(), tz=clock.local_zone())
        db.session.flush()
    log.info("dashboard weeks kept for %s scopes", len(roots))
    return {"scopes": len(roots)}
