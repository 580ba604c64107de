"""Stock reads for pages and for other domains (orders, deliveries, dashboard).

`stock_status` answers "how do we stand" for many facilities × products at once with a handful of grouped
queries (balances, consumption window, policies, goods in transit), never one query per row.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Float, Integer, Select, and_, case, cast, func, or_, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload
from sqlalchemy.sql.functions import FunctionElement

from .. import clock
from ..catalog.models import Drug, Product
from ..extensions import db
from ..supply import policy as dispatch_policy
from ..facilities.models import Facility
from . import consumption as rules
from .consumption import AmcBasis, Policy, StockStatus
from .models import Lot, MovementKind, StockBalance, StockMovement, StockPolicy, Transfer, TransferLine, TransferStatus

# What counts as consumption, by tier. A village consumes what it dispenses; a township health centre or the
# county also issues to the facilities it supplies, and those issues are its demand too (without them the central
# pharmacy, which dispenses nothing, would look overstocked on everything).
CONSUMPTION_KINDS_BY_TIER = {
    "village": (MovementKind.DISPENSE,),
    "township": (MovementKind.DISPENSE, MovementKind.TRANSFER_OUT),
    "county": (MovementKind.DISPENSE, MovementKind.TRANSFER_OUT),
}


@dataclass(slots=True)
class StockStatusRow:
    """One facility × product: quantities in base units, AMC in base units per month."""

    facility_id: int
    product_id: int
    on_hand: int = 0
    usable: int = 0
    expired: int = 0
    near_expiry: int = 0
    earliest_expiry: date | None = None
    in_transit: int = 0
    dispensed_in_window: int = 0  # base units consumed in the window (dispensed, and issued where that counts)
    amc: float | None = None
    amc_basis: str = AmcBasis.UNKNOWN
    history_days: int = 0
    months_of_stock: float | None = None
    min_months: float = 0.0
    max_months: float = 0.0
    min_base: int | None = None
    max_base: int | None = None
    policy_source: str = "tier_default"
    status: str = StockStatus.STOCK_OUT
    first_movement_at: datetime | None = field(default=None, repr=False)
    allocated: int = 0  # set aside for unified orders, not shipped yet (see `with_holds`)
    reserved: int = 0   # planned on delivery runs that have not left

    @property
    def available(self) -> int:
        """Usable stock not promised to an order or a run."""
        return max(self.usable - self.allocated - self.reserved, 0)




def in_ids(column, ids):
    """`column IN ids` for a list of ids or a select of them."""
    return column.in_(ids) if isinstance(ids, Select) else column.in_(list(ids))


def stock_status(facility_ids: Iterable[int] | Select, product_ids: Iterable[int] | None = None, *,
                 as_of: datetime | None = None, near_days: int | None = None,
                 consumption_kinds: tuple[str, ...] | None = None,
                 include_empty: bool = False) -> list[StockStatusRow]:
    """Stock position of every facility × product that has stock, history, a policy or goods in transit.

    `facility_ids` may be a list or a select of ids (e.g. `visible_facility_ids(user)`). With `include_empty`
    and `product_ids`, every requested pair is returned, stock-outs of never-stocked products included.
    Consumption follows `CONSUMPTION_KINDS_BY_TIER` unless `consumption_kinds` names the movement kinds to count
    (e.g. `("dispense",)` for patient dispensing alone). Rows come sorted by facility id, then product id.
    """
    as_of = as_of or clock.now_utc()
    today = clock.to_local(as_of).date()  # the county's day, not UTC's (they differ from 16:00 UTC)
    days = dispatch_policy.near_expiry_days() if near_days is None else near_days
    cutoff = today + timedelta(days=days)
    if product_ids is not None:
        product_ids = list(product_ids)

    def scoped(stmt, facility_col, product_col):
        stmt = stmt.where(in_ids(facility_col, facility_ids))
        if product_ids is not None:
            stmt = stmt.where(product_col.in_(product_ids))
        return stmt

    tiers = dict(db.session.execute(
        select(Facility.id, Facility.tier).where(in_ids(Facility.id, facility_ids))).all())
    rows: dict[tuple[int, int], StockStatusRow] = {}

    def row(facility_id: int, product_id: int) -> StockStatusRow:
        key = (facility_id, product_id)
        if key not in rows:
            rows[key] = StockStatusRow(facility_id, product_id)
        return rows[key]

    first_at = (select(func.min(StockMovement.created_at))
                .where(StockMovement.facility_id == StockBalance.facility_id,
                       StockMovement.product_id == StockBalance.product_id)
                .correlate(StockBalance).scalar_subquery())
    unexpired = Lot.expiry_date > today
    balances = scoped(
        select(StockBalance.facility_id, StockBalance.product_id,
               func.sum(StockBalance.qty_base),
               func.sum(case((unexpired, StockBalance.qty_base), else_=0)),
               func.sum(case((and_(unexpired, Lot.expiry_date <= cutoff), StockBalance.qty_base), else_=0)),
               func.min(case((and_(unexpired, StockBalance.qty_base > 0), Lot.expiry_date), else_=None)),
               first_at)
        .join(Lot, Lot.id == StockBalance.lot_id)
        .group_by(StockBalance.facility_id, StockBalance.product_id),
        StockBalance.facility_id, StockBalance.product_id)
    for facility_id, product_id, on_hand, usable, near, earliest, first in db.session.execute(balances):
        r = row(facility_id, product_id)
        r.on_hand, r.usable, r.near_expiry = int(on_hand or 0), int(usable or 0), int(near or 0)
        r.expired = r.on_hand - r.usable
        r.earliest_expiry = earliest if earliest is None or isinstance(earliest, date) else date.fromisoformat(
            str(earliest))
        r.first_movement_at = clock.as_utc(first) if first is not None else None

    all_kinds = set(consumption_kinds) if consumption_kinds is not None else {
        kind for kinds in CONSUMPTION_KINDS_BY_TIER.values() for kind in kinds}
    used = scoped(
        select(StockMovement.facility_id, StockMovement.product_id, StockMovement.kind,
               func.sum(-StockMovement.qty_base))
        .where(StockMovement.kind.in_(sorted(all_kinds)),
               StockMovement.created_at >= rules.window_start(as_of), StockMovement.created_at <= as_of)
        .group_by(StockMovement.facility_id, StockMovement.product_id, StockMovement.kind),
        StockMovement.facility_id, StockMovement.product_id)
    for facility_id, product_id, kind, qty in db.session.execute(used):
        counted = consumption_kinds if consumption_kinds is not None else CONSUMPTION_KINDS_BY_TIER.get(
            tiers.get(facility_id), (MovementKind.DISPENSE,))
        if kind in counted:
            row(facility_id, product_id).dispensed_in_window += int(qty or 0)

    policies: dict[tuple[int, int], Policy] = {}
    for p in db.session.scalars(scoped(select(StockPolicy), StockPolicy.facility_id, StockPolicy.product_id)):
        policies[(p.facility_id, p.product_id)] = Policy(float(p.min_months), float(p.max_months), p.min_qty_base,
                                                         p.max_qty_base)
        row(p.facility_id, p.product_id)

    transit = scoped(
        select(Transfer.to_facility_id, TransferLine.product_id, func.sum(TransferLine.qty_base_sent))
        .join(Transfer, Transfer.id == TransferLine.transfer_id)
        .where(Transfer.status == TransferStatus.IN_TRANSIT)
        .group_by(Transfer.to_facility_id, TransferLine.product_id),
        Transfer.to_facility_id, TransferLine.product_id)
    for facility_id, product_id, qty in db.session.execute(transit):
        row(facility_id, product_id).in_transit = int(qty or 0)

    if include_empty and product_ids is not None:
        for facility_id in tiers:
            for product_id in product_ids:
                row(facility_id, product_id)

    defaults = {tier: rules.default_policy(tier) for tier in rules.TIER_DEFAULT_MONTHS}
    for key, r in rows.items():
        amc = rules.average_monthly_consumption(r.dispensed_in_window, r.first_movement_at, as_of)
        r.amc, r.amc_basis, r.history_days = amc.value, amc.basis, amc.history_days
        r.months_of_stock = rules.months_of_stock(r.usable, r.amc)
        policy = policies.get(key)
        if policy is None:
            policy = defaults[tiers.get(r.facility_id, "village")]
        else:
            r.policy_source = "facility"
        r.min_months, r.max_months = policy.min_months, policy.max_months
        r.min_base, r.max_base = rules.min_max_base(policy, r.amc)
        r.status = rules.stock_status(r.usable, r.min_base, r.max_base)
    return [rows[key] for key in sorted(rows)]


def with_holds(rows: list[StockStatusRow]) -> list[StockStatusRow]:
    """Fill in what is set aside (allocated to orders, reserved on runs) for these rows."""
    from . import holds

    facility_ids = sorted({r.facility_id for r in rows})
    product_ids = sorted({r.product_id for r in rows})
    allocated = holds.held(holds.ALLOCATED, facility_ids, product_ids)
    reserved = holds.held(holds.RESERVED, facility_ids, product_ids)
    for r in rows:
        r.allocated = allocated.get((r.facility_id, r.product_id), 0)
        r.reserved = reserved.get((r.facility_id, r.product_id), 0)
    return rows


def stock_status_one(facility_id: int, product_id: int) -> StockStatusRow:
    return stock_status([facility_id], [product_id], include_empty=True)[0]


@dataclass
class LotRow:
    facility_id: int
    product_id: int
    lot_id: int
    lot_number: str
    expiry_date: date
    manufacturer: str
    qty_base: int
    is_expired: bool
    is_near_expiry: bool


def lots_on_hand(facility_ids: Iterable[int] | Select, product_id: int | None = None, *,
                 near_days: int | None = None, only_near_expiry: bool = False) -> list[LotRow]:
    """Lots with stock, earliest expiry first, flagged expired or near expiry."""
    today = clock.today()
    days = dispatch_policy.near_expiry_days() if near_days is None else near_days
    stmt = (select(StockBalance.facility_id, StockBalance.product_id, Lot.id, Lot.lot_number, Lot.expiry_date,
                   Lot.manufacturer, StockBalance.qty_base)
            .join(Lot, Lot.id == StockBalance.lot_id)
            .where(in_ids(StockBalance.facility_id, facility_ids), StockBalance.qty_base > 0)
            .order_by(StockBalance.facility_id, StockBalance.product_id, Lot.expiry_date, Lot.id))
    if product_id is not None:
        stmt = stmt.where(StockBalance.product_id == product_id)
    if only_near_expiry:
        stmt = stmt.where(Lot.expiry_date <= today + timedelta(days=days))
    return [LotRow(f, p, lot_id, number, expiry, manufacturer, qty, rules.is_expired(expiry, today),
                   rules.is_near_expiry(expiry, today, days))
            for f, p, lot_id, number, expiry, manufacturer, qty in db.session.execute(stmt)]


def products_by_id(product_ids: Iterable[int]) -> dict[int, Product]:
    ids = list(set(product_ids))
    if not ids:
        return {}
    stmt = select(Product).where(Product.id.in_(ids)).options(joinedload(Product.drug))
    return {p.id: p for p in db.session.scalars(stmt)}


def facility_ids_under(top: Facility, *, tier: str | None = None, active_only: bool = False) -> Select:
    """A select of the ids of `top`'s subtree (`top` included), of one tier, active ones only if asked."""
    stmt = select(Facility.id).where(Facility.path.startswith(top.path))
    if tier:
        stmt = stmt.where(Facility.tier == tier)
    if active_only:
        stmt = stmt.where(Facility.is_active.is_(True))
    return stmt


