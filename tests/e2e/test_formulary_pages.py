"""The formulary and admin pages in Chromium, at desktop and tablet size, in Chinese and English."""

import pytest

from tests.e2e.conftest import english_words_on, has_horizontal_scroll, screenshot, sign_in

SIZES = {"desktop": (1280, 800), "tablet": (800, 1280)}


@pytest.mark.parametrize("size", SIZES)
def test_formulary_browse_search_and_detail(live_server, new_page, size):
    page = new_page(*SIZES[size])
    sign_in(page, live_server, "formulary")
    page.goto(f"{live_server}/catalog")
    assert page.locator("table tbody tr").count() == 50
    assert english_words_on(page) == []
    assert not has_horizontal_scroll(page)
    screenshot(page, f"catalog-{size}")

    page.fill("input[name=q]", "GMQR")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    rows = page.locator("table tbody tr")
    assert rows.count() >= 1 and "感冒" in rows.first.inner_text()

    with page.expect_navigation():
        rows.first.locator("a").first.click()
    assert page.locator("h1").inner_text().startswith("感冒")
    assert english_words_on(page) == []
    screenshot(page, f"product-{size}")


def test_formulary_admin_changes_a_price_and_sees_it_in_history(live_server, new_page):
    page = new_page()
    sign_in(page, live_server, "formulary")
    page.goto(f"{live_server}/catalog?q=GMQR")
    with page.expect_navigation():
        page.locator("table tbody tr a").first.click()
    page.fill("input[name=unified_price]", "13.57")
    page.fill("form:has(input[name=unified_price]) input[name=reason]", "县医共体议价")
    with page.expect_navigation():
        page.click("form:has(input[name=unified_price]) button[type=submit]")
    assert "已保存" in page.inner_text("body")
    history = page.locator("table").last.inner_text()
    assert "13.57" in history and "县医共体议价" in history


def test_language_switch_turns_the_page_english(live_server, new_page):
    page = new_page()
    sign_in(page, live_server, "county")
    page.goto(f"{live_server}/admin/facilities")
    assert "机构管理" in page.inner_text("h1")
    with page.expect_navigation():
        page.click("text=English")
    assert page.inner_text("h1") == "Facilities"
    screenshot(page, "facilities-en")
    with page.expect_navigation():
        page.click("text=中文")
    assert page.inner_text("h1") == "机构管理"
    assert english_words_on(page) == []
    screenshot(page, "facilities-zh")


def test_login_page_at_tablet_size(live_server, new_page):
    page = new_page(800, 1280)
    page.goto(f"{live_server}/login")
    assert english_words_on(page) == []
    assert not has_horizontal_scroll(page)
    page.fill("input[name=username]", "t01v01")
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码错误" in page.inner_text(".alert-error")
    screenshot(page, "login-tablet")
