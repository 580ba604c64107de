"""The menu: each entry shows only to roles that hold its permission."""

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
    ("facilities.index", "机构管理", "admin.manage"),
    ("auth.users", "用户管理", "admin.manage"),
    ("deliveries.index", "配送单", "delivery.plan"),
    ("deliveries.receipts", "到货签收", "delivery.receive"),
    ("scheduler.index", "定时任务", "scheduler.admin"),
    ("audit.index", "审计日志", "audit.read"),
]


def navigation_for(user) -> list[tuple[str, str]]:
    from flask import current_app

    items = []
    for endpoint, label, permission in NAV_ITEMS:
        if endpoint not in current_app.view_functions:
            continue
        if permission is None or has_permission(user, permission):
            items.append((endpoint, label))
    return items
