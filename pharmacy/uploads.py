"""Reading uploaded spreadsheets safely: the type is checked by content, not by name, and an XLSX is inspected
as a zip before openpyxl opens it, so a zip bomb (a few KB that inflate to gigabytes) is refused unread.
The request size itself is capped by MAX_CONTENT_LENGTH (413)."""

import csv
import io
import zipfile

from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from .errors import DomainError, InvalidInput

MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
MAX_COMPRESSION_RATIO = 200
MAX_ROWS = 50_000
# Files that are certainly not CSV text whatever their name says (PDF, executables, images, old .xls).
BINARY_SIGNATURES = (b"%PDF", b"MZ", b"\x7fELF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0", b"PK")


class UnsupportedUpload(DomainError):
    status = 415
    code = "unsupported_file"


def _refuse_type():
    raise UnsupportedUpload(_("只能上传 Excel（.xlsx）或 CSV 文件"), fields={"file": [_("文件类型不支持")]})


def _check_zip(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        _refuse_type()
    entries = archive.infolist()
    total = sum(entry.file_size for entry in entries)
    packed = max(1, sum(entry.compress_size for entry in entries))
    if len(entries) > MAX_ZIP_ENTRIES or total > MAX_UNCOMPRESSED_BYTES or total / packed > MAX_COMPRESSION_RATIO:
        raise InvalidInput(_("Excel 文件结构异常（解压后过大），已拒绝"), code="zip_bomb",
                           fields={"file": [_("文件异常")]})
    if "[Content_Types].xml" not in {entry.filename for entry in entries}:
        _refuse_type()


def check_xlsx(data: bytes) -> None:
    """Refuse an XLSX that would inflate too far, before any reader opens it. A file that is not a zip at all is
    left to the caller's reader, which explains in its own words that it cannot read it."""
    try:
        zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return
    _check_zip(data)


def _text(value) -> str:
    return "" if value is None else str(value).strip()


def read_table(upload: FileStorage) -> list[list[str]]:
    """Rows of text from an uploaded .xlsx (first sheet) or .csv (UTF-8 or GB18030), refusing anything else."""
    if upload is None or not upload.filename:
        raise InvalidInput(_("请选择要上传的文件"), fields={"file": [_("必填")]})
    data = upload.read()
    name = upload.filename.lower()
    if data.startswith(b"PK\x03\x04"):
        if not name.endswith(".xlsx"):
            _refuse_type()
        _check_zip(data)
        from openpyxl import load_workbook

        try:
            workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:  # openpyxl raises many kinds on a broken file
            raise InvalidInput(_("无法读取该 Excel 文件"), fields={"file": [_("文件已损坏")]}) from None
        sheet = workbook.worksheets[0]
        rows = []
        for row in sheet.iter_rows(values_only=True):
            rows.append([_text(v) for v in row])
            if len(rows) > MAX_ROWS:
                raise InvalidInput(_("文件行数超过 %(n)s 行", n=MAX_ROWS), fields={"file": [_("行数过多")]})
        workbook.close()
        return rows
    if not name.endswith(".csv") or b"\x00" in data[:4096] or data.startswith(BINARY_SIGNATURES):
        _refuse_type()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InvalidInput(_("CSV 文件编码无法识别（请用 UTF-8 或 GBK）"), fields={"file": [_("编码无法识别")]})
    rows = [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text, newline=""))]
    if len(rows) > MAX_ROWS:
        raise InvalidInput(_("文件行数超过 %(n)s 行", n=MAX_ROWS), fields={"file": [_("行数过多")]})
    return rows
