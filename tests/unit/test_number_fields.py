"""Whole numbers are integers in ASCII digits and money is a decimal string, everywhere (issue 13)."""

import re
from decimal import Decimal

import pytest
from marshmallow import Schema, ValidationError

from pharmacy.config import ROOT
from pharmacy.fields import Integer, Money, ascii_int


class Numbers(Schema):
    qty = Integer()
    price = Money(places=2)


@pytest.mark.parametrize("raw,expected", [(3, 3), ("3", 3), (" 12 ", 12), ("+4", 4), ("-2", -2), ("007", 7)])
def test_integer_takes_ascii_whole_numbers(raw, expected):
    assert Numbers().load({"qty": raw})["qty"] == expected


@pytest.mark.parametrize("raw", [2.9, 1.5, 2.0, True, False, "٣", "５", "²", "①", "1e1", "2.0", "", " ", "0x10",
                                 "1_000", None, [], {}])
def test_integer_refuses_everything_else(raw):
    with pytest.raises(ValidationError) as refused:
        Numbers().load({"qty": raw})
    assert "qty" in refused.value.messages


@pytest.mark.parametrize("raw,expected", [("12.5", Decimal("12.50")), (12.5, Decimal("12.50")), (3, Decimal("3.00")),
                                          ("0", Decimal("0.00"))])
def test_money_takes_decimal_strings_and_numbers(raw, expected):
    assert Numbers().load({"price": raw})["price"] == expected


@pytest.mark.parametrize("raw", ["٣", "１２.５", "NaN", "Infinity", "1e3", True, "12,5", float("nan"), 1e300])
def test_money_refuses_other_digits_and_special_values(raw):
    with pytest.raises(ValidationError):
        Numbers().load({"price": raw})


def test_money_is_written_as_a_string():
    assert Numbers().dump({"price": Decimal("12.5")}) == {"price": "12.50"}


@pytest.mark.parametrize("raw,expected", [("12", 12), (" 7", 7), ("٣", None), ("５", None), ("²", None), ("1.0", None),
                                          ("", None), (None, None), (True, None), (5, 5)])
def test_ascii_int(raw, expected):
    assert ascii_int(raw) == expected


def test_no_schema_or_view_reads_numbers_the_lenient_way():
    """marshmallow's Int truncates 2.9 and reads ٣; werkzeug's type=int and int() read ٣ too."""
    lenient = re.compile(r"\bfields\.(Int|Integer|Decimal)\(|type=int\b")
    offenders = [f"{path.relative_to(ROOT)}:{number}"
                 for path in sorted((ROOT / "pharmacy").rglob("*.py")) if path.name != "fields.py"
                 for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
                 if lenient.search(line) and "click" not in line]
    assert offenders == []
