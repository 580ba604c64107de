"""Refuse invisible control characters in every text a request brings, before any view sees it.

One character such as U+0001 in a lot number, stored once, used to break every XLSX export that showed it (openpyxl
refuses it). So every query-string value, form value and JSON string (and JSON key) is checked here, once, for:
C0 controls other than tab, newline and carriage return; DEL and the C1 controls (U+007F–U+009F); lone surrogates
(JSON can spell them, `"\\ud800"`, and neither PostgreSQL nor a workbook can hold them); the non-characters U+FFFE
and U+FFFF; and the line and paragraph separators U+2028/U+2029, which look like nothing in a one-line field and
end a line in some readers. The request is answered 422 with a message naming the field and the character;
nothing is written. File uploads are not text fields (their own checks are in `pharmacy/uploads.py`), and exports
still clean what was stored before this guard existed (`pharmacy/exports.py`).
"""

import re

from flask import request
from flask_babel import gettext as _

from .errors import InvalidInput

FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff\u2028\u2029]")


def first_forbidden(text: str) -> tuple[int, str] | None:
    """The position (from 1) and the character of the first forbidden character of `text`, or None."""
    match = FORBIDDEN.search(text)
    return (match.start() + 1, match.group()) if match else None


def _json_strings(value, path: str = ""):
    """Every (path, text) of a JSON document: its string values and its keys, by dotted path (lines.0.lot)."""
    pending = [(path, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            for key, child in item.items():
                name = f"{where}.{key}" if where else str(key)
                yield name, str(key)
                pending.append((name, child))
        elif isinstance(item, list):
            pending.extend((f"{where}.{n}" if where else str(n), child) for n, child in enumerate(item))


def _request_texts():
    for name, text in request.args.items(multi=True):
        yield name, name
        yield name, text
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.mimetype == "application/x-www-form-urlencoded":
            # Parse the form from a kept copy of the body: the API tells a request with a body by its raw bytes
            # (`pharmacy.api._has_body`), which parsing the stream would leave empty. Uploads are not kept.
            request.get_data(cache=True)
        for name, text in request.form.items(multi=True):
            yield name, name
            yield name, text
        if request.is_json:
            yield from _json_strings(request.get_json(silent=True))


def refuse_control_characters() -> None:
    """A `before_request` hook: 422 when any text of the request holds a forbidden character."""
    for name, text in _request_texts():
        found = first_forbidden(text)
        if found is None:
            continue
        position, char = found
        code = f"U+{ord(char):04X}"
        name = FORBIDDEN.sub("\ufffd", name) or "_body"  # the name may hold the character; a bare JSON string has none
        message = _("“%(field)s”的第 %(position)s 个字符（%(code)s）是不可见的控制字符，请删除后重新提交",
                    field=name, position=position, code=code)
        raise InvalidInput(message, code="control_character",
                           fields={name: [_("含有不可见的控制字符（%(code)s）", code=code)]})
