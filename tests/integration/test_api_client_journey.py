"""One shortage from the tablet to the village receipt through /api/v1 alone, as an HIS or a mobile client would
walk it: bearer tokens, no cookies, no CSRF, bodyless actions sent with no body, the status asserted at each step
through the API. The village finds its incoming delivery (runs, stops, routes) and follows the ledger's transfer
to its stop; the stock set aside on the way (allocated, reserved) and the near-expiry window are readable.
Runs on SQLite and (with --db=postgresql) on PostgreSQL.
"""

from flask.testing import FlaskClient

from pharmacy.auth import tokens
from tests.factories import make_product, next_weekday, stock_up

PACK = 10


class BearerClient:
    """A client of one user: every request carries its token and nothing else (the cookie jar stays empty)."""

    def __init__(self, client: FlaskClient, user):
        self.client = client
        self.headers = {"Authorization": "Bearer " + tokens.create_token(
            user, name="journey", scopes=["read", "write"], days=1, by=user).plain}

    def get(self, url, status=200):
        return self._ok(self.client.get(url, headers=self.headers), status)

    def post(self, url, json=None, status=200):
        if json is None:  # a bodyless action: no body, no content type, no CSRF header
            return self._ok(self.client.post(url, headers=self.headers), status)
        return self._ok(self.client.post(url, headers=self.headers, json=json), status)

    @staticmethod
    def _ok(response, status):
        assert response.status_code == status, (response.request.path, response.get_json())
        return response.get_json()


