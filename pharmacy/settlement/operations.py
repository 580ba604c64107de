"""What a user does with monthly statements, once for the pages and the API (see `pharmacy/operations.py`).

Closing a month (结账) cannot be undone, so it takes two steps: `close_preview` shows what will be frozen — the
month, every facility with its statement totals and receipt count — and `close_month` needs the explicit
confirmation of that preview (`confirm`; and, from the page, the figures the user saw, so that receipts booked in
between are not frozen unseen)."""

from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _

from .. import clock
from ..auth.policy import get_facility_in_scope, has_permission, scope_root
from ..errors import Conflict, InvalidInput
from ..facilities.models import Facility, Tier
from ..facilities.services import facilities_under
from . import services
from .models import SettlementMonth
from .rules import Totals, is_month_over, previous_month, summarize

TIER_CHOICES = (Tier.TOWNSHIP, Tier.VILLAGE, Tier.COUNTY)


@dataclass
class MonthOverview:
    """The settlement page: every facility's statement of a month side by side."""

    month: str
    tier: str
    views: list[services.StatementView]
    categories: list[str]
    previous: str
    current: str
    closed: SettlementMonth | None
    may_close: bool


def overview(user, query: dict) -> MonthOverview:
    """`query`: month (default: this month) and tier (a county user sees the townships unless told otherwise)."""
    month = services.check_month(query.get("month") or services.current_month())
    root = scope_root(user)
    tier = query.get("tier")
    if tier is None:
        tier = Tier.TOWNSHIP if root.tier == Tier.COUNTY else ""
    facilities = sorted(facilities_under(root, tier=tier if tier in TIER_CHOICES else None), key=lambda f: f.code)
    views = services.overview(facilities, month)
    closed = services.closed_month(root.id, month)
    return MonthOverview(month=month, tier=tier, views=views,
                         categories=sorted({c for v in views for c in v.totals.by_category}),
                         previous=previous_month(month), current=services.current_month(), closed=closed,
                         may_close=_may_close(user, root) and closed is None and _is_over(month))


def facilities_overview(user, query: dict) -> list[services.StatementView]:
    """The API's side-by-side list: the facilities of the tier asked (all when none)."""
    facilities = facilities_under(scope_root(user), tier=query.get("tier"))
    return services.overview(facilities, query.get("month") or services.current_month())


def statement(user, facility_id: int, month: str) -> services.StatementView:
    return services.get_statement(get_facility_in_scope(user, facility_id), services.check_month(month))


# ------------------------------------------------------------------------------------------- closing


def _may_close(user, root: Facility) -> bool:
    return has_permission(user, "settlement.close") and root.tier == Tier.COUNTY


def _is_over(month: str) -> bool:
    return is_month_over(month, clock.now_utc(), clock.local_zone())


@dataclass
class ClosePreview:
    """What closing `month` freezes: every facility's statement as it stands now."""

    month: str
    root: Facility
    statements: list[services.StatementView]
    closed: SettlementMonth | None
    is_month_over: bool

    @property
    def totals(self) -> Totals:
        return summarize(row for view in self.statements for row in view.rows)

    @property
    def may_close(self) -> bool:
        return self.closed is None and self.is_month_over

    @property
    def root_facility_id(self) -> int:
        return self.root.id


def close_preview(user, month: str) -> ClosePreview:
    """The first step of closing: the month, its facilities and their statements, nothing written."""
    month = services.check_month(month)
    root = scope_root(user)
    facilities = sorted(facilities_under(root), key=lambda f: (f.path.count("/"), f.code))
    return ClosePreview(month=month, root=root, statements=services.overview(facilities, month),
                        closed=services.closed_month(root.id, month), is_month_over=_is_over(month))


def close_month(user, month: str, command: dict) -> SettlementMonth:
    """The second step: store every facility's statement of an ended month, once `confirm` is given (and the
    figures confirmed, when sent, are still those of the ledger)."""
    preview = close_preview(user, month)
    if not command.get("confirm"):
        raise InvalidInput(_("结账不可撤销：请核对将要固定的结算单后确认"), code="confirmation_required",
                           fields={"confirm": [_("请确认结账")]})
    expected_lines, expected_total = command.get("expected_lines"), command.get("expected_total")
    totals = preview.totals
    if preview.may_close and ((expected_lines is not None and expected_lines != totals.lines)
                              or (expected_total is not None and Decimal(expected_total) != totals.total)):
        raise Conflict(_("确认后又有收货入账：%(month)s 现有 %(lines)s 笔、合计 %(total)s 元，请重新核对",
                         month=preview.month, lines=totals.lines, total=f"{totals.total:.2f}"),
                       code="statements_changed")
    return services.close_month(preview.root, facilities_under(preview.root), preview.month, user)
