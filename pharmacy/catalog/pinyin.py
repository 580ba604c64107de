"""Pinyin for drug names, with the drug readings pypinyin gets wrong corrected by a phrase dictionary."""

import functools
import re

from pypinyin import Style, lazy_pinyin, load_phrases_dict, load_single_dict

# Characters whose reading in drug names is fixed whatever pypinyin's default (参 is shen in every drug name).
SINGLE_READINGS = {
    "参": "shēn",
    "芎": "xiōng",
    "䓬": "zhuó",
    "蒡": "bàng",
    "芪": "qí",
}

# Phrases read differently in pharmacy than in pypinyin's general dictionary.
PHRASE_READINGS = {
    "茶调": [["chá"], ["tiáo"]],
    "调经": [["tiáo"], ["jīng"]],
    "重酒石酸": [["chóng"], ["jiǔ"], ["shí"], ["suān"]],
    "重组": [["chóng"], ["zǔ"]],
    "白术": [["bái"], ["zhú"]],
    "苍术": [["cāng"], ["zhú"]],
    "莪术": [["é"], ["zhú"]],
    "厚朴": [["hòu"], ["pò"]],
    "黄柏": [["huáng"], ["bò"]],
    "薄荷": [["bò"], ["he"]],
    "蛤蚧": [["gé"], ["jiè"]],
    "阿胶": [["ē"], ["jiāo"]],
    "地黄": [["dì"], ["huáng"]],
    "地龙": [["dì"], ["lóng"]],
    "地榆": [["dì"], ["yú"]],
    "长春": [["cháng"], ["chūn"]],
    "可乐定": [["kě"], ["lè"], ["dìng"]],
    "乐卡": [["lè"], ["kǎ"]],
    "卡托": [["kǎ"], ["tuō"]],
    "卡马": [["kǎ"], ["mǎ"]],
    "卡比": [["kǎ"], ["bǐ"]],
    "卡铂": [["kǎ"], ["bó"]],
    "行气": [["xíng"], ["qì"]],
    "藏药": [["zàng"], ["yào"]],
    "大黄": [["dà"], ["huáng"]],
    "解毒": [["jiě"], ["dú"]],
    "散结": [["sàn"], ["jié"]],
    "尿": [["niào"]],
    "硝苯地平": [["xiāo"], ["běn"], ["dì"], ["píng"]],
    "氨氯地平": [["ān"], ["lǜ"], ["dì"], ["píng"]],
    "单硝酸": [["dān"], ["xiāo"], ["suān"]],
    "便秘": [["biàn"], ["mì"]],
    "血栓": [["xuè"], ["shuān"]],
    "血塞通": [["xuè"], ["sāi"], ["tōng"]],
    "血府": [["xuè"], ["fǔ"]],
    "乌头": [["wū"], ["tóu"]],
    "枸橼酸": [["jǔ"], ["yuán"], ["suān"]],
    "枸杞": [["gǒu"], ["qǐ"]],
    "咖啡因": [["kā"], ["fēi"], ["yīn"]],
    "苯二氮䓬": [["běn"], ["èr"], ["dàn"], ["zhuó"]],
    "还少丹": [["huán"], ["shǎo"], ["dān"]],
    "吖啶": [["ā"], ["dìng"]],
    "知柏": [["zhī"], ["bǎi"]],
}

_LOADED = False
_ASCII = re.compile(r"[A-Za-z0-9]+")


def _ensure_dictionaries() -> None:
    global _LOADED
    if not _LOADED:
        load_single_dict({ord(char): reading for char, reading in SINGLE_READINGS.items()})
        load_phrases_dict(PHRASE_READINGS)
        _LOADED = True


def _keep_ascii(chars: str) -> list[str]:
    return [part for part in _ASCII.findall(chars)]


@functools.lru_cache(maxsize=65536)
def pinyin_syllables(text: str) -> tuple[str, ...]:
    """Return toneless pinyin syllables of `text`; Latin letters and digits pass through as words."""
    _ensure_dictionaries()
    return tuple(s.lower() for s in lazy_pinyin(text, style=Style.NORMAL, errors=_keep_ascii, v_to_u=False) if s)


@functools.lru_cache(maxsize=65536)
def pinyin_initials(text: str) -> str:
    """Return the upper-case pinyin initials a tablet user types for `text` (阿莫西林 → AMXL, 维生素B1 → WSSB1).

    Latin letters and digits already in the name are kept whole.
    """
    _ensure_dictionaries()
    out = []
    for syllable in lazy_pinyin(text, style=Style.NORMAL, errors=_keep_ascii, v_to_u=False):
        out.append(syllable if _ASCII.fullmatch(syllable) and not syllable.islower() or syllable.isdigit()
                   else syllable[:1])
    return "".join(out).upper()


def full_pinyin(text: str) -> str:
    """Return the toneless pinyin of `text` without spaces (阿莫西林 → amoxilin)."""
    return "".join(pinyin_syllables(text))
