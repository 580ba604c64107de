"""Issue 12 in Chromium: a refused approval keeps what was typed and marks the line; a draft keeps the quantities
typed in its table through 添加 and 导入, an import refusal stays on the draft, and a name that fits several
products is settled by picking one on the page."""

import io
import threading

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from werkzeug.serving import make_server

from pharmacy import create_app
from pharmacy.auth.models import Role
from pharmacy.catalog.loader import load_catalog
from pharmacy.catalog.models import Product
from pharmacy.config import ROOT
from pharmacy.extensions import db
from pharmacy.orders import services
from tests.factories import make_county, make_user
from tests.live_gunicorn import free_port

PASSWORD = "correct horse"


def _product(code):
    return db.session.scalar(select(Product).where(Product.edition == "2018", Product.code == code))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """A real server with the formulary, one township pharmacist's draft and a submitted order for the county."""
    path = tmp_path_factory.mktemp("e2e-refusals") / "e2e.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "e2e", "TESTING": False})
    with app.app_context():
        db.create_all()
        load_catalog(ROOT / "catalog_data")
        county = make_county(townships=2, villages=1, code="RF")
        town = make_user(county.townships[0], Role.TOWNSHIP_PHARMACIST, username="rf-town", password=PASSWORD)
        other = make_user(county.townships[1], Role.TOWNSHIP_PHARMACIST, username="rf-other", password=PASSWORD)
        make_user(county.central, Role.COUNTY_PHARMACIST, username="rf-county", password=PASSWORD)
        submitted = services.create_order(county.townships[1], other)
        services.add_line(submitted, _product("X079-02"), qty_packs=4, user=other)
        services.submit_order(submitted, other)
        draft = services.create_order(county.townships[0], town)
        services.add_line(draft, _product("X079-01"), qty_packs=2, user=town)
        db.session.commit()
        ids = {"submitted": submitted.id, "draft": draft.id}
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{port}", ids
    server.shutdown()
    thread.join(timeout=5)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _sign_in(page, base, username):
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")


def _xlsx(tmp_path, name, rows):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["药品编码", "药品名称", "规格", "数量"])
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    target = tmp_path / name
    target.write_bytes(out.getvalue())
    return str(target)


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, errors


def test_refused_approval_keeps_the_typed_quantity_and_marks_the_line(live, page):
    _app, base, ids = live
    _sign_in(page, base, "rf-county")
    page.goto(f"{base}/orders/approvals")
    card = page.locator(f"#order-{ids['submitted']}")
    card.locator("input.qty").first.fill("2")
    with page.expect_navigation():
        card.locator("button:has-text('审批通过')").click()
    assert page.locator("text=修改审批数量必须填写原因").count() == 1
    row = page.locator(f"#order-{ids['submitted']} tr.has-error")
    assert row.count() == 1
    assert row.locator("input.qty").input_value() == "2"
    assert row.locator(".field-error").inner_text() == "必填"
    row.locator("input.reason").fill("库存紧张")
    with page.expect_navigation():
        page.locator(f"#order-{ids['submitted']} button:has-text('审批通过')").click()
    assert "已审批" in page.inner_text("main")


def test_draft_keeps_typed_quantities_through_add_and_import(live, page, tmp_path):
    _app, base, ids = live
    _sign_in(page, base, "rf-town")
    page.goto(f"{base}/orders/{ids['draft']}")
    page.locator("#lines input.qty").first.fill("9")
    page.fill(".product-search", "阿莫西林")
    page.wait_for_selector(".search-results li")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # picks the product
    with page.expect_navigation():
        page.click(".add-line button.add-line-submit")
    assert "阿莫西林" in page.inner_text("#lines")
    assert page.locator("#lines input.qty").first.input_value() == "9"

    page.locator("#lines input.qty").first.fill("5")
    page.set_input_files("input[name=file]", _xlsx(tmp_path, "bad.xlsx", [("NOPE-1", "", "", 1)]))
    with page.expect_navigation():
        page.click("button:has-text('导入')")
    assert "NOPE-1" in page.inner_text("main") and "导入失败" in page.inner_text("main")
    assert page.locator("h1").inner_text().startswith("订单")  # still the draft, not the order list
    assert page.locator("#lines input.qty").first.input_value() == "5"


def test_ambiguous_import_row_is_settled_by_picking_on_the_page(live, page, tmp_path):
    _app, base, ids = live
    _sign_in(page, base, "rf-town")
    page.goto(f"{base}/orders/{ids['draft']}")
    page.set_input_files("input[name=file]", _xlsx(tmp_path, "ibuprofen.xlsx", [("", "布洛芬", "0.2g", 3)]))
    with page.expect_navigation():
        page.click("button:has-text('导入')")
    assert "对应多个药品" in page.inner_text("main")
    page.select_option("select[name=pick_2]", label="X079-05 布洛芬 胶囊 0.2g")
    with page.expect_navigation():
        page.click("button:has-text('按所选药品导入')")
    assert "已导入 1 行" in page.inner_text("main")
    assert "胶囊" in page.inner_text("#lines")
