"""Every Chinese message of the deliveries and scheduler domains has an English entry."""

from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from pharmacy.config import Config
from pharmacy.navigation import NAV_ITEMS
from pharmacy.scheduler.jobs import job_definitions

ROOT = Path(__file__).resolve().parents[2]
DOMAINS = ("deliveries", "scheduler")


def _english() -> dict[str, str]:
    entries = {}
    for domain in DOMAINS:
        with open(ROOT / "pharmacy" / domain / "translations/en/LC_MESSAGES/messages.po", "rb") as fh:
            entries |= {m.id: m.string for m in read_po(fh) if m.id}
    return entries


def _used() -> set[str]:
    used = set()
    for domain in DOMAINS:
        sources = [(p, "python") for p in (ROOT / "pharmacy" / domain).glob("*.py")]
        sources += [(p, "jinja2.ext:babel_extract") for p in (ROOT / "templates" / domain).glob("*.html")]
        for path, method in sources:
            for _line, message, _comments, _context in extract_from_file(method, str(path)):
                used.add(message[0] if isinstance(message, tuple) else message)
    used |= {label for endpoint, label, _p in NAV_ITEMS if endpoint.split(".")[0] in DOMAINS}
    used |= {d.label for d in job_definitions(vars(Config))}
    return used


def test_every_message_has_an_english_translation():
    english = _english()
    missing = sorted(m for m in _used() if not english.get(m))
    assert missing == []


def test_placeholders_survive_translation():
    import re

    placeholder = re.compile(r"%\((\w+)\)s")
    for chinese, english in _english().items():
        assert sorted(placeholder.findall(chinese)) == sorted(placeholder.findall(english)), chinese
