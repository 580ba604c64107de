"""Read the national 医保药品分类与代码 table as a county downloads it (XLSX or CSV). Pure: bytes in.

The sheet is read by the bounded readers of `pharmacy/uploads.py`. The table is checked whole before anything is
used: a file without the code column, a row with a malformed code or 批准文号, or a code twice, refuses the file
(`TableFileError` with every problem found, at most `MAX_PROBLEMS`), so a bad download changes nothing.
"""

import re
import unicodedata
import warnings
from dataclasses import dataclass, field

from ..uploads import BINARY_SIGNATURES, SheetLimits, detect_chinese_encoding, read_csv, read_sheet
from .codes import approval_problem, clean_approval, clean_code, nhsa_code_problem

# A page's request must end within the web timeout (about 2 ms a row to match); the CLI takes a province's table.
MAX_ROWS = 10_000
MAX_ROWS_CLI = 60_000


def sheet_limits(max_rows: int) -> SheetLimits:
    return SheetLimits(rows=max_rows + 20, columns=64, cells=(max_rows + 20) * 40, chars=max_rows * 1_200,
                       cpu_seconds=10.0 + max_rows / 1_000)
MAX_PROBLEMS = 20
MAX_CELL = 200

# The columns as the NHSA publishes them (医保药品分类与代码数据库, 西药中成药), and the spellings seen in provincial
# re-publications and HIS exports; compared after NFKC, without spaces and brackets.
COLUMN_NAMES = {
    "code": ["药品代码", "医保药品代码", "国家医保药品代码", "医保代码", "国家药品代码", "药品编码", "医保药品编码"],
    "registered_name": ["注册名称", "通用名", "通用名称", "药品名称", "药品通用名"],
    "trade_name": ["商品名称", "商品名"],
    "dosage_form": ["注册剂型", "实际剂型", "剂型"],
    "spec": ["注册规格", "实际规格", "规格"],
    "packaging_material": ["包装材质", "包材"],
    "pack_qty": ["最小包装数量", "包装数量"],
    "min_unit": ["最小制剂单位", "制剂单位"],
    "pack_unit": ["最小包装单位", "包装单位"],
    "manufacturer": ["药品企业", "生产企业", "生产企业名称", "药品生产企业", "生产厂家"],
    "approval_no": ["批准文号", "批准文号/注册证号", "注册证号"],
    "insurance_class": ["甲乙类", "医保类别", "甲乙分类", "医保甲乙类"],
}
_LOOKUP = {spelling: name for name, spellings in COLUMN_NAMES.items() for spelling in spellings}
INSURANCE_CLASS_VALUES = {"甲": "甲", "甲类": "甲", "乙": "乙", "乙类": "乙", "": ""}


class TableFileError(Exception):
    """The file is refused whole: `problems` lists (row number or None, message id, params)."""

    def __init__(self, problems: list[tuple[int | None, str, dict]]):
        self.problems = problems
        super().__init__(problems[0][1] if problems else "")


@dataclass
class TableRow:
    row_no: int
    code: str
    registered_name: str
    trade_name: str = ""
    dosage_form: str = ""
    spec: str = ""
    packaging_material: str = ""
    pack_qty: int | None = None
    min_unit: str = ""
    pack_unit: str = ""
    manufacturer: str = ""
    approval_no: str = ""
    insurance_class: str = ""


@dataclass
class TableFile:
    file_format: str
    encoding: str
    rows: list[TableRow] = field(default_factory=list)


def _key(cell) -> str:
    return re.sub(r"[\s()（）\[\]【】*:：_\-]+", "", unicodedata.normalize("NFKC", str(cell or "")))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFKC", str(value)).replace("\u3000", " ").strip()