def test_one_shortage_walks_from_the_tablet_to_the_village_through_the_api(app, client, county):
    app.config["WTF_CSRF_ENABLED"] = True  # as in production: token requests must not need it
    try:
        _walk(app, county)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def _walk(app, county):
    town, village, central = county.townships[0], county.villages[0], county.central
    amlodipine = make_product("氨氯地平片", strength="5mg", pack_size=PACK, price="12.50")
    stock_up(central, amlodipine, 300, expires_in_days=500, lot="A-1")
    doctor = BearerClient(app.test_client(use_cookies=False), county.users["village"])
    township = BearerClient(app.test_client(use_cookies=False), county.users["township"])
    county_api = BearerClient(app.test_client(use_cookies=False), county.users["county"])

    def shortage():
        found = doctor.get(f"/api/v1/shortages/{shortage_id}")
        return found["status"], found["stage"]

    def stock_row(client, facility):
        [row] = client.get(f"/api/v1/stock/status?facility_id={facility.id}&product_id={amlodipine.id}")
        return row

    policy = doctor.get("/api/v1/settings/policy")
    assert policy["near_expiry_days"] == app.config["NEAR_EXPIRY_DAYS"] and policy["village_run_days"] == 0
    route = township.post("/api/v1/routes", json={
        "township_id": town.id, "name": "东线", "weekdays": [1, 2, 3, 4, 5, 6, 7], "departure_time": "08:00",
        "stops": [{"village_id": village.id}, {"village_id": county.villages[1].id}]}, status=201)

    # 1. The village registers 3 boxes.
    registered = doctor.post("/api/v1/shortages", json={
        "client_id": "his-journey-0001", "product_id": amlodipine.id, "qty_packs": 3, "urgency": "urgent"},
        status=201)
    shortage_id = registered["id"]
    assert shortage() == ("registered", "")

    # 2. The township builds and submits the unified order (both bodyless).
    order = township.post("/api/v1/orders/draft", status=201)
    [line] = [li for li in order["lines"] if li["product_id"] == amlodipine.id]
    assert line["shortage_packs"] == 3
    assert township.post(f"/api/v1/orders/{order['id']}/submit")["status"] == "submitted"
    assert shortage() == ("ordered", "on_order")

    # 3. The county approves, allocates (stock set aside, not moved) and ships.
    assert county_api.post(f"/api/v1/orders/{order['id']}/approve")["status"] == "approved"
    county_api.post("/api/v1/orders/allocate", json={"order_ids": [order["id"]]})
    held = stock_row(county_api, central)
    assert (held["on_hand"], held["allocated"], held["available"]) == (300, 30, 270)
    shipment = county_api.post(f"/api/v1/orders/{order['id']}/ship", status=201)
    shipped = stock_row(county_api, central)
    assert (shipped["on_hand"], shipped["allocated"], shipped["available"]) == (270, 0, 270)
    assert shortage() == ("ordered", "upstream_transit")
    to_township = township.get(f"/api/v1/stock/transfers/{shipment['transfer_id']}")
    assert to_township["consignment"]["kind"] == "shipment"
    assert (to_township["consignment"]["order_id"], to_township["consignment"]["shipment_id"]) == \
        (order["id"], shipment["id"])

    # 4. The township signs for the shipment (bodyless: everything arrived as sent).
    township.post(f"/api/v1/orders/{order['id']}/shipments/{shipment['id']}/receive")
    assert shortage() == ("ordered", "at_upstream")

    # 5. The village run is planned (the goods set aside at the township), confirmed and dispatched.
    run = township.post(f"/api/v1/routes/{route['id']}/plan",
                        json={"departure_date": next_weekday(5).isoformat()}, status=201)
    [stop] = [s for s in run["stops"] if s["village_id"] == village.id]
    [planned] = [li for li in stop["lines"] if shortage_id in li["shortage_ids"]]
    assert planned["qty_base"] == 30
    reserved = stock_row(township, town)
    assert (reserved["on_hand"], reserved["reserved"], reserved["available"]) == (30, 30, 0)
    assert township.post(f"/api/v1/deliveries/{run['id']}/confirm")["status"] == "confirmed"
    assert township.post(f"/api/v1/deliveries/{run['id']}/dispatch")["status"] == "dispatched"
    assert stock_row(township, town)["reserved"] == 0
    assert shortage() == ("dispatched", "in_transit")

    # The village finds what is coming: the run, its own stop, the route serving it, the transfer's stop.
    assert [r["id"] for r in doctor.get("/api/v1/deliveries")] == [run["id"]]
    [incoming] = doctor.get("/api/v1/deliveries/stops?status=dispatched")
    assert (incoming["id"], incoming["run_id"], incoming["village_id"]) == (stop["id"], run["id"], village.id)
    [serving] = doctor.get("/api/v1/routes")
    assert [s["village_id"] for s in serving["stops"]] == [village.id]
    [transfer] = doctor.get(f"/api/v1/stock/transfers?facility_id={village.id}&status=in_transit")
    assert transfer["id"] == incoming["transfer_id"]
    assert transfer["consignment"]["id"] == incoming["consignment_id"]
    assert (transfer["consignment"]["kind"], transfer["consignment"]["delivery_stop_id"],
            transfer["consignment"]["delivery_run_id"]) == ("delivery", stop["id"], run["id"])
    elsewhere = BearerClient(doctor.client, county.users["other_village"])  # a village of another township
    assert [elsewhere.get(url) for url in ("/api/v1/deliveries", "/api/v1/deliveries/stops", "/api/v1/routes")] \
        == [[], [], []]
    assert doctor.client.get(f"/api/v1/deliveries/stops/{stop['id']}", headers=elsewhere.headers).status_code == 404
    consignment = doctor.get(f"/api/v1/consignments/{incoming['consignment_id']}")
    assert consignment["links"]["delivery_stop_id"] == stop["id"] and consignment["status"] == "dispatched"

    # 6. The village signs; the shortage is delivered.
    signed = doctor.post(f"/api/v1/deliveries/stops/{stop['id']}/receipt", json={"receiver_name": "李医生", "checked": True})
    assert signed["status"] == "received" and signed["is_proxy_receipt"] is False
    assert shortage() == ("delivered", "delivered")
    assert stock_row(doctor, village)["on_hand"] == 30
    assert doctor.get("/api/v1/deliveries/stops?status=dispatched") == []
