"""Reading uploaded spreadsheets safely: the type is checked by content, not by name, and an XLSX is inspected
as a zip before openpyxl opens it, so a zip bomb (a few KB that inflate to gigabytes) is refused unread.
The request size itself is capped by MAX_CONTENT_LENGTH (413).

A sheet is then read in openpyxl's streaming (read-only) mode under `SheetLimits`: its declared size is ignored
(a 5 KB file may declare A1:XFD1048576, and openpyxl pads every row to what the sheet declares), only the first
columns are read, and reading stops with a refusal past a number of rows, of cells with a value, of characters of
text, or of CPU seconds. What is kept is therefore bounded by the limits, whatever the file says. Before that, every
XML part is streamed through expat, so that openpyxl is never handed a part that would make it hold a huge tree.
XML with a DTD (entity expansion, external entities) is refused, by that scan and by defusedxml, which openpyxl uses
when it is installed.

CSV is read line by line under the same limits. Its text must be Chinese: UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030. The legacy encoding is
told by charset-normalizer, so a Shift-JIS or Big5 file is refused instead of being read as GBK nonsense."""

import csv
import io
import time
import zipfile
from dataclasses import dataclass
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

from defusedxml import DefusedXmlException
from flask_babel import gettext as _
from werkzeug.datastructures import FileStorage

from .errors import DomainError, InvalidInput

MAX_UNCOMPRESSED_BYTES = 64 * 1024 * 1024
MAX_ZIP_ENTRIES = 500
MAX_COMPRESSION_RATIO = 200
MAX_ROWS = 50_000
# Files that are certainly not CSV text whatever their name says (PDF, executables, images, old .xls).
BINARY_SIGNATURES = (b"%PDF", b"MZ", b"\x7fELF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\xd0\xcf\x11\xe0", b"PK")
# charset-normalizer's names for the encodings a Chinese PC writes.
CHINESE_LEGACY = {"gb18030", "gbk", "gb2312", "hz"}
KOREAN = ["cp949", "euc_kr", "johab", "iso2022_kr"]
# How much more "chaos" (charset-normalizer's measure of implausible text) than the best guess a GB reading may
# show, and the share of common hanzi it must have, to be taken when the detector ranks another encoding first.
CHAOS_TOLERANCE = 0.1
CHINESE_SHARE = 0.9
SAMPLE_BYTES = 256 * 1024
# openpyxl builds a tree of each XML part it reads, releasing only sheet rows and shared strings once read. So that
# memory is bounded whatever the file, the parts are first scanned as a stream: at most this many elements held at
# once outside a row or shared string, and in one row (16 384 cells, the format's maximum, and their values) or string.
RELEASED = {"row", "si"}
MAX_HELD_ELEMENTS = 250_000
MAX_ELEMENTS_PER_ROW = 100_000
# A CSV line longer than this is no dictionary or order line (five columns of names are a few hundred characters).
MAX_LINE_CHARS = 65_536


@dataclass(frozen=True)
class SheetLimits:
    """What one import may read from a sheet: rows (by row number; blank rows may run `blank_tail` further),
    leading columns, cells with a value, characters of text, and CPU seconds."""

    rows: int
    blank_tail: int = 10_000
    columns: int = 64
    cells: int = 200_000
    chars: int = 4_000_000
    cpu_seconds: float = 10.0


class UnsupportedUpload(DomainError):
    status = 415
    code = "unsupported_file"


class UploadRefused(InvalidInput):
    """An upload refused whole; `message_id` and `params` say why (readers that report in their own words)."""

    def __init__(self, message_id: str, *, code: str, **params):
        self.message_id, self.params = message_id, params
        message = _(message_id, **params)
        super().__init__(message, code=code, fields={"file": [message]})


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


def _unsafe_xml(exc: BaseException) -> bool:
    """Whether openpyxl failed on XML that declares a DTD or entities (defusedxml's refusals, or expat's own)."""
    while exc is not None:
        if isinstance(exc, DefusedXmlException):
            return True
        if isinstance(exc, ParseError) and any(word in str(exc).lower() for word in ("entit", "dtd")):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _refuse_unsafe():
    raise UploadRefused("Excel 文件含有不允许的 XML 声明（DTD/实体），已拒绝", code="unsafe_xml")


