"""Shared steps for the order tests: stock, consumption and shortages stated in a line each."""

from datetime import timedelta

from pharmacy import clock
from pharmacy.inventory import services as stock
from pharmacy.shortages.services import register_shortage

_n = iter(range(1, 10**9))


def key(prefix: str = "k") -> str:
    return f"{prefix}-{next(_n)}"


def put_stock(facility, product, qty_base, *, days=400, lot=None, user=None):
    return stock.receive(facility, product, lot_number=lot or key("LOT"), qty_base=qty_base, user=user,
                         expiry_date=clock.today() + timedelta(days=days), key=key("rcv"))


def consume(facility, product, qty_base, user=None):
    """Stock received over three months ago and dispensed now: a full three-month history for the AMC
    (qty_base ÷ 3 a month), nothing left on hand."""
    from datetime import timedelta

    from pharmacy.extensions import db

    receipt = put_stock(facility, product, qty_base, user=user)
    for movement in receipt.movements:
        movement.created_at = clock.now_utc() - timedelta(days=100)
    db.session.flush()
    stock.dispense(facility, product, qty_base=qty_base, user=user, key=key("dsp"))


def shortage(village, product, qty_packs, user, urgency="routine"):
    created, _new = register_shortage(facility=village, user=user, client_id=key("client"), qty_packs=qty_packs,
                                      product=product, urgency=urgency)
    return created


def use_language(client, code: str):
    """Switch the client's language for its next requests."""
    client.get(f"/lang/{code}")
    return client


def csrf_header(client) -> dict:
    """The X-CSRFToken header a page's script would send (multipart API calls need it)."""
    import re

    page = client.get("/orders").get_data(as_text=True)
    return {"X-CSRFToken": re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)}
