"""A township pharmacist builds an order in Chromium: the draft proposes the village shortage, a product is added
by search-as-you-type, a quantity is edited and the order is submitted; the county approves it."""

import threading

import pytest
from werkzeug.serving import make_server

from pharmacy import create_app
from pharmacy.auth.models import Role
from pharmacy.extensions import db
from tests.live_gunicorn import free_port
from pharmacy.orders.models import Order
from tests.factories import make_county, make_product, make_shortage, make_user

PASSWORD = "correct horse"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A real server on its own SQLite file, with a small county."""
    path = tmp_path_factory.mktemp("e2e") / "e2e.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "e2e", "TESTING": False})
    with app.app_context():
        db.create_all()
        county = make_county(townships=1, villages=2, code="E2E")
        make_user(county.townships[0], Role.TOWNSHIP_PHARMACIST, username="e2e-town", password=PASSWORD)
        make_user(county.central, Role.COUNTY_PHARMACIST, username="e2e-county", password=PASSWORD)
        wanted = make_product("格列美脲", strength="2mg", pack_size=30)
        make_product("缬沙坦", dosage_form="胶囊", strength="80mg", pack_size=14)
        make_shortage(county.villages[0], wanted, 3, county.users["village"], "urgent")
        db.session.commit()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")


def test_build_search_add_submit_and_approve(live, browser):
    app, base = live
    context = browser.new_context(viewport={"width": 800, "height": 1280})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _sign_in(page, base, "e2e-town")
    page.goto(f"{base}/orders")
    page.click("text=编制订单")
    page.wait_for_selector("#lines")
    assert "格列美脲" in page.inner_text("#lines")
    # Search as you type, pick with the keyboard, add three packs.
    page.fill(".product-search", "缬沙坦")
    page.wait_for_selector(".search-results li")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    assert "缬沙坦" in page.inner_text(".picked")
    page.fill("input[name=qty_packs]", "3")
    page.click(".add-line button.add-line-submit")
    page.wait_for_selector("#lines")
    assert "缬沙坦" in page.inner_text("#lines")
    first_qty = page.locator("#lines input[type=number]").first
    first_qty.fill("5")
    page.click("text=提交审批")
    page.wait_for_selector(".order-status")
    assert "已提交" in page.inner_text("h1")
    assert not errors, errors
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    _sign_in(page, base, "e2e-county")
    page.goto(f"{base}/orders/approvals")
    assert "格列美脲" in page.inner_text("main")
    page.click("text=审批通过")
    page.wait_for_selector(".alert-ok")
    context.close()
    with app.app_context():
        order = db.session.scalars(db.select(Order)).one()
        assert order.status == "approved"
        assert sorted((line.product.drug.generic_name, line.qty_packs) for line in order.lines) == [
            ("格列美脲", 5), ("缬沙坦", 3)]