class _Budget:
    def __init__(self, limits: SheetLimits):
        self.limits, self.cells, self.chars = limits, 0, 0
        self.deadline = time.thread_time() + limits.cpu_seconds

    def keep(self, values: tuple) -> list:
        """The row's values with trailing blanks cut, counted against the limits."""
        row = list(values)
        while row and row[-1] in (None, ""):
            row.pop()
        for value in row:
            if value in (None, ""):
                continue
            self.cells += 1
            if isinstance(value, str):
                self.chars += len(value)
        if self.cells > self.limits.cells or self.chars > self.limits.chars:
            raise UploadRefused("表格内容过多（超过 %(n)s 个单元格或字数过多），请分批导入", code="sheet_too_large",
                                n=self.limits.cells)
        return row

    def check_time(self) -> None:
        if time.thread_time() > self.deadline:
            raise UploadRefused("读取表格超时（内容过多或结构异常），已拒绝", code="sheet_too_slow")


def _bounded(rows, budget: "_Budget") -> list[list]:
    """The rows (tuples or lists of at most `limits.columns` values), trailing blanks cut, within the budget: blank
    rows may run `blank_tail` past the last row allowed, a row with a value there is refused."""
    limits = budget.limits
    kept: list[list] = []
    blank_run = 0
    for number, values in enumerate(rows, start=1):
        if number % 256 == 0:
            budget.check_time()
        row = [] if values.count(None) == len(values) else budget.keep(values)
        if not row and number <= limits.rows + limits.blank_tail:
            blank_run += 1
            continue
        if number > limits.rows:
            raise UploadRefused("表格超过 %(n)s 行，请分批导入", code="sheet_too_large", n=limits.rows)
        kept.extend([] for _blank in range(blank_run))
        blank_run = 0
        kept.append(row)
    return kept


def _csv_lines(text: str):
    # One line at a time, so that csv never builds a row of millions of fields from one endless line.
    for line in io.StringIO(text, newline=""):
        if len(line) > MAX_LINE_CHARS:
            raise UploadRefused("CSV 文件有一行超过 %(n)s 个字符，已拒绝", code="sheet_too_large", n=MAX_LINE_CHARS)
        yield line


def read_csv(text: str, limits: SheetLimits, delimiter: str = ",") -> list[list[str]]:
    """The rows of CSV text within `limits`, as `read_sheet` reads a sheet."""
    reader = csv.reader(_csv_lines(text), delimiter=delimiter)
    try:
        return _bounded((row[:limits.columns] for row in reader), _Budget(limits))
    except csv.Error:
        raise UploadRefused("CSV 格式有误（第 %(line)s 行）", code="bad_file", line=reader.line_num) from None


def _scan_xml(archive: zipfile.ZipFile, budget: "_Budget") -> None:
    """Stream every XML part of the workbook through expat: refuse a DTD or an entity declaration, and a part that
    would make openpyxl hold too many elements at once."""
    for entry in archive.infolist():
        if not entry.filename.endswith((".xml", ".rels")):
            continue
        held = inside = seen = 0
        depth_in_released = 0

        def start(name, _attrs):
            nonlocal held, inside, seen, depth_in_released
            seen += 1
            if seen % 4096 == 0:
                budget.check_time()
            if depth_in_released:
                depth_in_released += 1
                inside += 1
                if inside > MAX_ELEMENTS_PER_ROW:
                    raise UploadRefused("表格内容过多（超过 %(n)s 个单元格或字数过多），请分批导入",
                                        code="sheet_too_large", n=budget.limits.cells)
            elif name.rpartition("}")[2] in RELEASED:
                depth_in_released, inside = 1, 1
            else:
                held += 1
                if held > MAX_HELD_ELEMENTS:
                    raise UploadRefused("表格内容过多（超过 %(n)s 个单元格或字数过多），请分批导入",
                                        code="sheet_too_large", n=budget.limits.cells)

        def end(_name):
            nonlocal depth_in_released
            if depth_in_released:
                depth_in_released -= 1

        def declaration(*_args):
            _refuse_unsafe()

        parser = expat.ParserCreate(namespace_separator="}")
        parser.StartElementHandler, parser.EndElementHandler = start, end
        parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = declaration
        try:
            with archive.open(entry) as part:
                while chunk := part.read(64 * 1024):
                    parser.Parse(chunk, False)
                parser.Parse(b"", True)
        except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError):
            raise InvalidInput(_("无法读取该 Excel 文件"), code="bad_file", fields={"file": [_("文件已损坏")]}) from None


