"""The dashboard and the reports in Chromium, at desktop and tablet size, in Chinese and English."""

import pytest

from tests.e2e.conftest import english_words_on, has_horizontal_scroll, screenshot, sign_in

SIZES = {"desktop": (1280, 800), "tablet": (800, 1280)}


@pytest.mark.parametrize("size", SIZES)
def test_county_pharmacist_opens_the_dashboard_each_morning(live_server, new_page, size):
    page = new_page(*SIZES[size])
    sign_in(page, live_server, "county")
    assert page.locator("li.todo").count() == 3  # the start page: the county's to-dos, and the dashboard a tap away
    with page.expect_navigation():
        page.locator("main .tiles a.tile", has_text="驾驶舱").click()
    assert page.url.endswith("/dashboard")
    assert "药品供应驾驶舱" in page.inner_text("h1")
    assert page.locator(".kpi").count() == 8 and page.locator(".kpi svg.spark").count() >= 6
    assert page.locator("table.tracer-grid").first.is_visible()
    assert english_words_on(page) == []
    assert not has_horizontal_scroll(page)
    screenshot(page, f"dashboard-{size}-zh")

    page.click("text=English")
    page.wait_for_load_state("networkidle")
    assert "Medicine supply dashboard" in page.inner_text("h1")
    assert "Tracer availability" in page.inner_text(".kpis")
    assert not has_horizontal_scroll(page)
    screenshot(page, f"dashboard-{size}-en")
    page.click("text=中文")
    page.wait_for_load_state("networkidle")


def test_a_township_pharmacist_sees_the_villages_of_the_township(live_server, new_page):
    page = new_page(*SIZES["tablet"])
    sign_in(page, live_server, "t01")
    page.goto(f"{live_server}/dashboard")
    assert page.locator(".unit-form").count() == 0  # no county-wide choice
    headers = page.locator("table.tracer-grid").first.locator("thead th.unit").all_inner_texts()
    assert len(headers) in (0, 3)  # its three villages (when any tracer is stocked)
    assert all("卫生室" not in h and "镇" not in h for h in headers)
    assert not has_horizontal_scroll(page)
    screenshot(page, "dashboard-township-tablet-zh")


def test_county_narrows_to_a_township_and_opens_a_report(live_server, new_page):
    page = new_page()
    sign_in(page, live_server, "county")
    page.goto(f"{live_server}/dashboard")
    page.select_option("select[name=unit]", index=1)
    page.click(".unit-form button")
    page.wait_for_load_state("networkidle")
    assert "镇卫生院" in page.inner_text("h1")
    page.goto(f"{live_server}/reports")
    page.click("text=库存明细")
    page.wait_for_load_state("networkidle")
    assert page.locator("table.report-table tbody tr").count() >= 1
    page.select_option("select[name=township]", index=1)
    page.click("form.report-filters button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "township=" in page.url
    assert english_words_on(page) == []
    screenshot(page, "report-stock-desktop-zh")
    with page.expect_download() as download:
        page.click("text=导出 Excel")
    assert download.value.suggested_filename.startswith("stock-")


def test_report_at_tablet_size_keeps_the_page_still(live_server, new_page):
    page = new_page(*SIZES["tablet"])
    sign_in(page, live_server, "county")
    page.goto(f"{live_server}/reports/shortages")
    assert page.locator("table.report-table").is_visible()
    assert not has_horizontal_scroll(page)  # the wide table scrolls inside its box
    screenshot(page, "report-shortages-tablet-zh")


def test_county_adds_a_tracer_product(live_server, new_page):
    page = new_page()
    sign_in(page, live_server, "county")
    page.goto(f"{live_server}/dashboard/tracers")
    page.fill("input[name=product_code]", "X035-01")
    page.fill("input[name=note]", "结核病防治")
    page.click("form.tracer-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    body = page.inner_text("body")
    assert "已加入示踪清单" in body or "已在示踪清单中" in body or "慢病药品" in body or "只能选择村级" in body
    screenshot(page, "tracers-desktop-zh")
