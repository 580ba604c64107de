"""The tablet shows the county's clock: a registration the server holds at 01:31 UTC reads 09:31 in Shanghai,
whatever zone the tablet itself is set to, and also when the answer it kept from an older server has no offset."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from pharmacy.catalog.models import Product
from pharmacy.extensions import db
from pharmacy.shortages.services import register_shortage
from tests.e2e.live_server import PASSWORD, start_live_server

pytest.importorskip("playwright.sync_api")

CLIENT_ID = "5b8f2c1e-0000-4000-8000-00000000e2e1"
AT = datetime(2026, 12, 4, 1, 31, tzinfo=UTC)  # 09:31 in Shanghai


def _registered_at_0131_utc(county):
    product = db.session.scalar(select(Product).where(Product.code == "X002-01"))
    shortage, _created = register_shortage(facility=county.villages[0], user=county.users["village"],
                                           client_id=CLIENT_ID, product=product, qty_packs=2)
    shortage.created_at = AT


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = start_live_server(tmp_path_factory.mktemp("times"), seed=_registered_at_0131_utc)
    yield live
    live.stop()


def _tablet(browser, server, zone):
    context = browser.new_context(viewport={"width": 800, "height": 1280}, locale="zh-CN", timezone_id=zone)
    page = context.new_page()
    page.goto(server.url + "/login")
    page.fill("input[name=username]", server.usernames["village"])
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/shortages/tablet")
    return context, page


def _drawn_by_the_script(page) -> str:
    # The server draws the list first; the script redraws it from the API (its rows carry data-state).
    row = page.locator(f"#my-registrations li[data-state=received][data-client-id='{CLIENT_ID}'] .reg-meta .muted")
    row.wait_for()
    return row.inner_text()


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "UTC", "America/New_York"])
def test_the_tablet_shows_a_server_entry_in_county_time_whatever_its_own_zone(server, browser, zone):
    context, page = _tablet(browser, server, zone)
    server_drawn = page.locator(f"#my-registrations li[data-client-id='{CLIENT_ID}'] .reg-meta .muted").first
    assert server_drawn.inner_text() == "12-04 09:31"
    assert _drawn_by_the_script(page) == "12-04 09:31"
    context.close()


def test_an_answer_without_an_offset_is_read_as_utc(server, browser):
    """What an older server answered (and the tablet kept offline) had no offset; its times were UTC."""
    context, page = _tablet(browser, server, "Asia/Shanghai")

    def without_offset(route):
        response = route.fetch()
        rows = response.json()
        for row in rows:
            row["created_at"] = row["created_at"].removesuffix("Z")
        route.fulfill(response=response, json=rows)

    page.route("**/api/v1/shortages?*", without_offset)
    page.reload()
    assert _drawn_by_the_script(page) == "12-04 09:31"
    context.close()
