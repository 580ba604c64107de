"""Hostile spreadsheets, zipped by hand: small on the wire, ruinous to a reader that trusts them."""

import io
import os
import zipfile

from openpyxl import Workbook

SHEET = "xl/worksheets/sheet1.xml"
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _with_parts(parts: dict[str, str | bytes]) -> bytes:
    """A real workbook (from openpyxl) whose named parts are replaced by the given text."""
    plain = io.BytesIO()
    Workbook().save(plain)
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename not in parts:
                target.writestr(item.filename, source.read(item.filename))
        for name, text in parts.items():
            target.writestr(name, text.encode() if isinstance(text, str) else text)
    return out.getvalue()


def _sheet(rows_xml: str, dimension: str = "A1:B2", prolog: str = "") -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?>{prolog}<worksheet {NS}><dimension ref="{dimension}"/>'
            f"<sheetData>{rows_xml}</sheetData></worksheet>")


def heading_rows(headings: list[str], rows: list[list[str]]) -> str:
    letters = "ABCDEFGHIJ"
    xml = []
    for number, values in enumerate([headings, *rows], start=1):
        cells = "".join(_inline(f"{letters[i]}{number}", v) for i, v in enumerate(values))
        xml.append(f'<row r="{number}">{cells}</row>')
    return "".join(xml)


def huge_dimension(headings: list[str], rows: list[list[str]]) -> bytes:
    """A sheet that declares A1:XFD1048576 but holds a few cells: a reader that pads to it makes 17 billion."""
    return _with_parts({SHEET: _sheet(heading_rows(headings, rows), dimension="A1:XFD1048576")})


def cell_in_last_column(headings: list[str], rows: list[list[str]], copies: int = 3000) -> bytes:
    """Rows below the data carry one cell in column XFD (16 384) each: each row read becomes 16 384 values."""
    xml = [heading_rows(headings, rows)]
    first = len(rows) + 2
    xml.extend(f'<row r="{n}"><c r="XFD{n}"><v>1</v></c></row>' for n in range(first, first + copies))
    return _with_parts({SHEET: _sheet("".join(xml), dimension="A1:XFD1048576")})


def far_row(headings: list[str], rows: list[list[str]]) -> bytes:
    """The last row is numbered 1 048 576: a reader fills in a million empty rows before it."""
    xml = heading_rows(headings, rows) + '<row r="1048576"><c r="A1048576"><v>1</v></c></row>'
    return _with_parts({SHEET: _sheet(xml, dimension="A1:XFD1048576")})


BILLION_LAUGHS = ('<!DOCTYPE lolz [<!ENTITY lol "lol">'
                  + "".join(f'<!ENTITY lol{i} "{("&lol%s;" % ("" if i == 1 else i - 1)) * 10}">' for i in range(1, 10))
                  + "]>")


def billion_laughs(headings: list[str]) -> bytes:
    """A DTD whose entities expand to a billion "lol"s."""
    return _with_parts({SHEET: _sheet(heading_rows(headings, [["&lol9;"]]), prolog=BILLION_LAUGHS)})


def external_entity(headings: list[str]) -> bytes:
    """A DTD that asks the reader to include /etc/passwd (XXE)."""
    prolog = '<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return _with_parts({SHEET: _sheet(heading_rows(headings, [["&xxe;"]]), prolog=prolog)})


def _padded(parts: dict[str, str]) -> bytes:
    """The parts, with an incompressible picture beside them, so the archive's overall ratio looks ordinary."""
    return _with_parts({**parts, "xl/media/image1.png": os.urandom(128 * 1024)})


def wide_row(headings: list[str], cells: int = 200_000) -> bytes:
    """One row of `cells` cells without references (openpyxl numbers them on): a tree of them all in memory."""
    row = heading_rows(headings, []) + '<row r="2">' + "<c/>" * cells + "</row>"
    return _padded({SHEET: _sheet(row)})


def many_elements(headings: list[str], count: int = 300_000) -> bytes:
    """Elements openpyxl does not know, outside the rows: it keeps every one of them in its tree."""
    xml = _sheet(heading_rows(headings, [])).replace("</sheetData>", "</sheetData>" + "<x/>" * count)
    return _padded({SHEET: xml})