def facilities_by_id(facility_ids: Iterable[int]) -> dict[int, Facility]:
    ids = list(set(facility_ids))
    if not ids:
        return {}
    return {f.id: f for f in db.session.scalars(select(Facility).where(Facility.id.in_(ids)))}


def product_matches(product: Product, q: str) -> bool:
    """Whether a product matches a plain search (name, pinyin initials or code), as the catalog search does."""
    q = (q or "").strip()
    if not q:
        return True
    return (q in product.drug.generic_name or q.upper() in (product.drug.pinyin_initials or "")
            or q.upper() in product.code.upper())


@dataclass
class CardLine:
    movement: StockMovement
    balance: int


def stock_card(facility_id: int, product_id: int, *, limit: int = 500) -> tuple[int, list[CardLine], bool]:
    """The latest movements of one product at one facility with the running balance after each (all lots).

    Returns (opening balance before the first line shown, lines oldest first, whether older lines exist).
    """
    stmt = (select(StockMovement).where(StockMovement.facility_id == facility_id,
                                        StockMovement.product_id == product_id)
            .options(joinedload(StockMovement.lot), joinedload(StockMovement.user))
            .order_by(StockMovement.id.desc()).limit(limit + 1))
    movements = list(db.session.scalars(stmt))
    has_more = len(movements) > limit
    movements = list(reversed(movements[:limit]))
    on_hand = int(db.session.scalar(
        select(func.coalesce(func.sum(StockBalance.qty_base), 0))
        .where(StockBalance.facility_id == facility_id, StockBalance.product_id == product_id)))
    opening = on_hand - sum(m.qty_base for m in movements)
    lines, balance = [], opening
    for movement in movements:
        balance += movement.qty_base
        lines.append(CardLine(movement, balance))
    return opening, lines, has_more


