"""The CSV and XLSX writers (issue 13, items 1 and 2): no cell a spreadsheet could evaluate, whatever disguises the
formula (full-width signs, zero-width characters, a BOM, leading spaces or controls), and no character a workbook
cannot hold, in every writer of `pharmacy.exports`."""

import csv
import io
from decimal import Decimal

import pytest
from flask import Flask
from openpyxl import load_workbook

from pharmacy.exports import csv_response, safe_cell, xlsx_bytes, xlsx_response, xlsx_stream_response

HOSTILE = [
    "=1+1",
    '=HYPERLINK("http://evil","x")',
    "+1+1",
    "-2+3",
    "@SUM(A1)",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "\tplain",  # a leading tab or CR is refused whatever follows
    "\rplain",
    "＝1+1",  # full-width equals
    "＝cmd|' /C calc'!A0",
    "＋1+1",  # full-width plus
    "－2+3",  # full-width minus
    "＠SUM(A1)",  # full-width at
    "﹦1+1",  # small equals
    "﹢1",  # small plus
    "\u200b=1+1",  # zero-width space
    "\ufeff=1+1",  # byte order mark
    "\u200c\u200d=1+1",  # zero-width (non-)joiners
    "\u2060@SUM(A1)",  # word joiner
    "\u00ad=1+1",  # soft hyphen
    " =1+1",
    "\u3000＝1+1",  # ideographic space, then full-width equals
    "\u00a0+1+1",  # no-break space
    "\u200b\ufeff \t-2+3",
    "-",
    "-1e3",
    "-1,000",
]

BENIGN = [
    ("阿莫西林胶囊", "阿莫西林胶囊"),
    ("a=b", "a=b"),
    ("LOT-2024", "LOT-2024"),
    ("0.25g*24粒", "0.25g*24粒"),
    ("-5", "-5"),  # text that is only a negative number reads as that number
    ("-12.5", "-12.5"),
    ("−3", "−3"),  # U+2212 minus sign is not a formula to Excel
    ("", ""),
    ("第一行\n第二行", "第一行\n第二行"),
    ("\x01=1+1", "\ufffd=1+1"),  # a stored control character in front is replaced: text that shows, not a formula
    (-3, -3),
    (-2.5, -2.5),
    (Decimal("-2.50"), -2.5),
    (None, None),
]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_becomes_an_apostrophe_led_string(text):
    cell = safe_cell(text)
    assert isinstance(cell, str) and cell.startswith("'")
    assert cell[1:] == text


@pytest.mark.parametrize("value,expected", BENIGN)
def test_ordinary_values_are_left_as_they_are(value, expected):
    assert safe_cell(value) == expected and type(safe_cell(value)) is type(expected)


UNWRITABLE = ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1f", "\ud800", "\udfff", "\ufffe", "\uffff"]


@pytest.mark.parametrize("char", UNWRITABLE)
def test_characters_a_workbook_cannot_hold_become_the_replacement_character(char):
    assert safe_cell(f"LOT{char}ABC") == "LOT\ufffdABC"


@pytest.fixture
def request_context():
    app = Flask(__name__)
    with app.test_request_context():
        yield


def _csv_cells(response) -> list[str]:
    text = response.get_data(as_text=True).removeprefix("\ufeff")
    return [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]


def _xlsx_cells(data: bytes) -> list:
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    return [cell for row in sheet.iter_rows() for cell in row]


def _rows():
    return [[text, n] for n, text in enumerate(HOSTILE)] + [[value, "benign"] for value, _ in BENIGN]


def _check_xlsx(data: bytes) -> None:
    cells = _xlsx_cells(data)
    assert not [c.coordinate for c in cells if c.data_type == "f"]  # no cell is stored as a formula
    values = [c.value for c in cells]
    for text in HOSTILE:
        assert "'" + text.replace("\r", "\n") in values or \
            "'" + text in values, repr(text)
    assert "-5" in values and -2.5 in values and "阿莫西林胶囊" in values


def test_csv_escapes_every_hostile_cell_and_its_header(request_context):
    response = csv_response(["=HEAD()", "＝HEAD()"], _rows(), "t.csv")
    cells = _csv_cells(response)
    assert cells[:2] == ["'=HEAD()", "'＝HEAD()"]
    for text in HOSTILE:
        assert "'" + text in cells, repr(text)
    assert "-5" in cells and "-2.5" in cells


@pytest.mark.parametrize("write", ["bytes", "response", "stream"])
def test_every_xlsx_writer_escapes_every_hostile_cell_and_its_header(request_context, write):
    header, rows = ["=HEAD()", "\u200b=HEAD()"], _rows()
    if write == "bytes":
        data = xlsx_bytes({"坏\x01表": (header, rows)})
    elif write == "response":
        data = xlsx_response(header, rows, "t.xlsx", sheet="坏\x01表").get_data()
    else:
        data = b"".join(xlsx_stream_response(header, rows, "t.xlsx", sheet="坏\x01表").response)
    _check_xlsx(data)
    values = [c.value for c in _xlsx_cells(data)]
    assert values[:2] == ["'=HEAD()", "'\u200b=HEAD()"]
