"""The menu in Chromium: the county's nineteen entries in five groups fit a header of one line at 1280×800, and a
group opens by mouse, by keyboard and without any script."""

from tests.e2e.conftest import DEMO_PASSWORD, has_horizontal_scroll, screenshot, sign_in


def _header_height(page) -> float:
    return page.locator("header.topbar").bounding_box()["height"]


def test_county_menu_is_one_line_and_its_groups_open(live_server, new_page):
    page = new_page(1280, 800)
    sign_in(page, live_server, "county")
    assert _header_height(page) <= 60, _header_height(page)
    nav = page.locator("nav.mainnav")
    assert nav.locator("details.navgroup").count() == 5
    approvals = nav.get_by_role("link", name="订单审批", exact=True)
    assert not approvals.is_visible()  # closed until asked

    nav.locator("details[data-group=orders] > summary").click()
    assert approvals.is_visible()
    screenshot(page, "menu-county-open")
    nav.locator("details[data-group=admin] > summary").click()  # one group open at a time
    assert not approvals.is_visible() and nav.get_by_role("link", name="审计日志", exact=True).is_visible()
    page.keyboard.press("Escape")
    assert not nav.get_by_role("link", name="审计日志", exact=True).is_visible()

    # by keyboard: Tab to the group, Enter opens it, Tab reaches its entries, Enter follows one
    nav.locator("details[data-group=orders] > summary").focus()
    page.keyboard.press("Enter")
    assert approvals.is_visible()
    for _ in range(4):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent.trim()") == "订单审批":
            break
    assert page.evaluate("document.activeElement.textContent.trim()") == "订单审批"
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith("/orders/approvals")
    assert nav.locator("details.navgroup.active > summary").inner_text().strip() == "缺药与订单"
    assert _header_height(page) <= 60

    page.goto(f"{live_server}/lang/en?next=/")  # English words are longer: the user's name gives way, not the line
    assert _header_height(page) <= 60 and not has_horizontal_scroll(page)
    screenshot(page, "menu-county-en")


def test_groups_open_without_javascript(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN", java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server}/login")
        page.fill("input[name=username]", "t01")
        page.fill("input[name=password]", DEMO_PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        nav = page.locator("nav.mainnav")
        assert _header_height(page) <= 60
        runs = nav.get_by_role("link", name="配送单", exact=True)
        assert not runs.is_visible()
        nav.locator("details[data-group=stock] > summary").click()
        assert runs.is_visible()
        with page.expect_navigation():
            runs.click()
        assert "/deliveries" in page.url
    finally:
        context.close()
