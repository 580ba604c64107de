"""CSV and XLSX downloads shared by every domain.

Every cell (headings too) goes through `safe_cell`, in every writer here:
- text a workbook cannot hold (C0 controls other than tab/newline/CR, lone surrogates, U+FFFE/U+FFFF: openpyxl
  refuses the first, and the others make an XML file Excel will not open) becomes U+FFFD, so one bad character
  stored before input was guarded never turns an export into a 500; new input is refused (`pharmacy.input_guard`);
- text a spreadsheet could read as a formula gets a leading apostrophe (formula injection). What counts is the first
  significant character after any leading spaces and invisible characters (zero-width space, BOM, soft hyphen,
  controls), read after NFKC normalisation: full-width ＝ ＋ － ＠ and the small forms are formulas to Excel in a
  CJK locale. Text that is just a negative number (`-12.5`) stays as it is, and numbers stay numbers.
"""

import csv
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from urllib.parse import quote

from flask import Response, stream_with_context
from openpyxl import Workbook

_FORMULA_START = frozenset("=+-@")
_UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_PLAIN_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
# Characters that show nothing (or only space) before the first visible one.
_INSIGNIFICANT = frozenset({"Zs", "Zl", "Zp", "Cc", "Cf", "Mn", "Me"})


def _reads_as_formula(text: str) -> bool:
    if text[:1] in ("\t", "\r", "\n"):
        return True
    for char in text:
        if unicodedata.category(char) in _INSIGNIFICANT:
            continue
        return unicodedata.normalize("NFKC", char)[:1] in _FORMULA_START and not _PLAIN_NUMBER.fullmatch(text)
    return False


def writable_text(text: str) -> str:
    """Replace what a workbook cannot hold with U+FFFD (the replacement character)."""
    return _UNWRITABLE.sub("\ufffd", text)


def safe_cell(value):
    """Return a value a spreadsheet will show as text, never evaluate (numbers stay numbers)."""
    if isinstance(value, str):
        value = writable_text(value)
        return "'" + value if _reads_as_formula(value) else value
    if isinstance(value, Decimal):
        return float(value)
    return value


def _disposition(filename: str) -> str:
    return f"attachment; filename*=UTF-8''{quote(filename)}"


def csv_response(header: Sequence[str], rows: Iterable[Sequence], filename: str) -> Response:
    """Stream rows as UTF-8 CSV with a BOM, so Excel on Chinese Windows opens it correctly."""

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        buffer.write("\ufeff")
        writer.writerow([safe_cell(v) for v in header])
        for row in rows:
            writer.writerow([safe_cell(v) for v in row])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(stream_with_context(generate()), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": _disposition(filename)})


def xlsx_bytes(sheets: dict[str, tuple[Sequence[str], Iterable[Sequence]]]) -> bytes:
    """Build a workbook in write-only mode (constant memory) from {sheet title: (header, rows)}."""
    workbook = Workbook(write_only=True)
    for title, (header, rows) in sheets.items():
        sheet = workbook.create_sheet(title=writable_text(title)[:31])
        sheet.append([safe_cell(v) for v in header])
        for row in rows:
            sheet.append([safe_cell(v) for v in row])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def xlsx_response(header: Sequence[str], rows: Iterable[Sequence], filename: str, sheet: str = "Sheet1") -> Response:
    return Response(xlsx_bytes({sheet: (header, rows)}),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": _disposition(filename)})


def xlsx_stream_response(header: Sequence[str], rows: Iterable[Sequence], filename: str,
                         sheet: str = "Sheet1") -> Response:
    """Write rows to a workbook on disk as they arrive (openpyxl write-only mode), then stream the file:
    neither the rows nor the finished workbook are held in memory."""
    import tempfile

    # Closed by `chunks` once the response has been sent (or on error here), hence no `with`.
    spool = tempfile.TemporaryFile()  # noqa: SIM115
    try:
        workbook = Workbook(write_only=True)
        worksheet = workbook.create_sheet(title=writable_text(sheet)[:31])
        worksheet.append([safe_cell(v) for v in header])
        for row in rows:
            worksheet.append([safe_cell(v) for v in row])
        workbook.save(spool)
    except BaseException:
        spool.close()
        raise
    size = spool.tell()
    spool.seek(0)

    def chunks():
        with spool:
            while block := spool.read(256 * 1024):
                yield block

    return Response(chunks(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": _disposition(filename), "Content-Length": str(size)})
