"""The menu: each entry shows only to roles that hold its permission, in groups when there are many.

A role with a handful of entries (a village doctor's tablet) sees them side by side; a role with more sees a few
groups that open as lists (`<details>`: a click, a tap, Enter or Space opens one, without any script). A group left
with a single entry for a role is shown as that entry's link.
"""

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from .auth.policy import has_permission

# (endpoint, label (Chinese message id), permission); domains add their own entries.
NAV_ITEMS = [
    ("home.index", "首页", None),
    ("reports.dashboard", "驾驶舱", "report.read"),
    ("reports.index", "统计报表", "report.read"),
    ("catalog.index", "药品目录", "catalog.read"),
    ("shortages.tablet", "缺药登记", "shortage.register"),
    ("shortages.open_registrations", "缺药汇总", "shortage.manage"),
    ("shortages.free_text_queue", "待对应药品", "shortage.manage"),
    ("inventory.index", "库存", "stock.read"),
    ("orders.index", "统一订单", "order.read"),
    ("orders.approvals", "订单审批", "order.approve"),
    ("orders.fulfilment_page", "配货发货", "order.approve"),
    ("purchasing.index", "采购", "purchase.manage"),
    ("settlement.index", "结算", "settlement.read"),
    ("matching.index", "名称匹配", "matching.review"),
    ("insurance.index", "医保药品代码", "catalog.edit"),
    ("facilities.index", "机构管理", "admin.manage"),
    ("auth.users", "用户管理", "admin.manage"),
    ("deliveries.index", "配送单", "delivery.plan"),
    ("deliveries.receipts", "到货签收", "delivery.receive"),
    ("deliveries.alerts", "库存预警", "stock.read"),
    ("scheduler.index", "定时任务", "scheduler.admin"),
    ("audit.index", "审计日志", "audit.read"),
]

# The groups, in menu order, and the blueprints whose entries they hold (an entry of another blueprint stays
# outside any group). The start page is always first and alone.
NAV_GROUPS = [
    ("catalog", _l("目录"), ("catalog", "matching", "insurance")),
    ("stock", _l("库存与配送"), ("inventory", "deliveries", "supply")),
    ("orders", _l("缺药与订单"), ("shortages", "orders", "purchasing")),
    ("reports", _l("结算与报表"), ("reports", "settlement")),
    ("admin", _l("系统管理"), ("facilities", "auth", "scheduler", "audit")),
]

# Up to this many entries (besides the start page) a menu shows them all, without groups.
FLAT_MENU_MAX = 6


@dataclass
class MenuGroup:
    key: str
    label: str
    items: list[tuple[str, str]] = field(default_factory=list)

    def holds(self, endpoint: str | None) -> bool:
        return any(item_endpoint == endpoint for item_endpoint, _label in self.items)


class Menu(list):
    """The user's entries as (endpoint, label) pairs, in menu order; `entries` is the menu as shown: each entry is
    an (endpoint, label) link or a `MenuGroup`."""

    def __init__(self, items: list[tuple[str, str]], entries: list):
        super().__init__(items)
        self.entries = entries


def _group_of(endpoint: str) -> str | None:
    blueprint = endpoint.split(".", 1)[0]
    for key, _label, blueprints in NAV_GROUPS:
        if blueprint in blueprints:
            return key
    return None


def menu_entries(items: list[tuple[str, str]]) -> list:
    """Group a user's entries: links and `MenuGroup`s in menu order (see the module's docstring)."""
    if len([e for e, _l in items if e != "home.index"]) <= FLAT_MENU_MAX:
        return list(items)
    groups = {key: MenuGroup(key, str(label)) for key, label, _blueprints in NAV_GROUPS}
    loose = []
    for endpoint, label in items:
        key = _group_of(endpoint) if endpoint != "home.index" else None
        if key is None:
            loose.append((endpoint, label))
        else:
            groups[key].items.append((endpoint, label))
    entries = [item for item in loose if item[0] == "home.index"]
    for key, _label, _blueprints in NAV_GROUPS:
        group = groups[key]
        if len(group.items) == 1:
            entries.append(group.items[0])
        elif group.items:
            entries.append(group)
    return entries + [item for item in loose if item[0] != "home.index"]


def navigation_for(user) -> Menu:
    from flask import current_app

    items = []
    for endpoint, label, permission in NAV_ITEMS:
        if endpoint not in current_app.view_functions:
            continue
        if permission is None or has_permission(user, permission):
            items.append((endpoint, label))
    return Menu(items, menu_entries(items))
