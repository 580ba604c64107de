"""Idempotency keys of client writes: whose key it is, and what was asked under it.

A key (a tablet's `client_id`, a form's or an integration's `idempotency_key`) belongs to the facility the write is
for and the user who sent it: the same key from another village or another user is another write, never an answer
with someone else's record. A row written under a key keeps `key_scope` (unique with the key) and `request_hash`,
the fingerprint of the request it recorded; a repeat with the same key and the same request is a replay (200, the
first result), the same key with a different request is refused (409 `idempotency_key_reused`).
"""

from __future__ import annotations

import hashlib
import json

from flask_babel import gettext as _

from .errors import Conflict

SCOPE_CHARS = 40
HASH_CHARS = 64


def scope_of(facility_id: int, user) -> str:
    """Whose key it is: the facility the write is for and the user sending it ('-' for jobs and commands)."""
    user_id = getattr(user, "id", None)
    return f"f{facility_id}:u{user_id if user_id is not None else '-'}"


def fingerprint(**request) -> str:
    """The SHA-256 of a request's normalised values (ids, quantities, texts), independent of key order."""
    text = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def require_same_request(stored_hash: str, request_hash: str, message: str | None = None) -> None:
    """Refuse a key sent again with another request (rows written before fingerprints were kept pass)."""
    if stored_hash and stored_hash != request_hash:
        raise Conflict(message or _("该幂等键已用于另一项操作"), code="idempotency_key_reused")
