"""The formats of the national 医保药品代码 and the 批准文号. Pure: text in, a message id (or None) out.

The 医保药品分类与代码 of the National Healthcare Security Administration gives each marketed drug (one generic, form,
strength, pack and maker) a 23-character code of capital letters and digits, e.g. `XR05CBA198A001010100863`:
its first character is the category (X 西药 — chemical and biological drugs; Z 中成药), then the class (for 西药
the ATC chemical subgroup, R05CB), the generic name's code (A198) and the dosage form, which together — the first
12 characters — name the generic in its form; the rest codes strength and pack and the company. The parts after
the category are the NHSA's to assign, so only what holds for every code is checked here (see README, 医保药品代码).
"""

import re
import unicodedata

NHSA_CODE_LENGTH = 23
GENERIC_CODE_LENGTH = 12
CATEGORY_OF_PREFIX = {"X": "化学药品和生物制品", "Z": "中成药"}

_CODE = re.compile(r"[A-Z0-9]+")
# 国药准字 + H (化学药) / Z (中药) / S (生物制品) / B (保健药品) / T (体外诊断试剂) / F (药用辅料) / J (进口分包装),
# with J or C after the letter for imported or Hong Kong, Macao and Taiwan products, then 8 digits. An imported
# drug's own registration number (进口药品注册证号 H20150001, 医药产品注册证号 HC20150001) has no 国药准字.
_APPROVAL = re.compile(r"(国药准字[HZSBTFJ][JC]?|[HZSBTFJ][JC]?)[0-9]{8}")


def clean_code(text) -> str:
    """A code as typed or read from a sheet: full-width folded, spaces dropped, letters in capitals."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text or ""))).upper()


def clean_approval(text) -> str:
    """A 批准文号 as typed or read: full-width folded, spaces dropped, the letter in capitals."""
    return clean_code(text)


def nhsa_code_problem(code: str) -> str | None:
    """Why `code` is not a 23-character 医保药品代码 (a message id), or None."""
    if len(code) != NHSA_CODE_LENGTH:
        return "医保药品代码应为 23 位（现为 %(n)s 位）"
    if not _CODE.fullmatch(code):
        return "医保药品代码只能由大写字母和数字组成"
    if code[0] not in CATEGORY_OF_PREFIX:
        return "医保药品代码应以 X（西药）或 Z（中成药）开头"
    return None


def generic_code_problem(code: str) -> str | None:
    """Why `code` is not a 12-character generic-level code (a message id), or None."""
    if len(code) != GENERIC_CODE_LENGTH:
        return "通用名层级代码应为 12 位（现为 %(n)s 位）"
    if not _CODE.fullmatch(code):
        return "医保药品代码只能由大写字母和数字组成"
    if code[0] not in CATEGORY_OF_PREFIX:
        return "医保药品代码应以 X（西药）或 Z（中成药）开头"
    return None


def approval_problem(approval_no: str) -> str | None:
    """Why `approval_no` is not a 批准文号 (a message id), or None."""
    if not _APPROVAL.fullmatch(approval_no):
        return "批准文号格式应为“国药准字”加字母（H/Z/S/B/T/F/J）和 8 位数字，如 国药准字H20000001"
    return None


def generic_code_of(code: str) -> str:
    """The generic-level code (the first 12 characters) of a 医保药品代码."""
    return code[:GENERIC_CODE_LENGTH]


def category_problem(code: str, category: str) -> str | None:
    """Why a code does not fit a drug of `category` (a Z code on a 西药, an X code on a 中成药), or None.
    Other categories (中药饮片, 耗材, 院内制剂) are coded elsewhere and have no 医保药品代码 of this table."""
    expected = CATEGORY_OF_PREFIX.get(code[:1])
    if category in CATEGORY_OF_PREFIX.values() and expected != category:
        return "医保药品代码的类别（%(prefix)s）与药品分类（%(category)s）不符"
    if category not in CATEGORY_OF_PREFIX.values():
        return "只有西药和中成药有医保药品代码（该药品分类为 %(category)s）"
    return None
