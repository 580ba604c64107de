"""A form's `next` sends the browser only to a path of this site (one rule, used by sign-in, the language switch,
the matching pages and the shipment form)."""

import pytest

from pharmacy.redirects import local_target


@pytest.mark.parametrize("target", ["/orders/fulfilment", "/stock?tier=village", "/catalog/?q=%E9%98%BF#x"])
def test_a_path_of_this_site_is_kept(target):
    assert local_target(target, "/") == target


@pytest.mark.parametrize("target", [None, "", "https://evil.example/", "//evil.example/x", "/\\evil.example",
                                    "/\\/evil.example", "javascript:alert(1)", "evil.example", "/ok\r\nSet-Cookie: a",
                                    "/a\\b", "\\\\evil.example"])
def test_anything_that_leaves_the_site_falls_back(target):
    assert local_target(target, "/home") == "/home"


def test_the_language_switch_and_sign_in_refuse_a_backslash_host(client, app):
    switched = client.get("/lang/en?next=/%5Cevil.example")
    assert switched.status_code == 302 and "evil" not in switched.headers["Location"]
    from_other_site = client.get("/lang/zh", headers={"Referer": "https://evil.example/x"})
    assert "evil" not in from_other_site.headers["Location"]
    same_site = client.get("/lang/zh", headers={"Referer": "http://localhost/stock?tier=village"})
    assert same_site.headers["Location"].endswith("/stock?tier=village")
