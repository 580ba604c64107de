"""Security checks generated from the URL map, so that every endpoint, including tomorrow's, is covered:

- horizontal privilege escalation: for every rule with an object id, an object of a facility the user may not
  see is refused with 403/404 (GET) or refused without writing anything (other methods);
- CSRF: every page form refuses a POST without its token, every API write refuses a cross-site form post;
- no 5xx on odd ids and odd query strings.
"""

import re

import pytest
from sqlalchemy import func, select

from pharmacy.audit.models import AuditEvent
from pharmacy.extensions import db
from tests.object_registry import GLOBAL, NOT_OBJECTS, factory_for

WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")


def _rules(app):
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def _methods(rule) -> list[str]:
    return sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})


def _url_params(rule) -> set[str]:
    """Parameters in the URL itself (rule.arguments also holds the rule's defaults)."""
    return set(re.findall(r"<(?:[a-z]+:)?(\w+)>", rule.rule))


def _object_params(rule) -> set[str]:
    return _url_params(rule) - set(NOT_OBJECTS.get(rule.endpoint, {}))


def _is_api(rule) -> bool:
    return rule.rule.startswith("/api/")


def _is_public(app, rule) -> bool:
    return getattr(app.view_functions[rule.endpoint], "_public", False)


def _writes() -> int:
    return db.session.scalar(select(func.count(AuditEvent.id)))


def _send(client, method: str, url: str, api: bool):
    if method == "GET":
        return client.get(url)
    if api:
        return client.open(url, method=method, json={})
    return client.open(url, method=method, data={})


def test_every_url_parameter_is_registered(app):
    missing = sorted({f"{rule.endpoint}: <{param}>" for rule in _rules(app) for param in _object_params(rule)
                      if factory_for(rule.endpoint, param) is None})
    assert not missing, ("add these parameters to tests/object_registry.py (a factory that makes such an object "
                         f"at a facility, or GLOBAL): {missing}")


def _scoped_rules(app):
    return [rule for rule in _rules(app) if not _is_public(app, rule) and _object_params(rule)
            and any(factory_for(rule.endpoint, p) not in (GLOBAL, None) for p in _object_params(rule))]


# (attacker, where the victim's objects live): another county, a neighbouring township, a neighbouring village.
SCENARIOS = {
    "county_vs_other_county": ("county", lambda county, other: other.villages[0]),
    "township_vs_other_township": ("township", lambda county, other: county.villages[-1]),
    "village_vs_neighbour_village": ("village", lambda county, other: county.villages[1]),
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_objects_of_facilities_out_of_scope_are_refused(app, county, login, db_session, scenario):
    from tests.factories import make_county

    other = make_county(townships=1, villages=1)
    attacker_key, victim_of = SCENARIOS[scenario]
    attacker = county.users[attacker_key]
    victim = victim_of(county, other)
    assert not victim.path.startswith(attacker.facility.path) or attacker_key == "county"
    client = login(attacker)
    failures = []
    for rule in _scoped_rules(app):
        made: dict = {}
        values = {}
        for param in sorted(_url_params(rule)):
            factory = factory_for(rule.endpoint, param)
            if param in NOT_OBJECTS.get(rule.endpoint, {}):
                values[param] = NOT_OBJECTS[rule.endpoint][param]
            elif factory == GLOBAL:
                values[param] = 1
            else:
                values[param] = factory(victim, made)
        db_session.flush()
        url = _build(rule, values)
        for method in _methods(rule):
            before = _writes()
            response = _send(client, method, url, _is_api(rule))
            status = response.status_code
            written = _writes() - before
            refused = status in (403, 404) or (method in WRITE_METHODS and status in (400, 409, 415, 422))
            if not refused or written:
                failures.append(f"{method} {url} ({rule.endpoint}) → {status}, {written} rows written")
    assert not failures, "\n".join(failures)


def _build(rule, values: dict) -> str:
    return re.sub(r"<(?:[a-z]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


def _sample_values(rule) -> dict:
    return {param: NOT_OBJECTS.get(rule.endpoint, {}).get(param, 1) for param in _url_params(rule)}


@pytest.fixture
def csrf_on(app):
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = False


def test_every_page_form_refuses_a_post_without_its_token(app, county, login, csrf_on, db_session):
    client = login(county.users["county"])
    checked, failures = 0, []
    for rule in _rules(app):
        if _is_api(rule):
            continue
        for method in _methods(rule):
            if method not in WRITE_METHODS:
                continue
            before = _writes()
            response = client.open(_build(rule, _sample_values(rule)), method=method, data={"x": "1"})
            checked += 1
            if response.status_code != 400 or _writes() != before:
                failures.append(f"{method} {rule.rule} → {response.status_code}")
    assert checked >= 5 and not failures, failures


def test_every_api_write_refuses_a_cross_site_form_post(app, county, login, csrf_on, db_session):
    """A cross-site form can send only form encodings: the API wants JSON or the X-CSRFToken header."""
    checked, failures = 0, []
    for user in ("county", "formulary"):
        client = login(county.users[user])
        for rule in _rules(app):
            if not _is_api(rule):
                continue
            for method in _methods(rule):
                if method not in WRITE_METHODS:
                    continue
                before = _writes()
                response = client.open(_build(rule, _sample_values(rule)), method=method, data={"x": "1"})
                checked += 1
                if not 400 <= response.status_code < 500 or _writes() != before:
                    failures.append(f"{user} {method} {rule.rule} → {response.status_code}")
    assert checked >= 5 and not failures, failures


ODD_IDS = ["0", "-1", "2147483648", "99999999999999999999", "abc", "%00", "1.5", "1;DROP TABLE facility"]


def test_odd_ids_never_cause_a_server_error(app, county, login, db_session):
    client = login(county.users["county"])
    failures = []
    for rule in _rules(app):
        if not _url_params(rule) or rule.endpoint == "static":
            continue
        for odd in ODD_IDS:
            url = re.sub(r"<(?:[a-z]+:)?(\w+)>", odd, rule.rule)
            for method in _methods(rule):
                response = _send(client, method, url, _is_api(rule))
                if response.status_code >= 500:
                    failures.append(f"{method} {url} → {response.status_code}")
    assert not failures, failures


ODD_QUERY = {"q": "' OR 1=1 --", "page": "-5", "limit": "100000000000", "before_id": "x", "date_from": "2026-13-45",
             "status": "{{7*7}}", "tier": "<script>", "text": "%_\\", "facility_id": "1 OR 1=1", "vbp": "maybe"}


def test_odd_query_strings_never_cause_a_server_error(app, county, login, db_session):
    client = login(county.users["county"])
    failures = []
    for rule in _rules(app):
        if "GET" not in _methods(rule) or rule.endpoint in ("static", "i18n.set_language", "home.healthz"):
            continue
        url = _build(rule, _sample_values(rule))
        response = client.get(url, query_string=ODD_QUERY)
        if response.status_code >= 500:
            failures.append(f"GET {url} → {response.status_code}")
    assert not failures, failures
