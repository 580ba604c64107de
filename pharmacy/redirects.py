"""Where a form may send the browser next: only to a path of this site.

`next` comes from the request, so it is the user's (or an attacker's) text. A path such as `//evil.example` or
`/\\evil.example` is read by browsers as another host, and so is anything with a scheme or a control character.
"""

from urllib.parse import urlsplit


def local_target(target: str | None, default: str) -> str:
    """`target` when it is a path on this site, else `default`."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ord(ch) < 32 or ch == "\\" for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target