def transfers_for(facility_id: int, *, status: str | None = None, limit: int = 100) -> list[Transfer]:
    """Transfers into or out of a facility, newest first."""
    stmt = (select(Transfer).where((Transfer.to_facility_id == facility_id) | (Transfer.from_facility_id == facility_id))
            .options(joinedload(Transfer.from_facility), joinedload(Transfer.to_facility))
            .order_by(Transfer.id.desc()).limit(limit))
    if status:
        stmt = stmt.where(Transfer.status == status)
    return list(db.session.scalars(stmt))


def stockable_products(facility: Facility) -> list[Product]:
    """Active products the facility may hold, by name."""
    from ..catalog.services import tiers_at_or_below

    stmt = (select(Product).join(Product.drug).options(joinedload(Product.drug))
            .where(Product.status == "active", Product.lowest_tier.in_(tiers_at_or_below(facility.tier)))
            .order_by(Drug.generic_name, Product.code))
    return list(db.session.scalars(stmt))


def products_in_stock(facility_id: int) -> list[Product]:
    ids = db.session.scalars(select(StockBalance.product_id).where(
        StockBalance.facility_id == facility_id, StockBalance.qty_base > 0).distinct()).all()
    return sorted(products_by_id(ids).values(), key=lambda p: (p.drug.generic_name, p.code))


