"""Every Chinese string of the orders, purchasing and settlement domains has an English entry with the same
placeholders."""

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "gettext": None, "lazy_gettext": None, "_l": None}
PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# Shown through a variable (status tables, menu labels, categories), so extraction cannot see them.
DYNAMIC = {
    "orders": ["统一订单", "订单审批", "配货发货"],
    "purchasing": ["采购", "待确认", "已确认", "部分到货", "已到货", "已取消"],
    "settlement": ["结算", "化学药品和生物制品", "中成药", "中药饮片", "医用耗材", "医疗机构制剂"],
}


def _msgids(domain: str) -> set[str]:
    found = set(DYNAMIC[domain])
    files = [*(ROOT / "pharmacy" / domain).glob("*.py"), *(ROOT / "templates" / domain).glob("*.html")]
    for path in files:
        method = "python" if path.suffix == ".py" else "jinja2"
        for _line, message, _comments, _context in extract_from_file(method, str(path), keywords=KEYWORDS):
            found.add(message[0] if isinstance(message, tuple) else message)
    return {m for m in found if m}


@pytest.mark.parametrize("domain", sorted(DYNAMIC))
def test_every_string_has_an_english_translation(domain):
    with open(ROOT / "pharmacy" / domain / "translations/en/LC_MESSAGES/messages.po", "rb") as fh:
        catalog = read_po(fh)
    missing, mismatched = [], []
    for msgid in sorted(_msgids(domain)):
        message = catalog.get(msgid)
        if message is None or not message.string:
            missing.append(msgid)
        elif (sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(message.string))
              or re.search(r"[\u4e00-\u9fff]", message.string)):
            mismatched.append(msgid)
    assert not missing, missing
    assert not mismatched, mismatched


def test_the_three_catalogues_agree_where_they_share_a_message():
    """Flask-Babel merges every domain's catalogue: one Chinese text must have one English text."""
    seen: dict[str, set[str]] = {}
    for domain in DYNAMIC:
        with open(ROOT / "pharmacy" / domain / "translations/en/LC_MESSAGES/messages.po", "rb") as fh:
            for message in read_po(fh):
                if message.id:
                    seen.setdefault(message.id, set()).add(message.string)
    assert {k: v for k, v in seen.items() if len(v) > 1} == {}
