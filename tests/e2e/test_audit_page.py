"""The audit trail page in Chromium: a change made on a page shows up, searchable, at desktop and tablet size;
the filters are one line of ordinary fields and a page of many entries stays a page."""

import re

import pytest

from tests.e2e.conftest import has_horizontal_scroll, screenshot, sign_in

SIZES = {"desktop": (1280, 800), "tablet": (800, 1280)}


@pytest.mark.parametrize("size", SIZES)
def test_county_pharmacist_finds_a_change_in_the_audit_trail(live_server, new_page, size):
    page = new_page(*SIZES[size])
    sign_in(page, live_server, "county")
    page.goto(f"{live_server}/admin/facilities")
    page.locator("form[action$='/active'] button").last.click()  # deactivate or reactivate a facility
    page.wait_for_load_state("networkidle")

    page.goto(f"{live_server}/admin/audit")
    page.select_option("select[name=table_name]", "facility")
    page.fill("input[name=username]", "county")
    page.click("form.audit-filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    first = page.locator("table.audit-table tbody tr").first
    # Tables, columns and values by their names, not as the database stores them.
    assert "是否启用" in first.inner_text() and "机构" in first.inner_text() and "county" in first.inner_text()
    assert "is_active" not in first.inner_text() and "facility" not in first.inner_text()
    chrome = page.inner_text("h1") + page.inner_text("table.audit-table thead")
    assert not re.search(r"[A-Za-z]{3,}", chrome)
    assert not has_horizontal_scroll(page)
    screenshot(page, f"audit-{size}")

    page.goto(f"{live_server}/lang/en?next=/admin/audit")
    page.wait_for_load_state("networkidle")
    assert "Audit trail" in page.inner_text("h1")
    screenshot(page, f"audit-{size}-en")
    page.goto(f"{live_server}/lang/zh_CN?next=/admin/audit")


def test_the_filters_are_one_line_and_many_entries_make_a_page_of_reasonable_height(live_server, new_page):
    page = new_page(1280, 800)
    sign_in(page, live_server, "county")
    for n in range(60):  # sixty new rows of a dozen columns each: long entries
        response = page.request.post(f"{live_server}/api/v1/auth/tokens",
                                     data={"name": f"e2e 审计 {n}", "scopes": ["read"], "days": 1})
        assert response.status == 201, response.text()
    page.goto(f"{live_server}/admin/audit")
    page.wait_for_load_state("networkidle")
    text_box = page.locator("input[name=text]").bounding_box()
    assert text_box["height"] < 60, text_box
    filters = page.locator("form.audit-filters").bounding_box()
    assert filters["height"] < 130, filters  # one or two rows of fields, not a tall box pushing the rest down
    assert page.locator("table.audit-table tbody tr").count() == 50
    height = page.evaluate("document.scrollingElement.scrollHeight")
    assert height < 7000, height  # was 28,000 px for 100 raw entries
    assert "接口令牌" in page.inner_text("table.audit-table tbody")
    screenshot(page, "audit-many")
    with page.expect_navigation():
        page.click("nav.pager a[rel=next]")
    assert "page=2" in page.url and page.locator("table.audit-table tbody tr").count() > 0
    assert "第 2 /" in page.inner_text("nav.pager")
