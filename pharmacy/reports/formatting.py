"""How figures read on a page and in a download, in the user's language and the county's time zone."""

from datetime import date, datetime
from decimal import Decimal

from flask_babel import format_date, format_decimal
from flask_babel import gettext as _

from .. import clock
from . import charts


def pct(value, digits: int = 1) -> str:
    if value is None:
        return "—"
    return format_decimal(float(value) * 100, format="#,##0." + "0" * digits if digits else "#,##0") + "%"


def points_change(value, digits: int = 1) -> str:
    """A change of a share, in percentage points with a sign."""
    if value is None:
        return ""
    number = float(value) * 100
    return ("+" if number > 0 else "") + format_decimal(number, format="#,##0." + "0" * digits)


def number(value, digits: int = 0) -> str:
    if value is None:
        return "—"
    return format_decimal(float(value), format="#,##0" + ("." + "0" * digits if digits else ""))


def money(value) -> str:
    if value is None:
        return "—"
    return "¥" + format_decimal(float(value), format="#,##0")


def days(value) -> str:
    if value is None:
        return "—"
    return _("%(n)s 天", n=format_decimal(float(value), format="#,##0.0"))


def local(value: datetime | None) -> datetime | None:
    """A stored UTC time as a naive local time (spreadsheets refuse time zones)."""
    if value is None:
        return None
    return clock.to_local(value).replace(tzinfo=None)


def short_name(name: str, within: str = "") -> str:
    """A facility's name as a grid column or a chip shows it: 城关镇卫生院 → 城关镇; 城关镇李家庄村卫生室 → 李家庄村
    when shown within 城关镇卫生院."""
    for suffix in ("卫生院", "卫生室"):
        name = name.removesuffix(suffix)
    prefix = within.removesuffix("卫生院")
    if prefix and name.startswith(prefix) and len(name) > len(prefix):
        name = name[len(prefix):]
    return name


def week_label(moment: datetime) -> str:
    return format_date(local(moment).date(), "MM-dd")


def trend_chart(trend, *, fmt=number, kind: str = "line", better: str | None = None, caption: str = "",
                lower=None, upper=None, zero_based: bool = True):
    """The small chart of a figure: `better` is 'up' or 'down' and colours the line by the last four weeks."""
    if trend is None:
        return ""
    tone = "neutral"
    change = trend.change()
    if better and change:
        tone = "good" if (change > 0) == (better == "up") else "bad"
    labels = [week_label(p) for p in trend.points]
    values = [None if v is None else float(v) for v in trend.values]
    if kind == "columns":
        return charts.columns(values, labels=labels, fmt=fmt, tone=tone, caption=caption)
    return charts.sparkline(values, labels=labels, fmt=fmt, tone=tone, caption=caption, lower=lower, upper=upper,
                            zero_based=zero_based)


def change_tone(change, better: str) -> str:
    if not change:
        return "flat"
    return "good" if (change > 0) == (better == "up") else "bad"


def cell_value(value, kind: str, labels=None):
    """A report cell for the page."""
    if value is None or value == "":
        return ""
    if kind == "int":
        return number(value)
    if kind == "num":
        return number(value, 1)
    if kind == "money":
        return format_decimal(float(value), format="#,##0.00")
    if kind == "date":
        return value.isoformat() if isinstance(value, date) else str(value)[:10]
    if kind == "datetime":
        return local(value).strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)[:16]
    if kind == "enum":
        return labels.label_of(value) if labels is not None and value is not None else value
    return value


def export_value(value, kind: str, labels=None):
    """A report cell for CSV/XLSX: numbers stay numbers, times are local, enums in the user's language."""
    if value is None:
        return ""
    if kind == "datetime" and isinstance(value, datetime):
        return local(value).replace(microsecond=0)
    if kind == "enum":
        return labels.label_of(value) if labels is not None and value is not None else value
    if kind in ("num", "money") and isinstance(value, (Decimal, float)):
        return round(float(value), 2)
    return value
