"""Shared client steps for the order tests; their data comes from tests.factories."""


def use_language(client, code: str):
    """Switch the client's language for its next requests."""
    client.get(f"/lang/{code}")
    return client


def csrf_header(client) -> dict:
    """The X-CSRFToken header a page's script would send (multipart API calls need it)."""
    import re

    page = client.get("/orders").get_data(as_text=True)
    return {"X-CSRFToken": re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)}
