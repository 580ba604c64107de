"""Locust users for a county's busy morning (driven by scripts/load_test.py, which sets LOAD_* variables).

- VillageTablet (300 at full size): a village doctor's tablet searching the formulary, registering shortages
  (10 % of registrations are resent with the same client id, as a tablet on a patchy network does), looking at
  its own stock and shortages, signing for goods on their way to it (two taps at once).
- TownshipPharmacist (12): the township's shortages, stock and orders, building an order, the formulary.
- CountyStaff (3): the start page (to-dos), the dashboard, the audit trail, the formulary history.

Tasks use the endpoints the server's OpenAPI document lists, so the mix grows as the domains land.
"""

import os
import random
import re
import uuid

from locust import HttpUser, between, events, task

SCALE = float(os.environ.get("LOAD_SCALE", "1"))
PASSWORD = os.environ.get("LOAD_PASSWORD", "load-test-pass")
TOWNSHIPS = int(os.environ.get("LOAD_TOWNSHIPS", "12"))
VILLAGES = int(os.environ.get("LOAD_VILLAGES", "20"))
SEARCH_TERMS = ["阿莫西林", "AMXL", "硝苯地平", "二甲双胍", "EJSG", "布洛芬", "BLF", "头孢", "氨氯地平", "对乙酰氨基酚",
                "奥美拉唑", "维生素", "胰岛素", "YDS", "板蓝根", "感冒", "降压", "阿司匹林", "ASPL", "甲硝唑"]

MEASURE_SECONDS = float(os.environ.get("LOAD_MEASURE_SECONDS", "0"))
WARMUP_SECONDS = float(os.environ.get("LOAD_WARMUP_SECONDS", "15"))
API_PATHS: set[str] = set()
_tablet_seq = iter(range(10**9))
_signed_in = 0


def expected_users() -> int:
    return sum(cls.fixed_count for cls in (VillageTablet, TownshipPharmacist, CountyStaff))


def _count_sign_in(environment) -> None:
    """Once every user has signed in and a warm-up has let the log-in queue drain, reset the statistics and
    measure MEASURE_SECONDS of sustained load: the figures describe a busy morning, not the log-in storm."""
    global _signed_in
    _signed_in += 1
    if _signed_in != expected_users():
        return
    import gevent

    def start_measuring():
        environment.stats.reset_all()
        print(f"all {_signed_in} users signed in, {WARMUP_SECONDS:.0f} s warm-up done: "
              f"measuring {MEASURE_SECONDS:.0f} s", flush=True)
        if MEASURE_SECONDS:
            gevent.spawn_later(MEASURE_SECONDS, environment.runner.quit)

    gevent.spawn_later(WARMUP_SECONDS, start_measuring)


@events.test_start.add_listener
def discover_api(environment, **_kwargs):
    """Read the OpenAPI document once, so tasks know which endpoints this build has."""
    import json
    import urllib.request

    with urllib.request.urlopen(environment.host + "/api/v1/openapi.json", timeout=30) as response:
        API_PATHS.update(json.load(response)["paths"])


def has(path: str) -> bool:
    return path in API_PATHS


class SignedIn(HttpUser):
    abstract = True
    username = ""

    def sign_in(self, username: str) -> None:
        self.username = username
        page = self.client.get("/login", name="/login [page]").text
        token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
        with self.client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token},
                              name="/login [post]", allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"login {username} → {response.status_code}")
        self.csrf = token
        self.products = []
        _count_sign_in(self.environment)

    def village_products(self) -> list[int]:
        if not self.products:
            if has("/api/v1/shortages/products") and self.username[3:4] == "v":
                # the tablet's offline pick list: what this village may register
                response = self.client.get("/api/v1/shortages/products", name="/api/v1/shortages/products")
                if response.ok:
                    self.products = [p["id"] for p in response.json()][:200]
            else:
                response = self.client.get("/api/v1/catalog/products", params={"per_page": 200},
                                           name="/api/v1/catalog/products [list]")
                if response.ok:
                    self.products = [p["id"] for p in response.json()["items"] if p.get("lowest_tier") == "village"]
        return self.products or [1]


