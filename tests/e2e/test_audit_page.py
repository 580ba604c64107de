"""The audit trail page in Chromium: a change made on a page shows up, searchable, at desktop and tablet size."""

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
    assert "is_active" in first.inner_text() and "county" in first.inner_text()
    # Table and column names are shown as stored (they are what a query of the database needs); the page's own
    # words are Chinese.
    import re

    chrome = page.inner_text("h1") + page.inner_text("table.audit-table thead")
    assert not re.search(r"[A-Za-z]{3,}", chrome)
    assert not has_horizontal_scroll(page)
    screenshot(page, f"audit-{size}")

    page.goto(f"{live_server}/lang/en?next=/admin/audit")
    page.wait_for_load_state("networkidle")
    assert "Audit trail" in page.inner_text("h1")
    screenshot(page, f"audit-{size}-en")
