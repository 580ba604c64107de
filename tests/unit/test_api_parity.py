"""Every page's capability has its endpoint: each action of the HTML pages (a POST route outside /api/) has an API
operation that does the same, so an HIS or a mobile client never has to scrape a form.

A page action finds its twin by name (`orders.cancel` ↔ `orders_api.cancel`, in the API blueprints of the same
domain), else in TWINS; the few that only make sense in a browser are in PAGE_ONLY with the reason.
"""

import pytest

from pharmacy import create_app

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}

# Page blueprint → the API blueprints of the same domain.
API_BLUEPRINTS = {
    "auth": ("auth_api", "users_api"),
    "facilities": ("facilities_api",),
    "catalog": ("catalog_api",),
    "inventory": ("stock_api",),
    "supply": ("supply_api", "consignments_api"),
    "shortages": ("shortages_api",),
    "orders": ("orders_api",),
    "purchasing": ("purchasing_api",),
    "settlement": ("settlement_api",),
    "matching": ("matching_api",),
    "insurance": ("insurance_api",),
    "deliveries": ("deliveries_api", "routes_api"),
    "reports": ("reports_api",),
}

# Page actions whose twin has another name (one or more API operations that together do what the form does).
TWINS = {
    "auth.new_user": ["users_api.create_user"],
    "auth.set_active": ["users_api.set_active"],
    "facilities.new": ["facilities_api.create_facility"],
    "catalog.new_product": ["catalog_api.add_product"],
    "catalog.set_status": ["catalog_api.withdraw_product", "catalog_api.reinstate_product"],
    "deliveries.new_route": ["routes_api.create_route"],
    "deliveries.edit_route": ["routes_api.update_route"],
    "deliveries.plan_route": ["routes_api.plan_route"],
    "deliveries.cancel": ["deliveries_api.cancel_run"],
    "deliveries.confirm": ["deliveries_api.confirm_run"],
    "deliveries.reopen": ["deliveries_api.reopen_run"],
    "deliveries.dispatch": ["deliveries_api.dispatch_run"],
    "deliveries.update_details": ["deliveries_api.update_run"],
    "deliveries.receipt": ["deliveries_api.receive_stop"],
    "matching.upload": ["matching_api.upload_import"],
    "insurance.upload": ["insurance_api.upload_import"],
    "orders.review": ["orders_api.approve_line", "orders_api.reject_line", "orders_api.approve"],
    "orders.save": ["orders_api.update_line"],
    "purchasing.save": ["purchasing_api.update_line"],
    "purchasing.set_product": ["purchasing_api.set_supplier_product"],
    "purchasing.remove_product": ["purchasing_api.remove_supplier_product"],
    "shortages.acknowledge_group": ["shortages_api.acknowledge_many"],
    "supply.transfer": ["supply_api.send_transfer"],
}

# Page actions with no API twin, and why.
PAGE_ONLY = {
    "auth.login": "the browser's sign-in form: API clients send a bearer token (made on /account) instead",
    "auth.logout": "ends the browser's cookie session; a client revokes its token (auth_api.revoke_token)",
}


@pytest.fixture(scope="module")
def application():
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def _api_writes(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if rule.rule.startswith("/api/") and (rule.methods or set()) & WRITE_METHODS
            and getattr(app.view_functions[rule.endpoint], "_api_doc", None) is not None}


def _page_actions(app) -> set[str]:
    return {rule.endpoint for rule in app.url_map.iter_rules()
            if not rule.rule.startswith("/api/") and "POST" in (rule.methods or set())}


def _twins(endpoint: str, api: set[str]) -> list[str]:
    if endpoint in TWINS:
        return TWINS[endpoint]
    blueprint, name = endpoint.split(".", 1)
    return [f"{api_bp}.{name}" for api_bp in API_BLUEPRINTS.get(blueprint, ()) if f"{api_bp}.{name}" in api][:1]


def test_every_page_action_has_an_api_twin(application):
    api = _api_writes(application)
    missing = sorted(endpoint for endpoint in _page_actions(application)
                     if endpoint not in PAGE_ONLY and not _twins(endpoint, api))
    assert missing == [], f"page actions without an API operation (add one, or a reason to PAGE_ONLY): {missing}"


def test_the_named_twins_exist_and_the_lists_name_real_page_actions(application):
    api = _api_writes(application)
    pages = _page_actions(application)
    assert sorted(twin for twins in TWINS.values() for twin in twins if twin not in api) == []
    assert sorted(set(TWINS) - pages) == [] and sorted(set(PAGE_ONLY) - pages) == []
    assert not set(TWINS) & set(PAGE_ONLY)
