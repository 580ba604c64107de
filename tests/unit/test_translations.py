"""One translation test for the whole product: every Chinese message a page, an export, a PDF or an error can show
has one English text, with the same placeholders, in every catalogue that holds it.

Flask-Babel merges the per-domain catalogues, so a Chinese id with two English texts shows whichever catalogue loads
first: that is a defect too. Code labels (urgency, statuses, reasons) are not messages: they come from
`pharmacy.vocabulary`, whose own test checks both languages.
"""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from pharmacy.catalog.models import CATEGORIES
from pharmacy.config import ROOT, Config
from pharmacy.i18n import translation_directories
from pharmacy.navigation import NAV_ITEMS

KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None, "ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
CJK = re.compile(r"[\u4e00-\u9fff]")
# Message ids stored or raised now and translated when shown (the extractor cannot see them).
DEFERRED = [
    re.compile(r'DictionaryFileError\(\s*"([^"]+)"'),
    re.compile(r'return (?:NO_MATCH|NEEDS_REVIEW), "([^"]+)"'),
    re.compile(r'report\(row(?:\.row_no)?, "([^"]+)"'),
    re.compile(r'reason = [^\n]*"([^"]*[\u4e00-\u9fff][^"]*)"'),
    re.compile(r'row\.notes\.append\(\("([^"]+)"'),
]


def _catalogues() -> dict[Path, dict[str, str]]:
    found = {}
    for directory in translation_directories():
        for po in Path(directory).glob("en/LC_MESSAGES/*.po"):
            with po.open("rb") as fh:
                found[po] = {m.id: m.string for m in read_po(fh) if m.id}
    return found


def _english() -> dict[str, str]:
    merged: dict[str, str] = {}
    for entries in _catalogues().values():
        for msgid, msgstr in entries.items():
            if msgstr:
                merged.setdefault(msgid, msgstr)
    return merged


def _extracted() -> set[str]:
    found = set()
    methods = [("pharmacy/**.py", "python"), ("templates/**.html", "jinja2")]
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=methods, keywords=KEYWORDS):
        found.add(message if isinstance(message, str) else message[0])
    for path in (ROOT / "pharmacy").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for pattern in DEFERRED:
            found |= set(pattern.findall(text))
    return found


def _dynamic() -> set[str]:
    """Message ids kept in tables and shown through a variable."""
    from pharmacy.inventory.operations import EXPORT_HEADER as STOCK_HEADER
    from pharmacy.matching.views import EXPORT_HEADER as MATCHING_HEADER
    from pharmacy.reports.reports import REPORTS
    from pharmacy.scheduler.jobs import job_definitions

    found = {label for _e, label, _p in NAV_ITEMS} | set(CATEGORIES)
    found |= set(STOCK_HEADER) | set(MATCHING_HEADER)  # the formulary export keeps the loader's Chinese header
    found |= {d.label for d in job_definitions(vars(Config))}
    for report in REPORTS.values():
        found |= {report.title, report.description, report.date_label} | {c.label for c in report.columns}
    return found


def test_every_message_has_an_english_translation():
    english = _english()
    wanted = {m for m in _extracted() | _dynamic() if m and CJK.search(m)}
    missing = sorted(wanted - {k for k, v in english.items() if v})
    assert not missing, f"{len(missing)} messages lack English: {missing[:40]}"


def test_translations_keep_their_placeholders_and_are_english():
    for po, entries in _catalogues().items():
        for msgid, msgstr in entries.items():
            if not msgstr:
                continue
            assert sorted(PLACEHOLDER.findall(msgid)) == sorted(PLACEHOLDER.findall(msgstr)), (po, msgid)
            # Chinese may stay only where the English quotes it (column names a file must use, say).
            stray = [run for run in re.findall(r"[\u4e00-\u9fff]+", msgstr) if run not in msgid]
            assert not stray, (po, msgid, msgstr)


def test_the_catalogues_agree_where_they_share_a_message():
    texts: dict[str, set[str]] = {}
    for entries in _catalogues().values():
        for msgid, msgstr in entries.items():
            if msgstr:
                texts.setdefault(msgid, set()).add(msgstr)
    assert {k: sorted(v) for k, v in texts.items() if len(v) > 1} == {}
