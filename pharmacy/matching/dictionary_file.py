"""Read a township's local drug dictionary: CSV in any encoding a Chinese PC writes, or XLSX. Pure: bytes in.

A file that cannot be read is refused whole with the reason (DictionaryFileError, message in Chinese). Rows that
are empty stay in the result, marked, so the caller can report them instead of dropping them silently.
"""

import csv
import re
import unicodedata
import warnings
from dataclasses import dataclass, field

from ..errors import InvalidInput
from ..uploads import SheetLimits, UploadRefused, detect_chinese_encoding, read_csv, read_sheet

MAX_ROWS = 20000
# The rows, plus a title, a heading and trailing blank rows; the columns a HIS export may carry before the name.
SHEET_LIMITS = SheetLimits(rows=MAX_ROWS + 50, columns=64, cells=(MAX_ROWS + 50) * 32, chars=8_000_000,
                           cpu_seconds=10.0)
MAX_CELL = {"local_code": 64, "name": 200, "spec": 120, "manufacturer": 120, "unit": 16}

# Header spellings (compared after NFKC, lower case, without spaces and brackets) → field.
COLUMN_NAMES = {
    "local_code": ["本地编码", "药品编码", "编码", "编号", "代码", "药品代码", "院内编码", "本地代码", "药品id",
                   "序号编码", "code", "localcode", "itemcode", "drugcode", "id"],
    "name": ["药品名称", "名称", "药品名", "品名", "通用名", "通用名称", "药名", "本地名称", "商品名", "药品通用名",
             "name", "localname", "drugname", "productname", "itemname", "input"],
    "spec": ["规格", "药品规格", "规格型号", "包装规格", "spec", "specification", "strength"],
    "manufacturer": ["厂家", "生产厂家", "生产企业", "厂商", "生产厂商", "产地", "生产单位", "manufacturer", "maker",
                     "producer", "factory"],
    "unit": ["单位", "包装单位", "计量单位", "售价单位", "unit"],
}
_HEADER_LOOKUP = {spelling: fld for fld, spellings in COLUMN_NAMES.items() for spelling in spellings}


class DictionaryFileError(Exception):
    """The file is refused whole. `message_id` (Chinese, a translation key) and `params` say why."""

    def __init__(self, message_id: str, **params):
        self.message_id, self.params = message_id, params
        self.message = message_id % params if params else message_id
        super().__init__(self.message)


@dataclass
class DictionaryRow:
    row_no: int
    local_code: str = ""
    name: str = ""
    spec: str = ""
    manufacturer: str = ""
    unit: str = ""
    # (message id, params) of what was odd about the row, reported with it
    notes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not any((self.local_code, self.name, self.spec, self.manufacturer, self.unit))


@dataclass
class DictionaryFile:
    file_format: str
    encoding: str
    columns: dict[str, int]
    rows: list[DictionaryRow]
    has_header: bool = True


def _header_key(cell) -> str:
    text = unicodedata.normalize("NFKC", str(cell or "")).lower()
    text = re.sub(r"[\s()（）\[\]【】*:_\-]+", "", text)
    return text


def detect_encoding(data: bytes) -> str:
    """The encoding a CSV is written in: UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030; any other
    (Shift-JIS, Big5, Latin-1…) is refused, as charset-normalizer tells it."""
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise DictionaryFileError("文件不是文本格式的 CSV，也不是 .xlsx 表格")
    try:
        return detect_chinese_encoding(data)
    except UploadRefused as exc:
        raise DictionaryFileError(exc.message_id, **exc.params) from None


def repair_mojibake(text: str) -> str:
    """Undo GBK text that was read as Latin-1 on the way into a spreadsheet ("°¢Äª" → "阿莫")."""
    if not text or not any("\x80" <= c <= "\xff" for c in text) or any(ord(c) > 0xFF for c in text):
        return text
    try:
        repaired = text.encode("latin-1").decode("gb18030")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text
    return repaired if re.search(r"[\u4e00-\u9fff]", repaired) else text


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return repair_mojibake(str(value)).replace("\u3000", " ").strip()


