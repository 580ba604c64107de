"""Free text becomes a product in Chromium: on the 800×1280 tablet a typed brand name is confirmed as its product
with one tap, offline the text is kept as typed, and the township resolves that text from its queue."""

import pytest
from sqlalchemy import select

from pharmacy.config import ROOT
from pharmacy.extensions import db
from pharmacy.shortages.models import Shortage
from tests.e2e.live_server import PASSWORD, start_live_server

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def with_brand_names(county):
    from pharmacy.matching.services import load_brand_aliases

    load_brand_aliases(ROOT / "catalog_data")


@pytest.fixture
def server(tmp_path):
    live = start_live_server(tmp_path, seed=with_brand_names)
    yield live
    live.stop()


def on_server(server) -> list[tuple]:
    with server.app.app_context():
        rows = [(s.free_text, s.product.code if s.product else None, s.qty_packs)
                for s in db.session.scalars(select(Shortage).order_by(Shortage.id))]
        db.session.remove()
    return rows


def sign_in(browser, server, role: str, width: int = 800, height: int = 1280):
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", server.usernames[role])
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    return context, page


def type_name(page, text: str):
    search = page.locator("#product-search")
    search.click()
    search.press_sequentially(text, delay=40)
    free = page.locator("#search-results li.free-text button")
    expect(free).to_contain_text(text)
    free.click()


def test_one_tap_confirms_the_proposed_product_offline_keeps_the_text_and_the_township_resolves_it(server, browser):
    context, page = sign_in(browser, server, "village")
    page.wait_for_url("**/shortages/tablet")

    # Online: the brand name typed is proposed as its product; one tap picks it.
    type_name(page, "阿莫仙")
    proposal = page.locator("#proposal")
    expect(proposal).to_be_visible()
    expect(page.locator("#proposal-title")).to_contain_text("阿莫仙")
    best = page.locator("#proposal-list button.is-best")
    expect(best).to_contain_text("阿莫西林")
    expect(best).to_contain_text("胶囊")
    assert page.evaluate("document.documentElement.scrollWidth") <= 800
    best.click()
    expect(proposal).to_be_hidden()
    expect(page.locator("#picked-name")).to_have_text("阿莫西林")
    page.click("#qty-plus")
    page.click("#submit")
    expect(page.locator("#my-registrations li[data-state=received]")).to_have_count(1)
    assert on_server(server) == [("阿莫仙", "X001-01", 2)]

    # "None of these" keeps the name as typed.
    type_name(page, "络活喜")
    expect(page.locator("#proposal-list button").first).to_contain_text("氨氯地平")
    page.click("#proposal-keep")
    expect(page.locator("#picked-name")).to_have_text("络活喜")
    page.click("#picked-clear")

    # Offline: no proposal is asked for; the text is registered as typed and sent when the network is back.
    context.set_offline(True)
    page.locator("#net-status.net-offline").wait_for()
    type_name(page, "心痛定")
    expect(page.locator("#picked-name")).to_have_text("心痛定")
    expect(proposal).to_be_hidden()
    page.click("#submit")
    page.locator("#my-registrations li[data-state=waiting]").wait_for()
    context.set_offline(False)
    expect(page.locator("#my-registrations li[data-state=waiting]")).to_have_count(0, timeout=20000)
    assert on_server(server)[1] == ("心痛定", None, 1)

    # The township finds it in its queue and names the product by searching.
    township_context, township = sign_in(browser, server, "township", width=1280, height=900)
    township.goto(server.url + "/shortages/free-text")
    item = township.locator(".free-text-item", has_text="心痛定")
    expect(item).to_have_count(1)
    expect(township.locator(".free-text-item", has_text="阿莫仙")).to_have_count(0)
    search = item.locator("input[data-product-search]")
    search.click()
    search.press_sequentially("XBDP", delay=60)
    option = item.locator(".product-search-list li[role=option]", has_text="硝苯地平").first
    option.wait_for(state="visible")
    search.press("Enter")  # picks the highlighted option; never submits through a proposal
    assert item.locator("input[name=searched_product_id]").input_value()
    assert on_server(server)[1][1] is None
    with township.expect_navigation():
        item.locator("button", has_text="对应为所选药品").click()
    expect(township.locator(".alert-ok")).to_contain_text("已对应药品")
    expect(township.locator(".free-text-item")).to_have_count(0)
    text, code, qty = on_server(server)[1]
    assert text == "心痛定" and code.startswith("X003") and qty == 1

    # The tablet now lists the registration under its product.
    page.reload()
    expect(page.locator("#my-registrations li", has_text="硝苯地平")).to_have_count(1)
    township_context.close()
    context.close()
