"""Each role's start page lists its to-dos with their counts, each linking to where it is done; the counts come
from the domains' own queries over a seeded situation."""

import re

from pharmacy import clock
from pharmacy.deliveries import services as deliveries
from pharmacy.deliveries.models import StockAlert
from pharmacy.extensions import db
from pharmacy.orders import fulfilment
from pharmacy.orders import services as orders
from tests.factories import make_product, make_route, make_shortage, next_weekday, stock_up


def _todos(html: str) -> dict[str, tuple[int, str]]:
    """{to-do key: (count, link)} as the page shows them."""
    found = {}
    for key, body in re.findall(r'<li class="todo[^"]*" data-todo="(\w+)">(.*?)</li>', html, re.S):
        href = re.search(r'<a href="([^"]+)"', body).group(1)
        count = int(re.search(r'<span class="todo-count">(\d+)</span>', body).group(1))
        found[key] = (count, href.replace("&amp;", "&"))
    return found


def _submitted(county, product, packs):
    order = orders.create_order(county.townships[0], county.users["township"])
    orders.add_line(order, product, qty_packs=packs, user=county.users["township"])
    return orders.submit_order(order, county.users["township"])


def _shipped_with_a_backorder(county):
    """An order of the first township shipped short: one line still back-ordered."""
    product = make_product(pack_size=24)
    stock_up(county.central, product, 30, expires_in_days=400)
    order = _submitted(county, product, 3)
    orders.approve_order(order, county.users["county"])
    fulfilment.allocate_orders([order], county.users["county"])
    fulfilment.ship_order(order, county.users["county"])
    return order


def test_township_pharmacist_sees_registrations_drafts_shipments_and_runs(county, login, db_session):
    township, user = county.townships[0], county.users["township"]
    v1, v2 = county.villages[0], county.villages[1]
    product = make_product()
    stock_up(township, product, 240, user=user)
    make_shortage(v1, product, 2, user=county.users["village"])
    make_shortage(v2, product, 1, user=user)
    make_shortage(county.villages[-1], product, 5, user=county.users["other_village"])  # another township's
    shipped = _shipped_with_a_backorder(county)
    draft = orders.create_order(township, user)
    deliveries.plan_run(make_route(township, [v1, v2]), next_weekday(2), user=user)
    db.session.commit()

    response = login(user).get("/")
    assert response.status_code == 200
    todos = _todos(response.get_data(as_text=True))
    assert todos == {
        "acknowledge": (2, "/shortages/open"),
        "drafts": (1, f"/orders/{draft.id}"),
        "shipments": (1, f"/orders/{shipped.id}"),
        "runs": (1, "/deliveries?status=planned"),
    }


def test_township_pharmacist_with_nothing_to_do_sees_zeros_and_list_links(county, login, db_session):
    todos = _todos(login(county.users["township"]).get("/").get_data(as_text=True))
    assert todos == {"acknowledge": (0, "/shortages/open"), "drafts": (0, "/orders?status=draft"),
                     "shipments": (0, "/orders?status=shipped"), "runs": (0, "/deliveries?status=planned")}


def test_county_pharmacist_sees_approvals_backorders_and_alerts(county, login, db_session):
    _shipped_with_a_backorder(county)
    waiting = make_product()
    _submitted(county, waiting, 2)
    _submitted(county, waiting, 1)
    for kind, facility in (("stockout", county.villages[0]), ("near_expiry", county.townships[1]),
                           ("stockout", county.central)):
        db.session.add(StockAlert(facility_id=facility.id, product_id=waiting.id, kind=kind))
    db.session.add(StockAlert(facility_id=county.villages[1].id, product_id=waiting.id, kind="below_min",
                              resolved_at=clock.now_utc()))  # resolved: no longer a to-do
    db.session.commit()

    response = login(county.users["county"]).get("/")
    assert response.status_code == 200  # the to-do page, no longer a redirect to the dashboard
    html = response.get_data(as_text=True)
    assert _todos(html) == {"approvals": (2, "/orders/approvals"), "backorders": (1, "/orders/fulfilment"),
                            "alerts": (3, "/deliveries/alerts")}
    assert "缺货 2 · 近效期 1" in html  # the alerts by kind, in the vocabulary's words
    assert 'href="/dashboard"' in html  # the dashboard is one tap away

    english = login(county.users["county"])
    english.get("/lang/en")
    text = english.get("/").get_data(as_text=True)
    assert "Orders awaiting approval" in text and "Stock-out 2 · Near expiry 1" in text


def test_village_doctor_sees_the_waiting_delivery_first(county, login, db_session):
    township, v1 = county.townships[0], county.villages[0]
    pharmacist, doctor = county.users["township"], county.users["village"]
    product = make_product()
    stock_up(township, product, 240, user=pharmacist)
    make_shortage(v1, product, 2, user=doctor)
    make_shortage(v1, make_product(), 1, user=doctor)  # nothing at the township: stays registered
    run = deliveries.plan_run(make_route(township, [v1]), next_weekday(2), user=pharmacist)
    deliveries.confirm_run(run, user=pharmacist)
    deliveries.dispatch_run(run, user=pharmacist)
    [stop] = [s for s in run.stops if s.village_id == v1.id]
    db.session.commit()

    response = login(doctor).get("/")
    assert response.status_code == 200  # not the tablet: a delivery waits
    html = response.get_data(as_text=True)
    todos = _todos(html)
    assert todos == {"receipts": (1, f"/deliveries/stops/{stop.id}/receipt"),
                     "registrations": (2, "/shortages/tablet")}
    assert list(todos) == ["receipts", "registrations"] and "todo-urgent" in html
    assert 'href="/shortages/tablet"' in html

    # the neighbouring village has nothing waiting: its doctor starts on the tablet as before
    other = login(county.users["other_village"]).get("/")
    assert other.status_code == 302 and other.headers["Location"].endswith("/shortages/tablet")


def test_roles_without_to_dos_keep_their_start(county, login, db_session):
    viewer = login(county.users["viewer"]).get("/")
    assert viewer.status_code == 302 and viewer.headers["Location"].endswith("/dashboard")
    html = login(county.users["formulary"]).get("/").get_data(as_text=True)
    assert "todo-count" not in html and 'class="tile"' in html
