"""One urgency, one word: 常规 / 紧急 / 特急 (Routine / Urgent / Emergency) on the tablet, the order pages and the
delivery pages, in Chinese and in English (the defect: orders said 紧急 for emergency and 加急 for urgent)."""

import pytest
from flask_babel import force_locale

from pharmacy import create_app
from pharmacy.deliveries.labels import urgency_label
from pharmacy.vocabulary import Urgency

WORDS = {"routine": ("常规", "Routine"), "urgent": ("紧急", "Urgent"), "emergency": ("特急", "Emergency")}


@pytest.fixture(scope="module")
def app():
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.mark.parametrize("code", list(WORDS))
@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_page_says_the_same_word(app, code, locale):
    word = WORDS[code][0 if locale == "zh" else 1]
    macros = app.jinja_env.get_template("orders/_macros.html")
    with app.test_request_context(), force_locale(locale):
        assert Urgency(code).label == word  # tablet and shortage pages
        assert urgency_label(code) == word  # delivery pages
        assert macros.module.urgency_label(code).strip() == word  # order pages
        if code != "routine":
            assert word in str(macros.module.urgency_badge(code))
