"""缺药登记和配送制度 in Chromium, every step clicked by the people who do it: what a village registers arrives there.

The browser twin of tests/integration/test_supply_journey.py. The village doctor registers 3 boxes on the tablet
(800×1280); the township pharmacist builds the unified order from it and submits it; the county pharmacist
approves, allocates and ships; the township signs the shipment, plans the village route's next run (which carries
the registration by itself), confirms it, opens the manifest and dispatches; the doctor signs on the tablet and
finds the registration delivered. Stock and the registration's status are read from the database after each step.
"""

import re
import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from pharmacy import create_app
from pharmacy.deliveries.models import DeliveryRun, RunStatus, StopStatus
from pharmacy.extensions import db
from pharmacy.inventory import services as stock
from pharmacy.orders.models import Order
from pharmacy.shortages.models import Shortage
from tests.factories import make_county, make_product, make_route, stock_up

playwright_api = pytest.importorskip("playwright.sync_api")
expect = playwright_api.expect

PASSWORD = "correct horse"  # tests.factories.make_user's default
PACK = 10  # tablets a box
DRUG = "氨氯地平"


@pytest.fixture
def live_journey(tmp_path):
    """A server on its own SQLite file: one township with one village on a route, 300 tablets at the county's
    central pharmacy, nothing yet at the township or the village."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'journey.sqlite3'}", "SECRET_KEY": "e2e",
                      "TESTING": True})
    app.instance_path = str(tmp_path)
    with app.app_context():
        db.create_all()
        county = make_county(townships=1, villages=1)
        town, village, central = county.townships[0], county.villages[0], county.central
        product = make_product(DRUG, dosage_form="片剂", strength="5mg", base_unit="片", pack_size=PACK,
                               price="12.50")
        stock_up(central, product, 300, expires_in_days=500, lot="A-1")
        route = make_route(town, [village], name="东线")
        db.session.commit()
        ids = {"central": central.id, "town": town.id, "village": village.id, "product": product.id,
               "route": route.id, "village_name": village.name,
               "doctor": county.users["village"].username, "township": county.users["township"].username,
               "county": county.users["county"].username}
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_port}", ids
    server.shutdown()
    thread.join(timeout=10)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


class Watch:
    """Script errors and server errors seen by any page of the journey."""

    def __init__(self):
        self.problems: list[str] = []

    def attach(self, page):
        page.on("pageerror", lambda exc: self.problems.append(f"{page.url}: script error {exc}"))
        page.on("response", lambda r: r.status >= 500 and self.problems.append(f"{r.url}: HTTP {r.status}"))
        return page


def _open_as(browser, watch, base, username, *, zone, width=1280, height=800):
    # the county's clock, as on its tablets and PCs (the tablet script shows times in the device's zone)
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id=zone)
    page = watch.attach(context.new_page())
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    assert "/login" not in page.url, page.inner_text("main")
    return context, page


def _menu(page, label):
    nav = page.locator("nav.mainnav")
    group = nav.locator("details.navgroup", has=page.get_by_role("link", name=label, exact=True, include_hidden=True))
    if group.count():  # the entry sits in a group of the menu: open it first
        group.locator("summary").click()
    with page.expect_navigation():
        nav.get_by_role("link", name=label, exact=True).click()


def _click_and_wait(page, locator):
    with page.expect_navigation():
        locator.click()
    page.wait_for_load_state("load")


def _state(app, ids):
    """(status, stage) of the one registration and the stock at every level, straight from the database."""
    with app.app_context():
        db.session.expire_all()
        shortages = list(db.session.scalars(select(Shortage)))
        assert len(shortages) <= 1, [(s.id, s.status) for s in shortages]
        s = shortages[0] if shortages else None
        product = ids["product"]
        result = {"count": len(shortages), "central": stock.on_hand(ids["central"], product),
                  "town": stock.on_hand(ids["town"], product),
                  "town_transit": stock.in_transit_qty(ids["town"], product),
                  "village": stock.on_hand(ids["village"], product),
                  "village_transit": stock.in_transit_qty(ids["village"], product)}
        if s is not None:
            result.update({"status": (s.status, s.stage), "qty_packs": s.qty_packs, "product_id": s.product_id,
                           "urgency": s.urgency, "id": s.id, "expected_arrival": s.expected_arrival_date,
                           "delivered_at": s.delivered_at})
        db.session.remove()
    return result


def _stock(state):
    return {k: state[k] for k in ("central", "town", "town_transit", "village", "village_transit")}


def _order(app):
    with app.app_context():
        db.session.expire_all()
        [order] = db.session.scalars(select(Order)).all()
        result = {"id": order.id, "number": order.number, "status": order.status,
                  "lines": [(line.product_id, line.qty_packs) for line in order.lines]}
        db.session.remove()
    return result


def _run(app):
    with app.app_context():
        db.session.expire_all()
        [run] = db.session.scalars(select(DeliveryRun)).all()
        result = {"id": run.id, "status": run.status,
                  "stops": [{"id": stop.id, "village_id": stop.village_id, "status": stop.status,
                             "lines": [(line.product_id, line.qty_base, [s.id for s in line.shortages])
                                       for line in stop.lines]} for stop in run.stops]}
        db.session.remove()
    return result


def test_the_supply_journey_clicked_through(live_journey, browser, tmp_path):
    app, base, ids = live_journey
    watch = Watch()
    contexts = []
    try:
        _journey(app, base, ids, browser, watch, contexts, tmp_path)
    finally:
        for context in contexts:
            context.close()
    assert not watch.problems, watch.problems


def _journey(app, base, ids, browser, watch, contexts, tmp_path):
    zone = app.config["BABEL_DEFAULT_TIMEZONE"]
    start = _state(app, ids)
    assert start["count"] == 0
    assert _stock(start) == {"central": 300, "town": 0, "town_transit": 0, "village": 0, "village_transit": 0}

    # 1. The village doctor registers 3 boxes on the tablet, from the menu.
    tablet_context, tablet = _open_as(browser, watch, base, ids["doctor"], zone=zone, width=800,
                                       height=1280)
    contexts.append(tablet_context)
    _menu(tablet, "缺药登记")
    assert tablet.url.endswith("/shortages/tablet")
    search = tablet.locator("#product-search")
    search.click()
    search.press_sequentially(DRUG, delay=40)
    result = tablet.locator("#search-results button.result", has_text=DRUG).first
    result.wait_for(state="visible")
    result.click()
    expect(tablet.locator("#picked")).to_be_visible()
    expect(tablet.locator("#picked-name")).to_have_text(DRUG)
    tablet.get_by_role("button", name="增加").click()
    tablet.get_by_role("button", name="增加").click()
    expect(tablet.locator("#qty")).to_have_value("3")
    tablet.locator("label.seg-urgent").click()
    tablet.get_by_role("button", name="提交登记").click()
    mine = tablet.locator("#my-registrations li[data-state=received]", has_text=DRUG)
    expect(mine).to_have_count(1, timeout=15000)
    expect(mine).to_contain_text("已登记")
    state = _state(app, ids)
    assert state["count"] == 1  # one tap, one registration
    assert (state["status"], state["qty_packs"], state["product_id"], state["urgency"]) == (
        ("registered", ""), 3, ids["product"], "urgent")
    assert _stock(state) == _stock(start)
    shortage_id = state["id"]

    # 2. The township pharmacist builds the unified order (it proposes the registration) and submits it.
    town_context, town = _open_as(browser, watch, base, ids["township"], zone=zone)
    contexts.append(town_context)
    _menu(town, "统一订单")
    _click_and_wait(town, town.get_by_role("button", name="编制订单", exact=True))
    assert re.search(r"/orders/\d+$", town.url), town.url
    lines = town.locator("#lines tbody tr", has_text=DRUG)
    expect(lines).to_have_count(1)
    expect(lines).to_contain_text("× 3")  # the village's registration, shown on the line
    expect(lines.locator("input[name^=qty_]")).to_have_value("3")
    _click_and_wait(town, town.get_by_role("button", name="提交审批", exact=True))
    expect(town.locator(".alert-ok")).to_contain_text("订单已提交")
    expect(town.locator("h1 .order-status")).to_have_text("已提交")
    order = _order(app)
    assert order["status"] == "submitted" and order["lines"] == [(ids["product"], 3)]
    state = _state(app, ids)
    assert state["status"] == ("ordered", "on_order")
    assert _stock(state) == _stock(start)

    # 3. The county pharmacist approves, allocates and ships.
    county_context, county = _open_as(browser, watch, base, ids["county"], zone=zone)
    contexts.append(county_context)
    _menu(county, "订单审批")
    card = county.locator(f"#order-{order['id']}")
    expect(card).to_contain_text(DRUG)
    expect(card.locator("input[name^=qty_]")).to_have_value("3")
    _click_and_wait(county, card.get_by_role("button", name="审批通过", exact=True))
    expect(county.locator(".alert-ok")).to_contain_text("已审批")
    assert _order(app)["status"] == "approved"
    assert _state(app, ids)["status"] == ("ordered", "on_order")
    _click_and_wait(county, county.locator(".page-head .actions").get_by_role("link", name="配货发货"))
    expect(county.locator(f"input[name=order_id][value='{order['id']}']")).to_be_checked()
    _click_and_wait(county, county.get_by_role("button", name="分配库存", exact=True))
    expect(county.locator(".alert-ok")).to_contain_text("已分配 1 张订单")
    assert _order(app)["status"] == "allocated"
    assert _stock(_state(app, ids))["central"] == 300  # allocated, not yet out of the store
    waiting = county.locator("section.card", has=county.get_by_role("heading", name="待发货"))
    row = waiting.locator("tbody tr", has_text=order["number"])
    expect(row).to_contain_text("3")
    _click_and_wait(county, row.get_by_role("button", name="发货", exact=True))
    expect(county.locator(".alert-ok")).to_contain_text("已发货")
    assert _order(app)["status"] == "shipped"
    state = _state(app, ids)
    assert state["status"] == ("ordered", "upstream_transit") and state["expected_arrival"] is not None
    assert _stock(state) == {"central": 270, "town": 0, "town_transit": 30, "village": 0, "village_transit": 0}

    # 4. The township pharmacist signs for the shipment on its receipt page.
    _menu(town, "统一订单")
    _click_and_wait(town, town.get_by_role("link", name=order["number"], exact=True))
    _click_and_wait(town, town.get_by_role("link", name="签收", exact=True))
    assert re.search(rf"/orders/{order['id']}/shipments/\d+$", town.url), town.url
    sent = town.locator("table.receive-lines tbody tr", has_text=DRUG)
    expect(sent).to_have_count(1)
    expect(sent.locator("input[name^=qty_]")).to_have_value("30")
    _click_and_wait(town, town.get_by_role("button", name="确认签收", exact=True))
    expect(town.locator(".alert-ok")).to_contain_text("已签收")
    assert _order(app)["status"] == "received"
    state = _state(app, ids)
    assert state["status"] == ("ordered", "at_upstream")
    assert _stock(state) == {"central": 270, "town": 30, "town_transit": 0, "village": 0, "village_transit": 0}

    # 5. The village route's next run carries the registration by itself; confirm, manifest, dispatch.
    _menu(town, "配送单")
    plan_row = town.locator(".plan-box tbody tr", has_text="东线")
    if not plan_row.is_visible():
        town.locator(".plan-box summary").click()
    _click_and_wait(town, plan_row.get_by_role("button", name="规划下一次", exact=True))
    assert re.search(r"/deliveries/runs/\d+$", town.url), town.url
    stop_card = town.locator(".stop-card", has_text=ids["village_name"])
    planned_line = stop_card.locator("table.lines tbody tr", has_text=DRUG)
    expect(planned_line).to_have_count(1)
    expect(planned_line).to_contain_text("30片")
    expect(planned_line).to_contain_text(f"缺药登记 #{shortage_id}")  # why it is on the run
    run = _run(app)
    [stop] = [s for s in run["stops"] if s["village_id"] == ids["village"]]
    assert run["status"] == RunStatus.PLANNED and stop["lines"] == [(ids["product"], 30, [shortage_id])]
    _click_and_wait(town, town.get_by_role("button", name="审核确认", exact=True))
    expect(town.locator(".alert-ok")).to_contain_text("配送单已确认")
    assert _run(app)["status"] == RunStatus.CONFIRMED
    manifest_link = town.get_by_role("link", name="打印配送单")
    href = manifest_link.get_attribute("href")
    manifest = town.request.get(base + href if href.startswith("/") else href)
    assert manifest.status == 200 and manifest.body().startswith(b"%PDF"), (manifest.status, manifest.body()[:200])
    assert manifest.headers["content-type"].startswith("application/pdf")
    _click_and_wait(town, town.get_by_role("button", name="发车（货物出库在途）", exact=True))
    expect(town.locator(".alert-ok")).to_contain_text("已发车")
    run = _run(app)
    assert run["status"] == RunStatus.DISPATCHED
    assert [s["status"] for s in run["stops"] if s["village_id"] == ids["village"]] == [StopStatus.DISPATCHED]
    state = _state(app, ids)
    assert state["status"] == ("dispatched", "in_transit")
    assert _stock(state) == {"central": 270, "town": 0, "town_transit": 0, "village": 0, "village_transit": 30}

    # 6. The village doctor signs on the tablet; the registration shows as delivered on the doctor's list.
    _menu(tablet, "到货签收")
    tile = tablet.locator(".receipt-tile", has_text=ids["village_name"])
    expect(tile).to_have_count(1)
    _click_and_wait(tablet, tile)
    assert tablet.url.endswith(f"/deliveries/stops/{stop['id']}/receipt"), tablet.url
    line = tablet.locator(".receipt-line", has_text=DRUG)
    expect(line).to_have_count(1)
    expect(line).to_contain_text(f"#{shortage_id}")
    tablet.get_by_label("我已逐行核对，以上数量属实").check()
    _click_and_wait(tablet, tablet.get_by_role("button", name="确认签收", exact=True))
    expect(tablet.locator(".alert-ok")).to_contain_text("已签收")
    state = _state(app, ids)
    assert state["status"] == ("delivered", "delivered") and state["delivered_at"] is not None
    assert _stock(state) == {"central": 270, "town": 0, "town_transit": 0, "village": 30, "village_transit": 0}
    assert _run(app)["stops"][0]["status"] == StopStatus.RECEIVED

    _menu(tablet, "缺药登记")
    mine = tablet.locator("#my-registrations li", has_text=DRUG)
    expect(mine).to_have_count(1)
    expect(mine.locator(".badge.status-delivered")).to_have_text("已送达")
    tablet.wait_for_load_state("networkidle")  # the list the script fetches says the same
    expect(mine.locator(".badge.status-delivered")).to_have_text("已送达")
    tablet.screenshot(path=str(tmp_path / "supply-journey-end.png"), full_page=True)
    town.screenshot(path=str(tmp_path / "supply-journey-run.png"), full_page=True)
    assert (tmp_path / "supply-journey-end.png").stat().st_size > 0
