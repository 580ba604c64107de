"""Small defects a new user hits: the favicon was a 404, error pages showed English codes on Chinese pages, the
login link from "/" read next=/?, and the tablet's registrations and chips lacked links and forms."""

import re

from pharmacy.extensions import db
from tests.factories import make_product


def test_favicon_is_served_without_signing_in(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/vnd.microsoft.icon" and response.data[:4] == b"\x00\x00\x01\x00"


def test_a_chinese_error_page_shows_no_english_code(county, login):
    client = login(county.users["village"])
    response = client.get("/orders/approvals")
    assert response.status_code == 403
    html = response.get_data(as_text=True)
    main = html.split("<main", 1)[1]
    text = re.sub(r"<[^>]+>", " ", main)
    assert "forbidden" not in text and "403" in text
    assert 'data-error-code="forbidden"' in html  # kept for support, not shown


def test_login_redirect_keeps_a_clean_next(client):
    assert client.get("/").headers["Location"].endswith("/login?next=/")
    location = client.get("/stock?tier=village").headers["Location"]
    assert location.endswith("/login?next=/stock?tier%3Dvillage")


def test_tablet_entries_link_to_the_registration_and_chips_name_the_form(county, login):
    product = make_product()
    db.session.commit()
    client = login(county.users["village"])
    created = client.post("/api/v1/shortages", json={"client_id": "tablet-link-0001", "product_id": product.id,
                                                       "qty_packs": 2})
    assert created.status_code == 201, created.json
    html = client.get("/shortages/tablet").get_data(as_text=True)
    assert f'href="/shortages/{created.json["id"]}"' in html
    chip = re.search(r'class="chip js-quick"[^>]*>([^<]+)</button>', html).group(1)
    assert product.dosage_form in chip and product.strength in chip
    assert '"free_text_unit"' in html.replace("&#34;", '"')
