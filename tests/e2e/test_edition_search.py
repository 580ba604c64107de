"""On the tablet, with the 2026 edition in force, a 2018 product the village still holds is offered with a badge."""

from datetime import date

import pytest

from pharmacy.catalog.models import EditionSetting
from pharmacy.extensions import db
from tests.e2e.live_server import PASSWORD, start_live_server
from tests.factories import make_product, stock_up

pytest.importorskip("playwright.sync_api")


@pytest.fixture
def server(tmp_path):
    def seed(county):
        held = make_product("格列美脲", strength="2mg", pack_size=30, edition="2018")
        make_product("格列美脲", strength="1mg", pack_size=30, edition="2018")  # not held: not offered
        make_product("格列美脲", strength="2mg", pack_size=30, edition="2026")
        db.session.add(EditionSetting(edition="2026", effective_from=date(2020, 1, 1), reason="测试"))
        stock_up(county.villages[0], held, 60)

    live = start_live_server(tmp_path, seed=seed)
    yield live
    live.stop()


def test_tablet_marks_a_held_product_of_another_edition(server, browser):
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(server.url + "/login")
    page.fill("input[name=username]", server.usernames["village"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/shortages/tablet")
    search = page.locator("#product-search")
    search.click()
    search.press_sequentially("格列美脲", delay=60)
    results = page.locator("#search-results button.result", has_text="格列美脲")
    results.first.wait_for(state="visible")
    page.wait_for_timeout(500)
    texts = [results.nth(i).inner_text() for i in range(results.count())]
    assert len(texts) == 2, texts
    marked = [t for t in texts if "非现行版本·尚有库存 2018" in t]
    assert len(marked) == 1 and "2mg" in marked[0]
    assert not any("1mg" in t for t in texts)
    assert errors == []
    context.close()