def read_sheet(data: bytes, limits: SheetLimits) -> list[list]:
    """The values of the first sheet's rows (row i is row i + 1 of the sheet; trailing blank rows and cells cut),
    within `limits`. Raises UploadRefused past a limit or on unsafe XML, and InvalidInput on an unreadable file."""
    from openpyxl import load_workbook

    check_xlsx(data)
    budget = _Budget(limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise InvalidInput(_("无法读取该 Excel 文件"), code="bad_file", fields={"file": [_("文件已损坏")]}) from None
    _scan_xml(archive, budget)
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a broken file
        if _unsafe_xml(exc):
            _refuse_unsafe()
        raise InvalidInput(_("无法读取该 Excel 文件"), code="bad_file", fields={"file": [_("文件已损坏")]}) from None
    try:
        budget.check_time()
        sheet = workbook.worksheets[0]
        # The declared size is the file's word, not a fact: openpyxl pads each row to it.
        sheet.reset_dimensions()
        return _bounded(sheet.iter_rows(min_row=1, min_col=1, max_col=limits.columns, values_only=True), budget)
    except DomainError:
        raise
    except Exception as exc:
        if _unsafe_xml(exc):
            _refuse_unsafe()
        raise InvalidInput(_("无法读取该 Excel 文件"), code="bad_file", fields={"file": [_("文件已损坏")]}) from None
    finally:
        workbook.close()


def _gb2312_share(data: bytes) -> float:
    """Of the multi-byte characters the bytes hold when read as GB18030, the share that are GB2312's (common hanzi
    and full-width punctuation) or GB18030's four-byte ones. Chinese text is almost all of them; Shift-JIS or Big5
    read as GBK mostly falls outside (their lead or trail bytes lie elsewhere)."""
    sample = data[:SAMPLE_BYTES]
    chinese = other = position = 0
    while position < len(sample) - 1:
        lead = sample[position]
        if lead < 0x80:
            position += 1
            continue
        trail = sample[position + 1]
        if 0x30 <= trail <= 0x39:
            chinese, position = chinese + 1, position + 4
            continue
        if 0xA1 <= lead <= 0xF7 and 0xA1 <= trail <= 0xFE:
            chinese += 1
        else:
            other += 1
        position += 2
    return chinese / max(1, chinese + other)


def detect_chinese_encoding(data: bytes) -> str:
    """The encoding of CSV text written on a Chinese PC: "utf-8-sig", "utf-16", "utf-8", "gbk" or "gb18030".
    Raises UploadRefused for anything else (Shift-JIS, Big5, Latin-1…), naming what charset-normalizer takes it
    for. A few lines of GBK also read as valid Shift-JIS or Korean, so a GB reading is taken when the detector
    ranks it first, or ranks it near the best while nearly every character is a common hanzi."""
    if data.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    # Korean's byte ranges are GB2312's: on short text the detector cannot tell them apart, and a county's
    # dictionary is never Korean.
    matches = from_bytes(data, cp_exclusion=KOREAN)
    best = matches.best()
    chinese = next((m for m in matches if m.encoding in CHINESE_LEGACY), None)
    if chinese is not None and (chinese is best or (chinese.chaos <= best.chaos + CHAOS_TOLERANCE
                                                    and _gb2312_share(data) >= CHINESE_SHARE)):
        for encoding in ("gbk", "gb18030"):
            try:
                data.decode(encoding)
                return encoding
            except UnicodeDecodeError:
                continue
    if best is None:
        raise UploadRefused("CSV 文件编码无法识别（请用 UTF-8 或 GBK）", code="bad_encoding")
    raise UploadRefused("文件编码看起来是 %(encoding)s，不是中文编码：请另存为 UTF-8 或 GBK 编码的 CSV",
                        code="bad_encoding", encoding=best.encoding)


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
        return [[_text(v) for v in row] for row in read_sheet(data, SheetLimits(rows=MAX_ROWS))]
    if not name.endswith(".csv") or b"\x00" in data[:4096] or data.startswith(BINARY_SIGNATURES):
        _refuse_type()
    text = data.decode(detect_chinese_encoding(data))
    return [[cell.strip() for cell in row] for row in read_csv(text.lstrip("\ufeff"), SheetLimits(rows=MAX_ROWS))]
