"""What each role has to do now, counted, for its start page: each count comes from its domain's own queries.

- township pharmacist: registrations to acknowledge, draft orders to submit, shipments to receive, delivery runs
  to confirm;
- county pharmacist: orders waiting for approval, back-ordered lines, open stock alerts;
- village doctor: deliveries waiting for receipt, registrations in progress. Their start is the registration
  tablet, except while a delivery waits for them: then the start page says so first.
"""

from dataclasses import dataclass, field

from flask import url_for
from flask_babel import gettext as _

from .auth.models import Role
from .auth.policy import has_permission, visible_facility_ids
from .deliveries import queries as deliveries
from .orders import queries as orders
from .shortages import queries as shortages
from .shortages.models import OPEN_STATUSES
from .vocabulary import AlertKind, OrderStatus, RunStatus, ShortageStatus


@dataclass
class Todo:
    key: str
    label: str
    count: int
    url: str
    detail: str = ""
    is_urgent: bool = False  # shown first and stressed while its count is not zero


@dataclass
class StartPage:
    todos: list[Todo] = field(default_factory=list)

    @property
    def must_show(self) -> bool:
        """Whether something waits that the user must see before anything else."""
        return any(todo.is_urgent and todo.count for todo in self.todos)

    @property
    def open_count(self) -> int:
        return sum(todo.count for todo in self.todos)


def _one_or_list(items, one, many) -> str:
    """The object's own page when there is exactly one, else the list."""
    return one(items[0]) if len(items) == 1 else many()


def _township(user) -> list[Todo]:
    drafts = orders.orders_for(user, status=OrderStatus.DRAFT, facility_id=user.facility_id)
    shipped = [o for o in orders.orders_in_status(user, OrderStatus.SHIPPED) if o.facility_id == user.facility_id]
    planned = deliveries.run_counts(user).get(RunStatus.PLANNED, 0)
    return [
        Todo("acknowledge", _("待确认的缺药登记"),
             shortages.count_shortages(visible_facility_ids(user), [ShortageStatus.REGISTERED]),
             url_for("shortages.open_registrations")),
        Todo("drafts", _("待提交的订单草稿"), len(drafts),
             _one_or_list(drafts, lambda o: url_for("orders.detail", order_id=o.id),
                          lambda: url_for("orders.index", status=OrderStatus.DRAFT))),
        Todo("shipments", _("待签收的发货"), len(shipped),
             _one_or_list(shipped, lambda o: url_for("orders.detail", order_id=o.id),
                          lambda: url_for("orders.index", status=OrderStatus.SHIPPED))),
        Todo("runs", _("待确认的配送单"), planned, url_for("deliveries.index", status=RunStatus.PLANNED)),
    ]


def _county(user) -> list[Todo]:
    alerts = deliveries.alert_counts(user)
    detail = " · ".join(f"{kind.label} {alerts[kind]}" for kind in AlertKind if alerts.get(kind))
    return [
        Todo("approvals", _("待审批的订单"), len(orders.approval_queue(user)), url_for("orders.approvals")),
        Todo("backorders", _("欠货明细"), len(orders.backorders_for(user)), url_for("orders.fulfilment_page")),
        Todo("alerts", _("未解除的库存预警"), sum(alerts.values()), url_for("deliveries.alerts"), detail=detail),
    ]


def _village(user) -> list[Todo]:
    waiting, _received = deliveries.stops_for_receipt(user, limit=1)
    return [
        Todo("receipts", _("待签收的配送"), len(waiting),
             _one_or_list(waiting, lambda s: url_for("deliveries.receipt", stop_id=s.id),
                          lambda: url_for("deliveries.receipts")), is_urgent=True),
        Todo("registrations", _("进行中的缺药登记"),
             shortages.count_shortages([user.facility_id], OPEN_STATUSES), url_for("shortages.tablet")),
    ]


_BY_ROLE = {
    Role.TOWNSHIP_PHARMACIST: (_township, "order.build"),
    Role.COUNTY_PHARMACIST: (_county, "order.approve"),
    Role.VILLAGE_DOCTOR: (_village, "delivery.receive"),
}


def start_page(user) -> StartPage:
    """The user's to-dos, urgent ones first."""
    todos_of, permission = _BY_ROLE.get(user.role, (None, None))
    if todos_of is None or not has_permission(user, permission):
        return StartPage()
    todos = todos_of(user)
    return StartPage(sorted(todos, key=lambda todo: not (todo.is_urgent and todo.count)))
