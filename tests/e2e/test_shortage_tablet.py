"""A village doctor on an 800×1280 tablet registers shortages online and offline; each reaches the server once."""

import pytest
from sqlalchemy import select

from pharmacy.extensions import db
from pharmacy.shortages.models import Shortage
from tests.e2e.live_server import PASSWORD, start_live_server

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect


def wait_until(page, expression: str, tries: int = 100):
    """Poll a condition from the test side: the page's CSP forbids the string evaluation wait_for_function uses."""
    for _ in range(tries):
        if page.evaluate(expression):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"never became true: {expression}")


@pytest.fixture
def server(tmp_path):
    live = start_live_server(tmp_path)
    yield live
    live.stop()


def server_shortages(server) -> list[Shortage]:
    with server.app.app_context():
        rows = list(db.session.scalars(select(Shortage).order_by(Shortage.id)))
        result = [(s.client_id, s.product.code if s.product else None, s.qty_packs, s.urgency, s.status) for s in rows]
        db.session.remove()
    return result


def open_tablet(server, browser):
    """A village doctor signed in on an 800×1280 tablet, on the registration page."""
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="zh-CN")
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", server.usernames["village"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/shortages/tablet")
    return context, page


def pick(page, initials: str, expected_name: str):
    search = page.locator("#product-search")
    search.click()
    search.press_sequentially(initials, delay=60)
    result = page.locator("#search-results button.result", has_text=expected_name).first
    result.wait_for(state="visible")
    result.click()
    page.locator("#picked").wait_for(state="visible")


def test_register_online_then_offline_then_both_reach_the_server_once(server, browser):
    context, page = open_tablet(server, browser)
    facility_id = page.locator("#shortage-app").get_attribute("data-facility-id")
    wait_until(page, f"window.localStorage.getItem('pharmacy.products.{facility_id}') !== null")

    # Online: pinyin initials find 氨氯地平; two taps on + make it 3 boxes; urgent.
    pick(page, "ALDP", "氨氯地平")
    page.click("#qty-plus")
    page.click("#qty-plus")
    page.click("label.seg-urgent")
    page.click("#submit")
    page.locator("#my-registrations li[data-state=received]").first.wait_for()
    assert [s[1:] for s in server_shortages(server)] == [("X002-01", 3, "urgent", "registered")]

    # Offline: the search falls back to the list cached on the tablet; the registration waits in the queue.
    context.set_offline(True)
    page.locator("#net-status.net-offline").wait_for()
    pick(page, "XBDP", "硝苯地平")
    page.click("#submit")
    waiting = page.locator("#my-registrations li[data-state=waiting]")
    waiting.wait_for()
    assert "等待发送" in waiting.inner_text()
    assert page.locator("#form-message").inner_text() == "已保存在本机，联网后自动发送"
    assert len(server_shortages(server)) == 1
    assert page.evaluate("document.documentElement.scrollWidth") <= 800

    # Back online: the queue is sent by itself and both show as received.
    context.set_offline(False)
    expect(page.locator("#my-registrations li[data-state=waiting]")).to_have_count(0, timeout=20000)
    expect(page.locator("#my-registrations li[data-state=received]")).to_have_count(2)
    on_server = server_shortages(server)
    assert sorted(s[1] for s in on_server) == ["X002-01", "X003-01"]

    # A resend of the same registration (a lost answer) is answered with the one already recorded; the same id
    # with another request is refused.
    client_id = on_server[1][0]
    with server.app.app_context():
        product_id = db.session.scalar(select(Shortage.product_id).where(Shortage.client_id == client_id))
        db.session.remove()
    statuses = page.evaluate("""async ([clientId, productId]) => {
        const send = (qty) => fetch('/api/v1/shortages', {method: 'POST', credentials: 'same-origin',
          headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({client_id: clientId, product_id: productId, qty_packs: qty})}).then(r => r.status);
        return [await send(1), await send(9)]; }""", [client_id, product_id])
    assert statuses == [200, 409]
    page.reload()
    expect(page.locator("#my-registrations li[data-state=received]")).to_have_count(2)
    assert page.evaluate("JSON.parse(localStorage.getItem('pharmacy.shortageQueue.' + "
                         "document.getElementById('shortage-app').dataset.userId) || '[]').length") == 0
    final = server_shortages(server)
    assert len(final) == 2 and len({s[0] for s in final}) == 2 and final[1][2] == 1
    context.close()


