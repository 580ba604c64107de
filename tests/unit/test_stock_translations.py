"""Every Chinese string of the stock and shortage pages and messages has an English entry."""

from pathlib import Path

import pytest
from babel.messages.extract import extract
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
# Labels kept in dicts (gettext is applied where they are shown), so extraction cannot see them.
LABEL_MODULES = {
    "inventory": ("pharmacy.inventory.views", ["STATUS_LABELS", "KIND_LABELS", "REASON_LABELS", "EXPORT_HEADER"]),
    "shortages": ("pharmacy.shortages.models", ["STATUS_LABELS", "URGENCY_LABELS", "REASON_LABELS"]),
}


def _message_ids(domain: str) -> set[str]:
    ids = set()
    files = [*(ROOT / "pharmacy" / domain).glob("*.py"), *(ROOT / "templates" / domain).glob("*.html")]
    for path in files:
        method = "jinja2.ext:babel_extract" if path.suffix == ".html" else "python"
        with path.open("rb") as handle:
            for _line, message, _comments, _context in extract(method, handle, keywords={"_": None},
                                                               options={} if method == "python" else {"extensions": ""}):
                ids.add(message[0] if isinstance(message, tuple) else message)
    module, names = LABEL_MODULES[domain]
    imported = __import__(module, fromlist=names)
    for name in names:
        value = getattr(imported, name)
        ids.update(value.values() if isinstance(value, dict) else value)
    return ids


@pytest.mark.parametrize("domain", ["inventory", "shortages"])
def test_every_message_has_english(domain):
    with (ROOT / "pharmacy" / domain / "translations/en/LC_MESSAGES/messages.po").open("rb") as handle:
        catalog = read_po(handle)
    english = {m.id: m.string for m in catalog if m.id}
    missing = sorted(i for i in _message_ids(domain) if not english.get(i))
    assert missing == []
    assert all("%(" not in k or sorted(_names(k)) == sorted(_names(v)) for k, v in english.items())


def _names(text: str) -> list[str]:
    import re

    return re.findall(r"%\((\w+)\)s", text)
