"""A village doctor receives a delivery on a 800×1280 tablet in Chromium: from the menu, one line damaged."""

import threading

import pytest
from werkzeug.serving import make_server

from pharmacy import create_app
from pharmacy.deliveries import services
from pharmacy.deliveries.models import DeliveryStop, StopStatus
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from tests.factories import make_county, make_product, make_route, make_shortage, next_weekday, stock_up

playwright_api = pytest.importorskip("playwright.sync_api")


@pytest.fixture
def live_delivery(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'e2e.sqlite3'}", "SECRET_KEY": "e2e",
                      "TESTING": True})
    with app.app_context():
        db.create_all()
        county = make_county(townships=1, villages=2)
        township, village = county.townships[0], county.villages[0]
        pharmacist, doctor = county.users["township"], county.users["village"]
        product = make_product("阿莫西林胶囊", dosage_form="胶囊剂", strength="0.25g", base_unit="粒", pack_size=24)
        stock_up(township, product, 240, user=pharmacist, lot="AMX01")
        make_shortage(village, product, 3, user=doctor, urgency="urgent")
        run = services.plan_run(make_route(township, county.villages), next_weekday(2), user=pharmacist)
        services.confirm_run(run, user=pharmacist)
        services.dispatch_run(run, user=pharmacist)
        db.session.commit()
        ids = {"stop": run.stops[0].id, "village": village.id, "product": product.id, "doctor": doctor.username}
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


def test_village_doctor_receives_on_the_tablet(live_delivery, tmp_path, browser):
    app, base, ids = live_delivery
    page = browser.new_page(viewport={"width": 800, "height": 1280})
    # the QR code's link: sign in first, then land on the receipt page
    page.goto(f"{base}/deliveries/stops/{ids['stop']}/receipt")
    page.fill("input[name=username]", ids["doctor"])
    page.fill("input[name=password]", "correct horse")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/deliveries/stops/{ids['stop']}/receipt")
    page.goto(base + "/")
    with page.expect_navigation():
        page.click("nav.mainnav >> text=到货签收")  # and from the doctor's menu
    with page.expect_navigation():
        page.click(".receipt-tile")
    page.wait_for_load_state("load")
    line = page.locator(".receipt-line").first
    assert line.locator(".diff-fields").is_hidden()  # opens only when there is a difference
    line.locator(".toggle").click()
    assert line.locator(".diff-fields").is_visible()
    line.locator("input[name$='_packs']").fill("2")
    line.locator(".reason-choice", has_text="破损").click()
    line.locator("input[name^='note_']").fill("一盒压坏")
    with page.expect_navigation():
        page.click("text=确认签收")
    assert "请先逐行核对" in page.inner_text("main")  # the sign-off tick is required; nothing was posted
    page.locator(".big-check").click()
    page.screenshot(path=str(tmp_path / "receipt-before.png"), full_page=True)
    page.click("text=确认签收")
    page.wait_for_selector(".alert-ok")
    assert "已签收" in page.inner_text("main") and "破损" in page.inner_text("main")
    page.screenshot(path=str(tmp_path / "receipt-after.png"), full_page=True)
    page.close()
    with app.app_context():
        stop = db.session.get(DeliveryStop, ids["stop"])
        assert stop.status == StopStatus.RECEIVED and stop.lines[0].qty_received_base == 48
        assert stock.on_hand(ids["village"], ids["product"]) == 48
        db.session.remove()
