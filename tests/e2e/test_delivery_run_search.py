"""A township pharmacist adds a product to a stop of a planned run in Chromium: search by pinyin initials, pick,
add; the page comes back to the new line and says so."""

import threading

import pytest
from werkzeug.serving import make_server

from pharmacy import create_app
from pharmacy.deliveries import services
from pharmacy.deliveries.models import DeliveryStop
from pharmacy.extensions import db
from tests.factories import make_county, make_product, make_route, next_weekday, stock_up

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def live_run(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e2e.sqlite3'}", "SECRET_KEY": "e2e",
                      "TESTING": True})
    with app.app_context():
        db.create_all()
        county = make_county(townships=1, villages=2)
        township, pharmacist = county.townships[0], county.users["township"]
        metformin = make_product("二甲双胍片", strength="0.5g", pack_size=48)
        capsules = make_product("阿莫西林胶囊", dosage_form="胶囊剂", strength="0.25g", base_unit="粒", pack_size=24)
        capsules.drug.pinyin_initials = "AMXLJN"
        stock_up(township, metformin, 480, user=pharmacist, lot="MET01")
        stock_up(township, capsules, 240, user=pharmacist, lot="AMX01")
        run = services.plan_run(make_route(township, county.villages), next_weekday(2), user=pharmacist)
        db.session.commit()
        ids = {"run": run.id, "stop": run.stops[0].id, "product": capsules.id, "pharmacist": pharmacist.username}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", ids
    server.shutdown()
    thread.join()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_pharmacist_searches_and_adds_a_product_to_a_stop(live_run, tmp_path, browser):
    app, base, ids = live_run
    page = browser.new_page(viewport={"width": 1280, "height": 600})
    page.goto(f"{base}/deliveries/runs/{ids['run']}")
    page.fill("input[name=username]", ids["pharmacist"])
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/deliveries/runs/{ids['run']}")
    stop = page.locator(f"#stop-{ids['stop']}")
    assert stop.locator("select").count() == 0  # no list of every product any more
    search = stop.locator("input[data-product-search]")
    search.fill("amxl")
    option = stop.locator(".product-search-list li[role=option]", has_text="阿莫西林胶囊")
    option.wait_for()
    option.click()
    assert stop.locator("input[name=product_id]").input_value() == str(ids["product"])
    stop.locator(".add-line input[name=qty_packs]").fill("2")
    with page.expect_navigation():
        stop.locator(".add-line button[type=submit]").click()
    assert "done=line_added#line-" in page.url, page.url
    assert "已添加药品" in page.inner_text(".alert-ok")
    anchor = page.url.split("#")[1]
    added = page.locator(f"#{anchor}")
    assert "阿莫西林胶囊" in added.inner_text()
    assert page.evaluate("window.scrollY") > 0  # the browser came back to the line, not to the top
    playwright_api.expect(added).to_be_in_viewport()
    playwright_api.expect(page.locator(".run-notice")).to_be_in_viewport()  # and the notice is still in sight
    page.screenshot(path=str(tmp_path / "run-line-added.png"))  # what the pharmacist sees
    page.close()
    with app.app_context():
        stop_row = db.session.get(DeliveryStop, ids["stop"])
        [line] = [line for line in stop_row.lines if line.product_id == ids["product"]]
        assert line.qty_base == 48 and anchor == f"line-{line.id}"
        db.session.remove()