class VillageTablet(SignedIn):
    fixed_count = max(1, round(300 * SCALE))
    wait_time = between(2, 6)

    def on_start(self):
        n = next(_tablet_seq)
        township, village = n % TOWNSHIPS + 1, (n // TOWNSHIPS) % VILLAGES + 1
        self.sign_in(f"t{township:02d}v{village:02d}")
        self.last_registration = None

    @task(6)
    def search(self):
        # What the tablet's search box sends while the doctor types: the matching engine's search-as-you-type.
        self.client.get("/api/v1/catalog/search", params={"q": random.choice(SEARCH_TERMS), "limit": 12},
                        name="/api/v1/catalog/search?q=")

    @task(3)
    def register_shortage(self):
        if not has("/api/v1/shortages"):
            return
        if self.last_registration is not None and random.random() < 0.1:
            body = self.last_registration  # the answer was lost: the tablet sends it again
        else:
            body = {"client_id": str(uuid.uuid4()), "product_id": random.choice(self.village_products()),
                    "qty_packs": random.randint(1, 10), "urgency": random.choice(["routine", "routine", "urgent"]),
                    "reason": "out_of_stock", "note": "负载测试"}
            self.last_registration = body
        self.client.post("/api/v1/shortages", json=body, name="/api/v1/shortages [register]")

    @task(2)
    def my_shortages(self):
        if has("/api/v1/shortages"):
            self.client.get("/api/v1/shortages", params={"mine": "true", "limit": 50},
                            name="/api/v1/shortages [list]")

    @task(2)
    def my_stock(self):
        if has("/api/v1/stock/status"):
            self.client.get("/api/v1/stock/status", name="/api/v1/stock/status")

    @task(1)
    def me(self):
        self.client.get("/api/v1/auth/me")

    @task(1)
    def receive_goods(self):
        """Sign for goods on their way to the village, as two taps (two tabs) at once, each with its own key: one
        books the goods, the other is told they were already received (409), which is a right answer. Other
        tablets of the village may race for the same transfer; the ledger check afterwards proves it was
        booked once."""
        if not has("/api/v1/stock/transfers/{transfer_id}/receive"):
            return
        if not getattr(self, "facility_id", None):
            me = self.client.get("/api/v1/auth/me")
            self.facility_id = me.json()["facility"]["id"] if me.ok else None
            if not self.facility_id:
                return
        listed = self.client.get("/api/v1/stock/transfers", params={"facility_id": self.facility_id,
                                                                   "status": "in_transit"},
                                 name="/api/v1/stock/transfers [in transit]")
        incoming = [t for t in listed.json() if t["to_facility_id"] == self.facility_id] if listed.ok else []
        if not incoming:
            return
        import gevent

        path = f"/api/v1/stock/transfers/{incoming[-1]['id']}/receive"

        def tap():
            with self.client.post(path, json={"idempotency_key": str(uuid.uuid4())},
                                  name="/api/v1/stock/transfers/[id]/receive", catch_response=True) as answer:
                if answer.status_code == 409 and "already_received" in answer.text:
                    answer.success()

        gevent.joinall([gevent.spawn(tap), gevent.spawn(tap)])


class TownshipPharmacist(SignedIn):
    fixed_count = max(1, round(12 * SCALE))
    wait_time = between(1, 4)
    _seq = iter(range(10**9))

    def on_start(self):
        self.sign_in(f"t{next(self._seq) % TOWNSHIPS + 1:02d}")

    @task(3)
    def shortages(self):
        if has("/api/v1/shortages"):
            self.client.get("/api/v1/shortages", params={"open": "true"}, name="/api/v1/shortages [list]")
        else:
            self.client.get("/api/v1/facilities", name="/api/v1/facilities")

    @task(2)
    def orders(self):
        if has("/api/v1/orders"):
            self.client.get("/api/v1/orders", name="/api/v1/orders [list]")

    @task(1)
    def build_order(self):
        """Refresh the township's draft from shortages and need, then add a product by hand."""
        if not has("/api/v1/orders/draft"):
            return
        response = self.client.post("/api/v1/orders/draft", json={}, name="/api/v1/orders/draft [build]")
        if response.ok and has("/api/v1/orders/{order_id}/lines"):
            order_id = response.json()["id"]
            with self.client.post(f"/api/v1/orders/{order_id}/lines",
                                  json={"product_id": random.choice(self.village_products()), "qty_packs": 5},
                                  name="/api/v1/orders/[id]/lines [add]", catch_response=True) as added:
                if added.status_code == 409:  # already on the draft: a valid answer, not an error
                    added.success()

    @task(2)
    def formulary_page(self):
        self.client.get("/catalog", params={"q": random.choice(SEARCH_TERMS)}, name="/catalog [page]")


class CountyStaff(SignedIn):
    fixed_count = max(1, round(3 * SCALE))
    wait_time = between(2, 6)

    def on_start(self):
        self.sign_in("county")

    @task(2)
    def start_page(self):
        self.client.get("/", name="/ [to-dos]")

    @task(2)
    def dashboard(self):
        self.client.get("/dashboard", name="/dashboard")

    @task(2)
    def approvals(self):
        if has("/api/v1/orders/approvals"):
            self.client.get("/api/v1/orders/approvals", name="/api/v1/orders/approvals")

    @task(1)
    def audit(self):
        self.client.get("/admin/audit", name="/admin/audit [page]")

    @task(1)
    def catalog_history(self):
        self.client.get("/catalog/history", name="/catalog/history [page]")
