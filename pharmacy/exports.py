"""CSV and XLSX downloads shared by every domain; cells are neutralised against formula injection."""

import csv
import io
from collections.abc import Iterable, Sequence
from decimal import Decimal
from urllib.parse import quote

from flask import Response, stream_with_context
from openpyxl import Workbook

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Return a value a spreadsheet will show as text, never evaluate (numbers stay numbers)."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
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
        writer.writerow(header)
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
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(list(header))
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
        worksheet = workbook.create_sheet(title=sheet[:31])
        worksheet.append(list(header))
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
