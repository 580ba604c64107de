"""Every Chinese string the matching pages show has an English entry."""

import re

from babel.messages.pofile import read_po

from pharmacy.config import ROOT

PO = ROOT / "pharmacy" / "matching" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
CJK = re.compile(r"[\u4e00-\u9fff]")


def message_ids() -> set[str]:
    found = set()
    for path in (ROOT / "templates" / "matching").glob("*.html"):
        found |= set(re.findall(r"_\(\s*'((?:[^'\\]|\\.)*)'", path.read_text(encoding="utf-8")))
    for path in (ROOT / "pharmacy" / "matching").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'(?<![\w.])_\(\s*"((?:[^"\\]|\\.)*)"', text))
        # Ids stored or raised now and translated when shown: reasons, refusals, reported rows.
        found |= set(re.findall(r'DictionaryFileError\(\s*"([^"]+)"', text))
        found |= set(re.findall(r'return (?:NO_MATCH|NEEDS_REVIEW), "([^"]+)"', text))
        found |= set(re.findall(r'report\(row(?:\.row_no)?, "([^"]+)"', text))
        found |= set(re.findall(r'reason = [^\n]*"([^"]*[\u4e00-\u9fff][^"]*)"', text))
        found |= set(re.findall(r'row\.notes\.append\(\("([^"]+)"', text))
    from pharmacy.matching.models import STATUS_LABELS
    from pharmacy.matching.views import EXPORT_HEADER
    from pharmacy.navigation import NAV_ITEMS

    found |= set(STATUS_LABELS.values()) | set(EXPORT_HEADER)
    found |= {label for endpoint, label, _ in NAV_ITEMS if endpoint.startswith("matching.")}
    return {m for m in found if CJK.search(m)}


def test_every_chinese_message_has_an_english_translation():
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = {m.id: m.string for m in catalog if m.id}
    missing = sorted(m for m in message_ids() if not translated.get(m))
    assert not missing, missing
