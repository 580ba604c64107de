"""The one vocabulary: every code set has both labels, ranks where they matter, and no other file keeps its own
label map for these codes (the defect: urgency had three sets of words, receipt reasons four)."""

import enum
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from flask_babel import force_locale

import pharmacy
from pharmacy import create_app, vocabulary
from pharmacy.vocabulary import VOCABULARY, DifferenceReason, Term, Urgency

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")
# Codes kept for rows written by earlier versions: readable, never offered, may share a label.
LEGACY = {(DifferenceReason, "missing")}


@pytest.mark.parametrize("name", sorted(VOCABULARY))
def test_every_term_has_a_chinese_and_an_english_label(name):
    terms = VOCABULARY[name]
    assert issubclass(terms, Term)
    for term in terms:
        assert CJK.search(term.zh), (name, term.value, term.zh)
        assert term.en and not CJK.search(term.en), (name, term.value, term.en)
        assert term.en[0].isupper(), (name, term.value, term.en)
    offered = [t for t in terms if (terms, t.value) not in LEGACY]
    for language in ("zh", "en"):
        labels = [t.label_in(language) for t in offered]
        assert len(labels) == len(set(labels)), (name, language, labels)
    ranks = [t.rank for t in terms]
    assert all(r is None for r in ranks) or sorted(ranks) == list(range(len(ranks))), (name, ranks)


def test_every_status_reason_and_urgency_enum_in_the_code_is_a_vocabulary_term():
    sets = set(VOCABULARY.values())
    stray = []
    for module_info in pkgutil.walk_packages(pharmacy.__path__, "pharmacy."):
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (isinstance(value, type) and issubclass(value, enum.Enum) and value.__module__ == module.__name__
                    and re.search(r"Status|Reason|Urgency|Kind|Action|Source|Outcome|Stage|Tier|Role|Rule|Tag",
                                  name) and value not in sets):
                stray.append(f"{module.__name__}.{name}")
    assert stray == []


def test_labels_follow_the_language_of_the_page():
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.test_request_context():
        with force_locale("en"):
            assert Urgency.URGENT.label == "Urgent"
            assert vocabulary.label("emergency", "urgency") == "Emergency"
            assert str(Urgency.ROUTINE.lazy_label) == "Routine"
        with force_locale("zh"):
            assert Urgency.URGENT.label == "紧急"
            assert str(Urgency.ROUTINE.lazy_label) == "常规"
        assert vocabulary.label("no-such-code", "urgency") == "no-such-code"
    assert Urgency.URGENT.label == "紧急"  # outside a request: Chinese, the product's language
    assert [u.value for u in Urgency.by_rank()] == ["emergency", "urgent", "routine"]
    assert [r.value for r in DifferenceReason.allowed_in("receipt")] == [
        "short", "damaged", "lost", "wrong_item", "expired", "other"]


# ---- no other label map -------------------------------------------------------------------------------------

def _sources() -> list[Path]:
    files = [*(ROOT / "pharmacy").rglob("*.py"), *(ROOT / "templates").rglob("*.html"),
             *(ROOT / "pharmacy" / "static").rglob("*.js")]
    return [f for f in files if f.name != "vocabulary.py"]


def _patterns(term: Term) -> list[re.Pattern]:
    """Ways a file spells "this code means this word": a dict or pair entry, an enum key, a template branch."""
    code, member = re.escape(term.value), re.escape(term.name)
    found = []
    for word in {term.zh, term.en}:
        w = re.escape(word)
        label = rf"""(?:_l?|gettext)?\(?\s*["']{w}["']"""
        found += [
            re.compile(rf"""["']{code}["']\s*[:,]\s*{label}"""),              # {'urgent': _('紧急')} / ('urgent', '紧急')
            re.compile(rf"""\b{type(term).__name__}\.{member}\s*:\s*{label}"""),  # {Urgency.URGENT: "紧急"}
            re.compile(rf"""(?<![\w.]){code}\s*:\s*["']{w}["']"""),           # JS: { urgent: "紧急" }
            re.compile(rf"""==\s*["']{code}["']\s*%\}}[^{{]*\{{\{{\s*_\(\s*["']{w}["']"""),  # {% if u == 'urgent' %}{{ _('紧急') }}
            re.compile(rf"""value=["']{code}["'][^>]*>\s*\{{\{{\s*_\(\s*["']{w}["']"""),  # <option value="county">{{ _('县级') }}
        ]
    return [p for p in found if term.value]  # the empty code (a stage) cannot be spelled


def find_label_maps(files) -> list[str]:
    terms = [t for terms in VOCABULARY.values() for t in terms]
    compiled = [(t, p) for t in terms for p in _patterns(t)]
    hits = []
    for path in files:
        text = path.read_text(encoding="utf-8") if isinstance(path, Path) else path[1]
        name = path if isinstance(path, Path) else path[0]
        for term, pattern in compiled:
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                hits.append(f"{name}:{line}: {type(term).__name__}.{term.name} → {m.group(0)!r}")
    return sorted(set(hits))


def test_no_file_outside_the_vocabulary_keeps_a_label_map():
    assert find_label_maps(_sources()) == []


@pytest.mark.parametrize("snippet", [
    'URGENCY_LABELS = {Urgency.ROUTINE: "常规", Urgency.URGENT: "紧急"}',
    "{% macro u(x) %}{{ {'emergency': _('特急'), 'urgent': _('紧急')}.get(x, x) }}{% endmacro %}",
    "{% if u == 'emergency' %}<b>{{ _('特急') }}</b>{% endif %}",
    'var WORDS = { urgent: "Urgent" };',
    'REASONS = [("short", "短少"), ("damaged", "破损")]',
    """<option value="county" {{ 'selected' if t == 'county' }}>{{ _('县级') }}</option>""",
])
def test_the_grep_recognises_the_label_maps_it_replaced(snippet):
    assert find_label_maps([("snippet", snippet)]) != []


def test_a_constant_code_in_a_template_follows_the_language_of_each_request():
    """Jinja folds constant filter calls at compile time; the label filter must not be folded."""
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    template = app.jinja_env.from_string("{{ 'emergency'|label('urgency') }}")
    with app.test_request_context():
        with force_locale("zh"):
            assert template.render() == "特急"
        with force_locale("en"):
            assert template.render() == "Emergency"


def test_no_page_prices_per_box():
    """A pack is a box, a bottle or a tube: prices are per pack (单价（元/包装）), never 元/盒 (issue 12)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    offenders = [str(p.relative_to(root)) for p in [*root.glob("templates/**/*.html"), *root.glob("pharmacy/**/*.py")]
                 if "元/盒" in p.read_text(encoding="utf-8")]
    assert offenders == []
