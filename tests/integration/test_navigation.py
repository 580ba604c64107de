"""The menu by role: many entries fall into a few groups (details/summary), a handful stay side by side, and each
role sees only the entries (and so the groups) its permissions allow."""

import re
from html import unescape

import pytest

from pharmacy.navigation import NAV_GROUPS, menu_entries


def _menu(html: str) -> dict:
    """{group name: [entry names]} with the loose links under ''."""
    nav = html[html.index('<nav class="mainnav"'):html.index("</nav>")]
    found: dict[str, list[str]] = {"": []}
    for group, body in re.findall(r"<details[^>]*>\s*<summary>([^<]+)</summary>(.*?)</details>", nav, re.S):
        found[group.strip()] = [name.strip() for name in re.findall(r"<a [^>]*>([^<]+)</a>", body)]
    loose = re.sub(r"<details.*?</details>", "", nav, flags=re.S)
    found[""] = [name.strip() for name in re.findall(r"<a [^>]*>([^<]+)</a>", loose)]
    return found


EXPECTED = {
    "county": {
        "": ["首页"],
        "目录": ["药品目录", "名称匹配"],
        "库存与配送": ["库存", "配送单", "到货签收", "库存预警"],
        "缺药与订单": ["缺药汇总", "待对应药品", "统一订单", "订单审批", "配货发货", "采购"],
        "结算与报表": ["驾驶舱", "统计报表", "结算"],
        "系统管理": ["机构管理", "用户管理", "定时任务", "审计日志"],
    },
    "township": {
        "": ["首页"],
        "目录": ["药品目录", "名称匹配"],
        "库存与配送": ["库存", "配送单", "到货签收", "库存预警"],
        "缺药与订单": ["缺药登记", "缺药汇总", "待对应药品", "统一订单"],
        "结算与报表": ["驾驶舱", "统计报表", "结算"],
    },
    # a group left with one entry is that entry's link
    "formulary": {
        "": ["首页", "统一订单", "审计日志"],
        "目录": ["药品目录", "名称匹配", "医保药品代码"],
        "库存与配送": ["库存", "库存预警"],
        "结算与报表": ["驾驶舱", "统计报表", "结算"],
    },
    "viewer": {
        "": ["首页", "药品目录", "统一订单"],
        "库存与配送": ["库存", "库存预警"],
        "结算与报表": ["驾驶舱", "统计报表", "结算"],
    },
    # the tablet's few entries stay side by side: one tap
    "village": {"": ["首页", "药品目录", "缺药登记", "库存", "到货签收", "库存预警"]},
}


@pytest.mark.parametrize("role", sorted(EXPECTED))
def test_each_role_sees_its_groups_and_entries(county, login, role):
    html = login(county.users[role]).get("/catalog").get_data(as_text=True)
    assert _menu(html) == EXPECTED[role]


def test_the_current_page_marks_its_group_and_entry(county, login):
    html = login(county.users["county"]).get("/admin/audit").get_data(as_text=True)
    assert re.search(r'<details class="navgroup active" data-group="admin">', html)
    assert re.search(r'<a href="/admin/audit" class="active" aria-current="page">', html)
    assert html.count('class="navgroup active"') == 1


def test_english_menu(county, login):
    client = login(county.users["county"])
    client.get("/lang/en")
    menu = _menu(client.get("/catalog").get_data(as_text=True))
    assert [unescape(name) for name in menu] == ["", "Formulary", "Stock & delivery", "Shortages & orders",
                                                 "Settlement & reports", "Admin"]


def test_grouping_rules():
    few = [("home.index", "首页"), ("catalog.index", "药品目录"), ("inventory.index", "库存")]
    assert menu_entries(few) == few
    many = [("home.index", "首页")] + [(f"orders.e{n}", f"订单{n}") for n in range(5)] + [
        ("audit.index", "审计日志"), ("other.page", "别的")]
    entries = menu_entries(many)
    assert entries[0] == ("home.index", "首页") and entries[-1] == ("other.page", "别的")  # no group: stays loose
    assert [e.key for e in entries if hasattr(e, "items")] == ["orders"]
    assert ("audit.index", "审计日志") in entries  # alone in its group
    assert len(NAV_GROUPS) == 5