def test_double_tap_free_text_unit_quick_pick_form_and_links(server, browser):
    """Defects from a village doctor's day: a double tap on 提交登记 showed a red "请先选择药品" over the success; a
    name kept as text showed the previous product's unit; quick-pick chips had no dosage form; entries were not links."""
    context, page = open_tablet(server, browser)

    pick(page, "ALDP", "氨氯地平")
    assert page.locator("#qty-unit").inner_text() == "盒"
    page.dblclick("#submit")
    page.locator("#my-registrations li[data-state=received]").first.wait_for()
    message = page.locator("#form-message")
    assert message.inner_text() == "已提交" and "error" not in (message.get_attribute("class") or "")

    # A name the formulary does not know, kept as typed: its quantity is in packs, not the last product's 盒.
    search = page.locator("#product-search")
    search.click()
    search.press_sequentially("某某自制膏", delay=40)
    page.locator("#search-results li.free-text button").click()
    wait_until(page, "!document.getElementById('picked').hidden || !document.getElementById('proposal').hidden")
    if page.locator("#proposal").is_visible():
        page.click("#proposal-keep")
    page.locator("#picked").wait_for(state="visible")
    assert page.locator("#qty-unit").inner_text() == "包装"
    page.click("#submit")
    expect(page.locator("#my-registrations li[data-state=received]")).to_have_count(2, timeout=20000)
    assert page.locator("#qty-unit").inner_text() == "盒"  # the form starts afresh

    # Received entries open their registration; the quick-pick chip names the form.
    link = page.locator("#my-registrations li[data-state=received] a").first
    assert "/shortages/" in link.get_attribute("href")
    page.reload()
    chip = page.locator(".quick-picks .chip").first
    assert "片" in chip.inner_text()  # 氨氯地平 片 5mg
    first = page.locator("#my-registrations li a").first
    first.click()
    page.wait_for_url("**/shortages/*")
    assert page.locator("h1").count() == 1
    context.close()


def test_a_registration_refused_for_its_reused_id_stays_on_the_tablet_and_goes_as_new(server, browser):
    """The server holds another registration under the id the tablet sent (409 idempotency_key_reused): the entry
    stays, marked 未被接受 with the reason, and one tap sends it again under a new id."""
    context, page = open_tablet(server, browser)
    pick(page, "ALDP", "氨氯地平")
    page.click("#submit")
    page.locator("#my-registrations li[data-state=received]").first.wait_for()
    (client_id, _code, _qty, _urgency, _status), = server_shortages(server)
    with server.app.app_context():
        product_id = db.session.scalar(select(Shortage.product_id).where(Shortage.client_id == client_id))
        db.session.remove()

    # A queued registration that reuses that id with another quantity (a tablet whose ids collide).
    page.evaluate("""([clientId, productId]) => {
        const key = 'pharmacy.shortageQueue.' + document.getElementById('shortage-app').dataset.userId;
        const payload = {client_id: clientId, product_id: productId, free_text: '', qty_packs: 5, urgency: 'routine',
                         reason: 'out_of_stock', note: '', client_created_at: new Date().toISOString()};
        localStorage.setItem(key, JSON.stringify([{client_id: clientId, payload: payload, state: 'waiting',
          error: '', label: '氨氯地平（重复编号）', pack_unit: '盒', queued_at: payload.client_created_at}])); }""",
                  [client_id, product_id])
    page.reload()
    refused = page.locator("#my-registrations li[data-state=rejected]")
    refused.wait_for()
    assert "未被接受" in refused.inner_text() and "该登记编号已用于另一条内容不同的登记" in refused.inner_text()
    assert [s[2] for s in server_shortages(server)] == [1]  # nothing recorded, nothing dropped

    refused.locator("button.send-as-new").click()
    expect(page.locator("#my-registrations li[data-state=rejected]")).to_have_count(0, timeout=20000)
    expect(page.locator("#my-registrations li[data-state=received]")).to_have_count(2)
    on_server = server_shortages(server)
    assert sorted(s[2] for s in on_server) == [1, 5] and len({s[0] for s in on_server}) == 2
    context.close()