# ---------------------------------------------------------------------------------------------------------------
# The stock list: `stock_status`'s rows filtered, ordered and paged in SQL


class _ceiling(FunctionElement):
    """ceil(x) on every database: SQLite may lack it, and its CAST truncates toward zero (PostgreSQL's rounds)."""

    type = Integer()
    inherit_cache = True


@compiles(_ceiling)
def _ceiling_sqlite(element, compiler, **kw):
    x = compiler.process(element.clauses.clauses[0], **kw)
    return f"(CAST({x} AS INTEGER) + (({x}) > CAST({x} AS INTEGER)))"


@compiles(_ceiling, "postgresql")
def _ceiling_postgresql(element, compiler, **kw):
    return f"CAST(ceil({compiler.process(element.clauses.clauses[0], **kw)}) AS INTEGER)"


STOCK_LIST_ORDERS = ("key", "facility", "subtree")


def _default_months(index: int):
    """The tier default min (0) or max (1) months of the facility joined as `Facility`."""
    return case(*[(Facility.tier == tier, months[index]) for tier, months in rules.TIER_DEFAULT_MONTHS.items()],
                else_=rules.TIER_DEFAULT_MONTHS["village"][index])


def stock_list(facility_ids: Iterable[int] | Select, *, product_ids: Iterable[int] | None = None,
               statuses: Iterable[str] | None = None, near_expiry_only: bool = False, q: str = "",
               order: str = "key", as_of: datetime | None = None, near_days: int | None = None) -> Select:
    """The facility × product pairs `stock_status` lists, as one statement to filter, order and page in SQL.

    Its rows are (facility_id, product_id, status). The status is computed in SQL by the same arithmetic as
    `consumption` (AMC over the window with the short-history rule, min/max from the policy or the tier default,
    rounded up), so a filter on it selects exactly the rows `stock_status` would give that status; `stock_rows`
    turns a page of them into full rows. Orders: `key` (facility id, product id — the API's), `facility` (worst
    status first, then name and code) and `subtree` (worst first, then facility, then product code).
    """
    as_of = as_of or clock.now_utc()
    today = clock.to_local(as_of).date()
    days = dispatch_policy.near_expiry_days() if near_days is None else near_days
    cutoff = today + timedelta(days=days)
    product_ids = None if product_ids is None else list(product_ids)

    def scoped(stmt, facility_col, product_col):
        stmt = stmt.where(in_ids(facility_col, facility_ids))
        return stmt.where(product_col.in_(product_ids)) if product_ids is not None else stmt

    keys = union(
        scoped(select(StockBalance.facility_id.label("facility_id"), StockBalance.product_id.label("product_id")),
               StockBalance.facility_id, StockBalance.product_id),
        scoped(select(StockPolicy.facility_id, StockPolicy.product_id), StockPolicy.facility_id,
               StockPolicy.product_id),
        scoped(select(Transfer.to_facility_id, TransferLine.product_id)
               .join(Transfer, Transfer.id == TransferLine.transfer_id)
               .where(Transfer.status == TransferStatus.IN_TRANSIT), Transfer.to_facility_id, TransferLine.product_id),
    ).subquery("stock_key")
    unexpired = Lot.expiry_date > today
    held = scoped(
        select(StockBalance.facility_id, StockBalance.product_id,
               func.sum(case((unexpired, StockBalance.qty_base), else_=0)).label("usable"),
               func.sum(case((and_(unexpired, Lot.expiry_date <= cutoff), StockBalance.qty_base), else_=0))
               .label("near"))
        .join(Lot, Lot.id == StockBalance.lot_id)
        .group_by(StockBalance.facility_id, StockBalance.product_id),
        StockBalance.facility_id, StockBalance.product_id).subquery("held")
    first = scoped(
        select(StockMovement.facility_id, StockMovement.product_id, func.min(StockMovement.created_at).label("at"))
        .group_by(StockMovement.facility_id, StockMovement.product_id),
        StockMovement.facility_id, StockMovement.product_id).subquery("first_movement")
    counted = or_(*[and_(Facility.tier == tier, StockMovement.kind.in_(kinds))
                    for tier, kinds in CONSUMPTION_KINDS_BY_TIER.items()],
                  and_(Facility.tier.not_in(list(CONSUMPTION_KINDS_BY_TIER)),
                       StockMovement.kind == MovementKind.DISPENSE))
    used = scoped(
        select(StockMovement.facility_id, StockMovement.product_id, func.sum(-StockMovement.qty_base).label("qty"))
        .join(Facility, Facility.id == StockMovement.facility_id)
        .where(counted, StockMovement.created_at >= rules.window_start(as_of), StockMovement.created_at <= as_of)
        .group_by(StockMovement.facility_id, StockMovement.product_id),
        StockMovement.facility_id, StockMovement.product_id).subquery("used")

    def pair(sub):
        return and_(sub.c.facility_id == keys.c.facility_id, sub.c.product_id == keys.c.product_id)

    # One row per pair with the facts the status needs, computed once (materialized: each expression below then
    # reads columns instead of repeating its sub-expressions).
    facts = (select(keys.c.facility_id, keys.c.product_id, func.coalesce(held.c.usable, 0).label("usable"),
                    func.coalesce(held.c.near, 0).label("near"), first.c.at.label("first_at"),
                    cast(func.coalesce(used.c.qty, 0) * rules.DAYS_PER_MONTH, Float).label("consumed"),
                    func.coalesce(cast(StockPolicy.min_months, Float), _default_months(0)).label("min_months"),
                    func.coalesce(cast(StockPolicy.max_months, Float), _default_months(1)).label("max_months"),
                    StockPolicy.min_qty_base.label("min_qty"), StockPolicy.max_qty_base.label("max_qty"),
                    Facility.path.label("path"), Drug.generic_name.label("generic_name"), Product.code.label("code"),
                    Drug.pinyin_initials.label("initials"))
             .join(Facility, Facility.id == keys.c.facility_id)
             .join(Product, Product.id == keys.c.product_id).join(Drug, Drug.id == Product.drug_id)
             .outerjoin(held, pair(held)).outerjoin(first, pair(first)).outerjoin(used, pair(used))
             .outerjoin(StockPolicy, and_(StockPolicy.facility_id == keys.c.facility_id,
                                          StockPolicy.product_id == keys.c.product_id))
             ).cte("stock_facts").prefix_with("MATERIALIZED")

    # AMC as consumption.average_monthly_consumption: history counted in whole days since the first movement.
    first_at = facts.c.first_at
    history_days = case(*[(first_at <= as_of - timedelta(days=d), d)
                          for d in range(rules.WINDOW_DAYS - 1, rules.MIN_HISTORY_DAYS - 1, -1)], else_=None)
    amc = case((first_at.is_(None), None),
               (first_at <= as_of - timedelta(days=rules.WINDOW_DAYS), facts.c.consumed / rules.WINDOW_DAYS),
               (first_at <= as_of - timedelta(days=rules.MIN_HISTORY_DAYS), facts.c.consumed / history_days),
               else_=None)
    levels = select(facts, amc.label("amc")).cte("stock_amc").prefix_with("MATERIALIZED")

    def level(months, absolute):
        return func.coalesce(absolute, _ceiling(months * levels.c.amc - 1e-9))

    bounds = select(levels, level(levels.c.min_months, levels.c.min_qty).label("min_base"),
                    level(levels.c.max_months, levels.c.max_qty).label("max_base")
                    ).cte("stock_levels").prefix_with("MATERIALIZED")
    usable, min_base, max_base = bounds.c.usable, bounds.c.min_base, bounds.c.max_base
    status = case((usable <= 0, StockStatus.STOCK_OUT.value),
                  (and_(min_base.is_not(None), usable < min_base), StockStatus.BELOW_MIN.value),
                  (and_(max_base.is_not(None), usable > max_base), StockStatus.ABOVE_MAX.value),
                  else_=StockStatus.OK.value)
    inner = select(bounds.c.facility_id, bounds.c.product_id, status.label("status"), bounds.c.near, bounds.c.path,
                   bounds.c.generic_name, bounds.c.code, bounds.c.initials).subquery("stock_row")
    stmt = select(inner.c.facility_id, inner.c.product_id, inner.c.status)
    if statuses:
        stmt = stmt.where(inner.c.status.in_(list(statuses)))
    if near_expiry_only:
        stmt = stmt.where(inner.c.near > 0)
    q = (q or "").strip()
    if q:
        stmt = stmt.where(or_(inner.c.generic_name.contains(q, autoescape=True),
                              func.upper(func.coalesce(inner.c.initials, "")).contains(q.upper(), autoescape=True),
                              func.upper(inner.c.code).contains(q.upper(), autoescape=True)))
    rank = case(*[(inner.c.status == s.value, r) for s, r in rules.STATUS_RANK.items()], else_=len(rules.STATUS_RANK))
    if order == "facility":
        return stmt.order_by(rank, inner.c.generic_name, inner.c.code, inner.c.facility_id)
    if order == "subtree":
        return stmt.order_by(rank, inner.c.path, inner.c.code)
    return stmt.order_by(inner.c.facility_id, inner.c.product_id)


def stock_counts(stmt: Select) -> dict[str, int]:
    """How many rows of a stock list have each status."""
    listed = stmt.order_by(None).subquery()
    counted = dict(db.session.execute(select(listed.c.status, func.count()).group_by(listed.c.status)).all())
    return {s: int(counted.get(s.value, 0)) for s in StockStatus}


def stock_rows(keys, *, as_of: datetime | None = None, holds: bool = False) -> list[StockStatusRow]:
    """The full `stock_status` rows of a stock list's (facility_id, product_id, …) rows, in their order."""
    keys = [(k[0], k[1]) for k in keys]
    if not keys:
        return []
    found = {(r.facility_id, r.product_id): r for r in stock_status(
        sorted({f for f, _ in keys}), sorted({p for _, p in keys}), as_of=as_of)}
    rows = [found[key] for key in keys if key in found]
    return with_holds(rows) if holds else rows


def stock_list_rows(stmt: Select, *, as_of: datetime | None = None, holds: bool = False) -> list[StockStatusRow]:
    """Every row of a stock list (no paging: the API's /stock/status answers the whole list)."""
    return stock_rows(db.session.execute(stmt).all(), as_of=as_of, holds=holds)