def _csv_rows(data: bytes) -> tuple[str, list[list[str]]]:
    encoding = detect_encoding(data)
    text = data.decode(encoding)
    if encoding == "utf-16":
        text = text.lstrip("\ufeff")
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;|")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows = [[_cell_text(c) for c in row] for row in read_csv(text, SHEET_LIMITS, delimiter)]
    except UploadRefused as exc:
        if exc.code != "bad_file":
            raise  # past the limits: refused in the reader's words
        raise DictionaryFileError(exc.message_id, **exc.params) from None
    return ("gbk" if encoding in ("gbk", "gb18030") else encoding.replace("-sig", "")), rows


def _xlsx_rows(data: bytes) -> list[list[str]]:
    try:
        with warnings.catch_warnings():
            # openpyxl warns about styles and data validation it does not read; they do not matter here.
            warnings.simplefilter("ignore")
            rows = read_sheet(data, SHEET_LIMITS)
    except InvalidInput as exc:
        if exc.code != "bad_file":
            raise  # a zip bomb, unsafe XML, a sheet past the limits: refused in the reader's words
        raise DictionaryFileError("Excel 文件已损坏或不是有效的 .xlsx 表格") from None
    return [[_cell_text(v) for v in values] for values in rows]


def _find_header(rows: list[list[str]]) -> tuple[int, dict[str, int]] | None:
    for number, row in enumerate(rows[:10]):
        columns: dict[str, int] = {}
        for position, cell in enumerate(row):
            fld = _HEADER_LOOKUP.get(_header_key(cell))
            if fld and fld not in columns:
                columns[fld] = position
        if "name" in columns:
            return number, columns
    return None


def read_dictionary(filename: str, data: bytes, *, require_header: bool = True) -> DictionaryFile:
    """Read a dictionary file; without a recognisable header, the first column is the name when allowed."""
    if not data or not data.strip():
        raise DictionaryFileError("文件是空的")
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise DictionaryFileError("这是旧版 Excel（.xls）文件：请在 Excel 中另存为 .xlsx 或 CSV 后再上传")
    if data.startswith(b"PK\x03\x04"):
        file_format, encoding, rows = "xlsx", "", _xlsx_rows(data)
    elif (filename or "").lower().endswith((".xlsx", ".xlsm")):
        raise DictionaryFileError("Excel 文件已损坏或不是有效的 .xlsx 表格")
    else:
        file_format = "csv"
        encoding, rows = _csv_rows(data)
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise DictionaryFileError("文件中没有任何数据")
    header = _find_header(rows)
    if header is None:
        if require_header:
            raise DictionaryFileError("找不到药品名称列：第一行应是表头，含“药品名称”（或 name）列")
        start, columns, has_header = 0, {"name": 0}, False
    else:
        start, columns, has_header = header[0] + 1, header[1], True
    body = rows[start:]
    if not body:
        raise DictionaryFileError("文件只有表头，没有药品行")
    if len(body) > MAX_ROWS:
        raise DictionaryFileError("文件行数超过 %(n)s 行，请分成几个文件上传", n=MAX_ROWS)
    out = []
    for offset, values in enumerate(body):
        row = DictionaryRow(row_no=start + offset + 1)
        for fld, position in columns.items():
            value = values[position] if position < len(values) else ""
            limit = MAX_CELL[fld]
            if len(value) > limit:
                row.notes.append(("%(field)s 超过 %(n)s 个字符，已截断", {"field": fld, "n": limit}))
                value = value[:limit]
            setattr(row, fld, value)
        if row.is_empty and any(values):
            # Text in columns that are not read: still an entry without a name.
            row.notes.append(("药品名称为空，未导入", {}))
        out.append(row)
    return DictionaryFile(file_format=file_format, encoding=encoding, columns=columns, rows=out,
                          has_header=has_header)