def _rows(data: bytes, filename: str, limits: SheetLimits) -> tuple[str, str, list[list[str]]]:
    if data.startswith(b"PK\x03\x04"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # styles and validations openpyxl does not read
            rows = read_sheet(data, limits)
        return "xlsx", "", [[_text(v) for v in row] for row in rows]
    if filename.lower().endswith((".xlsx", ".xlsm")) or data.startswith(BINARY_SIGNATURES) \
            or (b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff"))):
        raise TableFileError([(None, "只能上传 Excel（.xlsx）或 CSV 文件", {})])
    encoding = detect_chinese_encoding(data)
    text = data.decode(encoding).lstrip("\ufeff")
    delimiter = "\t" if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else ","
    return "csv", encoding.replace("-sig", ""), [[_text(c) for c in row]
                                                 for row in read_csv(text, limits, delimiter)]


def _header(rows: list[list[str]]) -> tuple[int, dict[str, int]]:
    for number, row in enumerate(rows[:10]):
        columns: dict[str, int] = {}
        for position, cell in enumerate(row):
            name = _LOOKUP.get(_key(cell))
            if name and name not in columns:
                columns[name] = position
        if "code" in columns and "registered_name" in columns:
            return number, columns
    raise TableFileError([(None, "找不到“药品代码”和“注册名称”列：表头应为国家医保药品分类与代码表的列名", {})])


def _pack_qty(text: str) -> int | None | str:
    if not text:
        return None
    if re.fullmatch(r"[0-9]{1,6}(\.0+)?", text) and int(float(text)) > 0:
        return int(float(text))
    return "bad"


def read_table(filename: str, data: bytes, *, max_rows: int = MAX_ROWS) -> TableFile:
    """Every row of the table, or TableFileError listing what is wrong with it (nothing is taken from a bad file)."""
    if not data or not data.strip():
        raise TableFileError([(None, "文件是空的", {})])
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise TableFileError([(None, "这是旧版 Excel（.xls）文件：请在 Excel 中另存为 .xlsx 或 CSV 后再上传", {})])
    # The bounded reader's own refusals (a zip bomb, unsafe XML, past the limits, a broken file) pass through.
    file_format, encoding, rows = _rows(data, filename or "", sheet_limits(max_rows))
    start, columns = _header(rows)
    body = [(start + offset + 2, values) for offset, values in enumerate(rows[start + 1:]) if any(values)]
    if not body:
        raise TableFileError([(None, "文件只有表头，没有药品行", {})])
    if len(body) > max_rows:
        raise TableFileError([(None, "文件行数超过 %(n)s 行，请分成几个文件上传", {"n": max_rows})])
    problems: list[tuple[int | None, str, dict]] = []
    seen: dict[str, int] = {}
    out: list[TableRow] = []
    for row_no, values in body:
        cell = {name: (values[position] if position < len(values) else "")[:MAX_CELL]
                for name, position in columns.items()}
        code = clean_code(cell["code"])
        problem = nhsa_code_problem(code)
        if problem:
            problems.append((row_no, problem, {"n": len(code)}))
        elif code in seen:
            problems.append((row_no, "医保药品代码与第 %(other)s 行重复", {"other": seen[code]}))
        seen.setdefault(code, row_no)
        if not cell["registered_name"]:
            problems.append((row_no, "注册名称为空", {}))
        approval = clean_approval(cell.get("approval_no", ""))
        if approval and approval_problem(approval):
            problems.append((row_no, approval_problem(approval), {}))
        qty = _pack_qty(cell.get("pack_qty", ""))
        if qty == "bad":
            problems.append((row_no, "最小包装数量应为正整数", {}))
        klass = cell.get("insurance_class", "")
        if klass not in INSURANCE_CLASS_VALUES:
            problems.append((row_no, "甲乙类应为“甲”或“乙”", {}))
        if len(problems) >= MAX_PROBLEMS:
            break
        out.append(TableRow(row_no=row_no, code=code, registered_name=cell["registered_name"],
                            trade_name=cell.get("trade_name", ""), dosage_form=cell.get("dosage_form", ""),
                            spec=cell.get("spec", ""), packaging_material=cell.get("packaging_material", ""),
                            pack_qty=qty if isinstance(qty, int) else None, min_unit=cell.get("min_unit", ""),
                            pack_unit=cell.get("pack_unit", ""), manufacturer=cell.get("manufacturer", ""),
                            approval_no=approval, insurance_class=INSURANCE_CLASS_VALUES.get(klass, "")))
    if problems:
        raise TableFileError(problems)
    return TableFile(file_format=file_format, encoding=encoding, rows=out)
