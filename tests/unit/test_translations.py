"""Every Chinese message the UI can show has an English translation, and placeholders survive translation."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from pharmacy.auth.policy import ROLE_LABELS
from pharmacy.catalog.models import CATEGORIES, CHRONIC_LABELS
from pharmacy.config import ROOT
from pharmacy.i18n import translation_directories
from pharmacy.navigation import NAV_ITEMS

KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\(\w+\)s")


def _english() -> dict[str, str]:
    messages = {}
    for directory in translation_directories():
        for po in Path(directory).glob("en/LC_MESSAGES/*.po"):
            with po.open("rb") as fh:
                for message in read_po(fh):
                    if message.id and message.string:
                        messages[message.id] = message.string
    return messages


def _extracted() -> set[str]:
    found = set()
    methods = [("pharmacy/**.py", "python"), ("templates/**.html", "jinja2")]
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=methods, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    return {m for m in found if re.search(r"[\u4e00-\u9fff]", m)}


def test_every_message_has_an_english_translation():
    english = _english()
    dynamic = {label for _e, label, _p in NAV_ITEMS} | set(ROLE_LABELS.values()) | set(CHRONIC_LABELS.values()) \
        | set(CATEGORIES)
    missing = sorted((_extracted() | dynamic) - set(english))
    assert not missing, f"{len(missing)} messages lack English: {missing[:40]}"


def test_translations_keep_their_placeholders():
    for msgid, msgstr in _english().items():
        assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), msgid
