"""A real server on 127.0.0.1 (own SQLite file, migrated, formulary loaded, a small demo county) and Chromium."""

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from pharmacy import create_app
from pharmacy.config import ROOT
from pharmacy.extensions import db
from tests.live_gunicorn import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEMO_PASSWORD = "e2e-demo-pass"
ARTIFACTS = Path(os.environ.get("PHARMACY_E2E_ARTIFACTS", ROOT / "instance" / "e2e"))



@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """Base URL of a running server with its own database; the demo county has 2 townships × 3 villages."""
    from flask_migrate import upgrade

    from pharmacy.catalog.loader import load_catalog
    from pharmacy.demo.seed import seed_demo

    path = tmp_path_factory.mktemp("live") / "live.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SECRET_KEY": "e2e", "TESTING": False})
    with app.app_context():
        upgrade()
        load_catalog(ROOT / "catalog_data")
        seed_demo(townships=2, villages_per_township=3, passwords={r: DEMO_PASSWORD for r in (
            "village_doctor", "township_pharmacist", "county_pharmacist", "formulary_admin", "viewer")})
        db.session.commit()
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def new_page(browser):
    """Open a page at a viewport size; closed after the test."""
    contexts = []

    def open_page(width=1280, height=800):
        context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


def sign_in(page, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("button[type=submit]")


# Words that may appear on a Chinese page: units, formats, codes, brand-free abbreviations.
ALLOWED_LATIN = {"csv", "excel", "xlsx", "pdf", "api", "english", "mg", "ml", "g", "iu", "vbp", "qr"}


def english_words_on(page) -> list[str]:
    """Latin words of three or more letters in the visible text (codes with digits are not words)."""
    text = page.inner_text("body")
    words = re.findall(r"(?<![A-Za-z0-9])[A-Za-z]{3,}(?![A-Za-z0-9])", text)
    return [w for w in words if w.lower() not in ALLOWED_LATIN and not w.isupper()]


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    target = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    return target


def has_horizontal_scroll(page) -> bool:
    return page.evaluate("document.scrollingElement.scrollWidth > window.innerWidth + 1")
