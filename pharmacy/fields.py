"""The API's numbers and dates: whole numbers are integers written with ASCII digits, money is a decimal string,
an expiry date is YYYY-MM-DD.

Python's `int()` and `Decimal()` read any Unicode digit (`int("٣") == 3`, `int("５") == 5`) and marshmallow's
`Integer` truncates `2.9` to 2; a quantity must never be guessed, so every `schemas.py` declares its whole numbers
with `Integer` and its amounts with `Money`, and views parse request input with `ascii_int`.
"""

import numbers
import re
from collections.abc import Mapping

from flask_babel import gettext as _
from marshmallow import ValidationError, fields

ASCII_INTEGER = re.compile(r"^[+-]?[0-9]+$")
ASCII_DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def ascii_int(raw) -> int | None:
    """The whole number a request input writes with ASCII digits (an optional sign, spaces around), else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw
    if not isinstance(raw, str):
        return None
    text = raw.strip()
    return int(text) if ASCII_INTEGER.match(text) else None


def whole_number_or_text(raw: str):
    """A typed number as an int when it is one, else as typed (the schema then says what is wrong with it)."""
    number = ascii_int(raw)
    return raw if number is None else number


class Integer(fields.Integer):
    """A whole number: a JSON integer, or a text of ASCII digits (forms and query strings); never a fraction, a
    boolean or another script's digits."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strict", True)
        super().__init__(**kwargs)

    def _validated(self, value):
        if isinstance(value, str):
            number = ascii_int(value)
            if number is None:
                raise self.make_error("invalid")
            value = number
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise self.make_error("invalid")
        return super()._validated(value)


Int = Integer


class Money(fields.Decimal):
    """An amount of yuan: written as a decimal string ("12.50"), read from such a string or a JSON number; never
    NaN, infinity, an exponent or another script's digits."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("as_string", True)
        super().__init__(*args, **kwargs)

    def _validated(self, value):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, str):
            value = value.strip()
            if not ASCII_DECIMAL.match(value):
                raise self.make_error("invalid")
        if isinstance(value, float):
            value = repr(value)
            if not ASCII_DECIMAL.match(value):
                raise self.make_error("invalid")
        return super()._validated(value)


class ExpiryDate(fields.Date):
    """An expiry date as the county writes it, YYYY-MM-DD; anything else is refused with that format named."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError:
            raise ValidationError(_("有效期格式应为 YYYY-MM-DD")) from None


def blank_is_missing(data, names=("lot_number", "expiry_date")):
    """For a schema's `pre_load`: an empty or blank field among `names` is a missing one (必填), never a malformed
    one; the others are kept stripped."""
    if not isinstance(data, Mapping):
        return data
    data = dict(data)
    for name in names:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            data.pop(name, None)
        elif isinstance(value, str):
            data[name] = value.strip()
    return data
